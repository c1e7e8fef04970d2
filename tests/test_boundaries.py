"""The boundaries of docs/architecture.md ("Components" table and "Backends own their abilities"),
checked on the source: import rules per module, no upper layer asking which blob store it holds, and
module size. Add a rule here with every new module the architecture page lists.
"""

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


def _top_level_imports(path: Path) -> set[str]:
    """Imports outside any function body: what importing the module loads."""
    tree = ast.parse(path.read_text(), str(path))
    inside = {
        id(n)
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
        for n in ast.walk(f)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in inside:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


MODULES = {_module_name(p): _imports(p) for p in sorted(SRC.rglob("*.py"))}
TOP_LEVEL = {_module_name(p): _top_level_imports(p) for p in sorted(SRC.rglob("*.py"))}

#: Imports a module may make of a forbidden one, inside a function only (so importing the module does not
#: load it): ImageStore.asgi_app()/wsgi_app() hand out the HTTP service that mounts in another app.
LAZY_DOORS = {"picstore.store": {"picstore.web.mount"}}


def _lazy_door(mod: str, imp: str) -> bool:
    return imp in LAZY_DOORS.get(mod, set()) and imp not in TOP_LEVEL[mod]


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(module_prefix: str, forbidden: list[str]) -> list[str]:
    return [
        f"{mod} imports {imp}"
        for mod, imps in MODULES.items()
        if _within(mod, module_prefix)
        for imp in imps
        if any(_within(imp, f) for f in forbidden)
        and not _within(imp, module_prefix)
        and not _lazy_door(mod, imp)
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

#: Every picstore module but ``models`` and ``errors`` (which import nothing of picstore but ``formats``).
PICSTORE_BUT_MODELS = [
    "picstore.admission",
    "picstore.blobs",
    "picstore.formats",
    "picstore.catalog",
    "picstore.cli",
    "picstore.delivery",
    "picstore.ingest",
    "picstore.ops",
    "picstore.settings",
    "picstore.store",
    "picstore.testing",
    "picstore.upload_data",
    "picstore.variants",
    "picstore.web",
    "picstore.write_target",
]

RULES = {
    "picstore.errors": ["picstore"],
    "picstore.formats": ["picstore"],
    "picstore.models": [m for m in PICSTORE_BUT_MODELS if m != "picstore.formats"] + ["picstore.keys"],
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
    "picstore.transform": PURE_FORBIDDEN,
    "picstore.transformer": ["picstore.web", "picstore.ops", "picstore.cli", "fastapi", "typer"],
    "picstore.store": ["picstore.web", "picstore.ops", "picstore.cli", "fastapi", "typer"],
    # The write rule knows blob stores and blob rows only, not what is being written.
    "picstore.writes": [
        "picstore.store",
        "picstore.transformer",
        "picstore.ingest",
        "picstore.web",
        "picstore.ops",
        "picstore.cli",
        "pyvips",
    ],
    "picstore.direct_uploads": ["picstore.web", "picstore.ops", "picstore.cli", "fastapi", "typer"],
    # Which store takes writes: the catalog's row and the blob stores, nothing that writes images.
    "picstore.write_target": [
        "picstore.store",
        "picstore.ingest",
        "picstore.web",
        "picstore.ops",
        "picstore.cli",
        "fastapi",
        "typer",
    ],
    "picstore.upload_data": PURE_FORBIDDEN,
    "picstore.ops": ["picstore.web", "picstore.cli", "fastapi", "typer"],
    "picstore.web": ["picstore.cli", "picstore.ops", "typer"],
    # Browser access and listings are orchestrators over the store, like store.py itself.
    "picstore.access": ["picstore.web", "picstore.ops", "picstore.cli", "fastapi", "typer"],
    "picstore.listings": ["picstore.web", "picstore.ops", "picstore.cli", "fastapi", "typer"],
    # The web UI reads and changes pictures only through ImageStore, Listings and Access.
    "picstore.web.ui": ["picstore.catalog", "picstore.blobs", "picstore.ingest", "sqlalchemy"],
    "picstore.testing": ["picstore.web", "picstore.ops", "picstore.cli"],
    "picstore.keys": [m for m in PICSTORE_BUT_MODELS if m != "picstore.formats"],
    # Framework glue: mounts the web app (web.mount) but never the CLI or ops; no FastAPI of its own.
    "picstore.contrib": ["picstore.cli", "picstore.ops", "fastapi", "starlette", "typer"],
}


@pytest.mark.parametrize("module_prefix", sorted(RULES))
def test_import_boundaries(module_prefix: str) -> None:
    assert _violations(module_prefix, RULES[module_prefix]) == []


#: The routers of ``picstore.web``: each depends on ``web.deps``/``web.publish``, never on a sibling.
ROUTERS = [
    "picstore.web.api",
    "picstore.web.upload_routes",
    "picstore.web.tenants",
    "picstore.web.serve",
    "picstore.web.legacy",
]


@pytest.mark.parametrize("router", ROUTERS)
def test_routers_do_not_import_each_other(router: str) -> None:
    assert router in MODULES
    assert [imp for imp in MODULES[router] if imp in ROUTERS and imp != router] == []


def test_only_deps_reads_app_state() -> None:
    readers = [
        _module_name(p)
        for p in sorted((SRC / "web").rglob("*.py"))
        if "app.state." in p.read_text() and _module_name(p) != "picstore.web.deps"
    ]
    assert readers == []


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


def test_lazy_doors_stay_lazy() -> None:
    # The store may reach the web app only from inside a method: `import picstore` must not load FastAPI.
    assert "picstore.web.mount" in MODULES["picstore.store"]
    assert not any(_within(i, "picstore.web") for i in TOP_LEVEL["picstore.store"])


def test_modules_stay_small() -> None:
    too_long = {_module_name(p): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert too_long == {}


# --- backends own their abilities (docs/architecture.md) ---------------------------------------------

#: The concrete blob stores: only ``picstore.blobs`` (its registry included) may name them.
CONCRETE_STORES = {"LocalStore", "MemoryStore", "S3Store"}
CONCRETE_STORE_MODULES = ("picstore.blobs.local", "picstore.blobs.memory", "picstore.blobs.s3")


def _concrete_store_uses(source: str, module: str) -> list[str]:
    """Every place ``source`` imports a concrete store module, checks ``isinstance`` against a concrete
    store, asks ``getattr(x, "path_for")`` or tests a URL for ``s3://``: what an ability protocol is for."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, module)):
        where = f"{module}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            names = []
        if any(n == m or n.startswith((m + ".", m + "_")) for n in names for m in CONCRETE_STORE_MODULES):
            found.append(f"{where} imports a concrete blob store module")
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("isinstance", "issubclass") and len(node.args) == 2:
            classes = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            for cls in classes:
                name = cls.id if isinstance(cls, ast.Name) else getattr(cls, "attr", "")
                if name in CONCRETE_STORES:
                    found.append(f"{where} checks isinstance against {name}")
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and len(node.args) >= 2:
            arg = node.args[1]
            if isinstance(arg, ast.Constant) and arg.value in ("path_for", "options", "root"):
                found.append(f"{where} probes a store for {arg.value!r}")
        if isinstance(func, ast.Attribute) and func.attr == "startswith":
            for arg in node.args:
                values = arg.elts if isinstance(arg, ast.Tuple) else [arg]
                if any(isinstance(v, ast.Constant) and v.value in ("s3://", "file://") for v in values):
                    found.append(f"{where} tests a URL's scheme")
    return found


def test_only_blobs_knows_the_concrete_stores() -> None:
    outside = [p for p in sorted(SRC.rglob("*.py")) if not _within(_module_name(p), "picstore.blobs")]
    assert outside, "the walk found no modules outside picstore.blobs"
    assert [use for p in outside for use in _concrete_store_uses(p.read_text(), _module_name(p))] == []


def test_the_concrete_store_check_sees_violations() -> None:
    # Guards the check above: each form it forbids, one per line, is found.
    sample = (
        "from picstore.blobs.local import LocalStore\n"
        "from picstore.blobs import s3_post\n"
        "import picstore.blobs.memory\n"
        "isinstance(x, (int, LocalStore))\n"
        "isinstance(x, picstore.blobs.s3.S3Store)\n"
        "getattr(store, 'path_for', None)\n"
        "url.startswith('s3://')\n"
        "isinstance(x, BlobStore)\n"  # a protocol: allowed
    )
    lines = sorted(int(use.split(":")[1].split()[0]) for use in _concrete_store_uses(sample, "sample"))
    assert lines == [1, 2, 3, 4, 5, 6, 7]
