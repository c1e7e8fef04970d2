"""The limits an upload must fit before decoding: each one at limit - 1, limit and limit + 1.

The rule is "more than the limit is refused; exactly the limit is accepted", for bytes, pixels per
frame, the largest frame or tile, frames and pixels over all frames.
"""

from __future__ import annotations

import pytest

from picstore.errors import TooLarge, TooManyPixels
from picstore.ingest.headers import Header
from picstore.ingest.limits import check_bytes, check_pixels
from picstore.ingest.options import IngestOptions

ACCEPT, REFUSE = True, False


@pytest.mark.parametrize(("size", "accepted"), [(999, ACCEPT), (1000, ACCEPT), (1001, REFUSE)])
def test_bytes_boundary(size: int, accepted: bool) -> None:
    options = IngestOptions(max_bytes=1000)
    if accepted:
        check_bytes(size, options)
    else:
        with pytest.raises(TooLarge) as err:
            check_bytes(size, options)
        assert err.value.code == "too_large"
        assert err.value.message == "the upload is 1,001 bytes; the limit is 1,000 bytes"


# A 2,000,000-pixel limit; canvases of limit - 1 (a 1 x 1,999,999 strip), limit (2000x1000) and
# limit + 1 (a 2,000,001 x 1 strip).
@pytest.mark.parametrize(
    ("width", "height", "accepted"),
    [(1, 1_999_999, ACCEPT), (2000, 1000, ACCEPT), (2_000_001, 1, REFUSE)],
)
def test_pixels_per_frame_boundary(width: int, height: int, accepted: bool) -> None:
    options = IngestOptions(max_pixels=2_000_000)
    header = Header("png", width, height)
    if accepted:
        check_pixels(header, options)
    else:
        with pytest.raises(TooManyPixels) as err:
            check_pixels(header, options)
        assert err.value.code == "too_many_pixels"
        assert err.value.message == (
            "the image declares 2,000,001x1 pixels (2.0 MP); the limit is 2.0 MP per frame"
        )


@pytest.mark.parametrize(
    ("frame_pixels", "accepted"), [(1_999_999, ACCEPT), (2_000_000, ACCEPT), (2_000_001, REFUSE)]
)
def test_largest_frame_boundary(frame_pixels: int, accepted: bool) -> None:
    # A small canvas whose largest frame (a GIF frame may exceed the canvas) is at the boundary.
    options = IngestOptions(max_pixels=2_000_000)
    header = Header("gif", 10, 10, max_frame_pixels=frame_pixels)
    if accepted:
        check_pixels(header, options)
    else:
        with pytest.raises(TooManyPixels) as err:
            check_pixels(header, options)
        assert err.value.message == (
            "the image declares a frame or tile of 2.0 MP; the limit is 2.0 MP per frame"
        )


@pytest.mark.parametrize(("frames", "accepted"), [(9, ACCEPT), (10, ACCEPT), (11, REFUSE)])
def test_frame_count_boundary(frames: int, accepted: bool) -> None:
    options = IngestOptions(max_frames=10)
    header = Header("gif", 2, 2, frames=frames)
    if accepted:
        check_pixels(header, options)
    else:
        with pytest.raises(TooManyPixels) as err:
            check_pixels(header, options)
        assert err.value.message == "the animation declares 11 frames; the limit is 10"


@pytest.mark.parametrize(
    ("frames", "accepted"),
    # 1000 x 1000 pixels a frame; a 5,000,000-pixel total: 4, 5 and 6 frames.
    [(4, ACCEPT), (5, ACCEPT), (6, REFUSE)],
)
def test_total_pixels_boundary(frames: int, accepted: bool) -> None:
    options = IngestOptions(max_total_pixels=5_000_000)
    header = Header("gif", 1000, 1000, frames=frames)
    if accepted:
        check_pixels(header, options)
    else:
        with pytest.raises(TooManyPixels) as err:
            check_pixels(header, options)
        assert err.value.message == (
            "the animation declares 6 frames of 1000x1000 (6 MP in all); the limit is 5 MP over all frames"
        )


def test_total_pixels_boundary_by_one_pixel() -> None:
    # The total rule is also exact to the pixel: 3 frames of 3x3 against a 27-pixel and a 26-pixel limit.
    header = Header("gif", 3, 3, frames=3)
    check_pixels(header, IngestOptions(max_total_pixels=27))
    with pytest.raises(TooManyPixels):
        check_pixels(header, IngestOptions(max_total_pixels=26))


def test_still_image_total_is_its_pixels() -> None:
    # One frame: the total is the canvas, so a total limit below the canvas refuses a still too.
    header = Header("png", 100, 100)
    check_pixels(header, IngestOptions(max_total_pixels=10_000))
    with pytest.raises(TooManyPixels, match="1 frames of 100x100"):
        check_pixels(header, IngestOptions(max_total_pixels=9_999))


def test_megapixels_in_messages_are_rounded_from_exact_millions() -> None:
    # Values just past a rounding edge: 2,050,001 pixels are 2.1 MP (2.0 if divided by anything larger).
    options = IngestOptions(max_pixels=2_050_001, max_total_pixels=5_500_001)
    with pytest.raises(TooManyPixels, match=r"\(2\.2 MP\); the limit is 2\.1 MP per frame"):
        check_pixels(Header("png", 2_150_001, 1), options)
    with pytest.raises(TooManyPixels, match=r"a frame or tile of 2\.2 MP; the limit is 2\.1 MP per frame"):
        check_pixels(Header("gif", 1, 1, max_frame_pixels=2_150_001), options)
    with pytest.raises(TooManyPixels, match=r"\(7 MP in all\); the limit is 6 MP over all frames"):
        check_pixels(
            Header("gif", 6_500_001, 1, frames=1),
            IngestOptions(max_pixels=10_000_000, max_total_pixels=5_500_001),
        )
