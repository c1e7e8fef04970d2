from __future__ import annotations

from django.contrib import admin

from picstore.contrib.django.admin import PictureAdminMixin, thumbnail_column
from tests.contrib.django.listings.models import Listing


@admin.register(Listing)
class ListingAdmin(PictureAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", thumbnail_column("photo"))
