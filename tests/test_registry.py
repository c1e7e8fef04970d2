"""open_blob_store: URL scheme -> backend."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from picstore.blobs.local import LocalStore
from picstore.blobs.memory import MemoryStore
from picstore.blobs.registry import open_blob_store
from picstore.errors import ConfigError


def test_memory() -> None:
    store = open_blob_store("memory://")
    assert isinstance(store, MemoryStore)
    assert store.url == "memory://"
    assert open_blob_store("memory://named").url == "memory://named"


def test_file(tmp_path: Path) -> None:
    store = open_blob_store((tmp_path / "blobs").as_uri())
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "blobs"
    store.put("a.jpg", b"x", content_type="image/jpeg")
    assert (tmp_path / "blobs" / "a.jpg").read_bytes() == b"x"


def test_scheme_is_case_insensitive(tmp_path: Path) -> None:
    assert isinstance(open_blob_store("FILE://" + str(tmp_path)), LocalStore)
    assert isinstance(open_blob_store("Memory://"), MemoryStore)


def test_s3_gets_the_settings_a_url_cannot_carry() -> None:
    from picstore.blobs.s3 import S3Store
    from picstore.settings import load_settings

    settings = load_settings(
        storage="s3://bucket/prefix",
        s3_endpoint="http://127.0.0.1:7480",
        s3_region="eu-test-1",
        s3_public_url="https://cdn.example/imgs",
    )
    store = open_blob_store("s3://bucket/prefix", settings)
    assert isinstance(store, S3Store)
    assert store.url == "s3://bucket/prefix"
    assert repr(store) == "S3Store('s3://bucket/prefix', endpoint='http://127.0.0.1:7480')"
    assert store.public_url("img/a.jpg") == "https://cdn.example/imgs/img/a.jpg"


def test_file_and_memory_stores_never_load_the_s3_stack(tmp_path: Path) -> None:
    # file:// and memory:// users must not pay for (or need) the S3 client stack: checked in a fresh
    # interpreter, where nothing else has imported it yet.
    code = (
        "import sys\n"
        "from picstore.blobs.registry import open_blob_store\n"
        f"open_blob_store({(tmp_path / 'b').as_uri()!r}).put('a.jpg', b'x', content_type='image/jpeg')\n"
        "open_blob_store('memory://').put('a.jpg', b'x', content_type='image/jpeg')\n"
        "s3 = ('picstore.blobs.s3', 'botocore', 'obstore')\n"
        "print(sorted(m for m in sys.modules if m.startswith(s3)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "url", ["gs://bucket", "http://example.com/x", "/srv/blobs", "", "blobs", "ftp://host/x"]
)
def test_unknown_scheme_lists_accepted(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_blob_store(url)
    message = str(caught.value)
    for accepted in ("file://", "s3://", "memory://"):
        assert accepted in message


def test_bad_file_url_is_config_error() -> None:
    with pytest.raises(ConfigError, match="host 'otherhost' is not local"):
        open_blob_store("file://otherhost/srv/blobs")
