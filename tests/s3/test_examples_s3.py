"""The Flask and Django examples on S3 by one setting (``PICSTORE_STORAGE=s3://...``, plus where the S3
server is): pictures land in the bucket and the listing page's URLs are the bucket's, fetched anonymously."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from picstore.blobs.s3 import S3Store
from picstore.blobs.s3_policy import setup_bucket
from tests.contrib.test_examples import run_django_listing, run_flask_listing
from tests.s3.conftest import RGW, s3_settings

pytestmark = pytest.mark.s3


def s3_example_env(rgw: RGW, bucket: str) -> tuple[str, dict[str, str]]:
    """A fresh prefix in the bucket, set up as `picstore s3 setup` does, and the environment that points an
    example at it: ``PICSTORE_STORAGE`` plus where the S3 server is and who to be on it."""
    prefix = f"listing-{uuid.uuid4().hex[:8]}"
    store = S3Store.from_url(
        f"s3://{bucket}/{prefix}",
        s3_settings(s3_endpoint=rgw.endpoint),
        credentials=(rgw.access_key, rgw.secret_key),
    )
    setup_bucket(store, public=True)  # what `picstore s3 setup` does once per bucket
    return prefix, {
        "PICSTORE_STORAGE": f"s3://{bucket}/{prefix}",
        "PICSTORE_S3_ENDPOINT": rgw.endpoint,
        **rgw.env(),
    }


@pytest.mark.parametrize("run", [run_flask_listing, run_django_listing], ids=["flask", "django"])
def test_example_on_s3(run: Callable[..., set[str]], tmp_path: Path, rgw: RGW, bucket: str) -> None:
    prefix, env = s3_example_env(rgw, bucket)
    urls = run(tmp_path, env)
    assert all(u.startswith(f"{rgw.endpoint}/{bucket}/{prefix}/var/") for u in urls), urls
    stored = rgw.client().list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/").get("Contents", [])
    assert len(stored) >= len(urls)
    assert not (tmp_path / "picstore-data" / "blobs").exists()  # nothing went to the local default
