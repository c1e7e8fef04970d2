"""What the bytes are: the format of an upload from its leading bytes, never from a name or a content type.

``sniff`` answers one of the accepted source formats (``ACCEPTED``) or raises:

- ``UnsupportedFormat`` for an image format we recognise but do not take (BMP, SVG, PSD, ...), so the
  user learns what the file is and what would be accepted;
- ``CorruptImage`` for an accepted format whose signature is damaged (a PNG sent through an ASCII-mode
  transfer);
- ``NotAnImage`` for everything else (HTML, PHP, PDF, ZIP, executables, text, empty data).

Only ISO-BMFF (AVIF/HEIC) needs more than the first bytes: the brand says "HEIF family", the codec of
the items decides between AVIF and HEIC (see ``picstore.ingest.headers.isobmff``).
"""

from __future__ import annotations

import re

from picstore.errors import CorruptImage, NotAnImage, UnsupportedFormat
from picstore.formats import ACCEPTED

#: The sentence every refusal of a format ends with.
ACCEPTED_SENTENCE = "accepted formats are " + ", ".join(ACCEPTED.values())

_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"miaf"})
_OTHER_BMFF: dict[bytes, tuple[str, bool]] = {
    # brand -> (name, is an image format)
    b"crx ": ("Canon CR3 raw", True),
    b"jxl ": ("JPEG XL", True),
    b"jp2 ": ("JPEG 2000", True),
    b"isom": ("an MP4 video", False),
    b"iso2": ("an MP4 video", False),
    b"mp41": ("an MP4 video", False),
    b"mp42": ("an MP4 video", False),
    b"M4V ": ("an MP4 video", False),
    b"M4A ": ("an MP4 audio file", False),
    b"qt  ": ("a QuickTime video", False),
    b"3gp4": ("a 3GP video", False),
    b"3gp5": ("a 3GP video", False),
}

# (prefix, offset, name) of image formats that are recognised and refused.
_UNSUPPORTED_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"8BPS", 0, "Photoshop PSD"),
    (b"%!PS", 0, "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", 0, "EPS"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", 0, "JPEG 2000"),
    (b"\xff\x4f\xff\x51", 0, "JPEG 2000"),
    (b"\xff\x0a", 0, "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", 0, "JPEG XL"),
    (b"qoif", 0, "QOI"),
    (b"DDS ", 0, "DirectDraw Surface (DDS)"),
    (b"\xd7\xcd\xc6\x9a", 0, "Windows Metafile (WMF)"),
    (b"\x01\x00\x09\x00\x00\x03", 0, "Windows Metafile (WMF)"),
    (b"\x8aMNG\r\n\x1a\n", 0, "MNG"),
    (b"\x8bJNG\r\n\x1a\n", 0, "JNG"),
    (b"icns", 0, "Apple icon (ICNS)"),
    (b"gimp xcf", 0, "GIMP XCF"),
    (b"#?RADIANCE", 0, "Radiance HDR"),
    (b"#?RGBE", 0, "Radiance HDR"),
    (b"\x76\x2f\x31\x01", 0, "OpenEXR"),
    (b"SIMPLE  =", 0, "FITS"),
    (b"farbfeld", 0, "farbfeld"),
    (b"/* XPM */", 0, "XPM"),
    (b"id=ImageMagick", 0, "ImageMagick MIFF"),
    (b"FUJIFILMCCD-RAW", 0, "Fujifilm RAF raw"),
    (b"IIRO\x08\x00", 0, "Olympus ORF raw"),
    (b"IIU\x00", 0, "Panasonic RW2 raw"),
    (b"\x00MRM", 0, "Minolta MRW raw"),
    (b"\x01\xda", 0, "SGI image"),
    (b"\x59\xa6\x6a\x95", 0, "Sun raster"),
)

# (prefix, name) of common non-image uploads, named in the message to help the user.
_NOT_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = (
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
)

_TEXT_NAMES: tuple[tuple[re.Pattern[bytes], str, bool], ...] = (
    # (pattern, name, is an image format) for text-based uploads, checked on the first 4 KiB.
    (re.compile(rb"<svg[\s>/]", re.IGNORECASE), "SVG", True),
    (re.compile(rb"<\?php", re.IGNORECASE), "PHP source", False),
    (re.compile(rb"<(!doctype\s+html|html|head|body|script|iframe)[\s>]", re.IGNORECASE), "HTML", False),
    (re.compile(rb"push\s+graphic-context|viewbox\s+\d", re.IGNORECASE), "ImageMagick MVG", True),
    (re.compile(rb"<\?xml", re.IGNORECASE), "an XML document", False),
    (re.compile(rb"^P[1-7]\s", re.IGNORECASE), "Netpbm (PBM/PGM/PPM)", True),
    (re.compile(rb"^#define\s+\w+_width", re.IGNORECASE), "XBM", True),
)


def sniff(data: bytes) -> str:
    """The accepted format of ``data`` (a key of ``ACCEPTED``); raise when the bytes are refused.

    For the HEIF family this answers ``"avif"`` or ``"heic"`` from the brands alone; the header reader
    corrects it from the item codec when the brands are generic (``mif1``).
    """
    if not data:
        raise NotAnImage(f"the upload is empty; {ACCEPTED_SENTENCE}")
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        if head[8:10] == b"CR":
            _unsupported("Canon CR2 raw")
        return "tiff"
    if head[4:8] == b"ftyp":
        return _sniff_bmff(data)
    _refuse_damaged_signature(head)
    _refuse_known(data)
    raise NotAnImage(f"the data is not an image; {ACCEPTED_SENTENCE}")


def _sniff_bmff(data: bytes) -> str:
    size = int.from_bytes(data[:4], "big")
    brands = {data[8:12]}
    # Compatible brands: 4-byte words after major brand and minor version, inside the box, within 256 bytes
    # (a short read yields short words, which match no brand).
    brands.update(data[i : i + 4] for i in range(16, min(size, 256) - 3, 4))
    if brands & _AVIF_BRANDS:
        return "avif"
    if brands & _HEIC_BRANDS:
        return "heic"
    if brands & _HEIF_GENERIC_BRANDS:
        return "heic"  # generic HEIF: the header reader decides from the item codec
    for brand in [data[8:12], *sorted(brands)]:
        if brand in _OTHER_BMFF:
            name, is_image = _OTHER_BMFF[brand]
            if is_image:
                _unsupported(name)
            raise NotAnImage(f"the data is {name}, not an image; {ACCEPTED_SENTENCE}")
    raise NotAnImage(f"the data is an ISO media file that is not an image; {ACCEPTED_SENTENCE}")


def _refuse_damaged_signature(head: bytes) -> None:
    # An accepted format whose magic was mangled in transit: say so rather than "not an image".
    if head[1:4] == b"PNG":
        raise CorruptImage(
            "the PNG signature is damaged (was the file transferred in text mode?); "
            "the image cannot be decoded"
        )


def _refuse_known(data: bytes) -> None:
    head = data[:64]
    for magic, offset, name in _UNSUPPORTED_MAGIC:
        if head[offset : offset + len(magic)] == magic:
            _unsupported(name)
    if head[:2] == b"BM" and len(data) >= 26:
        _unsupported("BMP")
    if _looks_like_ico(data):
        _unsupported("Windows icon (ICO/CUR)")
    if head[4:6] in (b"\x11\xaf", b"\x12\xaf"):
        _unsupported("Autodesk FLI/FLC animation")
    if _looks_like_pcx(head):
        _unsupported("PCX")
    if _looks_like_tga(data):
        _unsupported("Targa (TGA)")
    for magic, name in _NOT_IMAGE_MAGIC:
        if head.startswith(magic):
            raise NotAnImage(f"the data is {name}, not an image; {ACCEPTED_SENTENCE}")
    text = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    for pattern, name, is_image in _TEXT_NAMES:
        if pattern.search(text):
            if is_image:
                _unsupported(name)
            raise NotAnImage(f"the data is {name}, not an image; {ACCEPTED_SENTENCE}")


def _looks_like_ico(data: bytes) -> bool:
    # reserved 0, type 1 (icon) or 2 (cursor), 1-255 entries, first entry's reserved byte 0 and its
    # image data after the directory (a Targa file also starts with 00 00 02 00: this tells them apart).
    if len(data) < 22 or data[:4] not in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00"):
        return False
    count = int.from_bytes(data[4:6], "little")
    offset = int.from_bytes(data[18:22], "little")
    return 0 < count < 256 and data[9] == 0 and offset >= 6 + 16 * count


def _looks_like_pcx(head: bytes) -> bool:
    return (
        len(head) >= 12
        and head[0] == 0x0A
        and head[1] in (0, 2, 3, 4, 5)
        and head[2] in (0, 1)
        and head[3] in (1, 2, 4, 8)
    )


def _looks_like_tga(data: bytes) -> bool:
    # Targa has no magic; a v2 file has a footer, a v1 file only a plausible header.
    if data[-18:] == b"TRUEVISION-XFILE.\x00":
        return True
    if len(data) < 18:
        return False
    cmap_type, img_type, bpp, descriptor = data[1], data[2], data[16], data[17]
    return (
        cmap_type in (0, 1)
        and img_type in (1, 2, 3, 9, 10, 11)
        and bpp in (8, 15, 16, 24, 32)
        and descriptor & 0xC0 == 0
        and data[12:14] != b"\x00\x00"  # width
        and data[14:16] != b"\x00\x00"  # height
        and (cmap_type == 1 or data[3:8] == b"\x00" * 5)
    )


def _unsupported(name: str) -> None:
    raise UnsupportedFormat(f"the data is in {name} format, which is not accepted; {ACCEPTED_SENTENCE}")
