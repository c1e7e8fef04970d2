"""The public listing page ``/p/{tenant}`` and a picture's own page ``/p/{tenant}/{id}``.

Works with JavaScript off (each picture links to its own page; the script only turns that into a
keyboard-usable lightbox). Cacheable: a strong ETag of the body (``If-None-Match`` answers 304) and a
short ``max-age``, so a change shows within a minute. A page costs a fixed number of catalog queries.

Rendered pages are kept in memory (:class:`RenderedPages`) under the listing's fingerprint: any upload,
delete, take-down or change made in the dashboard changes it, so those show at once; what picstore
cannot see in the fingerprint (a migration moving blobs to new URLs) shows within ``RENDERED_TTL``
(web/page_cache.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from picstore.errors import InvalidRequest, NotFound, PicstoreError
from picstore.keys import SLUG_PATTERN
from picstore.listings import ListingPage, Listings
from picstore.settings import Settings
from picstore.variants.spec import parse_spec
from picstore.web.deps import get_listings, get_rendered_pages
from picstore.web.page_cache import Rendered, RenderedPages, page_etag
from picstore.web.schemas import ID_PATTERN
from picstore.web.ui.markup import largest_url, picture_of
from picstore.web.ui.pages import error_page, page_response, template
from picstore.web.ui.paths import root

router = APIRouter(prefix="/p", include_in_schema=False)
Slug = Annotated[str, Path(pattern=SLUG_PATTERN)]
#: Pictures on one listing page, and how many load at once (above the fold) before the lazy ones.
PER_PAGE = 500
EAGER = 4
#: Browsers and caches may reuse a listing this long; the ETag revalidates it cheaply afterwards.
CACHE = "public, max-age=60"
#: The grid's column widths, for the browser to pick a srcset candidate before layout.
SIZES = "(max-width: 560px) 100vw, (max-width: 900px) 50vw, 33vw"


def shown(settings: Settings) -> list[str]:
    """The variants the page can show: every preset but the cropped ones (``cover:``), whose shape
    differs from the picture's and so never joins its ``srcset``. Fewer variants, fewer URLs to look up."""
    return [name for name, spec in settings.variants.items() if parse_spec(spec).mode != "cover"]


def render_listing(found: ListingPage, root: str = "") -> str:
    """The listing page's HTML (a pure function of the page and the mount prefix ``root``, so its ETag
    is stable)."""
    items = [
        {
            "picture": p,
            "markup": picture_of(
                p.image,
                urls,
                sizes=SIZES,
                loading="eager" if found.page == 1 and n < EAGER else "lazy",
            ),
            "large": largest_url(p.image, urls),
        }
        for n, (p, urls) in enumerate(found.pictures)
    ]
    html: str = template("listing.html").render(found=found, items=items, root=root)
    return html


def rendered_listing(
    listings: Listings, pages: RenderedPages, slug: str, page: int, root: str = ""
) -> Rendered:
    """The listing page's HTML and ETag: from memory while the fingerprint holds, else rendered now."""
    tenant = listings.store.tenant(slug)
    fingerprint = (listings.store.url_builder.base_url, root, listings.fingerprint(tenant))
    found = pages.get((tenant.id, page), fingerprint)
    if found is None:
        listed = listings.page(tenant, page, PER_PAGE, variants=shown(listings.store.settings))
        html = render_listing(listed, root)
        found = pages.put((tenant.id, page), fingerprint, html)
    return found


def _cached(request: Request, html: str, etag: str | None = None) -> Response:
    etag = etag or page_etag(html)
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": CACHE})
    response = page_response(html, cache=CACHE)
    response.headers["ETag"] = etag
    return response


@router.get("/{slug}")
async def listing(slug: Slug, request: Request, page: Annotated[int, Query(ge=1)] = 1) -> Response:
    """A tenant's public listing page."""
    try:
        found = await run_in_threadpool(
            rendered_listing, get_listings(request), get_rendered_pages(request), slug, page, root(request)
        )
    except (NotFound, InvalidRequest) as exc:
        return error_page(request, exc, back="/")
    return _cached(request, found.html, found.etag)


@router.get("/{slug}/{image_id}")
async def picture_page(
    slug: Slug, image_id: Annotated[str, Path(pattern=ID_PATTERN)], request: Request
) -> Response:
    """One picture of a listing, large: where a picture's link leads with JavaScript off."""
    store = get_listings(request).store
    try:
        image = await run_in_threadpool(store.get, image_id, slug)
        tenant = await run_in_threadpool(store.tenant, slug)
    except PicstoreError as exc:
        return error_page(request, exc, back=f"/p/{slug}")
    urls = (await run_in_threadpool(store.urls, [image]))[image.id]
    markup = picture_of(
        image, urls, ("large", "card"), sizes="(max-width: 1600px) 100vw, 1600px", loading="eager"
    )
    html = template("picture.html").render(tenant=tenant, image=image, markup=markup, root=root(request))
    return _cached(request, html)
