"""``picstore sign``: signed transform URLs from the command line (docs/transforms.md)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated

import typer

from picstore.cli.app import JsonOpt, app, fail, print_json, settings
from picstore.delivery.signing import Signer
from picstore.errors import InvalidTransform, PicstoreError
from picstore.transform.spec import parse_transform


@app.command()
def sign(
    image_id: Annotated[str, typer.Argument(help="The image's id.")],
    spec: Annotated[
        str,
        typer.Argument(
            help="A canonical transform spec (e.g. 'w=640', 'w=200,h=200,fit=cover,g=smart,f=webp') or the "
            "name of a configured transform preset."
        ),
    ],
    expires_in: Annotated[
        int | None,
        typer.Option("--expires-in", min=1, help="Make the URL stop working after this many seconds."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the signed /t/ URL that renders SPEC of an image (with the first PICSTORE_TRANSFORM_KEYS key).

    A spec that is not spelled canonically is refused with the canonical spelling, since the server
    answers 403 to any other.
    """
    try:
        config = settings()
        signer = Signer(config.transform_keys)
        if "=" not in spec and spec in config.transform_presets:
            spec = config.transform_presets[spec]
        elif "=" not in spec:
            raise InvalidTransform(
                f"{spec!r} is neither a transform spec nor a configured preset "
                f"(presets: {', '.join(sorted(config.transform_presets)) or 'none'})"
            )
        checked = parse_transform(spec)
        if expires_in is not None:
            checked = replace(checked, expires=int(time.time()) + expires_in)
        path = signer.path(checked.canonical, image_id)
    except PicstoreError as exc:
        fail(exc, as_json)
    url = config.base_url + path
    if as_json:
        print_json({"url": url, "path": path, "spec": checked.canonical, "image_id": image_id})
    else:
        print(url)
