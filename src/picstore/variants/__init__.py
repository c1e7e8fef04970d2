"""Variants: preset specs (parse, canonicalize) and the cascade that renders them. Pure: no I/O."""

from picstore.variants.render import render_variants
from picstore.variants.spec import VariantSpec, canonicalize, parse_spec

__all__ = ["VariantSpec", "canonicalize", "parse_spec", "render_variants"]
