"""Thumbnails in the Django admin: the change form shows one through ``PictureInput``; change lists use
``list_display = ("name", thumbnail_column("photo"))``, and with :class:`PictureAdminMixin` the page's
pictures are loaded together (one catalog transaction and one query per page, not a read per row)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.safestring import SafeString, mark_safe

from picstore.contrib.django.fields import PictureField, prefetch_pictures
from picstore.contrib.django.widgets import thumbnail

__all__ = ["PictureAdminMixin", "thumbnail_column"]


def thumbnail_column(field: str, variant: str = "thumb") -> Callable[[models.Model], SafeString]:
    """A ``list_display`` entry showing ``field``'s picture as a thumbnail."""

    def column(obj: models.Model) -> SafeString:
        # thumbnail() escapes every value it puts in the tag.
        return mark_safe(thumbnail(getattr(obj, field), variant))  # noqa: S308

    column.short_description = field.replace("_", " ")  # type: ignore[attr-defined]
    column.__name__ = f"{field}_thumbnail"
    return column


class PictureAdminMixin:
    """Put before ``admin.ModelAdmin``: prefetches the change list page's pictures in one go."""

    model: type[models.Model]

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)  # type: ignore[misc]
        fields = [f.name for f in self.model._meta.get_fields() if isinstance(f, PictureField)]
        changelist.result_list = list(changelist.result_list)
        prefetch_pictures(changelist.result_list, *fields)
        return changelist
