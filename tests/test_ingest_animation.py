"""Animations through the whole ingest: every output keeps every frame, in order, with its delay and the
loop count, also where the resize shrinks a lot (the path where the stream decoder was asked for earlier
frames again, see ``ingest.decode.frame_cache``); the planned work grows linearly in the frames."""

from __future__ import annotations

import io

import pytest
import pyvips
from PIL import Image

from picstore.ingest import IngestOptions, decode, ingest
from picstore.ingest.budget import planned_work
from picstore.ingest.headers import read_header
from picstore.ingest.libvips import ensure_ready
from picstore.variants.spec import parse_spec

FRAMES = 24
SIZE = 640  # the thumb (200 px) is a 3.2x shrink, large and card keep 640
OPTIONS = IngestOptions(variants={"thumb": "cover:200x200", "tiny": "fit:40x40", "card": "width:640"})


def _colour(i: int) -> tuple[int, int, int]:
    return ((i * 97) % 256, (i * 41 + 80) % 256, (255 - i * 10) % 256)


def _animation(fmt: str) -> bytes:
    frames = [Image.new("RGB", (SIZE, SIZE), _colour(i)) for i in range(FRAMES)]
    delays = [20 + 10 * i for i in range(FRAMES)]
    buf = io.BytesIO()
    params: dict[str, object] = {"lossless": True} if fmt == "WEBP" else {}
    frames[0].save(buf, fmt, save_all=True, append_images=frames[1:], duration=delays, loop=3, **params)
    return buf.getvalue()


def _frames_of(data: bytes) -> tuple[pyvips.Image, int]:
    loader = pyvips.Image.webpload_buffer if data[:4] == b"RIFF" else pyvips.Image.new_from_buffer
    image = loader(data, n=-1)
    return image, int(image.get("page-height"))


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_every_animated_output_keeps_every_frame_in_order_with_delays_and_loop(fmt: str) -> None:
    result = ingest(_animation(fmt), OPTIONS)
    # Pillow writes GIF's NETSCAPE "repeat 3 times" (played 4 times), WebP's "played 3 times".
    plays = {"GIF": 4, "WEBP": 3}[fmt]
    animated = [result.master, *(v for v in result.variants if v.format == "webp")]
    assert sorted(r.variant or "master" for r in animated) == ["card", "master", "thumb", "tiny"]
    for rendition in animated:
        assert rendition.frames == FRAMES, rendition.variant
        image, frame_h = _frames_of(rendition.data)
        assert image.height == frame_h * FRAMES and frame_h == rendition.height
        assert list(image.get("delay")) == [20 + 10 * i for i in range(FRAMES)]
        assert image.get("loop") == plays
        for i in range(FRAMES):
            frame = image.crop(0, i * frame_h, image.width, frame_h)
            got = [frame[b].avg() for b in range(3)]
            assert all(abs(g - c) < 10 for g, c in zip(got, _colour(i), strict=True)), (rendition.variant, i)
    for still in (v for v in result.variants if v.format == "jpeg"):
        assert still.frames == 1
        first = pyvips.Image.new_from_buffer(still.data, "")
        assert all(abs(first[b].avg() - c) < 10 for b, c in zip(range(3), _colour(0), strict=True))


def test_a_streamed_animation_is_decoded_behind_a_cache_of_whole_frames() -> None:
    ensure_ready()
    data = _animation("GIF")
    strip = decode.load(data, read_header(data, "gif"), sequential=True)
    assert int(strip.get("page-height")) == SIZE and strip.height == SIZE * FRAMES
    # Reading a frame, then the one before it, then every frame backwards gives the right pixels
    # (the cache or the decoder's replay serves what was asked for, never a neighbour).
    for i in (5, 4, *range(FRAMES - 1, -1, -1)):
        frame = strip.crop(0, i * SIZE, SIZE, SIZE)
        assert [round(frame[b].avg()) for b in range(3)] == list(_colour(i)), i


def test_planned_work_is_linear_in_frames_for_every_animated_format() -> None:
    presets = {name: parse_spec(text) for name, text in OPTIONS.variants.items()}
    for fmt, data in (("gif", _animation("GIF")), ("webp", _animation("WEBP"))):
        header = read_header(data, fmt)
        one = planned_work(header.__class__(fmt, SIZE, SIZE, frames=1, animation=True), OPTIONS, presets)
        works = [
            planned_work(header.__class__(fmt, SIZE, SIZE, frames=n, animation=True), OPTIONS, presets)
            for n in (2, 3, 10, 100)
        ]
        step = works[1] - works[0]
        assert works[2] - works[1] == 7 * step and works[3] - works[2] == 90 * step
        assert works[0] > one  # a second frame costs more than a still
