"""The picstore command on an S3 store (Ceph RGW): credentials problems name what to set; doctor sees it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.cli_run import Result, picstore
from tests.helpers import make_jpeg
from tests.s3.conftest import RGW

pytestmark = pytest.mark.s3


def _s3(tmp_path: Path, rgw: RGW, bucket: str, **env: str) -> dict[str, str]:
    """Settings for a store under a fresh prefix of the session bucket; credentials only as given."""
    return {
        "PICSTORE_STORAGE": f"s3://{bucket}/cli-{uuid.uuid4().hex[:8]}",
        "PICSTORE_DATABASE": f"sqlite:///{tmp_path / 'catalog.db'}",
        "PICSTORE_S3_ENDPOINT": rgw.endpoint,
        "PICSTORE_S3_REGION": rgw.region,
        # No ~/.aws: only what the test gives counts.
        "HOME": str(tmp_path),
        **env,
    }


def _keys(rgw: RGW, secret: str | None = None) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": rgw.access_key, "AWS_SECRET_ACCESS_KEY": secret or rgw.secret_key}


def _names_the_variables(result: Result, code: str) -> str:
    assert result.code == 1, result.stdout + result.stderr
    body = result.json()
    assert body["code"] == code
    assert "AWS_ACCESS_KEY_ID" in body["message"] and "AWS_SECRET_ACCESS_KEY" in body["message"]
    return str(body["message"])


def test_missing_credentials_name_the_variables(tmp_path: Path, rgw: RGW, bucket: str) -> None:
    # botocore (bucket administration) finds no credentials: before this, "Unable to locate credentials".
    env = _s3(tmp_path, rgw, bucket)
    message = _names_the_variables(picstore("s3", "setup", "--json", cwd=tmp_path, **env), "config_error")
    assert "no S3 credentials found" in message
    report = picstore("doctor", "--json", cwd=tmp_path, **env).json()
    credentials = {c["name"]: c for c in report["checks"]}["s3 credentials"]
    assert credentials["status"] == "warn" and "AWS_ACCESS_KEY_ID" in credentials["fix"]


def test_wrong_credentials_name_the_variables(tmp_path: Path, rgw: RGW, bucket: str) -> None:
    env = _s3(tmp_path, rgw, bucket, **_keys(rgw, secret="not-the-secret"))
    assert picstore("tenant", "create", "acme", cwd=tmp_path, **env).code == 0
    (tmp_path / "a.jpg").write_bytes(make_jpeg())
    message = _names_the_variables(
        picstore("put", "a.jpg", "--tenant", "acme", "--json", cwd=tmp_path, **env), "storage_misconfigured"
    )
    assert "refused to put" in message
    report = picstore("doctor", "--json", cwd=tmp_path, **env)
    assert report.code == 1
    storage = {c["name"]: c for c in report.json()["checks"]}["storage"]
    assert storage["status"] == "fail" and "AWS_ACCESS_KEY_ID" in storage["detail"]


def test_put_on_s3_prints_the_object_url_whole(tmp_path: Path, rgw: RGW, bucket: str) -> None:
    env = _s3(tmp_path, rgw, bucket, **_keys(rgw))
    assert picstore("tenant", "create", "acme", cwd=tmp_path, **env).code == 0
    (tmp_path / "a.jpg").write_bytes(make_jpeg())
    put = picstore("put", "a.jpg", "--tenant", "acme", cwd=tmp_path, **env)
    assert put.code == 0, put.stderr
    (printed,) = put.lines
    url = printed.split(" ")[3]
    assert url.startswith(f"{rgw.endpoint}/{bucket}/") and url.endswith(".jpg")
    report = picstore("doctor", "--json", cwd=tmp_path, **env)
    assert report.code == 0, report.stdout
    checks = {c["name"]: c["status"] for c in report.json()["checks"]}
    assert checks == {"config": "ok", "catalog": "ok", "s3 credentials": "ok", "storage": "ok"}
