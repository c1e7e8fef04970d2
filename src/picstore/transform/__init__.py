"""On-the-fly transforms: the canonical spec grammar, format negotiation and the renderer. Pure: no I/O."""

from picstore.transform.spec import TransformSpec, parse_transform

__all__ = ["TransformSpec", "parse_transform"]
