"""The work budget's rules at their edges: planned work against the limit, the estimate, the deadline."""

from __future__ import annotations

import time

import pytest

from picstore.errors import IngestTimeout, TooMuchWork
from picstore.ingest import IngestOptions
from picstore.ingest.budget import Deadline, check_work, estimate, planned_work
from picstore.ingest.headers import Header
from picstore.variants.spec import parse_spec
from tests.helpers import make_jpeg


def test_planned_work_without_variants_is_decode_plus_master() -> None:
    header = Header("png", 300, 200)
    assert planned_work(header, IngestOptions(variants={}), {}) == 2 * 300 * 200


@pytest.mark.parametrize(("margin", "refused"), [(-1, True), (0, False), (1, False)])
def test_work_at_the_limit(margin: int, refused: bool) -> None:
    header = Header("png", 300, 200)
    options = IngestOptions(variants={}, max_work_pixels=2 * 300 * 200 + margin)
    if refused:
        with pytest.raises(TooMuchWork) as caught:
            check_work(header, options, {})
        assert caught.value.code == "too_much_work"
    else:
        check_work(header, options, {})


def test_the_refusal_says_what_and_how_much() -> None:
    options = IngestOptions(variants={}, max_work_pixels=1_499_999)
    with pytest.raises(TooMuchWork) as caught:
        check_work(Header("png", 1000, 750), options, {})  # 1.5 MP of work
    assert caught.value.message == (
        "the image (1,000x750) would take 2 MP of decoding and encoding; the limit is 1 MP per upload. "
        "Upload fewer frames or a smaller image."
    )
    with pytest.raises(TooMuchWork) as caught:
        # 1.5 MP decoded, 1.5 MP encoded twice (libwebp's animation encoder): 4.5 MP.
        check_work(Header("gif", 1000, 750, frames=2), options, {})
    assert caught.value.message.startswith("the image (2 frames of 1,000x750) would take 4 MP")


def test_the_estimate_is_the_planned_work_of_the_header() -> None:
    options = IngestOptions(variants={"t": "cover:20x20"})
    data = make_jpeg(64, 48)
    # Decoded 64x48, master 64x48, and the thumb's 27x20 before its crop, in JPEG and WebP.
    assert estimate(data, options) == 64 * 48 * 2 + 27 * 20 * 2


@pytest.mark.parametrize("data", [b"", b"not an image", make_jpeg()[:10]])
def test_the_estimate_of_a_refused_upload_is_zero(data: bytes) -> None:
    assert estimate(data, IngestOptions()) == 0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    offset = [0.0]
    real = time.monotonic
    monkeypatch.setattr(time, "monotonic", lambda: real() + offset[0])
    return offset


def test_a_deadline_passes_after_its_seconds(clock: list[float]) -> None:
    deadline = Deadline(10)
    clock[0] += 9.5
    deadline.check()
    assert deadline.expired is False
    clock[0] += 1
    with pytest.raises(IngestTimeout) as caught:
        deadline.check()
    assert caught.value.message == (
        "processing the image took longer than 10 s and was stopped; upload a smaller image or fewer frames"
    )
    assert deadline.expired is True


def test_an_expired_deadline_stays_expired(clock: list[float]) -> None:
    deadline = Deadline(0.25)
    deadline.expired = True  # as the libvips callback sets it
    with pytest.raises(IngestTimeout, match=r"longer than 0\.25 s"):
        deadline.check()


@pytest.mark.parametrize(
    ("fmt", "work"),
    [
        # An animated WebP variant: its frames encoded twice each, and one more decode of the GIF.
        ("webp", 50 * 50 * 3 * 2 + 100 * 100 * 3),
        # A still (GIF and JPEG variants are the first frame): one encode, one first-frame decode.
        ("gif", 50 * 50 + 100 * 100),
        ("jpeg", 50 * 50 + 100 * 100),
    ],
)
def test_only_animated_formats_keep_every_frame(fmt: str, work: int) -> None:
    header = Header("gif", 100, 100, frames=3)
    options = IngestOptions(variants={"t": "fit:50"}, variant_formats=(fmt,))
    presets = {"t": parse_spec("fit:50")}
    # Decode and master: 3 frames decoded, 3 frames encoded twice each.
    assert planned_work(header, options, presets) == 100 * 100 * 3 * 3 + work


def test_the_limit_in_the_message_is_rounded_from_exact_millions() -> None:
    with pytest.raises(TooMuchWork, match=r"the limit is 2 MP per upload"):
        check_work(Header("png", 1000, 1000), IngestOptions(variants={}, max_work_pixels=1_500_001), {})
