"""The listing site picstore grew from, on Flask: a business uploads pictures for its listing page; the
public listing page shows them. Pictures are checked, cleaned and served by picstore, in this process.

Run: ``python app.py`` (SQLite + files under ./picstore-data); ``PICSTORE_STORAGE=s3://bucket/prefix`` for S3.
"""

from __future__ import annotations

import os
import re

from flask import Flask, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from picstore.contrib.flask import Picstore
from picstore.contrib.pictures import Refusal
from picstore.errors import NotFound
from picstore.models import Tenant

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ.get("SECRET_KEY", "change-me-for-anything-but-a-demo")
pictures = Picstore(app)  # PICSTORE_* settings from the environment or app.config; serves /pictures/...


def slug_for(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64] or "listing"


@app.get("/")
def index() -> str:
    return render_template("index.html", listings=pictures.store.tenants())


@app.post("/listings")
def create_listing() -> Response:
    name = request.form.get("name", "").strip()
    if not name:
        flash("Give your listing a name.")
        return redirect(url_for("index"))
    slug = slug_for(name)
    try:
        pictures.store.tenant(slug)
    except NotFound:
        pictures.store.create_tenant(slug, name)  # each listing is a picstore tenant
    return redirect(url_for("edit_listing", slug=slug))


def listing_or_404(slug: str) -> Tenant:
    try:
        return pictures.store.tenant(slug)
    except NotFound:
        abort(404)


@app.get("/l/<slug>/edit")
def edit_listing(slug: str) -> str:
    # A real site puts this page behind the business owner's login.
    return render_template("edit.html", listing=listing_or_404(slug), photos=pictures.listing(slug))


@app.post("/l/<slug>/pictures")
def upload(slug: str) -> Response:
    listing_or_404(slug)
    saved = pictures.save(request.files.get("photo"), slug, alt=request.form.get("alt") or None)
    flash(f"Not stored: {saved.message}" if isinstance(saved, Refusal) else "Picture added.")
    return redirect(url_for("edit_listing", slug=slug))


@app.post("/l/<slug>/pictures/<image_id>/delete")
def delete(slug: str, image_id: str) -> Response:
    pictures.store.delete(image_id, slug)
    return redirect(url_for("edit_listing", slug=slug))


@app.get("/l/<slug>")
def show_listing(slug: str) -> str:
    return render_template("listing.html", listing=listing_or_404(slug), photos=pictures.listing(slug))


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
