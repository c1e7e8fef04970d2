"""The two example listing sites, run as their READMEs run them (a real server in a fresh directory, on
the embedded default): create a listing, upload through the site's own form (a good picture and a
refused one), then fetch the public listing page and every image URL on it."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.contrib.corpus_files import ACCEPTED, REFUSED, PictureTags, corpus_file
from tests.http_support import free_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@contextmanager
def _server(
    cmd: list[str], cwd: Path, port: int, extra_env: dict[str, str] | None = None
) -> Iterator[httpx.Client]:
    """Run ``cmd`` in ``cwd`` until its home page answers; a client for it; then stop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PICSTORE_", "DJANGO_"))}
    env |= {"PORT": str(port), **(extra_env or {})}
    log_path = cwd / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "the example did not start:\n" + log_path.read_text()
                time.sleep(0.1)
        with httpx.Client(base_url=base, follow_redirects=True, timeout=60) as client:
            yield client
    finally:
        proc.terminate()
        proc.wait(10)


def _csrf(page: str) -> dict[str, str]:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    return {"csrfmiddlewaretoken": found.group(1)} if found else {}


def _use_the_site(client: httpx.Client, create: str, field: str, upload: str, listing: str) -> set[str]:
    """Create a listing through the home page's form, upload on its edit page, check the public page."""
    edit = client.post(create, data={"name": "Bob's Bakery", **_csrf(client.get("/").text)})
    assert edit.status_code == 200 and "your pictures" in edit.text, edit.text
    with corpus_file(REFUSED).open("rb") as fh:
        refused = client.post(upload, data=_csrf(edit.text), files={field: ("broken.png", fh, "image/png")})
    assert "corrupt" in refused.text and "<picture>" not in refused.text
    with corpus_file(ACCEPTED).open("rb") as fh:
        added = client.post(
            upload,
            data={"alt": "the shop front", **_csrf(refused.text)},
            files={field: ("shop.jpg", fh, "image/jpeg")},
        )
    assert added.status_code == 200 and "Picture added." in added.text

    page = client.get(listing)
    assert page.status_code == 200
    tags = PictureTags.parse(page.text)
    assert [t for t, _ in tags.tags] == ["picture", "source", "img"]
    assert tags.tags[2][1]["alt"] == "the shop front"
    urls = tags.urls()
    assert len(urls) >= 3
    for url in sorted(urls):
        got = client.get(url)
        assert got.status_code == 200, url
        assert got.headers["content-type"] in ("image/jpeg", "image/webp")
        assert got.content.startswith(b"\xff\xd8\xff") or got.content[8:12] == b"WEBP"
        if url.startswith("/pictures/"):
            # Served by picstore in the example's own process: content-addressed, cacheable forever.
            assert got.headers["etag"].strip('"') == hashlib.sha256(got.content).hexdigest()
    return urls


FLASK_APP = EXAMPLES / "flask_listing" / "app.py"


def run_flask_listing(tmp_path: Path, env: dict[str, str] | None = None) -> set[str]:
    """Run the Flask example as its README does (with ``env`` added); the image URLs its page shows."""
    with _server([sys.executable, str(FLASK_APP)], tmp_path, free_port(), env) as client:
        return _use_the_site(client, "/listings", "photo", "/l/bob-s-bakery/pictures", "/l/bob-s-bakery")


def test_flask_listing(tmp_path: Path) -> None:
    urls = run_flask_listing(tmp_path)
    assert all(u.startswith("/pictures/b/") for u in urls)  # served by the example itself
    assert (tmp_path / "picstore-data" / "picstore.db").is_file()  # the embedded default


@contextmanager
def django_listing(tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[httpx.Client]:
    """The Django example as its README runs it (``migrate``, then ``runserver``), with ``env`` added."""
    manage = str(EXAMPLES / "django_listing" / "manage.py")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PICSTORE_", "DJANGO_"))}
    subprocess.run(
        [sys.executable, manage, "migrate", "-v0"], cwd=tmp_path, env=clean | (env or {}), check=True
    )
    port = free_port()
    cmd = [sys.executable, manage, "runserver", f"127.0.0.1:{port}", "--noreload"]
    with _server(cmd, tmp_path, port, env) as client:
        yield client


def run_django_listing(tmp_path: Path, env: dict[str, str] | None = None) -> set[str]:
    """Run the Django example (with ``env`` added), use it through its forms; the image URLs it shows."""
    with django_listing(tmp_path, env) as client:
        return _use_the_site(client, "/", "picture", "/l/bobs-bakery/edit", "/l/bobs-bakery")


def test_django_listing(tmp_path: Path) -> None:
    urls = run_django_listing(tmp_path)
    assert all(u.startswith("/pictures/b/") for u in urls)  # served by the example itself
    assert (tmp_path / "picstore-data" / "picstore.db").is_file()
