"""The signing samples in docs/transforms.md (Python, JavaScript, shell) make the URL picstore accepts.

Each sample is taken from the document as written and run (Node and the shell with openssl and basenc,
which Debian ships), so a sample that drifts from ``picstore.delivery.signing`` fails here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from picstore.delivery.signing import Signer

DOC = Path(__file__).resolve().parents[1] / "docs" / "transforms.md"
KEY = "docs-sample-key-" + "k" * 24
ID = "img_4Fq9TzS2"
#: A spec with the characters a URL can carry: digits, ``=``, ``,``, ``:`` and ``.``.
SPEC = "w=1200,h=630,fit=cover,g=fp:50:30,f=jpeg,q=80,dpr=1.5"


def _sample(language: str, marker: str) -> str:
    """The document's ``language`` block that contains ``marker``."""
    blocks = re.findall(r"```(\w+)\n(.*?)```", DOC.read_text(), flags=re.S)
    found = [code for lang, code in blocks if lang == language and marker in code]
    assert len(found) == 1, f"docs/transforms.md: expected one {language} block with {marker!r}"
    return found[0]


def _expected() -> str:
    return Signer([KEY]).path(SPEC, ID)


def test_the_python_sample_signs_like_picstore() -> None:
    scope: dict[str, object] = {}
    exec(_sample("python", "def transform_path"), scope)
    assert scope["transform_path"](KEY, SPEC, ID) == _expected()  # type: ignore[operator]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node (Debian: nodejs)")
def test_the_javascript_sample_signs_like_picstore() -> None:
    script = (
        _sample("js", "transformPath")
        + f"\nprocess.stdout.write(transformPath({KEY!r}, {SPEC!r}, {ID!r}));\n"
    )
    out = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout == _expected()


@pytest.mark.skipif(
    shutil.which("openssl") is None or shutil.which("basenc") is None, reason="needs openssl and basenc"
)
def test_the_shell_sample_signs_like_picstore() -> None:
    env = {**os.environ, "KEY": KEY, "SPEC": SPEC, "ID": ID}
    out = subprocess.run(
        ["sh", "-c", _sample("sh", "openssl")],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=30,
    )
    assert out.stdout.strip() == _expected()
