"""The ``picstore`` command: argument parsing and printing only; the work is in store, ops and web."""

from picstore.cli import images, admin, storage, legacy, doctor, transforms  # noqa: I001 - registration order is the order in --help
from picstore.cli.app import app, main

__all__ = ["admin", "app", "doctor", "images", "legacy", "main", "storage", "transforms"]
