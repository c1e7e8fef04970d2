"""URLs picstore hands out for blobs it serves itself (file and memory stores)."""

from __future__ import annotations

from urllib.parse import quote


class UrlBuilder:
    """Builds URLs under picstore's public base URL."""

    #: The path prefix blobs are served under by ``picstore serve``.
    BLOB_PREFIX = "/b/"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def blob(self, key: str) -> str:
        """The URL of a blob served by picstore: ``{base}/b/{key}``. Keys are content addresses."""
        return f"{self.base_url}{self.BLOB_PREFIX}{quote(key, safe='/')}"
