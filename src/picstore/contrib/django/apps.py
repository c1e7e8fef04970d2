"""The Django app config: closes the store when settings change (tests) so the next use reopens it."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed


class PicstoreConfig(AppConfig):
    """``picstore.contrib.django`` in ``INSTALLED_APPS``."""

    name = "picstore.contrib.django"
    label = "picstore"
    verbose_name = "picstore"

    def ready(self) -> None:
        setting_changed.connect(_settings_changed)


def _settings_changed(*, setting: str, **_: Any) -> None:
    if setting in ("PICSTORE", "ROOT_URLCONF"):
        from picstore.contrib.django.conf import reset_store

        reset_store()
