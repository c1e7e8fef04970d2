"""The public API is pinned: changing it is a decision, not an accident."""

from __future__ import annotations

import picstore
from picstore import errors


def test_all_is_pinned() -> None:
    assert sorted(picstore.__all__) == [
        "Image",
        "ImageRejected",
        "ImageStore",
        "ImageUrls",
        "NotFound",
        "Page",
        "PicstoreError",
        "Settings",
        "Tenant",
        "Variant",
        "__version__",
        "errors",
        "load_settings",
    ]
    for name in picstore.__all__:
        assert getattr(picstore, name) is not None


def test_every_error_has_a_stable_code_and_status() -> None:
    classes = [
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.PicstoreError)
    ]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes)), "codes must be unique"
    for cls in classes:
        assert cls.code.islower() and " " not in cls.code
        assert 400 <= cls.http_status < 600
        assert cls.__doc__, f"{cls.__name__} needs a docstring: it is its default message"
    assert issubclass(errors.NotFound, FileNotFoundError)
    assert issubclass(errors.AlreadyExists, FileExistsError)
    assert errors.TooLarge().to_dict() == {
        "code": "too_large",
        "message": "The upload is larger than the byte limit.",
    }
