"""``f=auto``: the output format a client's ``Accept`` header allows. Pure.

Browsers name AVIF and WebP explicitly in ``Accept`` when they display them; ``*/*`` and ``image/*``
promise nothing (older browsers send them too), so only explicit types count. Order of preference:
AVIF (stills only: picstore's AVIF encoder writes one frame), WebP (keeps animation and alpha), then PNG
for pictures with alpha and JPEG for the rest, which every client shows.
"""

from __future__ import annotations


def accepted_types(accept: str | None) -> set[str]:
    """The media types ``accept`` names with a non-zero quality (lowercase, parameters dropped)."""
    found: set[str] = set()
    for item in (accept or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        refused = any(p.replace(" ", "").lower() in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params)
        if media and not refused:
            found.add(media.lower())
    return found


def fallback_format(*, alpha: bool) -> str:
    """What every client shows: PNG when the picture has alpha, else JPEG."""
    return "png" if alpha else "jpeg"


def choose_format(accept: str | None, *, animated: bool, alpha: bool, avif: bool = True) -> str:
    """The best format ``accept`` allows for a picture (``avif`` False leaves AVIF out)."""
    types = accepted_types(accept)
    if avif and not animated and "image/avif" in types:
        return "avif"
    if "image/webp" in types:
        return "webp"
    return fallback_format(alpha=alpha)
