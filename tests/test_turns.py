"""web/turns.py: at most ``slots`` gated requests run; a freed slot goes to the waiting key with the fewest
running; bodies (uploads) and keyless requests are not gated; a turn ends when the response starts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from picstore.web.app import create_app
from picstore.web.turns import TurnGate, Turns
from tests.http_support import make_image_store


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


async def _receive() -> dict[str, object]:
    return {"type": "http.request", "body": b""}


async def _ignore(message: object) -> None:
    return None


def test_a_lone_key_gets_every_slot_and_no_more() -> None:
    async def body() -> None:
        turns = Turns(3)
        for _ in range(3):
            await turns.take("a")  # no waiting: slots are free
        assert turns.running == {"a": 3}
        fourth = asyncio.create_task(turns.take("a"))
        await _settle()
        assert not fourth.done() and turns.waiting() == 1
        turns.give_back("a")
        await _settle()
        assert fourth.done() and turns.running == {"a": 3} and turns.waiting() == 0

    _run(body)


def test_a_freed_slot_goes_to_the_key_with_the_fewest_running() -> None:
    async def body() -> None:
        turns = Turns(2)
        await turns.take("flood")
        await turns.take("flood")
        order: list[str] = []

        async def wait(key: str) -> None:
            await turns.take(key)
            order.append(key)

        # The flood queued first, three times; the calm key after it.
        tasks = [asyncio.create_task(wait("flood")) for _ in range(3)]
        await _settle()
        tasks.append(asyncio.create_task(wait("calm")))
        await _settle()
        assert order == [] and turns.waiting() == 4
        turns.give_back("flood")  # flood runs 1, calm 0: calm goes first
        await _settle()
        assert order == ["calm"] and turns.running == {"flood": 1, "calm": 1}
        turns.give_back("calm")  # only the flood waits: it gets the slot
        turns.give_back("flood")
        await _settle()
        assert order == ["calm", "flood", "flood"] and turns.running == {"flood": 2}
        turns.give_back("flood")
        turns.give_back("flood")
        await asyncio.gather(*tasks)
        assert order == ["calm", "flood", "flood", "flood"] and turns.running == {"flood": 1}

    _run(body)


def test_keys_with_as_many_running_take_turns_in_arrival_order() -> None:
    async def body() -> None:
        turns = Turns(1)
        await turns.take("x")
        order: list[str] = []

        async def wait(key: str) -> None:
            await turns.take(key)
            order.append(key)
            turns.give_back(key)

        tasks = []
        for key in ["a", "a", "b", "b", "c"]:
            tasks.append(asyncio.create_task(wait(key)))
            await _settle()
        turns.give_back("x")
        await asyncio.gather(*tasks)
        # Round robin between keys that run nothing, each key's own requests in order.
        assert order == ["a", "b", "c", "a", "b"]

    _run(body)


def test_a_waiter_that_leaves_gives_its_place_up() -> None:
    async def body() -> None:
        turns = Turns(1)
        await turns.take("a")
        gone = asyncio.create_task(turns.take("b"))
        stays = asyncio.create_task(turns.take("c"))
        await _settle()
        gone.cancel()
        await _settle()
        assert turns.waiting() == 1
        turns.give_back("a")
        await _settle()
        assert stays.done() and turns.running == {"c": 1}

    _run(body)


def test_a_slot_handed_to_a_waiter_that_just_left_is_passed_on() -> None:
    async def body() -> None:
        turns = Turns(1)
        await turns.take("a")
        leaving = asyncio.create_task(turns.take("b"))
        next_one = asyncio.create_task(turns.take("c"))
        await _settle()
        turns.give_back("a")  # hands the slot to b's future ...
        leaving.cancel()  # ... whose task is cancelled before it runs again
        await _settle()
        assert leaving.cancelled() and next_one.done() and turns.running == {"c": 1}

    _run(body)


def test_a_waiter_cancelled_just_before_its_turn_is_skipped() -> None:
    async def body() -> None:
        turns = Turns(1)
        await turns.take("a")
        leaving = asyncio.create_task(turns.take("b"))
        next_one = asyncio.create_task(turns.take("c"))
        await _settle()
        leaving.cancel()  # b's turn is cancelled at once, before its task runs again ...
        turns.give_back("a")  # ... so the slot goes past it, to c
        await _settle()
        assert leaving.cancelled() and next_one.done() and turns.running == {"c": 1}
        assert turns.waiting() == 0

    _run(body)


def test_every_turn_is_given_back_exactly_once() -> None:
    async def body() -> None:
        turns = Turns(1)
        entered: list[str] = []
        go = asyncio.Event()

        async def app(
            scope: dict[str, object],
            receive: Callable[[], Awaitable[dict[str, object]]],
            send: Callable[[dict[str, object]], Awaitable[None]],
        ) -> None:
            assert (await receive())["type"] == "http.request"  # the request's own receive
            entered.append(str(scope["path"]))
            if scope["path"] == "/slow":
                await go.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"x"})

        gate = TurnGate(app, turns)  # type: ignore[arg-type]

        def scope(path: str) -> dict[str, object]:
            return {
                "type": "http",
                "method": "GET",
                "path": path,
                "headers": [(b"authorization", b"Bearer k")],
            }

        for _ in range(3):
            await gate(scope("/quick"), _receive, _ignore)  # type: ignore[arg-type]
        slow = [asyncio.create_task(gate(scope("/slow"), _receive, _ignore)) for _ in range(2)]  # type: ignore[arg-type]
        await _settle()
        # Still exactly one slot: one slow request runs, the other waits.
        assert entered == ["/quick"] * 3 + ["/slow"] and turns.waiting() == 1
        go.set()
        await asyncio.gather(*slow)
        assert entered == ["/quick"] * 3 + ["/slow"] * 2 and turns.running == {}

    _run(body)


def test_the_gate_holds_a_turn_only_until_the_response_starts() -> None:
    async def body() -> None:
        turns = Turns(1)
        seen: list[int] = []
        release_body = asyncio.Event()

        async def app(
            scope: object, receive: object, send: Callable[[dict[str, object]], Awaitable[None]]
        ) -> None:
            seen.append(sum(turns.running.values()))
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await release_body.wait()  # a slow reader: the body goes out later
            await send({"type": "http.response.body", "body": b"x"})

        gate = TurnGate(app, turns)  # type: ignore[arg-type]

        def scope(method: str, key: bytes | None) -> dict[str, object]:
            headers = [(b"authorization", key)] if key else []
            return {"type": "http", "method": method, "path": "/v1/images", "headers": headers}

        first = asyncio.create_task(gate(scope("GET", b"Bearer k1"), _receive, _ignore))  # type: ignore[arg-type]
        await _settle()
        assert seen == [1] and turns.running == {}  # response started: the turn is back
        second = asyncio.create_task(gate(scope("DELETE", b"Bearer k2"), _receive, _ignore))  # type: ignore[arg-type]
        await _settle()
        assert seen == [1, 1]
        # Not gated: a body to wait for (uploads), no key, or no headers at all.
        headless = {"type": "http", "method": "GET", "path": "/"}
        ungated = [
            asyncio.create_task(gate(scope(method, key), _receive, _ignore))  # type: ignore[arg-type]
            for method, key in [("POST", b"Bearer k1"), ("GET", None)]
        ] + [asyncio.create_task(gate(headless, _receive, _ignore))]  # type: ignore[arg-type]
        await _settle()
        assert seen == [1, 1, 0, 0, 0]
        release_body.set()
        await asyncio.gather(first, second, *ungated)

    _run(body)


def test_a_failing_request_gives_its_turn_back() -> None:
    async def body() -> None:
        turns = Turns(1)

        async def app(scope: object, receive: object, send: object) -> None:
            raise RuntimeError("boom")

        gate = TurnGate(app, turns)  # type: ignore[arg-type]
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"authorization", b"Bearer k")]}
        with pytest.raises(RuntimeError):
            await gate(scope, None, None)  # type: ignore[arg-type]
        assert turns.running == {} and turns.waiting() == 0

    _run(body)


def test_the_app_runs_api_reads_in_turns_sized_by_the_setting(tmp_path: Path) -> None:
    with make_image_store(tmp_path, request_slots=3) as store:
        key = store.create_tenant("acme")[1]
        app = create_app(store)
        gates = []
        layer = app.build_middleware_stack()
        while layer is not None:
            if isinstance(layer, TurnGate):
                gates.append(layer)
            layer = getattr(layer, "app", None)
        assert [gate.turns.slots for gate in gates] == [3]
        with TestClient(app) as client:
            assert client.get("/v1/images", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert gates[0].turns.running == {}
