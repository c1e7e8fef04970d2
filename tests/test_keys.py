"""Ids, API key hashes, content addresses and kept filenames: the exact forms the catalog relies on."""

from __future__ import annotations

import hashlib
import re

import pytest

from picstore.keys import clean_filename, hash_api_key, master_key, new_id, variant_key

SHA = "ab" * 32


def test_new_id_is_lowercase_base32_without_padding() -> None:
    # 15 bytes are exactly 24 base32 characters: no "=" padding to strip.
    ids = {new_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(r"[a-z2-7]{24}", i) for i in ids)


def test_new_id_strips_padding_for_other_sizes() -> None:
    # 16 bytes are 26 characters plus 6 "=" of padding, which must not reach a URL or a filename.
    assert re.fullmatch(r"[a-z2-7]{26}", new_id(16))


def test_api_key_hash_is_sha256_hex() -> None:
    assert hash_api_key("k") == hashlib.sha256(b"k").hexdigest()


def test_master_key_layout() -> None:
    assert master_key(SHA, "jpeg") == f"img/ab/ab/{SHA}.jpg"
    assert master_key("0123" + SHA[4:], "png") == f"img/01/23/0123{SHA[4:]}.png"


def test_variant_key_is_24_hex_digits_of_spec_and_format() -> None:
    digest = hashlib.sha256(b"fit:100x100|webp").hexdigest()[:24]
    assert variant_key(SHA, "fit:100x100", "webp") == f"var/{SHA}/{digest}.webp"
    assert variant_key(SHA, "fit:100x100", "avif") != variant_key(SHA, "fit:100x100", "webp")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (None, None),
        ("", None),
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("a/b/c.png", "c.png"),
        ("C:\\Users\\me\\cat.gif", "cat.gif"),
        ("dir\\", None),
        ("bell\x07\ttab\n.jpg", "belltab.jpg"),
        ("\x00\x01", None),
        ("x" * 300, "x" * 255),
        ("é" * 256, "é" * 255),
    ],
)
def test_clean_filename(given: str | None, kept: str | None) -> None:
    assert clean_filename(given) == kept
