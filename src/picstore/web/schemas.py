"""The JSON shapes of the API, for validation and for the OpenAPI document at ``/openapi.json``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from picstore.errors import InvalidRequest
from picstore.formats import UPLOAD_CONTENT_TYPES
from picstore.keys import SLUG_PATTERN

#: Image and upload ids: lowercase base32, as :func:`picstore.keys.new_id` makes them.
ID_PATTERN = r"^[a-z2-7]{1,64}$"
#: Visible ASCII only, so a key can be logged and stored anywhere.
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"

_PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
#: The longest free text (alt text, filenames) the catalog takes.
MAX_TEXT = 2000
#: Free text stored in the catalog: no control characters (PostgreSQL refuses NUL), bounded.
Text = Annotated[str, Field(max_length=MAX_TEXT, pattern=_PRINTABLE)]
_TEXT = re.compile(_PRINTABLE)


def clean_text(value: str | None, what: str) -> str | None:
    """Free text from a form field, held to the rule of :data:`Text` (which JSON bodies are held to)."""
    if value is None:
        return None
    if len(value) > MAX_TEXT or not _TEXT.fullmatch(value):
        raise InvalidRequest(f"{what} must be printable text of at most {MAX_TEXT} characters")
    return value


class Problem(BaseModel):
    """An error, as ``application/problem+json`` (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable snake_case code clients branch on, e.g. not_an_image.")
    instance: str | None = None


class VariantOut(BaseModel):
    """One stored rendition of an image."""

    url: str
    width: int
    height: int
    bytes: int


class ImageOut(BaseModel):
    """A stored image, as ``picstore put --json`` prints it."""

    id: str
    tenant: str
    format: str
    width: int
    height: int
    bytes: int
    sha256: str
    frames: int
    filename: str | None
    alt: str | None
    created_at: datetime
    url: str = Field(description="Where the sanitized master is served from.")
    variants: dict[str, dict[str, VariantOut]] = Field(
        description="Variant name -> format -> rendition, e.g. variants['thumb']['webp'].url"
    )

    @field_serializer("created_at")
    def _iso(self, value: datetime) -> str:
        # As ImageStore.describe (and so `picstore put --json`) writes it: ISO 8601 with the UTC offset.
        return value.isoformat()


class ImagePage(BaseModel):
    """One page of a tenant's images, newest first."""

    items: list[ImageOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


class UploadIn(BaseModel):
    """A direct upload to prepare."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"filename": "shop.jpg", "content_type": "image/jpeg", "bytes": 48213}]
        },
    )

    filename: Text | None = None
    content_type: str = Field(
        max_length=100,
        description="One of " + ", ".join(sorted(UPLOAD_CONTENT_TYPES)),
        examples=["image/jpeg"],
    )
    bytes: int = Field(ge=1, description="The file's exact size; the upload accepts 1 to this many bytes.")


class UploadOut(BaseModel):
    """Where to send the file: POST ``fields`` then the file as ``file``, multipart, to ``url``."""

    upload_id: str
    url: str
    fields: dict[str, str]
    expires_at: datetime


class CompleteIn(BaseModel):
    """Options for publishing a direct upload."""

    model_config = ConfigDict(extra="forbid")

    alt: Text | None = None


class TenantIn(BaseModel):
    """A tenant to create."""

    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN, description="Short id: lowercase letters, digits, - and _.")
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=_PRINTABLE)] | None = None


class TenantOut(BaseModel):
    """A tenant."""

    tenant: str
    name: str
    created_at: datetime


class TenantCreated(TenantOut):
    """A new tenant and its API key, which is shown only this once."""

    api_key: str


class TenantList(BaseModel):
    """Every tenant, by slug."""

    items: list[TenantOut]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting problem+json errors.

    A route that authenticates (401) may also be throttled (429, web/throttle.py): listed with it.
    """
    if 401 in statuses:
        statuses = (*statuses, 429)
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}, "description": "An error."}
        for status in statuses
    }
