"""The POST-policy signer and the botocore client it shares with bucket setup; no S3 server needed.

Signing is computed locally; what RGW makes of the policies is in tests/s3/test_api_s3.py.
"""

from __future__ import annotations

import base64
import json

import pytest

from picstore.blobs.s3_config import S3Options, botocore_client
from picstore.blobs.s3_post import PostSigner
from picstore.errors import InvalidRequest
from picstore.models import UPLOAD_CONTENT_TYPES

OPTIONS = S3Options(
    bucket="bkt",
    prefix="incoming/prod",
    endpoint="http://127.0.0.1:9",
    access_key_id="AKIDEXAMPLE",
    secret_access_key="secret",
)


def test_the_policy_is_sigv4_and_pins_key_type_and_size() -> None:
    post = PostSigner(OPTIONS).sign("up1", content_type="image/heic", max_bytes=5000, expires_in=300)
    assert post.fields["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert post.fields["key"] == "incoming/prod/up1" and post.fields["Content-Type"] == "image/heic"
    policy = json.loads(base64.b64decode(post.fields["policy"]))
    assert {"Content-Type": "image/heic"} in policy["conditions"]
    assert ["content-length-range", 1, 5000] in policy["conditions"]


@pytest.mark.parametrize("content_type", ["image/svg+xml", "image/x-icon", "text/html", "image/jpeg; q=1"])
def test_only_the_formats_ingest_accepts_are_signed(content_type: str) -> None:
    with pytest.raises(InvalidRequest, match="image/jpeg"):
        PostSigner(OPTIONS).sign("up1", content_type=content_type, max_bytes=5000, expires_in=300)


def test_upload_content_types_are_what_ingest_accepts() -> None:
    assert frozenset(UPLOAD_CONTENT_TYPES) == {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/heic",
        "image/heif",
        "image/tiff",
    }


def test_one_client_factory_with_the_signature_version_as_a_parameter() -> None:
    admin = botocore_client(OPTIONS)
    signing = botocore_client(OPTIONS, signature_version="s3v4")
    try:
        assert signing.meta.config.signature_version == "s3v4"
        for client in (admin, signing):
            assert client.meta.endpoint_url == OPTIONS.endpoint
            assert client.meta.config.s3 == {"addressing_style": "path"}
            assert client.meta.config.request_checksum_calculation == "when_required"
    finally:
        admin.close()
        signing.close()
