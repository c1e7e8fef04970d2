"""Test support for ingest: run uploads in an isolated child process, and inspect stored bytes.

``IsolatedIngest`` runs ``ingest`` in a *spawned* child with an address-space limit, one upload at a
time, so a bomb or a decoder crash takes down the child (which is restarted), never the test process.
The child resets the kernel's peak-RSS mark before each upload (``/proc/self/clear_refs``) and reports
how much the upload added to it.

``metadata_found`` parses an encoded output (JPEG markers, PNG chunks, WebP chunks, GIF blocks) and
lists every metadata container in it; ``pillow_metadata`` asks Pillow the same question a second way.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import resource
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from picstore.ingest import IngestOptions, IngestResult
from picstore.variants import parse_spec

CORPUS = Path(os.environ.get("PICSTORE_CORPUS", "/work/shared/corpus"))
if not (CORPUS / "manifest.csv").is_file():
    CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

CHILD_ADDRESS_SPACE = 4 << 30  # libvips threads reserve address space; RSS is what we measure
UPLOAD_TIMEOUT = 120.0


def manifest() -> list[dict[str, str]]:
    """The corpus rows, or [] when the corpus is not present."""
    path = CORPUS / "manifest.csv"
    if not path.is_file():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass
class Outcome:
    """What happened to one upload in the child."""

    kind: str  # "accepted", "rejected", "crashed", "timeout", "error"
    code: str = ""
    message: str = ""
    result: IngestResult | None = None
    peak_rss_added: int = 0  # bytes above the child's RSS before the upload
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _child(conn: Connection) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))
    from picstore.errors import ImageRejected
    from picstore.ingest import ingest, probe

    while True:
        request = conn.recv()
        if request is None:
            return
        op, data, options = request
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset the peak-RSS mark (VmHWM) to the current RSS
        before = _status_kb("VmRSS")
        started = time.perf_counter()
        try:
            value = ingest(data, options) if op == "ingest" else probe(data, options)
            outcome = Outcome("accepted", result=value if op == "ingest" else None)
            if op == "probe":
                outcome.extra["probe"] = value
        except ImageRejected as exc:
            outcome = Outcome("rejected", code=exc.code, message=exc.message)
        except Exception as exc:  # a bug, reported to the test rather than killing the child
            outcome = Outcome("error", code=type(exc).__name__, message=str(exc)[:500])
        outcome.seconds = time.perf_counter() - started
        outcome.peak_rss_added = max(0, _status_kb("VmHWM") - before) * 1024
        conn.send(outcome)


class IsolatedIngest:
    """A spawned child that runs ``ingest``/``probe``; restarted after a crash or a timeout."""

    def __init__(self) -> None:
        self._ctx = multiprocessing.get_context("spawn")  # never fork a process that has run libvips
        self._proc: Any = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        parent, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_child, args=(child,), daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        return parent

    def run(self, data: bytes, options: IngestOptions | None = None, op: str = "ingest") -> Outcome:
        """Run ``op`` on ``data`` in the child; crashes and hangs become Outcomes, not exceptions."""
        conn = self._conn or self._start()
        conn.send((op, data, options or IngestOptions()))
        if not conn.poll(UPLOAD_TIMEOUT):
            self._kill()
            return Outcome("timeout", message=f"no answer in {UPLOAD_TIMEOUT:.0f} s")
        try:
            outcome: Outcome = conn.recv()
        except EOFError:
            code = self._proc.exitcode if self._proc else None
            self._kill()
            return Outcome("crashed", message=f"child died (exit code {code})")
        return outcome

    def _kill(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.join(5)
        self._proc = None
        self._conn = None

    def close(self) -> None:
        """Stop the child."""
        if self._conn is not None:
            try:
                self._conn.send(None)
                self._proc.join(10)
            except (BrokenPipeError, OSError):
                pass
        self._kill()


# --- what is inside an encoded output --------------------------------------------------------------


def metadata_found(data: bytes) -> list[str]:
    """Every metadata container in an encoded JPEG/PNG/WebP/GIF (EXIF, XMP, IPTC, ICC, comments...)."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg_metadata(data)
    if data.startswith(b"\x89PNG"):
        return _png_metadata(data)
    if data[:4] == b"RIFF":
        return _webp_metadata(data)
    if data[:3] == b"GIF":
        return _gif_metadata(data)
    if data[4:8] == b"ftyp":
        return [f"exif/xmp item {kind}" for kind in (b"Exif", b"mime") if kind in data]
    raise AssertionError(f"unknown output format {data[:8]!r}")


def _jpeg_metadata(data: bytes) -> list[str]:
    found = []
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise AssertionError(f"JPEG output has junk at {i}")
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: no metadata segments after this in our outputs
            break
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        body = data[i + 4 : i + 2 + length]
        if marker == 0xE0 and body.startswith(b"JFIF\x00"):
            pass  # JFIF: version, density, no user data
        elif 0xE0 <= marker <= 0xEF:
            found.append(f"APP{marker - 0xE0}:{body[:12]!r}")
        elif marker == 0xFE:
            found.append("COM")
        i += 2 + length
    tail = data[data.rfind(b"\xff\xd9") + 2 :]
    if tail:
        found.append(f"{len(tail)} bytes after EOI")
    return found


def _png_metadata(data: bytes) -> list[str]:
    # pHYs is pixel density (like the JFIF density of a JPEG): layout, not information about anyone.
    allowed = {b"IHDR", b"PLTE", b"tRNS", b"pHYs", b"IDAT", b"IEND", b"acTL", b"fcTL", b"fdAT"}
    found = []
    i = 8
    while i + 8 <= len(data):
        length = int.from_bytes(data[i : i + 4], "big")
        kind = data[i + 4 : i + 8]
        if kind not in allowed:
            found.append(kind.decode("latin-1"))
        i += 12 + length
        if kind == b"IEND":
            break
    if i != len(data):
        found.append(f"{len(data) - i} bytes after IEND")
    return found


def _webp_metadata(data: bytes) -> list[str]:
    allowed = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"}
    found = []
    end = 8 + int.from_bytes(data[4:8], "little")
    i = 12
    while i + 8 <= end:
        kind = data[i : i + 4]
        size = int.from_bytes(data[i + 4 : i + 8], "little")
        if kind not in allowed:
            found.append(kind.decode("latin-1"))
        i += 8 + size + (size & 1)
    if end != len(data):
        found.append(f"{len(data) - end} bytes after RIFF")
    return found


def _gif_metadata(data: bytes) -> list[str]:
    found = []
    packed = data[10]
    i = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    while i < len(data):
        block = data[i]
        if block == 0x3B:
            if i + 1 != len(data):
                found.append(f"{len(data) - i - 1} bytes after trailer")
            break
        if block == 0x21:
            label = data[i + 1]
            if label == 0xFE:
                found.append("comment extension")
            elif label == 0xFF and data[i + 3 : i + 14] not in (b"NETSCAPE2.0", b"ANIMEXTS1.0"):
                found.append(f"application extension {data[i + 3 : i + 14]!r}")
            elif label == 0x01:
                found.append("plain text extension")
            i += 2
        else:  # image descriptor
            fpacked = data[i + 9]
            i += 10 + (3 << ((fpacked & 7) + 1) if fpacked & 0x80 else 0) + 1
        while data[i] != 0:
            i += 1 + data[i]
        i += 1
    return found


def pillow_metadata(data: bytes) -> list[str]:
    """Metadata Pillow sees in an output: EXIF tags, XMP, ICC, comments, text chunks."""
    from PIL import Image

    found = []
    with Image.open(io.BytesIO(data)) as im:
        if len(im.getexif()):
            found.append(f"exif {dict(im.getexif())}")
        for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop", "iptc"):
            if im.info.get(key):
                found.append(key)
        found.extend(f"text {k}" for k in getattr(im, "text", {}) or {})
    return found


def vips_metadata(data: bytes) -> list[str]:
    """Metadata fields libvips sees in an output."""
    import pyvips

    image = pyvips.Image.new_from_buffer(data, "")
    names = ("exif-data", "xmp-data", "iptc-data", "icc-profile-data", "gif-comment", "orientation")
    return [n for n in image.get_fields() if n in names or n.startswith(("exif-", "png-comment"))]


def assert_clean(
    result: IngestResult, options: IngestOptions | None = None, payload: bytes | None = None
) -> None:
    """Every stored copy decodes to its declared size and carries no metadata and no payload."""
    import pyvips
    from PIL import Image

    options = options or IngestOptions()
    outputs = [result.master, *result.variants]
    assert len(result.variants) == len(options.variants) * len(options.variant_formats)
    for out in outputs:
        assert out.format in ("jpeg", "png", "webp", "gif"), out.format
        where = f"{out.variant or 'master'}/{out.format}"
        assert metadata_found(out.data) == [], where
        assert pillow_metadata(out.data) == [], where
        assert vips_metadata(out.data) == [], where
        if payload is not None:
            assert payload not in out.data, f"payload {payload!r} in {where}"
        decoded = pyvips.Image.new_from_buffer(out.data, "n=-1" if out.format in ("webp", "gif") else "")
        frame_h = decoded.get("page-height") if decoded.get_typeof("page-height") else decoded.height
        assert (decoded.width, frame_h, decoded.height // frame_h) == (out.width, out.height, out.frames), (
            where
        )
        with Image.open(io.BytesIO(out.data)) as im:
            assert im.format.lower() == out.format
    master = result.master
    assert max(master.width, master.height) <= options.max_side
    for out in result.variants:
        spec = parse_spec(options.variants[out.variant or ""])
        assert (out.width, out.height) == spec.output_size(master.width, master.height), out.variant
        assert out.spec and out.spec.startswith(spec.canonical.split(",q=")[0])
