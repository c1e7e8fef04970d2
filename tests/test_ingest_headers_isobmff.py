"""The AVIF/HEIC header reader: boxes, item codecs, ispe sizes, sequence frames, and every malformed box."""

from __future__ import annotations

import struct

import pytest

from picstore.errors import CorruptImage, TruncatedImage, UnsupportedFormat
from picstore.ingest.headers import Header, read_header


def box(kind: bytes, body: bytes = b"") -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def full(kind: bytes, body: bytes = b"", version: int = 0) -> bytes:
    return box(kind, bytes([version, 0, 0, 0]) + body)


def infe(item_type: bytes, version: int = 2) -> bytes:
    item_id = b"\x00\x01" if version == 2 else b"\x00\x00\x00\x01"
    return full(b"infe", item_id + b"\x00\x00" + item_type + b"name\x00", version)


def iinf(*entries: bytes, version: int = 0) -> bytes:
    count = struct.pack(">H", len(entries)) if version == 0 else struct.pack(">I", len(entries))
    return full(b"iinf", count + b"".join(entries), version)


def ispe(width: int, height: int) -> bytes:
    return full(b"ispe", struct.pack(">II", width, height))


def meta(*children: bytes) -> bytes:
    return full(b"meta", b"".join(children))


def heif(
    *children: bytes, items: tuple[bytes, ...] = (b"av01",), sizes: tuple[tuple[int, int], ...] = ((64, 48),)
) -> bytes:
    properties = box(b"iprp", box(b"ipco", b"".join(ispe(w, h) for w, h in sizes)))
    return box(b"ftyp", b"avif\x00\x00\x00\x00mif1") + meta(
        iinf(*(infe(t) for t in items)), properties, *children
    )


def read(data: bytes) -> Header:
    return read_header(data, "avif")


def refused(data: bytes, error: type[Exception]) -> str:
    with pytest.raises(error) as caught:  # type: ignore[var-annotated]
        read(data)
    return str(caught.value.message)  # type: ignore[attr-defined]


def truncated(what: str) -> str:
    return f"the HEIF data is truncated ({what}); upload the complete file (was the transfer cut short?)"


def corrupt(fmt: str, what: str) -> str:
    return f"the {fmt} data is corrupt ({what}); the image cannot be decoded"


@pytest.mark.parametrize(("item", "fmt"), [(b"av01", "avif"), (b"hvc1", "heic"), (b"hev1", "heic")])
def test_the_codec_comes_from_the_items(item: bytes, fmt: str) -> None:
    assert read(heif(items=(item,), sizes=((0x010203, 0x040506),))) == Header(fmt, 0x010203, 0x040506)


def test_av1_wins_when_both_codecs_are_there() -> None:
    assert read(heif(items=(b"hvc1", b"av01", b"Exif"))).format == "avif"


@pytest.mark.parametrize(("items", "kinds"), [((b"jpeg", b"Exif"), "Exif, jpeg"), ((), "none")])
def test_other_codecs_are_named(items: tuple[bytes, ...], kinds: str) -> None:
    assert refused(heif(items=items), UnsupportedFormat) == (
        f"this HEIF file holds items coded as {kinds}; only AV1 (AVIF) and HEVC (HEIC) are accepted"
    )


def test_item_info_versions() -> None:
    # infe version 3 has a 32-bit item id; versions below 2 carry no item type; iinf version 1 a 32-bit count.
    v3 = box(b"ftyp", b"avif") + meta(iinf(infe(b"hvc1", 3)), box(b"iprp", box(b"ipco", ispe(8, 8))))
    assert read(v3).format == "heic"
    v1 = box(b"ftyp", b"avif") + meta(iinf(infe(b"av01", 1)), box(b"iprp", box(b"ipco", ispe(8, 8))))
    assert "coded as none" in refused(v1, UnsupportedFormat)
    long_count = box(b"ftyp", b"avif") + meta(
        iinf(infe(b"av01"), version=1), box(b"iprp", box(b"ipco", ispe(8, 8)))
    )
    assert read(long_count).format == "avif"


def test_the_largest_declared_size_is_the_image() -> None:
    header = read(heif(sizes=((512, 512), (4096, 100), (100, 3072))))
    assert (header.width, header.height) == (4096, 3072)


def test_sizes_are_required_and_not_zero() -> None:
    assert refused(heif(sizes=()), CorruptImage) == corrupt("AVIF", "no image size (ispe) declared")
    assert refused(heif(items=(b"hvc1",), sizes=((0, 10),)), CorruptImage) == corrupt(
        "HEIC", "declared size 0x10"
    )
    assert refused(heif(sizes=((10, 0),)), CorruptImage) == corrupt("AVIF", "declared size 10x0")


def test_a_short_ispe_is_ignored() -> None:
    short = full(b"ispe", struct.pack(">I", 64))
    data = box(b"ftyp", b"avif") + meta(iinf(infe(b"av01")), box(b"iprp", box(b"ipco", short + ispe(8, 9))))
    assert (read(data).width, read(data).height) == (8, 9)


def test_there_must_be_a_meta_box() -> None:
    assert refused(box(b"ftyp", b"avif") + box(b"mdat", b"x"), CorruptImage) == corrupt("HEIF", "no meta box")


def _sequence(*counts: int, stsz_body: bytes | None = None) -> bytes:
    tracks = b""
    for n in counts:
        stsz = full(b"stsz", struct.pack(">II", 0, n) if stsz_body is None else stsz_body)
        tracks += box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", stsz))))
    return box(b"moov", tracks)


def test_avif_sequences_count_their_frames() -> None:
    assert read(heif(_sequence(12, 30))).frames == 30
    assert read(heif(_sequence(0))).frames == 1
    assert read(heif(_sequence(5, stsz_body=b"\x00" * 7))).frames == 1  # too short to hold a count
    assert read(heif(_sequence(9), items=(b"hvc1",))).frames == 1  # HEIC: the first image only


def test_a_large_box_size() -> None:
    large = struct.pack(">I", 1) + b"free" + struct.pack(">Q", 24) + b"\x00" * 8
    assert read(heif(large)).width == 64
    assert refused(heif() + struct.pack(">I", 1) + b"free" + b"\x00" * 7, TruncatedImage) == truncated(
        "a box header is cut off"
    )


def test_a_box_to_the_end_of_the_data() -> None:
    assert read(heif(struct.pack(">I", 0) + b"mdat" + b"pixels")).width == 64


@pytest.mark.parametrize(("size", "header"), [(7, 8), (4, 8)])
def test_a_box_smaller_than_its_header(size: int, header: int) -> None:
    data = heif(struct.pack(">I", size) + b"free" + b"\x00" * 8)
    assert refused(data, CorruptImage) == corrupt("HEIF", f"box b'free' has size {size}")
    large = heif(struct.pack(">I", 1) + b"free" + struct.pack(">Q", 15) + b"\x00" * 8)
    assert refused(large, CorruptImage) == corrupt("HEIF", "box b'free' has size 15")


def test_a_box_running_past_the_end() -> None:
    data = heif() + box(b"mdat", b"x" * 10)
    assert refused(data[:-1], TruncatedImage) == truncated("the 'mdat' box runs past the end of the data")


@pytest.mark.parametrize(
    ("tail", "cut"), [(b"", False), (b"\x00" * 7, True), (b"\x00\x00\x00\x08free", False)]
)
def test_bytes_after_the_last_box(tail: bytes, cut: bool) -> None:
    data = heif() + tail
    if cut:
        assert refused(data, TruncatedImage) == truncated("a box header is cut off")
    else:
        assert read(data).width == 64


def test_too_many_boxes() -> None:
    # heif() has 6 boxes the walk counts: ftyp, meta, iinf, iprp, ipco, ispe.
    assert read(heif(b"".join(box(b"free") for _ in range(9_994)))).width == 64  # 10,000 in all
    assert refused(heif(b"".join(box(b"free") for _ in range(9_995))), CorruptImage) == corrupt(
        "HEIF", "too many boxes"
    )


@pytest.mark.parametrize(
    "entry", [struct.pack(">I", 7) + b"infe", struct.pack(">I", 200) + b"infe" + b"\x00" * 8]
)
def test_a_bad_item_info_entry(entry: bytes) -> None:
    data = box(b"ftyp", b"avif") + meta(
        full(b"iinf", b"\x00\x01" + entry), box(b"iprp", box(b"ipco", ispe(8, 8)))
    )
    assert refused(data, CorruptImage) == corrupt("HEIF", "bad item info entry")


def test_other_item_info_entries_are_skipped() -> None:
    data = box(b"ftyp", b"avif") + meta(
        iinf(box(b"free", b"\x02\x00\x00\x00\x00\x01\x00\x00hvc1"), infe(b"av01")),
        box(b"iprp", box(b"ipco", ispe(8, 8))),
    )
    assert read(data).format == "avif"


def test_only_the_top_level_must_end_on_a_box() -> None:
    assert read(heif(b"\x00\x00\x00")).width == 64  # stray bytes inside meta are ignored


def test_an_empty_meta_box_at_the_very_end_is_still_a_meta_box() -> None:
    data = box(b"ftyp", b"avif") + box(b"meta")
    assert "coded as none" in refused(data, UnsupportedFormat)


def test_a_large_size_header_exactly_at_the_end() -> None:
    assert read(heif() + struct.pack(">I", 1) + b"free" + struct.pack(">Q", 16)).width == 64


def test_a_large_size_is_eight_bytes() -> None:
    huge = struct.pack(">I", 1) + b"free" + struct.pack(">Q", (1 << 56) | 24) + b"\x00" * 8
    assert refused(heif() + huge, TruncatedImage) == truncated("the 'free' box runs past the end of the data")


def test_a_container_with_a_large_size_header() -> None:
    inner = iinf(infe(b"hvc1")) + box(b"iprp", box(b"ipco", ispe(20, 10)))
    body = b"\x00\x00\x00\x00" + inner
    large_meta = struct.pack(">I", 1) + b"meta" + struct.pack(">Q", 16 + len(body)) + body
    assert read(box(b"ftyp", b"heic") + large_meta) == Header("heic", 20, 10)


def test_other_containers_are_not_meta_boxes() -> None:
    data = box(b"ftyp", b"avif") + _sequence(3) + box(b"iprp", box(b"ipco", ispe(8, 8)))
    assert refused(data, CorruptImage) == corrupt("HEIF", "no meta box")


def test_a_short_stsz_is_not_read_past_its_end() -> None:
    short = b"\x00" * 4 + b"\x00\x00\x07"  # the count would be 0x0007.. with the next box's first byte
    assert read(heif(_sequence(1, stsz_body=short), box(b"free", b"x"))).frames == 1


def test_an_empty_item_info_entry_is_allowed() -> None:
    data = box(b"ftyp", b"avif") + meta(
        full(b"iinf", b"\x00\x02" + box(b"free") + infe(b"av01")), box(b"iprp", box(b"ipco", ispe(8, 8)))
    )
    assert read(data).format == "avif"
