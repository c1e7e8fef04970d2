"""Bucket administration for ``picstore s3 setup``: create the bucket, make the store's prefix readable.

obstore speaks to objects only, so this uses botocore (no network at import, same credentials chain).
Objects outside the store's prefix stay private; presigned GET URLs keep working for them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from picstore.blobs.base import SetupResult
from picstore.blobs.s3_config import botocore_client
from picstore.blobs.s3_errors import translate_botocore

if TYPE_CHECKING:
    from picstore.blobs.s3 import S3Store


def upload_cors_rule() -> dict[str, Any]:
    """The bucket CORS rule a browser's direct upload needs: a POST from any origin with any header, its
    ETag and Location readable. The presigned POST's policy, not the origin, decides what may be stored."""
    return {
        "ID": "PicstoreBrowserUploads",
        "AllowedMethods": ["POST"],
        "AllowedOrigins": ["*"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag", "Location"],
        "MaxAgeSeconds": 600,
    }


def public_read_policy(bucket: str, prefix: str) -> dict[str, Any]:
    """A bucket policy letting anyone GET the objects under ``prefix`` (the whole bucket if empty)."""
    resource = (
        f"arn:aws:s3:::{bucket}/{prefix.strip('/')}/*" if prefix.strip("/") else f"arn:aws:s3:::{bucket}/*"
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PicstorePublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject"],
                "Resource": [resource],
            }
        ],
    }


def setup_bucket(store: S3Store, *, public: bool | None = None) -> SetupResult:
    """Create the store's bucket if missing, set :func:`upload_cors_rule` (replacing any CORS rules) and,
    for a public store, apply :func:`public_read_policy`.

    ``public`` defaults to "not presigned": a store that hands out presigned URLs keeps its bucket private.
    An existing bucket policy is replaced. Idempotent.
    """
    options = store.options
    public = not options.presign if public is None else public
    client = botocore_client(options, purpose="set up")
    created = False
    try:
        try:
            client.head_bucket(Bucket=options.bucket)
        except client.exceptions.ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise
            kwargs: dict[str, Any] = {"Bucket": options.bucket}
            # AWS wants the region named outside us-east-1; RGW and MinIO refuse names they do not know.
            if options.region != "us-east-1" and options.endpoint is None:
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": options.region}
            client.create_bucket(**kwargs)
            created = True
        cors = upload_cors_rule()
        client.put_bucket_cors(Bucket=options.bucket, CORSConfiguration={"CORSRules": [cors]})
        policy = None
        if public:
            policy = public_read_policy(options.bucket, options.prefix)
            client.put_bucket_policy(Bucket=options.bucket, Policy=json.dumps(policy))
    except Exception as exc:
        raise translate_botocore(exc, "set up the bucket", options.where) from exc
    finally:
        client.close()
    return SetupResult(bucket=options.bucket, created=created, public_read=public, policy=policy, cors=cors)
