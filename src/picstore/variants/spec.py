"""Variant specs: one short string per preset, parsed, checked and written back in one canonical form.

Grammar (whitespace and case are ignored; docs/ingest.md has examples)::

    spec    = mode ":" size *("," option)
    mode    = "fit" | "cover" | "width" | "height"
    size    = INT "x" INT          ; fit, cover (a single INT means a square box)
            | INT                  ; width, height
    option  = "crop=" ("centre" | "center" | "attention" | "entropy")   ; cover only
            | "q=" INT             ; 1-100, overrides the configured quality for this preset

- ``fit:WxH``     the whole picture inside a WxH box (aspect kept);
- ``cover:WxH``   exactly WxH (or smaller with the same aspect when the source is smaller), cropped;
- ``width:W``     W pixels wide, height following the aspect; ``height:H`` likewise.

Nothing is ever enlarged. The canonical form drops defaults and sorts options (``cover:200x200``,
``cover:200x200,crop=attention,q=70``): two spellings of one spec give one canonical string, and so one
blob key.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from picstore.errors import ConfigError

MODES = ("fit", "cover", "width", "height")
CROPS = ("centre", "attention", "entropy")
MAX_SIZE = 8192

_SPEC = re.compile(r"^(?P<mode>[a-z]+):(?P<size>\d+(?:x\d+)?)(?P<options>(?:,[a-z]+=[a-z0-9]+)*)$")
_GRAMMAR = "expected e.g. 'fit:1600x1600', 'cover:200x200', 'width:640', 'height:480' (options: crop=, q=)"


@dataclass(frozen=True)
class VariantSpec:
    """A parsed variant spec. ``width``/``height`` are the box; 0 means "follows the aspect"."""

    mode: str
    width: int
    height: int
    crop: str = "centre"
    quality: int | None = None

    @property
    def canonical(self) -> str:
        """The one spelling of this spec (what variant keys are made from)."""
        if self.mode in ("fit", "cover"):
            text = f"{self.mode}:{self.width}x{self.height}"
        else:
            text = f"{self.mode}:{self.width or self.height}"
        if self.mode == "cover" and self.crop != "centre":
            text += f",crop={self.crop}"
        if self.quality is not None:
            text += f",q={self.quality}"
        return text

    def __str__(self) -> str:
        return self.canonical

    def resize_to(self, width: int, height: int) -> tuple[int, int]:
        """The size to scale a ``width`` x ``height`` source to, before any crop; never larger."""
        scale = self._scale(width, height)
        return max(1, round(width * scale)), max(1, round(height * scale))

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """The size of the rendition of a ``width`` x ``height`` source."""
        if self.mode != "cover":
            return self.resize_to(width, height)
        ratio = max(self.width / width, self.height / height)
        if ratio <= 1:
            return self.width, self.height
        # The source is smaller than the box: keep the box's aspect at the largest size that fits.
        return max(1, math.floor(self.width / ratio)), max(1, math.floor(self.height / ratio))

    def _scale(self, width: int, height: int) -> float:
        if self.mode == "fit":
            scale = min(self.width / width, self.height / height)
        elif self.mode == "cover":
            scale = max(self.width / width, self.height / height)
        elif self.mode == "width":
            scale = self.width / width
        else:
            scale = self.height / height
        return min(scale, 1.0)


def parse_spec(text: str) -> VariantSpec:
    """Parse a spec string; raise ConfigError with the grammar when it is not one."""
    cleaned = "".join(text.split()).lower()
    match = _SPEC.match(cleaned)
    if match is None:
        raise ConfigError(f"invalid variant spec {text!r}: {_GRAMMAR}")
    mode, size = match["mode"], match["size"]
    if mode not in MODES:
        raise ConfigError(f"invalid variant spec {text!r}: mode must be one of {', '.join(MODES)}")
    if "x" in size:
        if mode not in ("fit", "cover"):
            raise ConfigError(f"invalid variant spec {text!r}: {mode} takes one number, e.g. '{mode}:640'")
        w, h = (int(v) for v in size.split("x"))
    else:
        w = h = int(size)
    if not (1 <= w <= MAX_SIZE and 1 <= h <= MAX_SIZE):
        raise ConfigError(f"invalid variant spec {text!r}: sizes must be 1 to {MAX_SIZE}")
    if mode == "width":
        h = 0
    elif mode == "height":
        w = 0
    crop, quality = "centre", None
    for option in filter(None, match["options"].split(",")):
        key, value = option.split("=")
        if key == "crop" and mode == "cover":
            crop = "centre" if value == "center" else value
            if crop not in CROPS:
                raise ConfigError(f"invalid variant spec {text!r}: crop must be one of {', '.join(CROPS)}")
        elif key == "q" and value.isdigit() and 1 <= int(value) <= 100:
            quality = int(value)
        else:
            raise ConfigError(f"invalid variant spec {text!r}: unknown or invalid option {option!r}")
    return VariantSpec(mode, w, h, crop, quality)


def canonicalize(text: str) -> str:
    """The canonical spelling of a spec string."""
    return parse_spec(text).canonical
