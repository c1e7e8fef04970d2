"""The work budget: pixels decoded plus encoded, known from the header; wall time enforced inside libvips."""

from __future__ import annotations

import io
import threading

import pytest
import pyvips
from PIL import Image, ImageDraw

from picstore.errors import IngestTimeout, TooMuchWork
from picstore.ingest import IngestOptions, ingest, pipeline
from picstore.ingest.budget import Deadline, check_work, planned_work
from picstore.ingest.headers import Header
from picstore.ingest.libvips import ensure_ready
from picstore.settings import load_settings
from picstore.variants.spec import parse_spec

PRESETS = {
    "thumb": parse_spec("cover:200x200"),
    "card": parse_spec("width:640"),
    "large": parse_spec("fit:1600x1600"),
}


def _gif(frames: int, size: int) -> bytes:
    images = []
    for i in range(frames):
        im = Image.new("P", (size, size), 0)
        ImageDraw.Draw(im).rectangle([i * 3, i * 3, i * 3 + 40, i * 3 + 40], fill=i % 200 + 1)
        images.append(im)
    buf = io.BytesIO()
    images[0].save(buf, "GIF", save_all=True, append_images=images[1:], duration=40, loop=0)
    return buf.getvalue()


def test_planned_work_of_a_still_photo() -> None:
    # 4000x3000: decoded 12 MP; master 4000x3000; large 1600x1200, card 640x480 and the thumb's
    # 267x200 before its crop, each in JPEG and WebP (stills: one frame whatever the format).
    header = Header("jpeg", 4000, 3000)
    expected = 12_000_000 + 12_000_000 + 2 * (1600 * 1200 + 640 * 480 + 267 * 200)
    assert planned_work(header, IngestOptions(), PRESETS) == expected


def test_planned_work_of_an_animation_counts_frames_only_where_they_are_encoded() -> None:
    header = Header("gif", 1000, 1000, frames=10)
    per_frame = 1000 * 1000
    # Encoded: the master and each preset's WebP keep 10 frames, two encodes each (libwebp's animation
    # encoder); each JPEG gets one still.
    encoded = (
        (per_frame + 640 * 640 + 200 * 200) * 10 * 2
        + per_frame * 10 * 2
        + (1000 * 1000 + 640 * 640 + 200 * 200)
    )
    # Decoded: all 10 frames once for the master and once per animated WebP variant (the GIF is a
    # stream), and the first frame once per JPEG still.
    decoded = per_frame * (10 * 4 + 3)
    assert planned_work(header, IngestOptions(), PRESETS) == decoded + encoded


def test_an_animation_held_in_memory_is_decoded_once() -> None:
    # APNG frames are decoded by Pillow into memory: one decode, whatever the outputs.
    gif = planned_work(Header("gif", 100, 100, frames=5), IngestOptions(), PRESETS)
    apng = planned_work(Header("png", 100, 100, frames=5, animation=True), IngestOptions(), PRESETS)
    assert gif - apng == 100 * 100 * (5 * 3 + 3)


@pytest.mark.parametrize("fmt", ["gif", "webp", "png"])
def test_planned_work_grows_linearly_in_the_frames(fmt: str) -> None:
    def work(frames: int) -> int:
        return planned_work(Header(fmt, 1600, 1600, frames=frames, animation=True), IngestOptions(), PRESETS)

    step = work(3) - work(2)
    assert step > 0
    assert [work(n + 1) - work(n) for n in (5, 40, 149)] == [step] * 3


def test_max_side_caps_the_master_in_the_estimate() -> None:
    small = IngestOptions(max_side=1000)
    header = Header("png", 4000, 2000)
    assert planned_work(header, small, {}) == 8_000_000 + 1000 * 500


@pytest.mark.parametrize(("delta", "refused"), [(-1, False), (0, False), (1, True)])
def test_budget_boundary(delta: int, refused: bool) -> None:
    header = Header("gif", 500, 500, frames=30)
    work = planned_work(header, IngestOptions(), PRESETS)
    options = IngestOptions(max_work_pixels=work - delta)
    if refused:
        with pytest.raises(TooMuchWork) as info:
            check_work(header, options, PRESETS)
        assert info.value.code == "too_much_work" and info.value.http_status == 422
        assert "30 frames of 500x500" in info.value.message and "fewer frames" in info.value.message
    else:
        check_work(header, options, PRESETS)


def test_an_upload_over_budget_is_refused_from_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _gif(40, 400)
    work = planned_work(Header("gif", 400, 400, frames=40), IngestOptions(), PRESETS)
    decodes: list[str] = []
    real_load = pipeline.decode.load

    def counting_load(*args: object, **kwargs: object) -> pyvips.Image:
        decodes.append("load")
        return real_load(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline.decode, "load", counting_load)
    with pytest.raises(TooMuchWork):
        ingest(data, IngestOptions(max_work_pixels=work - 1))
    assert decodes == []  # refused from the header: not one pixel decoded
    assert ingest(data, IngestOptions(max_work_pixels=work)).source.frames == 40
    assert decodes


def test_settings_carry_the_budget_to_ingest() -> None:
    settings = load_settings(
        storage="memory://", database="sqlite://", max_work_pixels=1234, max_ingest_seconds=2.5
    )
    options = IngestOptions.from_settings(settings)
    assert (options.max_work_pixels, options.max_ingest_seconds) == (1234, 2.5)


def test_a_runaway_encode_is_killed_at_the_deadline() -> None:
    data = _gif(60, 600)
    with pytest.raises(IngestTimeout) as info:
        ingest(data, IngestOptions(max_ingest_seconds=0.05))
    assert info.value.code == "ingest_timeout"
    assert "0.05 s" in info.value.message
    # The process and libvips carry on: the next upload is processed normally.
    assert ingest(_gif(2, 64), IngestOptions()).master.format == "webp"


def test_every_encode_and_the_verify_pass_run_under_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # The deadline kills inside libvips what it watches (test_deadline_kills_inside_libvips_not_after): each
    # encode, so that a runaway one stops where it is, the last one too (no check runs after it).
    watched: list[tuple[int, int]] = []
    real = Deadline.watch

    def spy(self: Deadline, image: pyvips.Image) -> pyvips.Image:
        watched.append((image.width, image.height))
        return real(self, image)

    monkeypatch.setattr(Deadline, "watch", spy)
    data = _gif(3, 200)
    options = IngestOptions(variants={"t": "fit:100x100"}, variant_formats=("webp", "jpeg"))
    ingest(data, options)
    assert sorted(watched) == [(100, 100), (100, 300), (200, 600)]  # jpeg still, webp strip, master strip
    watched.clear()
    ingest(data, IngestOptions(variants={}))
    assert watched == [(200, 600)]
    watched.clear()
    pipeline.probe(data, options)
    assert watched == [(200, 600)]  # the verify pass


def test_deadline_kills_inside_libvips_not_after() -> None:
    ensure_ready()
    noise = pyvips.Image.gaussnoise(4000, 4000).cast("uchar")
    deadline = Deadline(0.0)
    watched = deadline.watch(noise.copy())
    with pytest.raises(pyvips.Error, match="killed"):
        watched.thumbnail_image(2000).webpsave_buffer(Q=80, effort=6)
    assert deadline.expired
    with pytest.raises(IngestTimeout):
        deadline.check()


def test_deadlines_of_concurrent_ingests_are_independent() -> None:
    outcomes: dict[str, object] = {}

    def run(name: str, options: IngestOptions, data: bytes) -> None:
        try:
            outcomes[name] = ingest(data, options).master.format
        except IngestTimeout as error:
            outcomes[name] = error.code

    slow = threading.Thread(target=run, args=("slow", IngestOptions(max_ingest_seconds=0.05), _gif(60, 600)))
    fine = threading.Thread(target=run, args=("fine", IngestOptions(), _gif(3, 200)))
    slow.start()
    fine.start()
    slow.join()
    fine.join()
    assert outcomes == {"slow": "ingest_timeout", "fine": "webp"}
