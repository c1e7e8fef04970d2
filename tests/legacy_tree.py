"""A legacy picture tree like the old lighttpd box held: corpus pictures under odd names, duplicates,
nested folders, files that are not images, and names that are not UTF-8."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import CORPUS

#: Refusal codes a non-image or broken file may get.
REFUSAL_CODES = {"not_an_image", "unsupported_format", "corrupt_image", "truncated_image", "too_many_pixels"}


@dataclass
class LegacyTree:
    """The tree's root and what each relative path (as bytes) should become."""

    root: Path
    #: Old paths of pictures that must be imported, with the tenant they belong to.
    pictures: dict[bytes, str] = field(default_factory=dict)
    #: Old paths of files that must be refused.
    refused: set[bytes] = field(default_factory=set)
    #: Groups of old paths (same tenant) holding identical bytes.
    duplicates: list[list[bytes]] = field(default_factory=list)


def _corpus(expected: str, max_bytes: int, max_pixels: int) -> list[Path]:
    with (CORPUS / "manifest.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    return [
        CORPUS / r["file"]
        for r in rows
        if r["expected"] == expected
        and int(r["bytes"]) <= max_bytes
        and int(r["width"] or 0) * int(r["height"] or 0) <= max_pixels
        and not r["file"].startswith("bombs/")
    ]


def _write(tree: LegacyTree, rel: bytes, data: bytes) -> None:
    path = os.path.join(os.fsencode(tree.root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


_ODD = [
    b"with space %d.jpg",
    b"caf\xe9 latin1 %d.jpg",
    b"\xc3\xbcml\xc3\xa4ut %d.png",
    b"100%% sure #%d.png",
    b"(paren) [bracket] %d.gif",
    b"UPPER %d.JPG",
    b"no-extension-%d",
    b"a+b=c&d %d.webp",
]


def build(root: Path, copies: int = 2) -> LegacyTree:
    """Two tenants' folders (``acme``, ``globex``); every accepted corpus picture under ``copies`` names."""
    tree = LegacyTree(root)
    pictures = _corpus("accept", 60_000, 400 * 400)
    for i, source in enumerate(pictures):
        data = source.read_bytes()
        tenant = "acme" if i % 2 else "globex"
        group = []
        for n in range(copies):
            name = _ODD[(i + n) % len(_ODD)] % i if n else os.fsencode(source.name)
            rel = b"/".join([tenant.encode(), b"dir %d" % (i % 4), b"deeper" * (n % 2), name]).replace(
                b"//", b"/"
            )
            _write(tree, rel, data)
            tree.pictures[rel] = tenant
            group.append(rel)
        tree.duplicates.append(group)
    for i, source in enumerate(_corpus("reject", 60_000, 10**9)):
        rel = b"acme/rejects/%d %s" % (i, os.fsencode(source.name))
        _write(tree, rel, source.read_bytes())
        tree.refused.add(rel)
    for rel, data in [
        (b"acme/README.txt", b"pictures of the acme shop\n"),
        (b"globex/index.html", b"<html><body>hello</body></html>"),
        (b"globex/Thumbs.db", bytes(range(256)) * 8),
        (b"acme/empty.jpg", b""),
        (b"acme/.htaccess", b"Options -Indexes\n"),
    ]:
        _write(tree, rel, data)
        tree.refused.add(rel)
    return tree
