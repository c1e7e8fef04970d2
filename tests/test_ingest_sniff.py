"""sniff: the format comes from the bytes; refusals name what the data is and what is accepted."""

from __future__ import annotations

import pytest

from picstore.errors import CorruptImage, NotAnImage, UnsupportedFormat
from picstore.ingest.sniff import ACCEPTED, sniff


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00" * 16


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"GIF87a\x01\x00\x01\x00", "gif"),
        (b"GIF89a\x01\x00\x01\x00", "gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "webp"),
        (b"II*\x00\x08\x00\x00\x00", "tiff"),
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),
        (b"II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00", "tiff"),
        (_ftyp(b"avif", b"mif1", b"miaf"), "avif"),
        (_ftyp(b"avis", b"msf1"), "avif"),
        (_ftyp(b"heic", b"mif1"), "heic"),
        (_ftyp(b"mif1", b"heic"), "heic"),
        (_ftyp(b"mif1"), "heic"),  # generic brand: the header reader decides from the item codec
    ],
)
def test_accepted_formats_by_magic(data: bytes, fmt: str) -> None:
    assert sniff(data) == fmt


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"BM" + b"\x00" * 60, "BMP"),
        (b"\x00\x00\x01\x00\x01\x00\x10\x10" + b"\x00" * 20, "ICO"),
        (b"8BPS\x00\x01" + b"\x00" * 30, "Photoshop"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n", "EPS"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 20, "JPEG 2000"),
        (b"\xff\x0a\xfa\x7f", "JPEG XL"),
        (b"qoif\x00\x00\x00\x80", "QOI"),
        (b"DDS |\x00\x00\x00", "DDS"),
        (b"\xef\xbb\xbf  <?xml version='1.0'?>\n<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
        (b"<svg onload='alert(1)'></svg>", "SVG"),
        (b"push graphic-context\nviewbox 0 0 640 480\nimage over 0,0 0,0 'https://x/'", "MVG"),
        (b"II*\x00\x10\x00\x00\x00CR\x02\x00", "CR2"),
        (_ftyp(b"crx ", b"isom"), "CR3"),
        # Targa, 64x64 24-bit true colour: no magic; its first bytes look like a cursor file's.
        (b"\x00\x00\x02" + b"\x00" * 9 + b"\x40\x00\x40\x00\x18\x00" + b"\x7f" * 60, "Targa"),
    ],
)
def test_known_formats_we_do_not_take_are_named(data: bytes, name: str) -> None:
    with pytest.raises(UnsupportedFormat) as info:
        sniff(data)
    assert name.lower() in info.value.message.lower()
    assert info.value.code == "unsupported_format"
    for accepted in ACCEPTED.values():
        assert accepted in info.value.message  # the message says what would be accepted


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"", "empty"),
        (b"<!DOCTYPE html><html><script>alert(1)</script>", "HTML"),
        (b"  <html><body onload=x>", "HTML"),
        (b"<?php system($_GET['c']); ?>", "PHP"),
        (b"%PDF-1.7\n", "PDF"),
        (b"PK\x03\x04\x14\x00\x00\x00", "ZIP"),
        (b"MZ\x90\x00\x03\x00", "executable"),
        (b"\x7fELF\x02\x01\x01", "ELF"),
        (b"#!/bin/sh\nrm -rf /", "script"),
        (b"just some text, not a picture", "not an image"),
        (_ftyp(b"isom", b"mp41"), "MP4"),
        (b"\x00" * 64, "not an image"),
    ],
)
def test_non_images_are_refused(data: bytes, name: str) -> None:
    with pytest.raises(NotAnImage) as info:
        sniff(data)
    assert name.lower() in info.value.message.lower()
    assert "accepted formats are" in info.value.message


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\r\n\x1a\n\x00\x00", b"\x89PNG\n\x1a\n\x00\x00", b"\x09PNG\r\n\x1a\n\x00\x00"],
)
def test_a_damaged_png_signature_is_called_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptImage, match="signature"):
        sniff(data)


def test_the_bytes_decide_not_the_name() -> None:
    # A PNG is a PNG whatever the upload was called; sniff never sees a filename or content type.
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
    assert sniff(png) == "png"
    assert sniff.__code__.co_argcount == 1
