"""Fuzzing the upload path: sniff, the header readers, and ingest/validate on mutated real files.

Hypothesis drives sniff and the header readers in this process (pure Python: the only acceptable
outcomes are a Header or an ``ImageRejected``). Ingest and probe run libvips, which could crash the
process on a hostile file, so mutated corpus files go to a spawned child; the parent must never die,
and a child that crashed, hung or raised anything but a refusal fails the test with the input saved.

Bounded for CI: a fixed number of examples and mutants, derandomized so a run is reproducible.
Inputs that ever failed are kept in ``tests/fuzz_cases/`` and replayed by every run.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from picstore.errors import ImageRejected
from picstore.ingest import IngestOptions
from picstore.ingest.headers import Header, read_header
from picstore.ingest.sniff import sniff
from tests.corpus_util import CORPUS, IsolatedIngest, manifest

CASES = Path(__file__).parent / "fuzz_cases"
FAILURES = Path(__file__).parent / "fuzz_failures"  # where a new failing input is written for keeping
MAGICS = [
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"GIF89a",
    b"GIF87a",
    b"RIFF\x00\x00\x00\x00WEBPVP8 ",
    b"RIFF\x00\x00\x00\x00WEBPVP8L",
    b"RIFF\x00\x00\x00\x00WEBPVP8X",
    b"\x00\x00\x00\x1cftypavif",
    b"\x00\x00\x00\x18ftypheic",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"\x00\x00\x01\x00",
]
FUZZ = settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))


def _seed_files(limit: int = 24) -> list[Path]:
    """Small accepted corpus files, one or two per format: the material mutants are made of."""
    rows = [r for r in manifest() if r["expected"] == "accept" and int(r["bytes"] or 0) < 60_000]
    by_format: dict[str, list[Path]] = {}
    for row in rows:
        by_format.setdefault(row["format"], []).append(CORPUS / row["file"])
    picked = [p for paths in by_format.values() for p in sorted(paths)[:2]]
    return picked[:limit]


def _check_header(data: bytes) -> None:
    try:
        fmt = sniff(data)
        header = read_header(data, fmt)
    except ImageRejected:
        return
    assert isinstance(header, Header)
    assert header.width >= 0 and header.height >= 0 and header.frames >= 1


@FUZZ
@given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=400))
@example(magic=b"GIF89a", tail=b"\xff\xff\xff\xff" + b"\x00" * 20)
def test_header_readers_refuse_or_read_any_bytes_after_a_magic(magic: bytes, tail: bytes) -> None:
    _check_header(magic + tail)


@FUZZ
@given(data=st.binary(max_size=600))
def test_sniff_names_a_format_or_refuses_anything(data: bytes) -> None:
    with contextlib.suppress(ImageRejected):
        assert isinstance(sniff(data), str)


def _mutants(data: bytes, rng: random.Random, count: int) -> Iterator[bytes]:
    """Byte flips, truncations, duplicated and zeroed ranges: what a damaged or hostile file looks like."""
    for _ in range(count):
        out = bytearray(data)
        kind = rng.randrange(4)
        if kind == 0:
            for _ in range(rng.randint(1, 8)):
                out[rng.randrange(len(out))] = rng.randrange(256)
        elif kind == 1:
            out = out[: rng.randrange(1, len(out))]
        elif kind == 2:
            start = rng.randrange(len(out))
            out[start:start] = out[start : start + rng.randint(1, 64)] * rng.randint(1, 4)
        else:
            start = rng.randrange(len(out))
            out[start : start + rng.randint(1, 32)] = b"\x00" * 32
        yield bytes(out)


def test_header_readers_on_mutated_corpus_files() -> None:
    seeds = _seed_files()
    assert seeds, "the corpus is required for this test"
    rng = random.Random(1234)
    for path in seeds:
        for mutant in _mutants(path.read_bytes(), rng, 40):
            _check_header(mutant)


@pytest.fixture(scope="module")
def child() -> Iterator[IsolatedIngest]:
    runner = IsolatedIngest()
    yield runner
    runner.close()


def _keep_failure(data: bytes, what: str) -> str:
    FAILURES.mkdir(exist_ok=True)
    path = FAILURES / f"{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    return f"{what}; input saved as {path} (move it to tests/fuzz_cases/ once fixed)"


def _run_isolated(child: IsolatedIngest, data: bytes, op: str) -> None:
    outcome = child.run(data, IngestOptions(max_ingest_seconds=20), op=op)
    assert outcome.kind in ("accepted", "rejected"), _keep_failure(
        data, f"{op} {outcome.kind}: {outcome.code} {outcome.message}"
    )
    if outcome.kind == "accepted" and op == "ingest":
        assert outcome.result is not None and outcome.result.master.data


def test_ingest_and_validate_survive_mutated_corpus_files(child: IsolatedIngest) -> None:
    seeds = _seed_files()
    assert seeds, "the corpus is required for this test"
    rng = random.Random(99)
    for index, path in enumerate(seeds):
        for mutant in _mutants(path.read_bytes(), rng, 6):
            _run_isolated(child, mutant, "ingest" if index % 2 else "probe")


@pytest.mark.parametrize("case", sorted(CASES.glob("*.bin")), ids=lambda p: p.name)
def test_kept_fuzz_cases_are_refused_or_accepted_cleanly(child: IsolatedIngest, case: Path) -> None:
    _check_header(case.read_bytes())
    _run_isolated(child, case.read_bytes(), "ingest")
