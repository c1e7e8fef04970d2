"""AVIF and HEIC/HEIF: the ISO-BMFF boxes that declare item codecs, sizes (ispe) and sequence frames."""

from __future__ import annotations

from dataclasses import dataclass, field

from picstore.errors import UnsupportedFormat
from picstore.ingest.headers.base import Header, corrupt, truncated, u32be

# Boxes whose payload is a list of boxes, and how many bytes (version/flags) precede that list.
_CONTAINERS = {
    b"meta": 4,
    b"iprp": 0,
    b"ipco": 0,
    b"moov": 0,
    b"trak": 0,
    b"mdia": 0,
    b"minf": 0,
    b"stbl": 0,
}
_MAX_BOXES = 10_000
_AV1 = frozenset({b"av01"})
_HEVC = frozenset({b"hvc1", b"hev1"})


@dataclass
class _Boxes:
    item_types: set[bytes] = field(default_factory=set)
    sizes: list[tuple[int, int]] = field(default_factory=list)
    sample_counts: list[int] = field(default_factory=list)
    has_meta: bool = False
    count: int = 0


def read_isobmff(data: bytes) -> Header:
    """The codec (AVIF or HEIC) from the item types, the largest declared size, and sequence frames.

    The largest ``ispe`` over all items is used for the pixel check: for a grid image that is the
    assembled size, and it can only overstate, never understate, what the decoder will allocate.
    """
    boxes = _Boxes()
    _walk(data, 0, len(data), boxes, top=True)
    if not boxes.has_meta:
        raise corrupt("HEIF", "no meta box")
    if boxes.item_types & _AV1:
        fmt = "avif"
    elif boxes.item_types & _HEVC:
        fmt = "heic"
    else:
        kinds = ", ".join(sorted(t.decode("latin-1") for t in boxes.item_types)) or "none"
        raise UnsupportedFormat(
            f"this HEIF file holds items coded as {kinds}; only AV1 (AVIF) and HEVC (HEIC) are accepted"
        )
    if not boxes.sizes:
        raise corrupt(fmt.upper(), "no image size (ispe) declared")
    width = max(w for w, _ in boxes.sizes)
    height = max(h for _, h in boxes.sizes)
    if width == 0 or height == 0:
        raise corrupt(fmt.upper(), f"declared size {width}x{height}")
    frames = max(boxes.sample_counts, default=1) if fmt == "avif" else 1
    return Header(fmt, width, height, frames=max(frames, 1))


def _walk(data: bytes, i: int, end: int, boxes: _Boxes, *, top: bool = False) -> None:
    while i + 8 <= end:
        boxes.count += 1
        if boxes.count > _MAX_BOXES:
            raise corrupt("HEIF", "too many boxes")
        size, kind = u32be(data, i), data[i + 4 : i + 8]
        header = 8
        if size == 1:
            if i + 16 > end:
                raise truncated("HEIF", "a box header is cut off")
            size, header = int.from_bytes(data[i + 8 : i + 16], "big"), 16
        elif size == 0:
            size = end - i
        if size < header:
            raise corrupt("HEIF", f"box {kind!r} has size {size}")
        if i + size > end:
            raise truncated("HEIF", f"the {kind.decode('latin-1')!r} box runs past the end of the data")
        body, box_end = i + header, i + size
        if kind in _CONTAINERS:
            boxes.has_meta = boxes.has_meta or kind == b"meta"
            _walk(data, body + _CONTAINERS[kind], box_end, boxes)
        elif kind == b"iinf":
            _read_iinf(data, body, box_end, boxes)
        elif kind == b"ispe" and body + 12 <= box_end:
            boxes.sizes.append((u32be(data, body + 4), u32be(data, body + 8)))
        elif kind == b"stsz" and body + 12 <= box_end:
            boxes.sample_counts.append(u32be(data, body + 8))
        i = box_end
    if top and i != end:  # 1 to 7 bytes left: too few for a box header (8 or more are read as a box)
        raise truncated("HEIF", "a box header is cut off")


def _read_iinf(data: bytes, body: int, end: int, boxes: _Boxes) -> None:
    version = data[body]
    i = body + (6 if version == 0 else 8)  # version/flags, then a 16- or 32-bit entry count
    while i + 8 <= end:
        size, kind = u32be(data, i), data[i + 4 : i + 8]
        if size < 8 or i + size > end:
            raise corrupt("HEIF", "bad item info entry")
        if kind == b"infe":
            infe_version = data[i + 8]
            if infe_version >= 2:
                # version/flags (4), item id (2 or 4), protection index (2), then the item type.
                at = i + 12 + (2 if infe_version == 2 else 4) + 2
                boxes.item_types.add(data[at : at + 4])
        i += size
