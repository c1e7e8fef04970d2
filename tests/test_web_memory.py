"""The serving process caps glibc's malloc arenas, unless the operator set MALLOC_ARENA_MAX."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt arenas are glibc's")
def test_capped_on_glibc_unless_the_environment_says_otherwise() -> None:
    code = "from picstore.web.memory import cap_malloc_arenas; print(cap_malloc_arenas())"
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert plain.stdout.strip() == "True"
    import os

    env = {**os.environ, "MALLOC_ARENA_MAX": "4"}
    told = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert told.stdout.strip() == "False"
