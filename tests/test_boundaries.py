"""The import boundaries of DESIGN.md "Layout and boundaries", checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "picstore"


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


MODULES = {_module_name(p): _imports(p) for p in sorted(SRC.rglob("*.py"))}


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(module_prefix: str, forbidden: list[str]) -> list[str]:
    return [
        f"{mod} imports {imp}"
        for mod, imps in MODULES.items()
        if _within(mod, module_prefix)
        for imp in imps
        if any(_within(imp, f) for f in forbidden) and not _within(imp, module_prefix)
    ]


PURE_FORBIDDEN = [
    "picstore.blobs",
    "picstore.catalog",
    "picstore.store",
    "picstore.ops",
    "picstore.web",
    "picstore.cli",
    "sqlalchemy",
    "alembic",
    "obstore",
    "botocore",
    "boto3",
    "fastapi",
    "starlette",
    "httpx",
    "typer",
    "socket",
    "urllib.request",
]

RULES = {
    "picstore.errors": ["picstore"],
    "picstore.models": ["picstore"],
    "picstore.admission": ["picstore"],
    "picstore.settings": [
        "picstore.models",
        "picstore.store",
        "picstore.blobs",
        "picstore.catalog",
        "picstore.ingest",
        "picstore.variants",
        "picstore.web",
        "picstore.ops",
        "picstore.cli",
    ],
    "picstore.ingest": PURE_FORBIDDEN,
    "picstore.variants": [*PURE_FORBIDDEN, "picstore.ingest"],
    "picstore.blobs": [
        "pyvips",
        "PIL",
        "sqlalchemy",
        "alembic",
        "picstore.catalog",
        "picstore.ingest",
        "picstore.variants",
        "picstore.store",
        "picstore.web",
        "picstore.ops",
        "picstore.cli",
        "fastapi",
        "typer",
    ],
    "picstore.catalog": [
        "pyvips",
        "PIL",
        "picstore.blobs",
        "picstore.ingest",
        "picstore.variants",
        "picstore.store",
        "picstore.web",
        "picstore.ops",
        "picstore.cli",
        "obstore",
        "botocore",
        "fastapi",
        "typer",
    ],
    "picstore.delivery": [
        "pyvips",
        "picstore.store",
        "picstore.web",
        "picstore.ops",
        "picstore.cli",
        "fastapi",
        "typer",
    ],
    "picstore.store": ["picstore.web", "picstore.ops", "picstore.cli", "fastapi", "typer"],
    "picstore.ops": ["picstore.web", "picstore.cli", "fastapi", "typer"],
    "picstore.web": ["picstore.cli", "picstore.ops", "typer"],
    # Browser access and listings are orchestrators over the store, like store.py itself.
    "picstore.access": ["picstore.web", "picstore.ops", "picstore.cli", "fastapi", "typer"],
    "picstore.listings": ["picstore.web", "picstore.ops", "picstore.cli", "fastapi", "typer"],
    # The web UI reads and changes pictures only through ImageStore, Listings and Access.
    "picstore.web.ui": ["picstore.catalog", "picstore.blobs", "picstore.ingest", "sqlalchemy"],
    "picstore.testing": ["picstore.web", "picstore.ops", "picstore.cli"],
}


@pytest.mark.parametrize("module_prefix", sorted(RULES))
def test_import_boundaries(module_prefix: str) -> None:
    assert _violations(module_prefix, RULES[module_prefix]) == []


def test_only_web_imports_fastapi_and_only_cli_imports_typer() -> None:
    for mod, imps in MODULES.items():
        if any(_within(i, lib) for i in imps for lib in ("fastapi", "starlette", "uvicorn")):
            assert _within(mod, "picstore.web"), f"{mod} imports a web framework"
        if any(_within(i, "typer") for i in imps):
            assert _within(mod, "picstore.cli"), f"{mod} imports typer"


def test_rules_see_the_modules() -> None:
    # Guards the test itself: if the walk found nothing, every rule above would pass vacuously.
    assert {"picstore.store", "picstore.errors", "picstore.cli", "picstore.catalog.repository"} <= set(
        MODULES
    )
    assert "picstore.errors" in MODULES["picstore.store"]


def test_modules_stay_small() -> None:
    too_long = {_module_name(p): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert too_long == {}
