"""Transform specs: the ``{spec}`` part of a ``/t/`` URL, in exactly one canonical spelling.

Grammar (docs/transforms.md has examples)::

    spec   = param *("," param)            ; params in this order, each at most once
    param  = "w=" INT                      ; box width, 1-8192 CSS pixels
           | "h=" INT                      ; box height, 1-8192
           | "fit=" ("cover" | "contain" | "fill")   ; default inside (omitted)
           | "g=" GRAVITY                  ; crop position for fit=cover; default centre (omitted)
           | "f=" ("jpeg" | "webp" | "avif" | "png") ; default auto (omitted): chosen from Accept
           | "q=" INT                      ; quality 1-100; default: the configured one (omitted)
           | "dpr=" DPR                    ; device pixel ratio above 1, at most 4, two decimals
           | "exp=" INT                    ; expiry, Unix seconds
    GRAVITY = "north" | "northeast" | "east" | "southeast" | "south" | "southwest" | "west"
            | "northwest" | "smart" | "fp:" X ":" Y         ; focal point, X and Y in percent 0-100
    INT    = "1".."9" *DIGIT               ; no sign, no leading zero

Invariants:
- :func:`parse_transform` accepts a string only if it *is* the canonical form of what it means: a
  default written out, a reordered or repeated parameter, a leading zero or an alias is refused with
  :class:`~picstore.errors.NonCanonicalTransform` naming the canonical spelling. One meaning, one URL,
  one rendering.
- Nothing is ever enlarged: a box larger than the source is scaled down (aspect kept) to fit inside it.
- ``exp`` and ``f`` do not change geometry; :meth:`TransformSpec.geometry` (what blob keys are made
  from) leaves them out and folds ``dpr`` into pixels, so ``w=256,dpr=2`` and ``w=512`` share one blob.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from picstore.errors import InvalidTransform, NonCanonicalTransform

ORDER = ("w", "h", "fit", "g", "f", "q", "dpr", "exp")
FITS = ("inside", "cover", "contain", "fill")
COMPASS = ("north", "northeast", "east", "southeast", "south", "southwest", "west", "northwest")
GRAVITIES = ("centre", *COMPASS, "smart", "fp")
FORMATS = ("auto", "jpeg", "webp", "avif", "png")
MAX_SIDE = 8192
MAX_DPR = 400  # hundredths
MAX_TEXT = 160

_PARAM = re.compile(r"([a-z]{1,4})=([a-z0-9.:]{1,24})", re.ASCII)
_INT = re.compile(r"[0-9]{1,13}", re.ASCII)
_DPR = re.compile(r"([0-9]{1,2})(?:\.([0-9]{1,2}))?", re.ASCII)
_FOCUS = re.compile(r"fp:([0-9]{1,3}):([0-9]{1,3})", re.ASCII)
_ALIASES = {"center": "centre", "jpg": "jpeg"}


@dataclass(frozen=True)
class TransformSpec:
    """A checked transform. ``width``/``height`` are CSS pixels (None: follows the aspect); ``dpr`` is in
    hundredths (150 = 1.5x); ``focus`` is the focal point in percent when ``gravity`` is ``"fp"``."""

    width: int | None = None
    height: int | None = None
    fit: str = "inside"
    gravity: str = "centre"
    focus: tuple[int, int] | None = None
    format: str = "auto"
    quality: int | None = None
    dpr: int = 100
    expires: int | None = None

    def __post_init__(self) -> None:
        for side in (self.width, self.height):
            if side is not None and not 1 <= side <= MAX_SIDE:
                raise InvalidTransform(f"w and h must be 1 to {MAX_SIDE}")
        if self.fit not in FITS:
            raise InvalidTransform(f"fit must be one of {', '.join(FITS)}")
        if self.fit != "inside" and (self.width is None or self.height is None):
            raise InvalidTransform(f"fit={self.fit} needs both w and h")
        if self.width is None and self.height is None and self.dpr != 100:
            raise InvalidTransform("dpr needs w or h")
        if self.gravity not in GRAVITIES:
            raise InvalidTransform(f"g must be one of {', '.join(GRAVITIES[1:-1])} or fp:X:Y")
        if self.gravity != "centre" and self.fit != "cover":
            raise InvalidTransform("g (gravity) applies to fit=cover only")
        if (self.gravity == "fp") != (self.focus is not None):
            raise InvalidTransform("a focal point is written g=fp:X:Y")
        if self.focus is not None and not all(0 <= v <= 100 for v in self.focus):
            raise InvalidTransform("focal point coordinates are percent, 0 to 100")
        if self.format not in FORMATS:
            raise InvalidTransform(f"f must be one of {', '.join(FORMATS)}")
        if self.quality is not None and not 1 <= self.quality <= 100:
            raise InvalidTransform("q must be 1 to 100")
        if self.quality is not None and self.format == "png":
            raise InvalidTransform("q does not apply to png (it is lossless)")
        if not 100 <= self.dpr <= MAX_DPR:
            raise InvalidTransform("dpr must be above 1 and at most 4")
        if self.expires is not None and not 1 <= self.expires < 2**40:
            raise InvalidTransform("exp must be a Unix time in seconds")

    # --- spelling ----------------------------------------------------------------------------------

    @property
    def canonical(self) -> str:
        """The one spelling of this spec (what is signed and what ``/t/`` URLs carry)."""
        return ",".join(f"{name}={value}" for name, value in self._params())

    def _params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.width is not None:
            out.append(("w", str(self.width)))
        if self.height is not None:
            out.append(("h", str(self.height)))
        if self.fit != "inside":
            out.append(("fit", self.fit))
        if self.gravity == "fp" and self.focus is not None:
            out.append(("g", f"fp:{self.focus[0]}:{self.focus[1]}"))
        elif self.gravity != "centre":
            out.append(("g", self.gravity))
        if self.format != "auto":
            out.append(("f", self.format))
        if self.quality is not None:
            out.append(("q", str(self.quality)))
        if self.dpr != 100:
            whole, frac = divmod(self.dpr, 100)
            out.append(("dpr", f"{whole}.{frac:02d}".rstrip("0") if frac else str(whole)))
        if self.expires is not None:
            out.append(("exp", str(self.expires)))
        return out

    def __str__(self) -> str:
        return self.canonical

    def with_format(self, fmt: str) -> TransformSpec:
        """This spec with another output format (``auto`` resolved, or a CDN-safe redirect)."""
        return replace(self, format=fmt)

    # --- geometry ----------------------------------------------------------------------------------

    @property
    def box(self) -> tuple[int | None, int | None]:
        """The box in device pixels (``dpr`` applied)."""
        return _scaled(self.width, self.dpr), _scaled(self.height, self.dpr)

    @property
    def geometry(self) -> str:
        """What decides the pixels, in device pixels: ``w=512,h=512,fit=cover,g=smart`` (no f/q/exp).

        Blob keys are made from this plus the encoder's parameters.
        """
        width, height = self.box
        plain = replace(self, width=width, height=height, dpr=100, format="auto", quality=None, expires=None)
        return plain.canonical or "original"

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """The size of the rendition of a ``width`` x ``height`` source (one frame)."""
        bw, bh = self.box
        if self.fit == "inside":
            return _scale(width, height, _inside(width, height, bw, bh))
        assert bw is not None and bh is not None
        ratio = min(1.0, width / bw, height / bh)
        return max(1, math.floor(bw * ratio)), max(1, math.floor(bh * ratio))

    def resize_to(self, width: int, height: int) -> tuple[int, int]:
        """The size to scale a ``width`` x ``height`` source to before a crop or a pad; never larger."""
        box = self.output_size(width, height)
        if self.fit in ("inside", "fill"):
            return box
        if self.fit == "contain":
            return _scale(width, height, min(1.0, box[0] / width, box[1] / height))
        scale = min(1.0, max(box[0] / width, box[1] / height))
        resized = _scale(width, height, scale)
        return max(box[0], resized[0]), max(box[1], resized[1])

    def output_pixels(self, width: int, height: int) -> int:
        """Pixels of one output frame for a ``width`` x ``height`` source."""
        w, h = self.output_size(width, height)
        return w * h


def _scaled(side: int | None, dpr: int) -> int | None:
    return None if side is None else max(1, round(side * dpr / 100))


def _inside(width: int, height: int, bw: int | None, bh: int | None) -> float:
    scales = [s for s in (None if bw is None else bw / width, None if bh is None else bh / height) if s]
    return min([1.0, *scales])


def _scale(width: int, height: int, scale: float) -> tuple[int, int]:
    return max(1, round(width * scale)), max(1, round(height * scale))


# --- parsing ---------------------------------------------------------------------------------------


def parse_transform(text: str) -> TransformSpec:
    """The spec ``text`` spells; InvalidTransform when it means nothing, NonCanonicalTransform when it
    means something but is not spelled the one canonical way."""
    if not text or len(text) > MAX_TEXT:
        raise InvalidTransform(
            f"a transform spec is 1 to {MAX_TEXT} characters, e.g. 'w=640' or 'w=200,h=200'"
        )
    values: dict[str, str] = {}
    for part in text.split(","):
        match = _PARAM.fullmatch(part)
        if match is None:
            raise InvalidTransform(f"{part!r} is not name=value (names: {', '.join(ORDER)})")
        name, value = match.groups()
        if name not in ORDER:
            raise InvalidTransform(f"unknown parameter {name!r}; parameters are {', '.join(ORDER)}")
        if name in values:
            raise NonCanonicalTransform(f"parameter {name!r} appears twice; give each parameter once")
        values[name] = _ALIASES.get(value, value)
    gravity = values.get("g", "centre")
    focus = None
    if gravity.startswith("fp:"):
        found = _FOCUS.fullmatch(gravity)
        if found is None:
            raise InvalidTransform("a focal point is g=fp:X:Y with X and Y in percent, e.g. g=fp:30:60")
        focus, gravity = (int(found[1]), int(found[2])), "fp"
    spec = TransformSpec(
        width=_int(values, "w"),
        height=_int(values, "h"),
        fit=values.get("fit", "inside"),
        gravity=gravity,
        focus=focus,
        format=values.get("f", "auto"),
        quality=_int(values, "q"),
        dpr=_dpr(values.get("dpr")),
        expires=_int(values, "exp"),
    )
    if spec.canonical != text:
        raise NonCanonicalTransform(
            f"transform spec {text!r} is not canonical; write it as {spec.canonical!r} (parameters in the "
            f"order {', '.join(ORDER)}, defaults left out, numbers without leading zeros)"
        )
    return spec


def _int(values: dict[str, str], name: str) -> int | None:
    value = values.get(name)
    if value is None:
        return None
    if _INT.fullmatch(value) is None:
        raise InvalidTransform(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _dpr(value: str | None) -> int:
    if value is None:
        return 100
    match = _DPR.fullmatch(value)
    if match is None:
        raise InvalidTransform(f"dpr must be a number such as 2 or 1.5, not {value!r}")
    return int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))
