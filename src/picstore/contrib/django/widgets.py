"""The picture widget: a file input that shows the current picture's thumbnail (the admin uses it too).

The direct-upload variant, which sends the file to the bucket from the browser, is
:class:`~picstore.contrib.django.direct.DirectPictureInput`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html

from picstore.errors import NotFound

__all__ = ["PictureInput", "thumbnail"]


class PictureInput(forms.ClearableFileInput):
    """A file input that shows the current picture's thumbnail (in the admin too)."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> Any:
        html = super().render(name, value, attrs, renderer)
        shown = thumbnail(value)
        return format_html("{}{}", shown, html) if shown else html


def thumbnail(value: Any, variant: str = "thumb") -> str:
    """An ``<img>`` of a stored picture's ``variant`` ('' for no picture, or one that is gone)."""
    url = getattr(value, "url", None)
    if not callable(url):
        return ""
    try:
        src = url(variant, "jpeg")
    except NotFound:
        return ""
    return format_html('<img src="{}" alt="" width="100" style="height:auto" class="picstore-thumb">', src)
