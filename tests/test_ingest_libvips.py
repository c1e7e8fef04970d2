"""libvips errors become picstore's refusals (ingest/libvips.py): which kind, and the decoder's own words.

The refusal's kind comes from the decoder's message: out of memory is too many pixels, a truncation hint
is a truncated image, anything else is corrupt. The detail users read is the decoder's lines without
pyvips' "unable to call" preamble and without the generic ": load error" line (unless nothing else is
left), each once, cut at 240 characters.
"""

from __future__ import annotations

import os

import pytest
import pyvips

from picstore.errors import CorruptImage, ImageRejected, TooManyPixels, TruncatedImage
from picstore.ingest import libvips
from picstore.ingest.libvips import ForkedAfterLibvips, decoder_errors, ensure_ready, rejection


def _error(*lines: str) -> pyvips.Error:
    """A pyvips error as libvips raises one: a first line, then the error buffer's lines."""
    return pyvips.Error(lines[0], "\n".join(lines[1:]) or " ")


@pytest.mark.parametrize(
    ("decoder_says", "kind"),
    [
        ("jpegload_buffer: Premature end of JPEG file", TruncatedImage),
        ("pngload: Unexpected End of stream", TruncatedImage),
        ("gifload: image TRUNCATED", TruncatedImage),
        ("webpload: not enough data", TruncatedImage),
        ("tiffload: read error: End Of File", TruncatedImage),
        ("heifload: bad seek to 9000", TruncatedImage),
        ("jpegload: out of data", TruncatedImage),
        ("vips_tracked: Out of memory --- size == 9GB", TooManyPixels),
        ("out of memory: unexpected end", TooManyPixels),  # memory decides before truncation
        ("pngload: IDAT: CRC error", CorruptImage),
        ("jpegload: Corrupt JPEG data: bad Huffman code", CorruptImage),
    ],
)
def test_the_decoder_message_decides_the_kind_of_refusal(
    decoder_says: str, kind: type[ImageRejected]
) -> None:
    refusal = rejection(_error("unable to call jpegload_buffer", decoder_says), "JPEG")
    assert type(refusal) is kind


def test_each_refusal_says_what_happened_and_what_to_do() -> None:
    detail = "jpegload_buffer: Premature end of JPEG file"
    assert str(rejection(_error("unable to call jpegload_buffer", detail), "JPEG")) == (
        f"the JPEG data is truncated or damaged ({detail}); upload the complete file"
    )
    detail = "pngload: IDAT: CRC error"
    assert str(rejection(_error("unable to call pngload_buffer", detail), "PNG")) == (
        f"the PNG data is corrupt ({detail}); the image cannot be decoded"
    )
    detail = "vips_tracked: out of memory"
    assert str(rejection(_error("unable to call gifload_buffer", detail), "GIF")) == (
        f"the GIF image needs more memory to decode than allowed ({detail})"
    )


@pytest.mark.parametrize(
    ("lines", "detail"),
    [
        # the preamble and the generic load error go; the specific line stays
        (
            ("unable to call pngload_buffer", "pngload: IDAT: CRC error", "pngload: load error"),
            "pngload: IDAT: CRC error",
        ),
        # the generic line alone is better than nothing
        (("unable to call pngload_buffer", "pngload: load error"), "pngload: load error"),
        # several lines are joined, each once, spaces collapsed, blank lines dropped
        (
            ("unable to call x", "a:  first\tproblem", "", "b: second", "a: first problem", "  "),
            "a: first problem; b: second",
        ),
        # nothing but the preamble: a fixed text, never an empty detail
        (("unable to call heifload_buffer",), "decoder error"),
        # only lines that start with the preamble's words are dropped
        (("unable to call x", "tiffload: unable to read tile"), "tiffload: unable to read tile"),
    ],
)
def test_the_detail_is_the_decoders_own_words(lines: tuple[str, ...], detail: str) -> None:
    refusal = rejection(_error(*lines), "PNG")
    assert f"({detail})" in str(refusal)


def test_the_detail_is_cut_at_240_characters() -> None:
    long = "x" * 300
    refusal = rejection(_error("unable to call pngload_buffer", long), "PNG")
    assert f"({'x' * 240})" in str(refusal)


def test_decoder_errors_turns_only_libvips_failures_into_refusals() -> None:
    truncated = r"^the WebP data is truncated or damaged \(webpload: not enough"
    with pytest.raises(TruncatedImage, match=truncated), decoder_errors("WebP"):
        raise _error("unable to call webpload_buffer", "webpload: not enough data")
    with pytest.raises(KeyError), decoder_errors("WebP"):  # a bug is not the upload's fault
        raise KeyError("bug")
    with decoder_errors("WebP"):
        pass  # nothing raised, nothing made up


def test_a_process_that_inherited_libvips_is_told_how_to_start_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ensure_ready()
    # What a forked child sees: libvips was made ready by another process id (its parent's).
    monkeypatch.setattr(libvips, "_ready_pid", os.getpid() + 1)
    with pytest.raises(ForkedAfterLibvips) as refused:
        ensure_ready()
    assert str(refused.value) == (
        "this process was forked after libvips started in its parent; libvips threads do not "
        "survive fork. Start workers with the 'spawn' or 'forkserver' method."
    )
    monkeypatch.setattr(libvips, "_ready_pid", os.getpid())
    ensure_ready()  # ready in this very process: nothing to refuse


def test_every_allowlisted_loader_family_can_decode() -> None:
    ensure_ready()
    image = pyvips.Image.black(8, 6).cast("uchar")
    for save, load in [
        ("jpegsave_buffer", "jpegload_buffer"),
        ("pngsave_buffer", "pngload_buffer"),
        ("gifsave_buffer", "gifload_buffer"),
        ("webpsave_buffer", "webpload_buffer"),
        ("tiffsave_buffer", "tiffload_buffer"),
        ("heifsave_buffer", "heifload_buffer"),
    ]:
        data = getattr(image, save)(**({"compression": "av1"} if save == "heifsave_buffer" else {}))
        assert getattr(pyvips.Image, load)(data).width == 8, load
