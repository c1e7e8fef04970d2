"""Corpus files the integration tests upload: one that must pass, one that must be refused (manifest.csv)."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

from tests.conftest import CORPUS

#: 800x531 JPEG whose GPS IFD has wrong tag types: accepted, cleaned, and big enough for every variant.
ACCEPTED = "jpeg/exif_gps_typeerror.jpg"
#: PNG whose IDAT zlib stream is broken: refused as corrupt.
REFUSED = "corrupt/png/broken_data_stream.png"


def corpus_file(name: str) -> Path:
    """The corpus file ``name``, after checking that the manifest still expects what the test assumes."""
    with (CORPUS / "manifest.csv").open(newline="") as fh:
        expected = {row["file"]: row["expected"] for row in csv.DictReader(fh)}
    assert expected[name] == ("accept" if name == ACCEPTED else "reject")
    return CORPUS / name


class PictureTags(HTMLParser):
    """Every ``<picture>``, ``<source>`` and ``<img>`` on a page, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("picture", "source", "img"):
            self.tags.append((tag, {k: v or "" for k, v in attrs}))

    @classmethod
    def parse(cls, page: str) -> PictureTags:
        parser = cls()
        parser.feed(page)
        return parser

    def urls(self) -> set[str]:
        """Every URL in ``src`` and ``srcset`` attributes."""
        found: set[str] = set()
        for _, attrs in self.tags:
            if attrs.get("src"):
                found.add(attrs["src"])
            for candidate in filter(None, (c.strip() for c in attrs.get("srcset", "").split(","))):
                found.add(candidate.split()[0])
        return found
