"""Tenant isolation: another tenant's ids answer 404 for every verb, with no side effect."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import make_jpeg
from tests.http_support import Api, api_for, make_image_store


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    with make_image_store(tmp_path) as store, api_for(store) as a:
        yield a


def _not_found(resp: object) -> None:
    assert resp.status_code == 404, resp.text  # type: ignore[attr-defined]
    assert resp.json()["code"] == "not_found"  # type: ignore[attr-defined]


def test_another_tenants_image_is_404_for_every_verb(api: Api) -> None:
    image = api.upload("acme", make_jpeg()).json()
    missing = "a" * len(image["id"])
    for image_id in (image["id"], missing):
        get = api.client.get(f"/v1/images/{image_id}", headers=api.auth("globex"))
        delete = api.client.delete(f"/v1/images/{image_id}", headers=api.auth("globex"))
        _not_found(get)
        _not_found(delete)
        # Indistinguishable from an id that does not exist (apart from the path it names).
        assert get.json()["detail"] == f"no image {image_id!r}"
    listed = api.client.get("/v1/images", headers=api.auth("globex")).json()
    assert listed == {"items": [], "next_cursor": None}
    # No side effect: acme still has its image, bytes and all.
    assert api.client.get(f"/v1/images/{image['id']}", headers=api.auth("acme")).json() == image
    assert api.store.read(image["id"])


def test_identical_bytes_from_two_tenants_stay_apart(api: Api) -> None:
    data = make_jpeg()
    mine = api.upload("acme", data).json()
    theirs = api.upload("globex", data).json()
    assert mine["id"] != theirs["id"] and mine["sha256"] == theirs["sha256"]
    assert [i["id"] for i in api.client.get("/v1/images", headers=api.auth("acme")).json()["items"]] == [
        mine["id"]
    ]
    assert api.client.delete(f"/v1/images/{theirs['id']}", headers=api.auth("globex")).status_code == 204
    # globex deleting its copy leaves acme's image (sharing the blob) intact.
    assert api.client.get(f"/v1/images/{mine['id']}", headers=api.auth("acme")).status_code == 200
    assert hashlib.sha256(api.store.read(mine["id"])).hexdigest() == mine["sha256"]


def test_another_tenants_upload_is_404_to_complete_and_untouched(api: Api) -> None:
    ticket = api.client.post(
        "/v1/uploads",
        json={"filename": "a.jpg", "content_type": "image/jpeg", "bytes": 10_000},
        headers=api.auth("acme"),
    ).json()
    data = make_jpeg()
    posted = api.client.post(
        ticket["url"], data=ticket["fields"], files={"file": ("a.jpg", data, "image/jpeg")}
    )
    assert posted.status_code == 204
    _not_found(api.client.post(f"/v1/uploads/{ticket['upload_id']}/complete", headers=api.auth("globex")))
    assert api.store.catalog.images.count() == 0
    # The incoming file is still there and acme can publish it.
    done = api.client.post(f"/v1/uploads/{ticket['upload_id']}/complete", headers=api.auth("acme"))
    assert done.status_code == 201 and done.json()["tenant"] == "acme"
    _not_found(api.client.post(f"/v1/uploads/{ticket['upload_id']}/complete", headers=api.auth("globex")))
