"""The Django example's edit form in Chromium, with picstore-direct.js: the picked file goes straight to
the bucket (S3) or to picstore's own upload URL (file store), never with the form; the form posts the
upload's id, and the public page shows the picture. A refused file is reported in the form at once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.contrib.corpus_files import ACCEPTED, REFUSED, corpus_file
from tests.contrib.test_examples import django_listing
from tests.s3.conftest import RGW, bucket, rgw  # noqa: F401  (the session's S3 server and bucket fixtures)
from tests.s3.test_examples_s3 import s3_example_env


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.s3)])
def example(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """The example's URL, and the bucket's (None on the embedded default)."""
    env, bucket_url = None, None
    if request.param == "s3":
        rgw: RGW = request.getfixturevalue("rgw")
        bucket = request.getfixturevalue("bucket")
        _, env = s3_example_env(rgw, bucket)
        bucket_url = f"{rgw.endpoint}/{bucket}"
    with django_listing(tmp_path, env) as client:
        yield str(client.base_url).rstrip("/"), bucket_url


def test_the_form_uploads_straight_to_the_store(page: Any, example: tuple[str, str | None]) -> None:
    site, bucket_url = example
    posts: list[tuple[str, bytes]] = []
    page.on(
        "request", lambda r: posts.append((r.url, r.post_data_buffer or b"")) if r.method == "POST" else None
    )
    page.goto(site + "/")
    page.get_by_label("Your business").fill("Bob's Bakery")
    with page.expect_navigation():
        page.get_by_role("button", name="Create a listing").click()
    assert page.url == site + "/l/bobs-bakery/edit"
    box = page.locator("[data-picstore-direct]")
    file_input = box.locator("input[type=file]")

    file_input.set_input_files(str(corpus_file(REFUSED)))
    page.wait_for_selector("[data-picstore-direct][data-state=refused]")
    status = box.locator(".picstore-direct-status").inner_text()
    assert status.startswith("broken_data_stream.png was refused: ") and "(corrupt_image)" in status, status
    assert box.locator("input[data-picstore-upload-id]").input_value() == ""

    posts.clear()
    picture = corpus_file(ACCEPTED)
    file_input.set_input_files(str(picture))
    page.wait_for_selector("[data-picstore-direct][data-state=uploaded]")
    upload_id = box.locator("input[data-picstore-upload-id]").input_value()
    assert re.fullmatch(r"[a-z2-7]+", upload_id)
    api = f"{site}/pictures/v1/uploads"
    sent_to = bucket_url or f"{api}/{upload_id}/file"  # the presigned POST, or picstore's own route
    assert [u for u, _ in posts] == [api, sent_to, f"{api}/{upload_id}/complete"]
    assert file_input.input_value() == ""  # the form will not send the file again
    box.locator("img.picstore-thumb").evaluate("img => img.decode()")  # the cleaned picture's thumbnail

    posts.clear()
    page.get_by_label("Description").fill("the shop front")
    with page.expect_navigation():
        page.get_by_role("button", name="Upload").click()
    assert "Picture added." in page.content()
    ((form_url, form_body),) = posts
    assert form_url == page.url
    assert b'name="picture-upload"\r\n\r\n' + upload_id.encode() + b"\r\n" in form_body
    assert b'name="picture"; filename=""\r\n' in form_body  # the file input went empty: no second copy

    page.goto(site + "/l/bobs-bakery")
    img = page.locator("picture img")
    assert img.get_attribute("alt") == "the shop front"
    img.evaluate("img => img.decode()")
    assert img.evaluate("img => img.naturalWidth") > 0
    src = img.evaluate("img => img.currentSrc")
    assert src.startswith(bucket_url + "/" if bucket_url else site + "/pictures/b/"), src


def test_a_form_sent_during_the_upload_waits_for_it(page: Any, tmp_path: Path) -> None:
    with django_listing(tmp_path) as client:
        site = str(client.base_url).rstrip("/")
        forms: list[bytes] = []

        def sent(request: Any) -> None:
            if request.method == "POST" and request.url.endswith("/edit"):
                forms.append(request.post_data_buffer or b"")

        page.on("request", sent)
        page.goto(site + "/")
        page.get_by_label("Your business").fill("Bob's Bakery")
        with page.expect_navigation():
            page.get_by_role("button", name="Create a listing").click()
        forms.clear()
        page.locator("[data-picstore-direct] input[type=file]").set_input_files(str(corpus_file(ACCEPTED)))
        with page.expect_navigation():
            page.get_by_role("button", name="Upload").click()  # at once: the upload is still running
        assert "Picture added." in page.content()
        (body,) = forms  # held back until the upload finished, then sent once, with its id
        assert re.search(rb'name="picture-upload"\r\n\r\n[a-z2-7]+\r\n', body)
        assert b'name="picture"; filename=""\r\n' in body
