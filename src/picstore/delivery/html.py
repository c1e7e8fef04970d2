"""HTML for pictures: ``srcset`` strings and ``<picture>`` elements built from an image and its URLs.

The one place picstore writes picture markup: the web UI, the Django/Flask/Jinja helpers and the transform
URLs all go through here. The functions are pure: they take an :class:`~picstore.models.Image` and its
:class:`~picstore.models.ImageUrls` (from ``ImageStore.urls``, one catalog query for a whole page) and make
no query or request of their own.

Invariants:
- every attribute value is HTML-escaped, and the result is ``Markup`` so template engines do not escape
  it twice;
- a ``srcset`` lists only renditions of the same picture: the same aspect ratio as the one asked for
  (the square ``thumb`` crop never appears among the ``card``/``large`` widths), each with its real pixel
  width, one candidate per width;
- the ``<img>`` always carries ``width`` and ``height``, so the page does not shift when it loads;
- extra ``widths`` (made on first request through signed transform URLs, given a ``transform_url``
  such as ``ImageStore.transform_url``) are offered only where no stored rendition has that width and never
  wider than the picture itself: a transform never enlarges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from markupsafe import Markup, escape

from picstore.formats import content_type_for
from picstore.models import Image, ImageUrls

#: Formats offered as ``<source>`` elements before the ``<img>`` fallback, best first.
SOURCE_FORMATS: tuple[str, ...] = ("avif", "webp")
#: The format the ``<img>`` falls back to when the picture has it: every browser shows JPEG.
FALLBACK_FORMAT = "jpeg"
#: Aspect ratios closer than this are the same picture (sizes are rounded to whole pixels).
_ASPECT_TOLERANCE = 0.02


class TransformUrl(Protocol):
    """Makes the signed transform URL of one width (``ImageStore.transform_url`` is one)."""

    def __call__(
        self,
        image_id: str,
        *,
        width: int | None = None,
        height: int | None = None,
        fit: str = "inside",
        format: str = "auto",
    ) -> str: ...


def _aspect(width: int, height: int) -> float:
    return width / height if height else 0.0


def _same_picture(a: tuple[int, int], b: tuple[int, int]) -> bool:
    ra, rb = _aspect(*a), _aspect(*b)
    return rb > 0 and abs(ra - rb) / rb <= _ASPECT_TOLERANCE


def candidates(
    image: Image,
    urls: ImageUrls,
    fmt: str,
    like: str | None = None,
    *,
    widths: Sequence[int] = (),
    transform_url: TransformUrl | None = None,
) -> list[tuple[str, int]]:
    """``(url, width)`` pairs of every rendition in ``fmt`` shaped like ``like``, narrowest first.

    ``like`` names the variant whose aspect ratio decides what belongs (None: the original's). The
    original counts too when it is stored in ``fmt``. With ``transform_url``, each of ``widths`` that no
    stored rendition has is added as a transform URL of that width and shape.
    """
    ref = image.variant(like) if like not in (None, "original") else None
    shape = (ref.width, ref.height) if ref is not None else (image.width, image.height)
    found: dict[int, str] = {}
    for v in image.variants:
        url = urls.variants.get((v.name, v.format))
        if v.format == fmt and url is not None and _same_picture((v.width, v.height), shape):
            found.setdefault(v.width, url)
    if image.format == fmt and _same_picture((image.width, image.height), shape):
        found.setdefault(image.width, urls.original)
    if transform_url is not None:
        for width, url in _transforms(image, shape, fmt, widths, transform_url):
            found.setdefault(width, url)
    return sorted(((url, width) for width, url in found.items()), key=lambda c: c[1])


def _transforms(
    image: Image, shape: tuple[int, int], fmt: str, widths: Sequence[int], transform_url: TransformUrl
) -> list[tuple[int, str]]:
    """Transform URLs of ``widths`` in ``shape``'s aspect, up to the widest such crop of the picture."""
    if _same_picture((image.width, image.height), shape):
        widest, crop = image.width, False
    else:
        widest, crop = min(image.width, image.height * shape[0] // max(1, shape[1])), True
    out = []
    for width in sorted(set(widths)):
        if not 1 <= width <= widest:
            continue
        if crop:
            height = max(1, round(width * shape[1] / shape[0]))
            out.append((width, transform_url(image.id, width=width, height=height, fit="cover", format=fmt)))
        else:
            out.append((width, transform_url(image.id, width=width, format=fmt)))
    return out


def srcset(
    image: Image,
    urls: ImageUrls,
    fmt: str = FALLBACK_FORMAT,
    like: str | None = None,
    *,
    widths: Sequence[int] = (),
    transform_url: TransformUrl | None = None,
) -> str:
    """A ``srcset`` value (``"url 200w, url 640w"``) of the renditions in ``fmt`` shaped like ``like``.

    ``widths`` with ``transform_url`` (e.g. ``widths=(320, 480, 960), transform_url=store.transform_url``)
    adds signed transform URLs for the widths no stored rendition has.
    """
    found = candidates(image, urls, fmt, like, widths=widths, transform_url=transform_url)
    return ", ".join(f"{url} {width}w" for url, width in found)


def picture(
    image: Image,
    urls: ImageUrls,
    variant: str = "card",
    *,
    sizes: str | None = None,
    alt: str | None = None,
    loading: str = "lazy",
    attrs: Mapping[str, str] | None = None,
    widths: Sequence[int] = (),
    transform_url: TransformUrl | None = None,
) -> Markup:
    """A ``<picture>`` showing ``variant``: AVIF/WebP ``<source>``s and a JPEG ``<img>`` with ``srcset``.

    ``sizes`` defaults to the variant's own width (full width on narrower screens); ``alt`` to the
    image's alt text (an empty ``alt`` when it has none: the picture is then decorative). ``attrs`` are
    extra attributes of the ``<img>`` (``class``, ``style``, ``id`` ...). ``widths`` and ``transform_url``
    add transform URLs of those widths to every ``srcset`` (see :func:`srcset`), AVIF and WebP included.
    """
    chosen = image.variant(variant, FALLBACK_FORMAT) or image.variant(variant)
    if chosen is None:
        if variant not in ("original", None):
            raise KeyError(f"image {image.id} has no variant {variant!r}")
        width, height, fmt, src = image.width, image.height, image.format, urls.original
    else:
        width, height, fmt = chosen.width, chosen.height, chosen.format
        src = urls.variants[(chosen.name, chosen.format)]
    like = None if chosen is None else chosen.name
    sizes = sizes or f"(max-width: {width}px) 100vw, {width}px"
    parts = ["<picture>"]
    for source_fmt in SOURCE_FORMATS:
        found = (
            srcset(image, urls, source_fmt, like, widths=widths, transform_url=transform_url)
            if source_fmt != fmt
            else ""
        )
        if found:
            parts.append(
                f'<source type="{content_type_for(source_fmt)}" srcset="{escape(found)}" '
                f'sizes="{escape(sizes)}">'
            )
    img_attrs: dict[str, str] = {
        "src": src,
        "srcset": srcset(image, urls, fmt, like, widths=widths, transform_url=transform_url),
        "sizes": sizes,
        "width": str(width),
        "height": str(height),
        "alt": alt if alt is not None else (image.alt or ""),
        "loading": loading,
        "decoding": "async",
    }
    img_attrs.update(attrs or {})
    rendered = " ".join(
        f'{name}="{escape(value)}"' for name, value in img_attrs.items() if value or name == "alt"
    )
    parts.append(f"<img {rendered}></picture>")
    # Safe: every value above went through escape(); the rest is this function's own literal markup.
    return Markup("".join(parts))  # noqa: S704
