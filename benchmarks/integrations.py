"""Template helpers benchmark: a Django listing page of 100 pictures, picstore against sorl-thumbnail.

Both sides render the same page in the same Django process, from the same 100 photos (1200x800 JPEGs),
with the same renditions per picture: the "card" (640 px wide) and the "large" (fit in 1600x1600, here the
1200 px original size) in JPEG and WebP, and the card's width and height.

- picstore: rows with a ``PictureField``, ``prefetch_pictures`` for the page, ``{% picture l.photo "card" %}``
  (a ``<picture>`` with WebP and JPEG srcsets);
- anchor, sorl-thumbnail (cached): rows with an ``ImageField``, four ``{% thumbnail %}`` tags per row (640 and
  1600x1600, JPEG and WebP) in the same markup. Thumbnails are made and their key-value entries cached before
  timing, so both sides only look URLs up: the state of a busy site.

Rounds alternate sides after a warm-up; the median time per page and the ratio are printed, with the
queries each page costs (picstore's catalog, and Django's database). Goal: picstore at least as fast, and
one catalog query for the page's URLs.

    python benchmarks/integrations.py [--pictures 100] [--rounds 30]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script, this directory comes first on sys.path, and its http.py would hide the standard
# library's ``http`` package (which Django imports).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

SIZES = "(max-width: 600px) 100vw, 600px"
PICSTORE_PAGE = (
    "{% load picstore %}{% for l in rows %}<article><h2>{{ l.name }}</h2>"
    '{% picture l.photo "card" sizes="' + SIZES + '" %}</article>{% endfor %}'
)
SORL_PAGE = (
    "{% load thumbnail %}{% for l in rows %}<article><h2>{{ l.name }}</h2><picture>"
    '{% thumbnail l.photo "640" format="WEBP" as c %}{% thumbnail l.photo "1600x1600" format="WEBP" as g %}'
    '<source type="image/webp" srcset="{{ c.url }} {{ c.width }}w, {{ g.url }} {{ g.width }}w" sizes="'
    + SIZES
    + '">'
    "{% endthumbnail %}{% endthumbnail %}"
    '{% thumbnail l.photo "640" format="JPEG" as c %}{% thumbnail l.photo "1600x1600" format="JPEG" as g %}'
    '<img src="{{ c.url }}" srcset="{{ c.url }} {{ c.width }}w, {{ g.url }} {{ g.width }}w" sizes="'
    + SIZES
    + '"'
    ' width="{{ c.width }}" height="{{ c.height }}" alt="" loading="lazy" decoding="async">'
    "{% endthumbnail %}{% endthumbnail %}</picture></article>{% endfor %}"
)


def make_photos(count: int, width: int = 1200, height: int = 800) -> list[bytes]:
    """Distinct photo-like JPEGs (gradients and grain)."""
    from PIL import Image, ImageFilter

    out = []
    for i in range(count):
        base = Image.linear_gradient("L").resize((width, height)).rotate(i * 7 % 360)
        noise = Image.effect_noise((width // 4, height // 4), 30 + i % 50).resize((width, height))
        rgb = Image.merge("RGB", (base, noise, Image.eval(base, lambda v, k=i: (v * 3 + k * 11) % 256)))
        buf = io.BytesIO()
        rgb.filter(ImageFilter.GaussianBlur(1)).save(buf, "JPEG", quality=88)
        out.append(buf.getvalue())
    return out


def configure_django(root: Path) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-" + "x" * 40,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "sorl.thumbnail",
            "picstore.contrib.django",
            "bench_listings",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(root / "django.db")}},
        # Room for every thumbnail's entry: sorl answers from the cache, never from its database table.
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 100_000},
            }
        },
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates"}],
        MEDIA_ROOT=str(root / "media"),
        MEDIA_URL="/media/",
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        PICSTORE={
            "STORAGE": (root / "blobs").as_uri(),
            "DATABASE": f"sqlite:///{root / 'catalog.db'}",
            "PUBLIC_URL": "/pictures",
        },
        THUMBNAIL_KVSTORE="sorl.thumbnail.kvstores.cached_db_kvstore.KVStore",
        THUMBNAIL_UPSCALE=False,  # as picstore: "large" of a 1200 px photo is 1200 px
    )
    _install_models_module(root)
    django.setup()


MODELS = """
from django.db import models
from sorl.thumbnail import ImageField

from picstore.contrib.django.fields import PictureField


class PicstoreListing(models.Model):
    name = models.CharField(max_length=50)
    photo = PictureField(tenant="bench")


class SorlListing(models.Model):
    name = models.CharField(max_length=50)
    photo = ImageField(upload_to="photos")
"""


def _install_models_module(root: Path) -> None:
    """The page's two models, as a throw-away app package ``bench_listings`` under ``root``."""
    app = root / "bench_listings"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(MODELS)
    sys.path.insert(0, str(root))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pictures", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--show", action="store_true", help="print the first picture of each page")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="picstore-bench-integ-") as tmp:
        root = Path(tmp)
        configure_django(root)
        import bench_listings.models as bm  # type: ignore[import-not-found]
        from django.core.files.base import ContentFile
        from django.core.files.uploadedfile import SimpleUploadedFile
        from django.core.management import call_command
        from django.db import connection
        from django.template import engines
        from django.test.utils import CaptureQueriesContext
        from sqlalchemy import event

        from picstore.contrib.django.conf import get_store
        from picstore.contrib.django.fields import prefetch_pictures

        call_command("migrate", run_syncdb=True, verbosity=0)
        print(f"storing {args.pictures} photos on both sides ...", flush=True)
        for i, data in enumerate(make_photos(args.pictures)):
            bm.PicstoreListing(name=f"p{i}", photo=SimpleUploadedFile(f"{i}.jpg", data)).save()
            row = bm.SorlListing(name=f"p{i}")
            row.photo.save(f"{i}.jpg", ContentFile(data), save=True)

        engine = engines["django"]
        picstore_tpl = engine.from_string(PICSTORE_PAGE)
        sorl_tpl = engine.from_string(SORL_PAGE)

        def picstore_page() -> str:
            rows = list(bm.PicstoreListing.objects.order_by("id"))
            prefetch_pictures(rows, "photo")
            return picstore_tpl.render({"rows": rows})

        def sorl_page() -> str:
            return sorl_tpl.render({"rows": list(bm.SorlListing.objects.order_by("id"))})

        # Warm-up: sorl makes its thumbnails and caches their entries; both sides fill their caches.
        for render in (sorl_page, picstore_page, sorl_page, picstore_page):
            render()
        if args.show:
            print(sorl_page().split("</article>")[0], picstore_page().split("</article>")[0], sep="\n")
        statements: list[str] = []
        event.listen(get_store().engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

        def measure(render: Callable[[], str]) -> tuple[float, int, int, int]:
            statements.clear()
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as django_queries:
                started = time.perf_counter()
                page = render()
                took = time.perf_counter() - started
            return took, len(statements), len(django_queries), page.count("<picture>")

        times: dict[str, list[float]] = {"picstore": [], "sorl": []}
        last: dict[str, Any] = {}
        for _ in range(args.rounds):
            for name, render in (("sorl", sorl_page), ("picstore", picstore_page)):
                took, catalog, django_q, pictures = measure(render)
                times[name].append(took)
                last[name] = (catalog, django_q, pictures)

    med = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(f"listing page of {args.pictures} pictures, median of {args.rounds} rounds (ms per page):")
    for name in ("sorl", "picstore"):
        catalog, django_q, pictures = last[name]
        print(
            f"  {name:9s} {med[name]:8.2f} ms   <picture> elements: {pictures}   "
            f"catalog queries: {catalog}   Django queries: {django_q}"
        )
    print(f"picstore / sorl-thumbnail time: {med['picstore'] / med['sorl']:.2f}x (goal: <= 1.00)")
    print(
        "picstore's catalog statements per page: "
        f"{last['picstore'][0]} (images, variants and every URL on the page in one: ImageStore.image_urls)"
    )


if __name__ == "__main__":
    main()
