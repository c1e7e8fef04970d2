"""Catalog benchmark: deep pages, a page of URLs, delete and gc stay flat as the catalog grows.

For each database (PostgreSQL, SQLite) and each size N, synthetic images are loaded straight into
picstore's own tables by set-based SQL (one statement per table; no ingest): N images with a master and
6 variants each (7 blob rows an image, as the default settings make), N/100 tenants of which one holds
40 % of the images, and K orphan blobs. Then, through ``ImageStore``:

- the first page (100) of the big tenant, of a small tenant, and a page deep in the big tenant (90 %);
  the deep page's query alone, also with the OR-form cursor condition picstore used before (the anchor);
- ``urls()`` for a page of 100 images (and the statements it makes);
- ``delete`` of one image; ``gc`` of K orphans and of 10 K (statements and batches);
- walking every blob row in key order (``BlobRows.walk``): time, and peak Python memory over the first
  100,000 rows;
- the catalog's size per image (tables and indexes), and what 10M and 100M images would need.

Each timing is the median of several runs (psycopg prepares a statement after five executions, so the
later runs use prepared statements). The anchor of every ratio is measured in the same run: the deep page
against the first page, the big size against the small one, 10 K orphans against K.

    python benchmarks/catalog.py [--sizes 20000,200000] [--big] [--db postgresql,sqlite] [--orphans 2000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, event, or_, select, text, tuple_

from picstore import ImageStore
from picstore.catalog.cursor import encode_cursor
from picstore.catalog.tables import images
from picstore.settings import load_settings

PG_ADMIN = os.environ.get("PICSTORE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
VARIANTS = [(n, f) for n in ("thumb", "card", "large") for f in ("jpeg", "webp")]
PAGE = 100
RUNS = 15
WALK_TRACED = 100_000


# --- loading -------------------------------------------------------------------------------------------


def _series(dialect: str, n: int) -> str:
    """A row source of integers 0..n-1 named ``i``."""
    if dialect == "postgresql":
        return f"(SELECT generate_series(0, {n - 1}) AS i) AS s"
    recursive = f"WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < {n - 1})"
    return f"({recursive} SELECT i FROM r) AS s"


def _hash(dialect: str, expr: str) -> str:
    """A 64-hex-digit digest of an integer expression (stands in for a SHA-256 of the bytes)."""
    if dialect == "postgresql":
        return f"encode(sha256(({expr})::text::bytea), 'hex')"
    return f"printf('%016x%016x%016x%016x', {expr}, ({expr}) * 7919, ({expr}) * 104729, ({expr}) * 1299709)"


def load(engine: Engine, store_url: str, n: int, orphans: int) -> dict[str, Any]:
    """Fill the catalog with ``n`` synthetic images and ``orphans`` orphan blobs; returns the ids used."""
    d = engine.dialect.name
    tenants = max(10, n // 100)
    h = _hash(d, "i")
    # Image i belongs to the big tenant 0 when i % 10 < 4 (40 %), else to one of the others in turn.
    tenant = f"CASE WHEN i % 10 < 4 THEN 't0' ELSE 't' || (1 + i % {tenants - 1}) END"
    cat = "||"
    master = f"'img/' {cat} substr(h, 1, 2) {cat} '/' {cat} substr(h, 3, 2) {cat} '/' {cat} h {cat} '.jpg'"
    vals = ", ".join(f"({k}, '{name}', '{fmt}')" for k, (name, fmt) in enumerate(VARIANTS))
    with engine.begin() as conn:
        # Loading is faster with the secondary indexes built once at the end, and (PostgreSQL) without
        # the per-row foreign key triggers: the rows are consistent by construction.
        rebuild = _drop_secondary_indexes(conn)
        if d == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(
            text(
                f"INSERT INTO tenants (id, slug, name, api_key_hash, created_us) "
                f"SELECT 't' {cat} i, 'tenant-' {cat} i, 'Tenant ' {cat} i, {_hash(d, 'i + 1000000000')}, 0 "
                f"FROM {_series(d, tenants)}"
            )
        )
        conn.execute(text(f"CREATE TEMP TABLE seq AS SELECT i, {h} AS h FROM {_series(d, n)}"))
        conn.execute(
            text(
                "INSERT INTO blobs (key, store, size, sha256, content_type, created_us) "
                f"SELECT {master}, :store, 250000, h, 'image/jpeg', 1700000000000000 + i * 1000 FROM seq"
            ),
            {"store": store_url},
        )
        conn.execute(
            text(
                "INSERT INTO images (id, tenant_id, blob_key, format, width, height, frames, bytes, sha256, "
                "filename, created_us) "
                f"SELECT 'im' {cat} substr(h, 1, 20), {tenant}, {master}, 'jpeg', 1600, 1067, 1, 250000, h, "
                f"'photo-' {cat} i {cat} '.jpg', 1700000000000000 + i * 1000 FROM seq"
            )
        )
        conn.execute(text("CREATE TEMP TABLE kinds (k INTEGER, name TEXT, format TEXT)"))
        conn.execute(text(f"INSERT INTO kinds VALUES {vals}"))
        vkey = f"'var/' {cat} h {cat} '/' {cat} substr({_hash(d, 'i * 8 + k')}, 1, 16) {cat} '.' {cat} format"
        conn.execute(
            text(
                "INSERT INTO blobs (key, store, size, sha256, content_type, created_us) "
                f"SELECT {vkey}, :store, 30000, {_hash(d, 'i * 8 + k')}, 'image/' {cat} format, "
                "1700000000000000 + i * 1000 FROM seq CROSS JOIN kinds"
            ),
            {"store": store_url},
        )
        conn.execute(
            text(
                "INSERT INTO variants (image_id, name, format, blob_key, width, height, bytes, sha256) "
                f"SELECT 'im' {cat} substr(h, 1, 20), name, format, {vkey}, 640, 427, 30000, "
                f"{_hash(d, 'i * 8 + k')} FROM seq CROSS JOIN kinds"
            )
        )
        conn.execute(text("DROP TABLE seq"))
        conn.execute(text("DROP TABLE kinds"))
        add_orphans(conn, store_url, orphans, start=0)
        for ddl in rebuild:
            conn.execute(text(ddl))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if d == "postgresql" else "ANALYZE"))
    return {"tenants": tenants}


def _drop_secondary_indexes(conn: Any) -> list[str]:
    """Drop the indexes that are not constraints of the loaded tables; returns the DDL that rebuilds them."""
    tables = "('blobs', 'images', 'variants')"
    if conn.dialect.name == "postgresql":
        found = conn.execute(
            text(
                f"SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN {tables} "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )
        ).all()
    else:
        found = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master "
                f"WHERE type = 'index' AND tbl_name IN {tables} AND sql IS NOT NULL"
            )
        ).all()
    for name, _ddl in found:
        conn.execute(text(f'DROP INDEX "{name}"'))
    return [ddl for _name, ddl in found]


def add_orphans(conn: Any, store_url: str, count: int, start: int) -> None:
    """``count`` orphan blob rows (no bytes; removing missing bytes is a no-op), orphaned long ago."""
    if count == 0:
        return
    d = conn.dialect.name
    conn.execute(
        text(
            "INSERT INTO blobs (key, store, size, sha256, content_type, created_us, orphaned_us) "
            f"SELECT 'img/orphan/' || (i + {start}), :store, 1000, {_hash(d, 'i')}, 'image/jpeg', 1, 1 + i "
            f"FROM {_series(d, count)}"
        ),
        {"store": store_url},
    )


# --- databases -----------------------------------------------------------------------------------------


@contextmanager
def database(kind: str, workdir: Path, label: str) -> Iterator[str]:
    """A fresh, empty catalog database URL of this kind, removed afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'{label}.db'}"
        return
    import psycopg

    name = f"picstore_bench_{os.getpid()}_{label}"
    admin = PG_ADMIN
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def footprint(engine: Engine, n: int, url: str) -> dict[str, float]:
    """Bytes per image of each table (with its indexes) and of the whole catalog."""
    out: dict[str, float] = {}
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            for table in ("tenants", "images", "variants", "blobs"):
                out[table] = conn.execute(text(f"SELECT pg_total_relation_size('{table}')")).scalar_one() / n
            for row in conn.execute(
                text("SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes")
            ):
                out[f"  {row[0]}"] = row[1] / n
            out["total"] = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one() / n
        else:
            pages = conn.execute(text("PRAGMA page_count")).scalar_one()
            size = conn.execute(text("PRAGMA page_size")).scalar_one()
            out["total"] = pages * size / n
    return out


# --- measuring -----------------------------------------------------------------------------------------


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    fn()  # warm: caches, and the statement cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


@contextmanager
def counting(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def deep_page_sql(engine: Engine, created_us: int, image_id: str) -> dict[str, float]:
    """The deep page's query alone, with the row-value cursor picstore uses and with the OR form it
    replaced (the anchor: what listing cost before)."""

    def listing(condition: ColumnElement[bool]) -> Select[Any]:
        return (
            select(images)
            .where(images.c.tenant_id == "t0", condition)
            .order_by(images.c.created_us.desc(), images.c.id.desc())
            .limit(PAGE)
        )

    row_value = listing(tuple_(images.c.created_us, images.c.id) < tuple_(created_us, image_id))
    or_form = listing(
        or_(images.c.created_us < created_us, and_(images.c.created_us == created_us, images.c.id < image_id))
    )
    with engine.connect() as conn:
        return {
            "deep_sql_row_value_ms": median_ms(lambda: conn.execute(row_value).all()),
            "deep_sql_or_form_ms": median_ms(lambda: conn.execute(or_form).all()),
        }


def measure(kind: str, n: int, orphans: int, workdir: Path, walk: bool) -> dict[str, float]:
    with database(kind, workdir, f"{kind}_{n}") as url:
        store = ImageStore(storage="memory://bench", database=url, settings=load_settings())
        try:
            started = time.perf_counter()
            info = load(store.engine, store.blobs.url, n, orphans)
            r: dict[str, float] = {"load_s": time.perf_counter() - started}
            big = store.tenant("tenant-0")
            small = store.tenant(f"tenant-{info['tenants'] - 1}")
            with store.engine.connect() as conn:
                deep = conn.execute(
                    text(
                        "SELECT created_us, id FROM images WHERE tenant_id = 't0' "
                        "ORDER BY created_us DESC, id DESC LIMIT 1 OFFSET :depth"
                    ),
                    {"depth": int(n * 0.4 * 0.9)},
                ).one()
            cursor = encode_cursor(deep.created_us, deep.id)
            r["first_page_ms"] = median_ms(lambda: store.list(big, PAGE))
            r["small_first_page_ms"] = median_ms(lambda: store.list(small, PAGE))
            r["deep_page_ms"] = median_ms(lambda: store.list(big, PAGE, cursor))
            r.update(deep_page_sql(store.engine, deep.created_us, deep.id))
            page = store.list(big, PAGE).items
            r["urls_ms"] = median_ms(lambda: store.urls(page))
            with counting(store.engine) as seen:
                store.urls(page)
            r["urls_statements"] = len(seen)
            victims = iter(store.list(big, PAGE, cursor).items)
            r["delete_ms"] = median_ms(lambda: store.delete(next(victims).id))
            store.gc(grace_seconds=0)  # the deleted images' blobs, so that gc below takes only K orphans
            for label, count in (("gc_k", orphans), ("gc_10k", orphans * 10)):
                with store.engine.begin() as conn:
                    conn.execute(text("DELETE FROM blobs WHERE key LIKE 'img/orphan/%'"))
                    add_orphans(conn, store.blobs.url, count, start=0)
                with counting(store.engine) as seen:
                    started = time.perf_counter()
                    removed = store.gc(grace_seconds=0)
                    r[f"{label}_s"] = time.perf_counter() - started
                r[f"{label}_removed"] = len(removed)
                r[f"{label}_statements"] = len(seen)
            if walk:
                started = time.perf_counter()
                r["walk_rows"] = sum(1 for _ in store.catalog.blobs.walk(page_size=1000))
                r["walk_s"] = time.perf_counter() - started
                # tracemalloc slows every allocation several times over: its pass stops at WALK_TRACED rows
                # (past many pages, which is where a walk that kept its rows would grow).
                tracemalloc.start()
                for count, _ in enumerate(store.catalog.blobs.walk(page_size=1000)):
                    if count >= WALK_TRACED:
                        break
                r["walk_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            for name, per_image in footprint(store.engine, n, url).items():
                r[f"bytes/image {name}"] = per_image
            return r
        finally:
            store.close()


def report(kind: str, sizes: list[int], results: dict[int, dict[str, float]], orphans: int) -> None:
    small, large = sizes[0], sizes[-1]
    print(
        f"\n== {kind}: {', '.join(f'{s:,}' for s in sizes)} images ({orphans:,} and {orphans * 10:,} orphans)"
    )
    keys = [k for k in results[small] if not k.startswith("bytes/image")]
    print(f"{'':28}" + "".join(f"{s:>14,}" for s in sizes))
    for key in keys + [k for k in results[large] if k.startswith("bytes/image")]:
        print(f"{key:28}" + "".join(f"{results[s].get(key, float('nan')):>14.2f}" for s in sizes))
    a, b = results[small], results[large]
    print("ratios (flat is ~1):")
    for s in sizes:
        ratio = results[s]["deep_page_ms"] / results[s]["first_page_ms"]
        print(f"  deep page / first page at {s:,}: {ratio:.2f}")
    print(f"  deep page {large:,} / {small:,}: {b['deep_page_ms'] / a['deep_page_ms']:.2f}")
    alone = b["deep_sql_row_value_ms"] / a["deep_sql_row_value_ms"]
    print(f"  deep page query alone {large:,} / {small:,}: {alone:.2f}")
    for s in sizes:
        ratio = results[s]["deep_sql_or_form_ms"] / results[s]["deep_sql_row_value_ms"]
        print(f"  deep page query, OR-form cursor (before) / row value at {s:,}: {ratio:.2f}")
    print(f"  first page {large:,} / {small:,}: {b['first_page_ms'] / a['first_page_ms']:.2f}")
    print(f"  urls(page of {PAGE}) {large:,} / {small:,}: {b['urls_ms'] / a['urls_ms']:.2f}")
    print(f"  delete {large:,} / {small:,}: {b['delete_ms'] / a['delete_ms']:.2f}")
    if "walk_peak_mb" in a:
        print(f"  walk peak memory {large:,} / {small:,}: {b['walk_peak_mb'] / a['walk_peak_mb']:.2f}")
    print("ratios (proportional to orphans is ~10):")
    for s in sizes:
        print(f"  gc 10K / gc K at {s:,}: {results[s]['gc_10k_s'] / results[s]['gc_k_s']:.2f}")
    total = b["bytes/image total"]
    print(
        f"catalog size: {total:,.0f} bytes/image -> 10M images {total * 1e7 / 2**30:,.1f} GiB, "
        f"100M images {total * 1e8 / 2**30:,.0f} GiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,200000", help="comma-separated image counts")
    parser.add_argument(
        "--big", action="store_true", help="add a 1,000,000-image run (slow: tens of minutes)"
    )
    parser.add_argument("--db", default="postgresql,sqlite", help="postgresql, sqlite or both")
    parser.add_argument("--orphans", type=int, default=2000, help="K: gc is timed for K and 10 K orphans")
    parser.add_argument("--no-walk", action="store_true", help="skip the key-ordered walk of every blob row")
    args = parser.parse_args()
    sizes = sorted({int(s) for s in args.sizes.split(",")} | ({1_000_000} if args.big else set()))
    with tempfile.TemporaryDirectory(prefix="picstore-bench-") as tmp:
        for kind in args.db.split(","):
            results = {}
            for n in sizes:
                print(f"{kind}: {n:,} images ...", flush=True)
                results[n] = measure(kind, n, args.orphans, Path(tmp), walk=not args.no_walk)
            report(kind, sizes, results, args.orphans)


if __name__ == "__main__":
    main()
