"""The embeddable upload widget in a host page on another origin: one <script>, one element, a token the
host's backend minted with ImageStore.upload_token (docs/upload-widget.md)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Site
from tests.browser.flows import upload, upload_files

HOST_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Your listing: photos</title></head>
<body>
  <h1>Add photos to your listing</h1>
  <script src="{picstore}/static/picstore-upload.js" defer></script>
  <div data-picstore-upload data-token="{token}"></div>
</body></html>"""


@pytest.fixture
def host_page(site: Site) -> Iterator[str]:
    """A page of another application (another origin) embedding the widget for tenant acme."""
    token = site.store.upload_token(site.slug, ttl="10m")
    body = HOST_PAGE.format(picstore=site.url, token=token).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_the_widget_uploads_from_another_origin(
    page: Any, site: Site, host_page: str, tmp_path: Path
) -> None:
    requests: list[tuple[str, str, str | None]] = []
    page.on("request", lambda r: requests.append((r.method, r.url, r.headers.get("authorization"))))
    page.goto(host_page)
    verdicts = upload(page, upload_files(tmp_path))
    assert "stored" in verdicts["sea.jpg"] and "stored" in verdicts["garden.jpg"]
    assert "not_an_image" in verdicts["notes.jpg"]
    assert sorted(i.filename for i in site.store.list(site.slug).items) == ["garden.jpg", "sea.jpg"]
    # The browser held the upload token only: never an API key, and no cookie-based call.
    sent = {auth for _, url, auth in requests if url.startswith(site.url + "/v1/")} - {None}
    assert sent and all(a.startswith("Bearer psu_") for a in sent)
