"""Thumbnails in the Django admin: the change form shows one through ``PictureInput``; for change lists,
``list_display = ("name", thumbnail_column("photo"))``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.utils.safestring import SafeString, mark_safe

from picstore.contrib.django.forms import thumbnail


def thumbnail_column(field: str, variant: str = "thumb") -> Callable[[models.Model], SafeString]:
    """A ``list_display`` entry showing ``field``'s picture as a thumbnail."""

    def column(obj: models.Model) -> SafeString:
        # thumbnail() escapes every value it puts in the tag.
        return mark_safe(thumbnail(getattr(obj, field), variant))  # noqa: S308

    column.short_description = field.replace("_", " ")  # type: ignore[attr-defined]
    column.__name__ = f"{field}_thumbnail"
    return column


__all__: list[Any] = ["thumbnail_column"]
