"""`/v1/tenants`: tenant management with the admin key, and only with it."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import make_jpeg
from tests.http_support import ADMIN_KEY, api_for, make_image_store

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def test_admin_creates_lists_and_reads_tenants(tmp_path: Path) -> None:
    with make_image_store(tmp_path) as store, api_for(store) as api:
        created = api.client.post("/v1/tenants", json={"slug": "initech", "name": "Initech"}, headers=ADMIN)
        assert created.status_code == 201
        body = created.json()
        assert (
            body["tenant"] == "initech" and body["name"] == "Initech" and body["api_key"].startswith("psk_")
        )
        # The new key works at once, and only for its tenant.
        key = {"Authorization": f"Bearer {body['api_key']}"}
        image = api.client.post("/v1/images", files={"file": ("a.jpg", make_jpeg())}, headers=key).json()
        assert image["tenant"] == "initech"
        listed = api.client.get("/v1/tenants", headers=ADMIN).json()["items"]
        assert [t["tenant"] for t in listed] == ["acme", "globex", "initech"]
        assert "api_key" not in listed[0]
        one = api.client.get("/v1/tenants/initech", headers=ADMIN).json()
        assert one == {k: body[k] for k in ("tenant", "name", "created_at")}
        missing = api.client.get("/v1/tenants/nobody", headers=ADMIN)
        assert missing.status_code == 404 and missing.json()["code"] == "not_found"
        dup = api.client.post("/v1/tenants", json={"slug": "initech"}, headers=ADMIN)
        assert dup.status_code == 409 and dup.json()["code"] == "conflict"
        for bad in ({"slug": "Bad Slug"}, {"slug": "../x"}, {}, {"slug": "ok", "extra": 1}):
            resp = api.client.post("/v1/tenants", json=bad, headers=ADMIN)
            assert resp.status_code == 400 and resp.json()["code"] == "invalid_request"


def test_tenant_keys_and_wrong_keys_cannot_manage_tenants(tmp_path: Path) -> None:
    with make_image_store(tmp_path) as store, api_for(store) as api:
        for headers in ({}, api.auth("acme"), {"Authorization": f"Bearer {ADMIN_KEY}x"}):
            for method, path in (
                ("POST", "/v1/tenants"),
                ("GET", "/v1/tenants"),
                ("GET", "/v1/tenants/acme"),
            ):
                resp = api.client.request(method, path, json={"slug": "evil"}, headers=headers)
                assert resp.status_code == 401 and resp.json()["code"] == "unauthorized"
        assert [t.slug for t in store.tenants()] == ["acme", "globex"]
        # The admin key is not a tenant key.
        assert api.client.get("/v1/images", headers=ADMIN).status_code == 401


def test_without_an_admin_key_tenant_management_is_off(tmp_path: Path) -> None:
    with make_image_store(tmp_path, admin_key=None) as store, api_for(store) as api:
        resp = api.client.post(
            "/v1/tenants", json={"slug": "x"}, headers={"Authorization": "Bearer anything"}
        )
        assert resp.status_code == 403 and resp.json()["code"] == "forbidden"
        assert "PICSTORE_ADMIN_KEY" in resp.json()["detail"]
