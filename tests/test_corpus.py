"""The acceptance table: every row of shared/corpus/manifest.csv is a test of ``ingest``.

Uploads run in a spawned child with an address-space limit (``IsolatedIngest``), so a bomb or a
decoder crash would fail its row instead of taking pytest down; the child also reports each upload's
peak RSS above its baseline. Outputs are checked here, in the parent: decoded back, their sizes
compared with what was promised, and every metadata container looked for three ways (by walking the
file structure, with Pillow, with libvips).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import pytest

from picstore.errors import ImageRejected
from tests.conftest import IN_CI
from tests.corpus_util import CORPUS, IsolatedIngest, Outcome, assert_clean, manifest

ROWS = manifest()
# Without the corpus these tests say so; under CI a missing corpus fails (test_the_corpus_is_present).
pytestmark = pytest.mark.skipif(not ROWS and not IN_CI, reason=f"corpus not found at {CORPUS}")

MB = 1 << 20
PEAK_LIMIT = 300 * MB  # "no row uses more than a few hundred MB"
PEAKS: dict[str, Outcome] = {}

ALL_CODES = {cls.code for cls in ImageRejected.__subclasses__()} | {
    sub.code for cls in ImageRejected.__subclasses__() for sub in cls.__subclasses__()
}
# The codes each kind of refusal in the manifest may answer with (its reason starts with the key).
CODES_BY_REASON = {
    "unsupported format": {"unsupported_format"},
    "malicious svg": {"unsupported_format"},
    "not an image": {"not_an_image"},
    "decompression bomb": {"too_many_pixels", "unsupported_format"},  # BMP and ICO bombs: not accepted
    "truncated": {"truncated_image", "corrupt_image", "unsupported_format"},
    "corrupt": {"corrupt_image", "truncated_image", "unsupported_format", "too_many_pixels"},
    "polyglot": {"corrupt_image", "not_an_image", "unsupported_format"},
    # "either: refuse, or accept safely": a damaged or extreme file of an accepted format.
    "either": {"too_many_pixels", "corrupt_image", "truncated_image", "unsupported_format"},
}


def test_the_corpus_is_present() -> None:
    assert ROWS, f"the corpus is missing: no manifest.csv at {CORPUS} (set PICSTORE_CORPUS)"
    assert all(row["expected"] in ("accept", "reject", "either", "sanitize") for row in ROWS)


@pytest.fixture(scope="module")
def child() -> Iterator[IsolatedIngest]:
    runner = IsolatedIngest()
    yield runner
    runner.close()


def _payload(row: dict[str, str]) -> bytes | None:
    text = row["payload"]
    if not text or text in ("n/a", "gps-ifd-without-coords"):
        return None
    return codecs.decode(text, "unicode_escape").encode("latin-1")


@pytest.mark.parametrize("row", ROWS, ids=[r["file"] for r in ROWS])
def test_corpus_row(row: dict[str, str], child: IsolatedIngest) -> None:
    outcome = child.run((CORPUS / row["file"]).read_bytes())
    PEAKS[row["file"]] = outcome
    assert outcome.kind in ("accepted", "rejected"), f"{outcome.kind}: {outcome.code} {outcome.message}"
    assert outcome.peak_rss_added < PEAK_LIMIT, f"peak RSS +{outcome.peak_rss_added / MB:.0f} MB"
    expected = row["expected"]
    if outcome.kind == "rejected":
        assert expected != "accept", f"refused: {outcome.code}: {outcome.message}"
        assert outcome.result is None
        assert outcome.code in ALL_CODES
        assert outcome.message.strip()
        reason = row["reason_or_notes"].lower()
        kinds = [codes for prefix, codes in CODES_BY_REASON.items() if reason.startswith(prefix)]
        assert kinds, f"no refusal kind in CODES_BY_REASON for the reason {reason!r}: add it"
        assert outcome.code in kinds[0], f"{outcome.code}: {outcome.message}"
        return
    assert expected != "reject", f"accepted a file the manifest refuses ({row['reason_or_notes']})"
    result = outcome.result
    assert result is not None
    assert_clean(result, payload=_payload(row))
    if row["orientation_after"]:
        assert f"{result.master.width}x{result.master.height}" == row["orientation_after"]


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
def test_orientation_by_pixels(kind: str, child: IsolatedIngest) -> None:
    """Every EXIF orientation 0-8 of the recurser set comes out as the same upright picture."""
    import pyvips

    def master(n: int) -> pyvips.Image:
        data = (CORPUS / "orientation" / "recurser" / f"{kind}_{n}.jpg").read_bytes()
        outcome = child.run(data)
        assert outcome.result is not None, outcome.message
        return pyvips.Image.new_from_buffer(outcome.result.master.data, "")

    reference = master(1)
    for n in (0, 2, 3, 4, 5, 6, 7, 8):
        image = master(n)
        assert (image.width, image.height) == (reference.width, reference.height)
        diff = (image - reference).abs().avg()
        # Two JPEG generations of the same picture differ by ~0.3-4 levels; a wrong flip or
        # rotation differs by 40-75.
        assert diff < 6, f"{kind}_{n}: mean abs diff {diff:.1f}"
        assert (image.fliphor() - reference).abs().avg() > 20  # the check can tell mirror images apart


def test_bombs_refused_from_the_header(child: IsolatedIngest) -> None:
    """Every pixel bomb in the corpus is refused before decoding: memory stays flat."""
    bombs = [
        r for r in ROWS if r["reason_or_notes"].startswith("decompression bomb") and r["expected"] == "reject"
    ]
    assert len(bombs) >= 8
    for row in bombs:
        outcome = child.run((CORPUS / row["file"]).read_bytes())
        assert outcome.kind == "rejected", row["file"]
        assert outcome.peak_rss_added < 8 * MB, f"{row['file']}: +{outcome.peak_rss_added / MB:.1f} MB"


def test_probe_agrees_with_ingest(child: IsolatedIngest) -> None:
    """``probe`` (picstore validate) gives the same verdict and code as ``ingest`` on every row."""
    for row in ROWS:
        data = (CORPUS / row["file"]).read_bytes()
        full = PEAKS.get(row["file"]) or child.run(data)
        checked = child.run(data, op="probe")
        assert (checked.kind, checked.code) == (full.kind, full.code), row["file"]
        if full.result is not None:
            assert checked.extra["probe"] == full.result.source
            source, master = full.result.source, full.result.master
            assert (source.width, source.height) == (master.width, master.height)  # all under max_side


@pytest.fixture(scope="module", autouse=True)
def peak_rss_report() -> Iterator[None]:
    """Print the heaviest rows after this module's tests (-s shows it); each row asserts its own limit."""
    yield
    if PEAKS:
        heaviest = sorted(PEAKS.items(), key=lambda kv: kv[1].peak_rss_added, reverse=True)[:12]
        print("\npeak RSS added per upload (heaviest corpus rows):")
        for name, outcome in heaviest:
            print(f"  {outcome.peak_rss_added / MB:7.1f} MB  {outcome.seconds * 1000:7.0f} ms  {name}")
