"""Normalizing decoded pixels (ingest/normalize.py): upright, 8-bit sRGB or grey, no metadata, size capped.

Each rule on its own small image: which orientations turn a still (and that animations never turn),
which layouts end up grey and which sRGB, when a profile is converted (not when it already is sRGB, not
when it is broken), when alpha is dropped (only when fully opaque), which fields survive the strip, and
the size cap at max_side - 1, max_side and max_side + 1.
"""

from __future__ import annotations

import struct

import pytest
import pyvips

from picstore.ingest import normalize as norm

pytestmark = pytest.mark.usefixtures("libvips_ready")


def _plain(width: int, height: int, bands: int = 3, value: float = 100, fmt: str = "uchar") -> pyvips.Image:
    return (pyvips.Image.black(width, height, bands=bands) + value).cast(fmt)


def _marked(width: int = 3, height: int = 2) -> pyvips.Image:
    """A colour image whose top-left pixel is white and the rest black: orientation is visible."""
    image = pyvips.Image.black(width, height, bands=3).draw_rect([255, 255, 255], 0, 0, 1, 1)
    return image.cast("uchar").copy(interpretation="srgb")


def _white_at(image: pyvips.Image) -> tuple[int, int]:
    return next((x, y) for y in range(image.height) for x in range(image.width) if image(x, y)[0] == 255)


def _oriented(image: pyvips.Image, value: int) -> pyvips.Image:
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", value)
    return image


# --- orientation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size", "white"),
    [
        (0, (3, 2), (0, 0)),  # 0 and 9 mean upright
        (1, (3, 2), (0, 0)),
        (2, (3, 2), (2, 0)),  # mirrored: the lowest value that turns something
        (3, (3, 2), (2, 1)),
        (6, (2, 3), (1, 0)),  # 90 degrees: width and height swap
        (8, (2, 3), (0, 2)),
        (9, (3, 2), (0, 0)),
    ],
)
def test_a_still_is_turned_upright_by_its_orientation(
    value: int, size: tuple[int, int], white: tuple[int, int]
) -> None:
    upright = norm.normalize(_oriented(_marked(), value), animated=False)
    assert ((upright.width, upright.height), _white_at(upright)) == (size, white)
    assert upright.get_typeof("orientation") == 0


def test_an_animation_is_never_turned() -> None:
    kept = norm.normalize(_oriented(_marked(), 6), animated=True)
    assert ((kept.width, kept.height), _white_at(kept)) == ((3, 2), (0, 0))


# --- colour -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "bands", "interpretation"),
    [
        (_plain(4, 4, 1).copy(interpretation="b-w"), 1, "b-w"),
        (_plain(4, 4, 1, 25700, "ushort").copy(interpretation="grey16"), 1, "b-w"),
        # Tagged as nothing in particular: one or two bands are grey (and grey plus alpha), three are
        # colour (libvips keeps the "multiband" tag; what counts is that no band is made up or lost).
        (_plain(4, 4, 2), 2, "multiband"),
        (_plain(4, 4, 1).copy(interpretation="multiband"), 1, "multiband"),
        (_plain(4, 4, 3).copy(interpretation="multiband"), 3, "multiband"),
        (_plain(4, 4, 3).copy(interpretation="srgb"), 3, "srgb"),
        (_plain(4, 4, 3, 25700, "ushort").copy(interpretation="rgb16"), 3, "srgb"),
        (_plain(4, 4, 4).copy(interpretation="srgb"), 4, "srgb"),
    ],
)
def test_pixels_become_eight_bit_grey_or_srgb(image: pyvips.Image, bands: int, interpretation: str) -> None:
    out = norm.to_srgb(image)
    assert (out.bands, out.interpretation, out.format) == (bands, interpretation, "uchar")
    assert round(out[0].avg()) == 100  # 25700 in 16 bits is 100 in 8


def test_a_cmyk_image_without_a_profile_is_converted_with_the_built_in_cmyk_profile() -> None:
    x = pyvips.Image.xyz(64, 64)
    cmyk = (
        (x[0] * 4)
        .bandjoin([x[1] * 4, (x[0] + x[1]) * 2, x[0] + x[1]])
        .cast("uchar")
        .copy(interpretation="cmyk")
    )
    out = norm.to_srgb(cmyk)
    assert (out.bands, out.interpretation, out.format) == (3, "srgb", "uchar")
    # The ICC conversion, not libvips' colourspace (which differs by up to 13 levels on this gradient).
    assert (out - cmyk.icc_transform("srgb", input_profile="cmyk")).abs().max() == 0


def test_any_other_colour_space_becomes_srgb() -> None:
    srgb, _ = _srgb_and_p3()
    lab = srgb.colourspace("lab").cast("uchar")  # 8 bits a sample, but not sRGB
    out = norm.to_srgb(lab)
    assert (out.interpretation, out.format) == ("srgb", "uchar")
    assert (out - srgb).abs().max() <= 2


def test_a_grey_image_in_floats_becomes_eight_bits() -> None:
    out = norm.to_srgb(_plain(4, 4, 1, 100.0, "float").copy(interpretation="b-w"))
    assert (out.format, out.interpretation, round(out.avg())) == ("uchar", "b-w", 100)


def _with_profile(image: pyvips.Image, profile: bytes) -> pyvips.Image:
    image = image.copy()
    image.set_type(pyvips.GValue.blob_type, "icc-profile-data", profile)
    return image


def _srgb_and_p3() -> tuple[pyvips.Image, pyvips.Image]:
    srgb = pyvips.Image.black(8, 8).new_from_image([200, 40, 40]).copy(interpretation="srgb")
    return srgb, srgb.icc_transform("p3")


def test_an_embedded_profile_other_than_srgb_is_converted() -> None:
    srgb, p3 = _srgb_and_p3()
    out = norm.to_srgb(p3)
    assert (out - srgb).abs().max() <= 2 < (p3 - srgb).abs().max()


def test_an_srgb_profile_or_a_broken_one_leaves_the_pixels_alone() -> None:
    srgb, p3 = _srgb_and_p3()
    profile = bytes(srgb.icc_transform("p3").icc_transform("srgb").get("icc-profile-data"))
    # p3's pixels tagged sRGB (or tagged with garbage) are taken as they are, as browsers do.
    assert (norm.to_srgb(_with_profile(p3, profile)) - p3).abs().max() == 0
    assert (norm.to_srgb(_with_profile(p3, b"not a profile" * 20)) - p3).abs().max() == 0


def _profile(
    description: bytes,
    *,
    at: int = 0,
    count: int | None = None,
    tag: bytes = b"desc",
    offset: int = 0,
    size: int | None = None,
) -> bytes:
    """An ICC-shaped blob: a 128-byte header, a tag count (``count``, else the tags made), ``at`` + 1
    tags, the last one ``tag``, pointing ``offset`` bytes past the table at ``size`` bytes of text."""
    tags = [b"wtpt"] * at + [tag]
    table_end = 132 + 12 * len(tags)
    declared = len(description) if size is None else size
    table = b"".join(
        name + (struct.pack(">II", table_end + offset, declared) if name == tag else b"\0" * 8)
        for name in tags
    )
    return b"\0" * 128 + struct.pack(">I", len(tags) if count is None else count) + table + description


@pytest.mark.parametrize(
    ("profile", "is_srgb"),
    [
        (_profile(b"sRGB IEC61966-2.1"), True),
        (_profile(b"desc\0\0\0\0\0\0\0\x11s\0R\0G\0B\0 \0b\0u\0i\0l\0t"), True),  # UTF-16 (mluc)
        (_profile(b"Display P3"), False),
        (_profile(b"sRGB", tag=b"cprt"), False),  # sRGB in another tag is not the description
        (_profile(b"sRGB", at=3), True),  # the description need not be the first tag
        (_profile(b"sRGB", at=99), True),  # the 100th tag is read ...
        (_profile(b"sRGB", at=100), False),  # ... the 101st is not: a damaged count reads no further
        (_profile(b"sRGB", at=5, count=5), False),  # tags past the count are not tags
        (_profile(b"sRGB", at=50, count=0x0100_0005), True),  # a count of 16 million: the first 100 tags
        (_profile(b"xxxxsRGB", size=4), False),  # the description is as long as its tag says
        (_profile(b"xxxxsRGB", size=0x0100_0004), True),  # ... up to 512 bytes however long that is
        (_profile(b"sRGB", offset=0x0100_0000), False),  # a description past the profile's end is none
        (_profile(b"x" * 508 + b"sRGB"), True),  # the first 512 bytes of the description are read ...
        (_profile(b"x" * 509 + b"sRGB"), False),  # ... and no more
        ((b"\0" * 128 + b"sRGB")[:131], False),  # too short to hold a tag count
    ],
)
def test_an_srgb_profile_is_known_by_its_description(profile: bytes, is_srgb: bool) -> None:
    assert norm._is_srgb(profile) is is_srgb


def test_libvips_own_profiles_are_told_apart() -> None:
    _, p3 = _srgb_and_p3()
    assert norm._is_srgb(bytes(p3.icc_transform("srgb").get("icc-profile-data")))
    assert not norm._is_srgb(bytes(p3.get("icc-profile-data")))


# --- alpha, metadata, size ----------------------------------------------------------------------------


def test_alpha_is_dropped_only_when_every_pixel_is_opaque() -> None:
    opaque = pyvips.Image.black(4, 4).new_from_image([10, 20, 30, 255]).copy(interpretation="srgb")
    flat = norm.drop_opaque_alpha(opaque)
    assert (flat.bands, [flat[b].avg() for b in range(3)]) == (3, [10, 20, 30])  # the colour bands, kept
    almost = opaque.draw_rect([100, 100, 100, 254], 3, 3, 1, 1)  # one pixel barely see-through
    assert norm.drop_opaque_alpha(almost).bands == 4
    no_alpha = _plain(4, 4, 3).copy(interpretation="srgb")
    assert norm.drop_opaque_alpha(no_alpha) is no_alpha


def test_only_structural_fields_survive_the_strip() -> None:
    image = _plain(4, 8, 3).copy(interpretation="srgb")
    image.set_type(pyvips.GValue.gint_type, "page-height", 4)
    image.set_type(pyvips.GValue.array_int_type, "delay", [10, 20])
    image.set_type(pyvips.GValue.gint_type, "loop", 2)
    image.set_type(pyvips.GValue.gint_type, "orientation", 6)
    for name in ("exif-data", "xmp-data", "iptc-data", "icc-profile-data"):
        image.set_type(pyvips.GValue.blob_type, name, b"payload")
    image.set_type(pyvips.GValue.gstr_type, "gif-comment", "<?php")
    stripped = norm.strip_metadata(image)
    for name in ("exif-data", "xmp-data", "iptc-data", "icc-profile-data", "gif-comment", "orientation"):
        assert stripped.get_typeof(name) == 0, name
        assert image.get_typeof(name) != 0, name  # the strip works on a copy
    assert (stripped.get("page-height"), list(stripped.get("delay")), stripped.get("loop")) == (
        4,
        [10, 20],
        2,
    )
    assert (stripped.width, stripped.height, stripped.bands, stripped.interpretation) == (4, 8, 3, "srgb")


@pytest.mark.parametrize(
    ("size", "max_side", "capped"),
    [
        ((4095, 100), 4096, (4095, 100)),
        ((4096, 100), 4096, (4096, 100)),
        ((4097, 100), 4096, (4096, 100)),
        ((100, 4097), 4096, (100, 4096)),  # the long side is capped, whichever it is
        ((300, 200), 150, (150, 100)),
        ((300, 201), 150, (150, 100)),  # 100.5 rounds to even
        ((301, 203), 150, (150, 101)),  # 101.16 rounds down
        ((100, 299), 150, (50, 150)),  # 50.17
        ((5000, 2), 1000, (1000, 1)),  # 0.4 px would round to nothing: at least 1
        ((2, 5000), 1000, (1, 1000)),
    ],
)
def test_the_size_is_capped_at_max_side(
    size: tuple[int, int], max_side: int, capped: tuple[int, int]
) -> None:
    assert norm.capped_size(*size, max_side) == capped
