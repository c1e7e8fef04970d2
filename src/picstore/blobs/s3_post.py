"""Presigned POST policies for browser uploads straight to an S3 bucket.

obstore signs GET and PUT URLs only, so the POST policy is signed by botocore (SigV4, computed locally: no
request is sent). The policy is what makes a direct upload safe before picstore has seen a byte: the
object store itself refuses a body outside the byte range, any other key, a content type other than the
one declared (one of the formats ingest accepts) and anything after the expiry.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from picstore.blobs.base import PresignedPost, validate_key
from picstore.blobs.s3_config import S3Options, botocore_client
from picstore.blobs.s3_errors import translate_botocore
from picstore.errors import InvalidRequest
from picstore.formats import UPLOAD_CONTENT_TYPES, is_image_content_type

#: The longest a presigned POST may stay valid: a leaked policy is useful to nobody for long.
MAX_POST_TTL = 900


class PostSigner:
    """Signs POST policies for one bucket and key prefix (``options``); thread-safe."""

    def __init__(self, options: S3Options) -> None:
        self.options = options
        self._client: Any = None
        self._lock = threading.Lock()

    def _signing_client(self) -> Any:
        # Building a botocore client takes ~100 ms (endpoint and model loading): once per signer.
        with self._lock:
            if self._client is None:
                self._client = botocore_client(
                    self.options, signature_version="s3v4", purpose="sign a POST policy for"
                )
            return self._client

    def sign(self, key: str, *, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
        """A policy allowing one POST of 1..``max_bytes`` bytes of ``content_type`` to exactly ``key``.

        ``key`` is a store key (the store's prefix is added); ``expires_in`` is at most 900 seconds.
        """
        validate_key(key)
        if not is_image_content_type(content_type):
            raise InvalidRequest(
                f"content type {content_type!r} is not one of {', '.join(sorted(UPLOAD_CONTENT_TYPES))}"
            )
        if max_bytes < 1:
            raise InvalidRequest("max_bytes must be at least 1")
        if not 1 <= expires_in <= MAX_POST_TTL:
            raise InvalidRequest(f"a presigned POST lives 1 to {MAX_POST_TTL} seconds, not {expires_in}")
        object_name = self.options.full_key(key)
        expires_at = datetime.now(UTC) + timedelta(seconds=expires_in)
        client = self._signing_client()
        try:
            # botocore adds the bucket and the exact key to the policy's conditions itself.
            post = client.generate_presigned_post(
                Bucket=self.options.bucket,
                Key=object_name,
                Fields={"Content-Type": content_type},
                Conditions=[
                    {"Content-Type": content_type},
                    ["content-length-range", 1, max_bytes],
                ],
                ExpiresIn=expires_in,
            )
        except Exception as exc:  # NoCredentialsError and friends: the signer found no usable keys
            raise translate_botocore(exc, "sign a POST policy for", self.options.where) from exc
        return PresignedPost(
            url=str(post["url"]),
            fields={str(k): str(v) for k, v in post["fields"].items()},
            expires_at=expires_at,
        )
