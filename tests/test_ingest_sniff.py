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
        (b"\x00\x00\x01\x00\x01\x00\x10\x10" + b"\x00" * 10 + b"\x16\x00\x00\x00" + b"\x00" * 8, "ICO"),
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


# --- every rule, stated exactly (scripts/mutation.sh checks that these tests kill its mutants) ----------

SENTENCE = "accepted formats are JPEG, PNG/APNG, GIF, WebP, AVIF, HEIC/HEIF, TIFF"
PAD = b"\x01" * 60  # bytes that match no signature and no text pattern


def _unsupported_message(name: str) -> str:
    return f"the data is in {name} format, which is not accepted; {SENTENCE}"


def _not_an_image(data: bytes) -> str:
    with pytest.raises(NotAnImage) as info:
        sniff(data)
    assert info.value.code == "not_an_image"
    return info.value.message


def _refused_as(data: bytes) -> str:
    with pytest.raises(UnsupportedFormat) as info:
        sniff(data)
    assert info.value.code == "unsupported_format"
    return info.value.message


def test_refusal_messages_are_exact() -> None:
    assert _not_an_image(b"") == f"the upload is empty; {SENTENCE}"
    assert _not_an_image(PAD) == f"the data is not an image; {SENTENCE}"
    assert _not_an_image(b"%PDF-1.4" + PAD) == f"the data is a PDF document, not an image; {SENTENCE}"
    assert _refused_as(b"8BPS" + PAD) == _unsupported_message("Photoshop PSD")
    with pytest.raises(CorruptImage) as info:
        sniff(b"\x89PNG\r\n\x1a" + PAD)
    assert info.value.message == (
        "the PNG signature is damaged (was the file transferred in text mode?); the image cannot be decoded"
    )


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"\xff\xd8\xff", "jpeg"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"GIF87a", "gif"),
        (b"RIFF\x00\x00\x00\x00WEBP", "webp"),
        (b"II*\x00", "tiff"),
        (b"MM\x00+", "tiff"),
        (b"II*\x00\x08\x00\x00\x00C", "tiff"),  # one byte of "CR" is not a Canon raw
        (b"II*\x00\x08\x00\x00\x00RC", "tiff"),
    ],
)
def test_shortest_signatures(data: bytes, fmt: str) -> None:
    assert sniff(data) == fmt


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xfe" + PAD,  # two of JPEG's three bytes
        b"GIF88a" + PAD,
        b"RIFF\x24\x00\x00\x00WAVEfmt " + PAD,  # a WAV file is RIFF too
        b"RIFF\x24\x00\x00\x00AVI LIST" + PAD,  # and so is an AVI
        b"RIFX\x24\x00\x00\x00WEBPVP8 " + PAD,  # WEBP inside something that is not RIFF
        b"II*\x01" + PAD,
    ],
)
def test_near_misses_are_not_images(data: bytes) -> None:
    assert _not_an_image(data) == f"the data is not an image; {SENTENCE}"


@pytest.mark.parametrize(("data", "name"), [(b"ftyp", "")])
def test_ftyp_needs_its_size_field(data: bytes, name: str) -> None:
    # "ftyp" at offset 0 is not a box: the box type sits at 4..8.
    assert _not_an_image(data + PAD).endswith(SENTENCE)


# --- ISO-BMFF: the major brand, then the compatible brands inside the ftyp box ------------------------


def _box(major: bytes, *compatible: bytes, size: int | None = None, after: bytes = b"") -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (size or 8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + after


@pytest.mark.parametrize("brand", [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"])
def test_every_heic_brand(brand: bytes) -> None:
    assert sniff(_box(brand)) == "heic"
    assert sniff(_box(b"isom", brand)) == "heic"  # as a compatible brand too


@pytest.mark.parametrize("brand", [b"mif1", b"msf1", b"mif2", b"miaf"])
def test_every_generic_heif_brand(brand: bytes) -> None:
    assert sniff(_box(b"isom", brand)) == "heic"


@pytest.mark.parametrize("brand", [b"avif", b"avis"])
def test_avif_brands_win_over_heic_ones(brand: bytes) -> None:
    assert sniff(_box(b"heic", b"mif1", brand)) == "avif"
    assert sniff(_box(b"mp42", brand)) == "avif"  # found by the compatible-brand scan alone


def test_compatible_brands_count_only_inside_the_box() -> None:
    # A 20-byte ftyp box holds one compatible brand; an "avif" right after the box is other data.
    assert sniff(_box(b"mp42", b"mif1", size=20, after=b"avif")) == "heic"
    assert "MP4 video" in _not_an_image(_box(b"mp42", b"isom", size=20, after=b"avif"))
    # A brand cut by the end of the box does not count either.
    assert "MP4 video" in _not_an_image(_box(b"mp42", b"isom", b"avif", size=23))
    assert sniff(_box(b"mp42", b"isom", b"avif", size=24)) == "avif"


def test_compatible_brands_are_read_from_the_first_256_bytes() -> None:
    filler = [b"isom"] * 59  # brands at offsets 16 .. 248
    assert sniff(_box(b"mp42", *filler, b"avif")) == "avif"  # at 252: read
    assert "MP4 video" in _not_an_image(_box(b"mp42", *filler, b"isom", b"avif"))  # at 256: not read


def test_brands_are_read_at_4_byte_steps() -> None:
    # "isav" "if  ": the bytes "avif" straddle two brands, which is not a brand.
    assert "MP4 video" in _not_an_image(_box(b"mp42", b"isav", b"if  "))


def test_a_short_file_ends_the_brand_scan() -> None:
    # The box says 400 bytes but the data ends inside the brand: not a brand.
    assert "MP4 video" in _not_an_image(_box(b"mp42", b"isom", size=400, after=b"avi"))
    assert sniff(_box(b"mp42", b"isom", size=400, after=b"avif")) == "avif"


@pytest.mark.parametrize(
    ("brand", "name"),
    [
        (b"crx ", "Canon CR3 raw"),
        (b"jxl ", "JPEG XL"),
        (b"jp2 ", "JPEG 2000"),
    ],
)
def test_other_bmff_images_are_named(brand: bytes, name: str) -> None:
    assert _refused_as(_box(brand)) == _unsupported_message(name)
    assert _refused_as(_box(b"abcd", brand)) == _unsupported_message(name)


@pytest.mark.parametrize(
    ("brand", "name"),
    [
        (b"isom", "an MP4 video"),
        (b"iso2", "an MP4 video"),
        (b"mp41", "an MP4 video"),
        (b"mp42", "an MP4 video"),
        (b"M4V ", "an MP4 video"),
        (b"M4A ", "an MP4 audio file"),
        (b"qt  ", "a QuickTime video"),
        (b"3gp4", "a 3GP video"),
        (b"3gp5", "a 3GP video"),
    ],
)
def test_bmff_media_are_named(brand: bytes, name: str) -> None:
    assert _not_an_image(_box(brand)) == f"the data is {name}, not an image; {SENTENCE}"


def test_the_major_brand_names_the_file_before_compatible_ones() -> None:
    # "crx " sorts before "qt  ": the major brand must still decide.
    assert "QuickTime" in _not_an_image(_box(b"qt  ", b"crx "))
    assert "M4A" not in _refused_as(_box(b"crx ", b"M4A "))


def test_an_unknown_bmff_file() -> None:
    assert _not_an_image(_box(b"abcd", b"efgh")) == (
        f"the data is an ISO media file that is not an image; {SENTENCE}"
    )


# --- formats recognised and refused, one sample each --------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"8BPS", "Photoshop PSD"),
        (b"%!PS", "PostScript/EPS"),
        (b"\xc5\xd0\xd3\xc6", "EPS"),
        (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
        (b"\xff\x4f\xff\x51", "JPEG 2000"),
        (b"\xff\x0a", "JPEG XL"),
        (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
        (b"qoif", "QOI"),
        (b"DDS ", "DirectDraw Surface (DDS)"),
        (b"\xd7\xcd\xc6\x9a", "Windows Metafile (WMF)"),
        (b"\x01\x00\x09\x00\x00\x03", "Windows Metafile (WMF)"),
        (b"\x8aMNG\r\n\x1a\n", "MNG"),
        (b"\x8bJNG\r\n\x1a\n", "JNG"),
        (b"icns", "Apple icon (ICNS)"),
        (b"gimp xcf", "GIMP XCF"),
        (b"#?RADIANCE", "Radiance HDR"),
        (b"#?RGBE", "Radiance HDR"),
        (b"\x76\x2f\x31\x01", "OpenEXR"),
        (b"SIMPLE  =", "FITS"),
        (b"farbfeld", "farbfeld"),
        (b"/* XPM */", "XPM"),
        (b"id=ImageMagick", "ImageMagick MIFF"),
        (b"FUJIFILMCCD-RAW", "Fujifilm RAF raw"),
        (b"IIRO\x08\x00", "Olympus ORF raw"),
        (b"IIU\x00", "Panasonic RW2 raw"),
        (b"\x00MRM", "Minolta MRW raw"),
        (b"\x01\xda", "SGI image"),
        (b"\x59\xa6\x6a\x95", "Sun raster"),
        (b"II*\x00\x10\x00\x00\x00CR", "Canon CR2 raw"),
    ],
)
def test_every_refused_signature(data: bytes, name: str) -> None:
    assert _refused_as(data + PAD) == _unsupported_message(name)


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"%PDF", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"PK\x05\x06", "a ZIP archive"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE2 (MS Office) document"),
        (b"MZ", "a Windows executable"),
        (b"\x7fELF", "an ELF executable"),
        (b"#!", "a script"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
        (b"Rar!", "a RAR archive"),
        (b"{\\rtf", "an RTF document"),
    ],
)
def test_every_named_non_image(data: bytes, name: str) -> None:
    assert _not_an_image(data + PAD) == f"the data is {name}, not an image; {SENTENCE}"


@pytest.mark.parametrize(("size", "refused"), [(25, False), (26, True)])
def test_bmp_needs_a_full_file_header(size: int, refused: bool) -> None:
    data = (b"BM" + PAD)[:size]
    if refused:
        assert _refused_as(data) == _unsupported_message("BMP")
    else:
        _not_an_image(data)


def _ico(*, kind: int = 1, count: int = 1, reserved: int = 0, offset: int | None = None) -> bytes:
    # ICONDIR (reserved, type, count) and the first ICONDIRENTRY: 16x16, 32 bpp, 40 bytes at ``offset``.
    entry = bytes([16, 16, 0, reserved]) + (1).to_bytes(2, "little") + (32).to_bytes(2, "little")
    entry += (40).to_bytes(4, "little") + (6 + 16 * count if offset is None else offset).to_bytes(4, "little")
    return b"\x00\x00" + kind.to_bytes(2, "little") + count.to_bytes(2, "little") + entry


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        (_ico(), True),
        (_ico(kind=2), True),  # a cursor
        (_ico(kind=3), False),
        (_ico(count=0), False),
        (_ico(count=255), True),
        (_ico(count=256), False),
        (_ico(reserved=1), False),
        (_ico(offset=21), False),  # the image data would overlap the directory
        (_ico(offset=22), True),
        (_ico(offset=21) + b"\x01", False),  # the offset is 4 bytes: what follows is not part of it
        (_ico(count=2, offset=37), False),
        (_ico(count=2, offset=38), True),
        (_ico()[:21], False),
    ],
)
def test_ico_detection(data: bytes, refused: bool) -> None:
    if refused:
        assert _refused_as(data) == _unsupported_message("Windows icon (ICO/CUR)")
    else:
        assert "not an image" in _not_an_image(data)


@pytest.mark.parametrize(
    ("magic", "refused"), [(b"\x11\xaf", True), (b"\x12\xaf", True), (b"\x13\xaf", False)]
)
def test_fli_detection(magic: bytes, refused: bool) -> None:
    data = b"\x84\x8e\x01\x00" + magic  # the file size, then the FLI (AF11) or FLC (AF12) magic
    for sample in (data, data + PAD):
        if refused:
            assert _refused_as(sample) == _unsupported_message("Autodesk FLI/FLC animation")
        else:
            _not_an_image(sample)


def _pcx(version: int = 5, encoding: int = 1, bpp: int = 8, size: int = 128) -> bytes:
    return (bytes([0x0A, version, encoding, bpp]) + b"\x00" * 124)[:size]


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        *[(_pcx(version=v), True) for v in (0, 2, 3, 4, 5)],
        (_pcx(version=1), False),
        (_pcx(version=6), False),
        *[(_pcx(encoding=e), e in (0, 1)) for e in (0, 1, 2)],
        *[(_pcx(bpp=b), b in (1, 2, 4, 8)) for b in (1, 2, 3, 4, 8, 9)],
        (_pcx(size=12), True),
        (_pcx(size=11), False),
        (b"\x0b" + _pcx()[1:], False),
    ],
)
def test_pcx_detection(data: bytes, refused: bool) -> None:
    if refused:
        assert _refused_as(data) == _unsupported_message("PCX")
    else:
        _not_an_image(data)


def _tga(
    cmap_type: int = 0,
    img_type: int = 2,
    bpp: int = 24,
    descriptor: int = 0,
    width: int = 64,
    height: int = 64,
) -> bytes:
    cmap_spec = b"\x00\x00\x10\x00\x18" if cmap_type == 1 else b"\x00" * 5
    return (
        bytes([0, cmap_type, img_type])
        + cmap_spec
        + b"\x00\x00\x00\x00"
        + width.to_bytes(2, "little")
        + height.to_bytes(2, "little")
        + bytes([bpp, descriptor])
        + b"\x7f" * 30
    )


@pytest.mark.parametrize(
    ("data", "refused"),
    [
        *[(_tga(cmap_type=c, img_type=1 if c else 2), c in (0, 1)) for c in (0, 1, 2)],
        *[(_tga(img_type=t), t in (1, 2, 3, 9, 10, 11)) for t in (0, 1, 2, 3, 4, 8, 9, 10, 11, 12)],
        *[(_tga(bpp=b), b in (8, 15, 16, 24, 32)) for b in (7, 8, 9, 15, 16, 17, 24, 25, 32, 33)],
        (_tga(descriptor=0x3F), True),  # attribute bits and origin: any
        (_tga(descriptor=0x40), False),  # the two top bits are reserved
        (_tga(descriptor=0x80), False),
        (_tga(width=0), False),
        (_tga(height=0), False),
        (_tga(width=1, height=1), True),
        (_tga()[:3] + b"\x00\x00\x00\x00\x01" + _tga()[8:], False),  # colour map data without a map
        (_tga()[:3] + b"\x01\x00\x00\x00\x00" + _tga()[8:], False),
        (_tga()[:18], True),
        (_tga()[:17], False),
        (b"\x01" * 10 + b"TRUEVISION-XFILE.\x00", True),  # a v2 file: its footer says so
        (b"TRUEVISION-XFILE.\x00", True),
        (b"\x01" * 10 + b"TRUEVISION-XFILE.\x01", False),
    ],
)
def test_targa_detection(data: bytes, refused: bool) -> None:
    if refused:
        assert _refused_as(data) == _unsupported_message("Targa (TGA)")
    else:
        _not_an_image(data)


@pytest.mark.parametrize(
    ("text", "name", "is_image"),
    [
        (b"<svg>", "SVG", True),
        (b"<SVG/>", "SVG", True),
        (b"<svg\nwidth='1'>", "SVG", True),
        (b"<?PHP echo 1;", "PHP source", False),
        (b"<!DOCTYPE  html>", "HTML", False),
        (b"<html>", "HTML", False),
        (b"<head>", "HTML", False),
        (b"<body>", "HTML", False),
        (b"<script>", "HTML", False),
        (b"<iframe src=x>", "HTML", False),
        (b"push  graphic-context", "ImageMagick MVG", True),
        (b"viewbox 0 0 10 10", "ImageMagick MVG", True),
        (b"<?xml version='1.0'?><doc/>", "an XML document", False),
        (b"P6\n1 1\n255\n", "Netpbm (PBM/PGM/PPM)", True),
        (b"p1 ", "Netpbm (PBM/PGM/PPM)", True),
        (b"P7\tWIDTH 1", "Netpbm (PBM/PGM/PPM)", True),
        (b"#define icon_width 16\n", "XBM", True),
    ],
)
def test_text_uploads_are_named(text: bytes, name: str, is_image: bool) -> None:
    for prefix in (b"", b"\xef\xbb\xbf", b" \t\r\n"):  # a byte-order mark and leading blanks are skipped
        if is_image:
            assert _refused_as(prefix + text) == _unsupported_message(name)
        else:
            assert _not_an_image(prefix + text) == f"the data is {name}, not an image; {SENTENCE}"


@pytest.mark.parametrize(
    "text", [b"<svgx>", b"P8 ", b"P6", b"x P6 1", b"XP6 1", b"#define icon_height 16", b"<htmlx>"]
)
def test_text_near_misses(text: bytes) -> None:
    assert _not_an_image(text) == f"the data is not an image; {SENTENCE}"


@pytest.mark.parametrize(("offset", "named"), [(4091, True), (4092, False)])
def test_text_patterns_look_at_the_first_4_kib(offset: int, named: bool) -> None:
    data = b"a" * offset + b"<svg>"
    if named:
        assert _refused_as(data) == _unsupported_message("SVG")
    else:
        _not_an_image(data)
