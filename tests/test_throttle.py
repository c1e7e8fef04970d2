"""web/throttle.py: failed authentication is limited per client address, requests per key; both 429
problem+json with ``Retry-After`` and a stable code. The buckets on a clock the test moves; the routes
through the app, with limits small enough to reach."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from picstore.errors import ConfigError
from picstore.settings import load_settings
from picstore.web.app import create_app
from picstore.web.throttle import Buckets, Throttle, ThrottleGate
from tests.http_support import ADMIN_KEY, Api, make_image_store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_gives_its_capacity_then_one_token_per_refill_interval() -> None:
    clock = Clock()
    buckets = Buckets(3, 0.5, clock=clock)  # 3 at once, then one every 2 s
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.wait("a") == pytest.approx(2.0)
    assert buckets.take("a") == pytest.approx(2.0)  # refused, and nothing taken
    assert buckets.take("b") == 0.0  # another name has its own bucket
    clock.now += 1.999
    assert buckets.take("a") > 0
    clock.now += 0.001
    assert buckets.wait("a") == 0.0 and buckets.take("a") == 0.0
    assert buckets.take("a") == pytest.approx(2.0)
    clock.now += 3600  # refills to its capacity, not beyond
    assert [buckets.take("a") for _ in range(4)][-2:] == [0.0, pytest.approx(2.0)]


def test_a_partly_refilled_bucket_waits_only_for_the_rest_of_a_token() -> None:
    clock = Clock()
    buckets = Buckets(1, 0.5, clock=clock)  # one token every 2 s
    assert buckets.take("a") == 0.0
    clock.now += 1.5  # three quarters of a token back
    assert buckets.wait("a") == pytest.approx(0.5) and buckets.take("a") == pytest.approx(0.5)


def test_buckets_forget_the_least_recently_seen_beyond_their_bound() -> None:
    buckets = Buckets(1, 0.001, max_tracked=2, clock=Clock())
    for name in ("a", "b", "c"):
        assert buckets.take(name) == 0.0
    assert buckets.take("c") > 0 and buckets.take("b") > 0
    assert buckets.take("a") == 0.0  # forgotten: a full bucket again


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = {
        "auth_failure_limit": 3,
        "auth_failure_window": 3600,
        "key_rate_limit": 0.001,
        "key_rate_burst": 5,
        "refusal_hold": 0,  # held refusals have their own test below
    }
    with make_image_store(tmp_path, **settings) as store:
        keys = {slug: store.create_tenant(slug)[1] for slug in ("acme", "globex")}
        app = create_app(store)
        with TestClient(app) as client:
            yield Api(client=client, store=store, app=app, keys=keys)


def _throttled(response: object, code: str) -> None:
    assert response.status_code == 429, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    assert response.json()["code"] == code  # type: ignore[attr-defined]
    assert int(response.headers["retry-after"]) >= 1  # type: ignore[attr-defined]


def test_failed_keys_from_one_address_are_throttled_even_a_right_one_after(api: Api) -> None:
    wrong = {"Authorization": "Bearer psk_" + "x" * 43}
    for _ in range(3):
        assert api.client.get("/v1/images", headers=wrong).status_code == 401
    refused = api.client.get("/v1/images", headers=wrong)
    _throttled(refused, "too_many_auth_failures")
    # 3 failures an hour: the next is allowed in 1,200 s, and both the header and the text say so.
    assert refused.headers["retry-after"] == "1200"
    assert refused.json()["detail"] == "too many failed authentications from testclient; retry in 1200 s"
    # A right key from the same address is refused too: the answer must not tell guesses apart.
    _throttled(api.client.get("/v1/images", headers=api.auth("acme")), "too_many_auth_failures")
    with TestClient(api.app, client=("192.0.2.7", 4000)) as elsewhere:
        assert elsewhere.get("/v1/images", headers=api.auth("acme")).status_code == 200


def test_requests_without_a_key_are_not_failures(api: Api) -> None:
    for _ in range(5):
        assert api.client.get("/v1/images").status_code == 401
    assert api.client.get("/v1/images", headers=api.auth("acme")).status_code == 200


def test_wrong_admin_keys_and_upload_tokens_count_as_failures(api: Api) -> None:
    assert api.client.get("/v1/tenants", headers={"Authorization": "Bearer " + "a" * 40}).status_code == 401
    token = {"Authorization": "Bearer psu_" + "x" * 43}
    assert (
        api.client.post(
            "/v1/uploads", json={"content_type": "image/jpeg", "bytes": 9}, headers=token
        ).status_code
        == 401
    )
    assert api.client.get("/v1/tenants", headers={"Authorization": "Bearer " + "b" * 40}).status_code == 401
    _throttled(
        api.client.get("/v1/tenants", headers={"Authorization": f"Bearer {ADMIN_KEY}"}),
        "too_many_auth_failures",
    )


def test_failed_sign_ins_count_and_the_page_says_when_to_retry(api: Api) -> None:
    page = api.client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)[1]  # type: ignore[index]
    for _ in range(3):
        assert api.client.post("/login", data={"csrf": csrf, "api_key": "psk_wrong"}).status_code == 401
    refused = api.client.post("/login", data={"csrf": csrf, "api_key": api.keys["acme"]})
    assert refused.status_code == 429 and "picstore_session" not in refused.headers.get("set-cookie", "")
    assert int(refused.headers["retry-after"]) >= 1
    _throttled(api.client.get("/v1/images", headers=api.auth("acme")), "too_many_auth_failures")


def test_one_key_is_rate_limited_and_the_others_are_not(api: Api) -> None:
    for _ in range(5):
        assert api.client.get("/v1/images", headers=api.auth("acme")).status_code == 200
    refused = api.client.get("/v1/images", headers=api.auth("acme"))
    _throttled(refused, "rate_limited")
    # 0.001 requests a second: the next token in 1,000 s.
    assert refused.headers["retry-after"] == "1000"
    assert refused.json()["detail"] == "this key sent more than 0.001 requests a second; retry in 1000 s"
    assert api.client.get("/v1/images", headers=api.auth("globex")).status_code == 200


def test_the_defaults_and_their_ranges() -> None:
    settings = load_settings(storage="memory://", database="sqlite://")
    assert (settings.auth_failure_limit, settings.auth_failure_window) == (30, 60.0)
    assert (settings.key_rate_limit, settings.key_rate_burst) == (100.0, 200)
    assert (settings.refusal_hold, settings.max_connections, settings.request_slots) == (1.0, 1000, 1)
    throttle = Throttle.from_settings(settings)
    assert (throttle.hold, throttle.max_held) == (1.0, 500)
    odd = load_settings(storage="memory://", database="sqlite://", max_connections=1001, refusal_hold=0.25)
    assert (Throttle.from_settings(odd).hold, Throttle.from_settings(odd).max_held) == (0.25, 500)
    # Built by hand, a throttle holds nothing.
    assert (Throttle(None, None).hold, Throttle(None, None).max_held) == (0.0, 0)
    off = load_settings(storage="memory://", database="sqlite://", auth_failure_limit=0, key_rate_limit=0)
    assert (off.auth_failure_limit, off.key_rate_limit) == (0, 0)
    for bad in (
        {"auth_failure_limit": -1},
        {"auth_failure_window": 0},
        {"key_rate_limit": -1},
        {"key_rate_burst": 0},
        {"refusal_hold": -0.1},
        {"refusal_hold": 31},
        {"request_slots": 0},
    ):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            load_settings(storage="memory://", database="sqlite://", **bad)


def test_limits_off_throttle_nothing(tmp_path: Path) -> None:
    with (
        make_image_store(tmp_path, auth_failure_limit=0, key_rate_limit=0) as store,
        TestClient(create_app(store)) as client,
    ):
        key = store.create_tenant("acme")[1]
        for _ in range(50):
            assert client.get("/v1/images", headers={"Authorization": "Bearer psk_wrong"}).status_code == 401
        for _ in range(250):
            assert client.get("/v1/images", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_every_route_that_may_answer_401_documents_429(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    operations = [(p, m, op["responses"]) for p, ops in paths.items() for m, op in ops.items()]
    assert any("401" in responses for _, _, responses in operations)
    assert [(p, m) for p, m, responses in operations if ("401" in responses) != ("429" in responses)] == []


def test_a_throttled_key_is_refused_before_routing(api: Api) -> None:
    for _ in range(5):
        assert api.client.get("/v1/images", headers=api.auth("acme")).status_code == 200
    # Refused before the router looks: not even the 404 of a path that does not exist.
    _throttled(api.client.get("/no/such/path", headers=api.auth("acme")), "rate_limited")
    assert api.client.get("/no/such/path").status_code == 404


def _refusals(hold: float, max_held: int, count: int) -> list[tuple[float, int, dict[str, str]]]:
    """``count`` requests of a key with no tokens left, sent at once through a ThrottleGate: for each,
    (seconds until its answer started, status, headers). The app behind the gate must never be reached."""

    async def unreachable(scope: object, receive: object, send: object) -> None:
        raise AssertionError("a refused request reached the app")

    gate = ThrottleGate(unreachable, Throttle(None, Buckets(1, 0.001), hold=hold, max_held=max_held))
    gate.throttle.admit("127.0.0.1", "psk_flood")  # the only token

    async def one() -> tuple[float, int, dict[str, str]]:
        started = time.monotonic()
        sent: list[dict[str, object]] = []

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "path": "/v1/images",
            "client": ("127.0.0.1", 1),
            "method": "GET",
            "headers": [(b"authorization", b"Bearer psk_flood")],
        }
        await gate(scope, receive, send)  # type: ignore[arg-type]
        start, body = sent[0], json.loads(sent[1]["body"])  # type: ignore[arg-type]
        assert body["instance"] == "/v1/images" and body["code"] == "rate_limited"
        headers = {bytes(k).decode(): bytes(v).decode() for k, v in start["headers"]}  # type: ignore[attr-defined]
        return time.monotonic() - started, int(start["status"]), headers  # type: ignore[call-overload]

    async def all_at_once() -> list[tuple[float, int, dict[str, str]]]:
        return await asyncio.gather(*(one() for _ in range(count)))

    answers = asyncio.run(all_at_once())
    assert gate.held == 0  # every hold ended
    return answers


def test_refusals_are_held_then_sent_and_beyond_the_cap_close_their_connection() -> None:
    answers = sorted(_refusals(hold=0.3, max_held=2, count=3), key=lambda a: a[0])
    assert [status for _, status, _ in answers] == [429, 429, 429]
    quick, *held = answers
    # The third refusal found two held already: sent at once, and its connection closed.
    assert quick[0] < 0.3 and quick[2].get("connection") == "close"
    for seconds, _, headers in held:
        assert seconds >= 0.3 and "connection" not in headers
        # The next token comes ~1,000 s after the first request; the 0.3 s held count towards it.
        assert headers["retry-after"] == "1000"


def test_without_a_hold_refusals_are_sent_at_once_on_an_open_connection() -> None:
    answers = _refusals(hold=0, max_held=0, count=3)
    assert [(status, "connection" in headers) for _, status, headers in answers] == [(429, False)] * 3
    assert max(seconds for seconds, _, _ in answers) < 0.3


def _gate_sees(headers: list[tuple[bytes, bytes]], client: tuple[str, int] | None = ("127.0.0.1", 1)) -> int:
    """Status of a request with ``headers`` through a gate whose every bucket (per key, per address) holds
    one token and has just spent it on the same credential and address: 429 if the gate throttled it,
    200 if it let it through to the app."""
    failures, requests = Buckets(1, 0.001), Buckets(1, 0.001)
    gate = ThrottleGate(_ok_app, Throttle(failures, requests))
    for name, value in headers:
        if name == b"authorization":
            credential = value.decode("latin-1").partition(" ")[2].strip()
            requests.take(hashlib.sha256(credential.encode()).hexdigest()[:32])
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope: dict[str, object] = {"type": "http", "path": "/v1/images", "method": "GET", "headers": headers}
    if client is not None:
        scope["client"] = client
    asyncio.run(gate(scope, None, send))  # type: ignore[arg-type]
    return int(sent[0]["status"])  # type: ignore[call-overload]


async def _ok_app(scope: object, receive: object, send: object) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]


@pytest.mark.parametrize(
    ("value", "status"),
    [
        (b"Bearer k", 429),  # one character is a credential
        (b"Bearer a b", 429),  # the scheme ends at the first space
        (b"bearer " + b"k" * 256, 429),  # the scheme in any case; 256 characters is a credential
        (b"Bearer " + b"k" * 257, 200),  # longer is not one (and not worth a bucket)
        (b"Bearer ", 200),  # nothing to count
        (b"Basic k", 200),  # not a key
    ],
)
def test_which_authorization_headers_count_against_a_key(value: bytes, status: int) -> None:
    assert _gate_sees([(b"authorization", value)]) == status


def test_a_request_without_a_client_address_is_counted_as_unknown() -> None:
    throttle = Throttle(Buckets(1, 0.001), None)
    throttle.failed("unknown")
    gate = ThrottleGate(_ok_app, throttle)
    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "path": "/", "method": "GET", "headers": [(b"authorization", b"Bearer k")]}
    asyncio.run(gate(scope, None, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 429
    assert _gate_sees([(b"authorization", b"Bearer k")], client=None) == 429
    # A scope with no headers at all carries no credential: straight to the app.
    sent.clear()
    asyncio.run(gate({"type": "http", "path": "/", "method": "GET"}, None, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 200
