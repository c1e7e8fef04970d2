"""Schemathesis against /openapi.json: generated requests to every operation never get a 5xx, and every
response has a status code the document lists and a body its schema for that status describes.

Kept short (a few dozen examples per operation): this guards against crashes on odd input, it is not a
soak test. Requests carry a real tenant key (the admin key on /v1/tenants), so they reach the handlers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from hypothesis import HealthCheck, given, settings
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from picstore.web.schemas import ImageOut
from tests.helpers import make_jpeg
from tests.http_support import ADMIN_KEY, Api, api_for, make_image_store


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    # Both catalogs: PostgreSQL refuses values SQLite takes (NUL in text, bigints out of range).
    # Throttling off: the fuzzer's wrong keys would soon have every answer be a 429 (test_throttle.py).
    throttles_off = {"auth_failure_limit": 0, "key_rate_limit": 0}
    with make_image_store(tmp_path, database=database_url, **throttles_off) as store, api_for(store) as a:
        a.upload("acme", make_jpeg())
        yield a


# Schemathesis' pytest plugin does not run under this pytest; its strategies drive Hypothesis directly.
_EXCLUDED = [negative_data_rejection, positive_data_acceptance]
#: Checks that must run (guards the list above: these are what hold the responses to the document).
_REQUIRED = [response_schema_conformance, status_code_conformance]


def _operations(api: Api) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    return [result.ok() for result in schema.get_all_operations()]


def _fuzz(operation: Any, key: str) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def check(case: Any) -> None:
        # Schemathesis makes up bearer tokens from the security scheme: use a real key, so requests get
        # past authentication to the handlers (the tests of auth itself are elsewhere).
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {key}"}
        # Every default check runs (no 5xx, content types, status codes and bodies as documented, ...)
        # except those that judge acceptance: bytes that fit the schema are still refused when they are
        # not an image, and not every generated "negative" example is wrong (an unknown extra query
        # parameter is fine, for one).
        case.call_and_validate(excluded_checks=_EXCLUDED, additional_checks=_REQUIRED)

    check()


def test_no_server_errors(api: Api) -> None:
    operations = _operations(api)
    assert len(operations) >= 12
    for operation in operations:
        _fuzz(operation, ADMIN_KEY if operation.path.startswith("/v1/tenants") else api.keys["acme"])


def test_a_response_that_strays_from_the_document_fails() -> None:
    # Guards the checks above: a route that answers outside its declared model (as JSONResponse lets
    # one do) and a status the document does not list are both caught.
    app = FastAPI()

    @app.get("/stray", response_model=ImageOut)
    def stray() -> JSONResponse:
        return JSONResponse({"id": 1})

    @app.get("/undocumented", responses={200: {"description": "ok"}})
    def undocumented() -> JSONResponse:
        return JSONResponse({}, status_code=418)

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for operation in (result.ok() for result in schema.get_all_operations()):
        with pytest.raises((Failure, FailureGroup)):
            operation.Case().call_and_validate(excluded_checks=_EXCLUDED, additional_checks=_REQUIRED)
