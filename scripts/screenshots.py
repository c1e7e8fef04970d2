"""Take the web UI screenshots under docs/img/ (README shows them): dashboard, listing (desktop and a
360 px phone), admin console. Seeds a throw-away store with photos from the shared corpus.

    .venv/bin/python -P scripts/screenshots.py [--out docs/img] [--corpus /work/shared/corpus]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.browser.conftest import ADMIN_KEY, CHROMIUM_ARGS, LiveServer, _chromium, free_port  # noqa: E402

#: (corpus file, alt text, caption): real photographs from the corpus (licences in its manifest.csv).
PHOTOS = [
    (
        "orientation/recurser/Landscape_0.jpg",
        "A waterfall falling from a cliff",
        "The falls, a 20 minute walk",
    ),
    ("jpeg/sugarshack_bad_mpo_header.jpg", "A red wooden cabin in the snow", "Cabin 1 in winter"),
    ("jpeg/junk_jpeg_header.jpg", "Tall grass beside a dark wooden wall", "The meadow behind cabin 2"),
    ("jpeg/exif_gps_typeerror.jpg", "A vintage plane landing on a grass field", "Airshow weekend in June"),
    ("jpeg/iptc.jpg", "Brick letters on the wall of a building", "The old village hall"),
    ("jpeg/ljt_testorig.jpg", "A red rose in the garden", "Roses by the sauna"),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    parser.add_argument(
        "--corpus", type=Path, default=Path(os.environ.get("PICSTORE_CORPUS", "/work/shared/corpus"))
    )
    args = parser.parse_args()
    chromium = _chromium()
    if chromium is None:
        sys.exit("Chromium is missing: run scripts/browser.sh install")
    from playwright.sync_api import sync_playwright

    from picstore import ImageStore
    from picstore.listings import Listings
    from picstore.settings import load_settings

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        settings = load_settings(
            storage=(Path(tmp) / "blobs").as_uri(),
            database=f"sqlite:///{Path(tmp) / 'catalog.db'}",
            public_url=f"http://127.0.0.1:{port}",
            admin_key=ADMIN_KEY,
        )
        with ImageStore.from_settings(settings) as store, LiveServer(store, port):
            store.create_tenant("seaside", "Seaside Cabins")
            store.create_tenant("cityloft", "City Loft Apartments")
            store.put(args.corpus / PHOTOS[2][0], "cityloft", "street.jpg")
            listings = Listings(store)
            for path, alt, caption in reversed(PHOTOS):
                name = alt.split()[2].strip(",") + ".jpg"  # "A red wooden ..." -> wooden.jpg
                image = store.put(args.corpus / path, "seaside", name, alt=alt)
                listings.set_text("seaside", image.id, alt=alt, caption=caption)
            listings.describe(
                "seaside",
                name="Seaside Cabins",
                description="Three wooden cabins a short walk from the lake. Breakfast, bikes and a sauna.",
            )
            base = f"http://127.0.0.1:{port}"
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                desktop = browser.new_page(viewport={"width": 1280, "height": 1150})
                desktop.goto(f"{base}{store.signin_link('seaside').removeprefix(base)}")
                desktop.get_by_role("button", name="Continue").click()
                desktop.wait_for_url("**/dashboard")
                desktop.wait_for_selector(".uppy-Dashboard")
                desktop.screenshot(path=str(args.out / "dashboard.png"), full_page=False)
                desktop.goto(f"{base}/p/seaside")
                desktop.wait_for_load_state("networkidle")
                desktop.screenshot(path=str(args.out / "listing-desktop.jpg"), quality=85)
                phone = browser.new_page(viewport={"width": 360, "height": 780}, device_scale_factor=2)
                phone.goto(f"{base}/p/seaside")
                phone.wait_for_load_state("networkidle")
                phone.screenshot(path=str(args.out / "listing-phone.jpg"), quality=85)
                admin = browser.new_page(viewport={"width": 1280, "height": 720})
                admin.goto(f"{base}/admin/login")
                admin.get_by_label("Admin key").fill(ADMIN_KEY)
                admin.get_by_role("button", name="Sign in").click()
                admin.wait_for_url("**/admin")
                admin.screenshot(path=str(args.out / "admin.png"))
                browser.close()
    print(f"screenshots in {args.out}")


if __name__ == "__main__":
    main()
