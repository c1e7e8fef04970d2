"""``picstore doctor``: the settings in effect and where each came from, where the data lives, and whether
the catalog and the blob store answer, with what to do about anything that is wrong.

Invariants: a diagnosis changes nothing. It creates no directory, database file, table or blob (a store
that does not exist is reported, not made), and never shows a secret: keys and passwords are masked.
Checks are ``ok``, ``warn`` (works, but worth knowing) or ``fail`` (picstore will not work like this).
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from picstore.errors import NotFound, PicstoreError
from picstore.settings import DEFAULT_DATA_DIR, Settings, load_settings

Status = Literal["ok", "warn", "fail"]
#: Setting names whose values are never shown.
_SECRET_WORDS = ("key", "secret", "password", "token")


@dataclass(frozen=True)
class SettingValue:
    """One setting: its effective value (masked if secret) and where it came from."""

    name: str
    env: str
    value: Any
    source: str


@dataclass(frozen=True)
class Check:
    """One thing checked: what was found and, unless ``ok``, how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str | None = None


@dataclass
class Diagnosis:
    """Everything ``picstore doctor`` reports."""

    settings: list[SettingValue] = field(default_factory=list)
    data: dict[str, str] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No check failed."""
        return all(c.status != "fail" for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "settings": [asdict(s) for s in self.settings],
            "data": self.data,
            "checks": [asdict(c) for c in self.checks],
        }


def redact_url(url: str) -> str:
    """``scheme://user:***@host/...``: a URL with any password masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _mask(name: str, value: Any) -> Any:
    if value is None or value == "":
        return value
    if any(word in name for word in _SECRET_WORDS):
        return "***"
    return redact_url(value) if isinstance(value, str) and "://" in value else value


def _sources(
    config_file: Path | None, environ: Mapping[str, str], dotenv: Path
) -> dict[str, tuple[str, str]]:
    """Setting name -> (source, detail) for every setting given somewhere, highest precedence last wins."""
    found: dict[str, tuple[str, str]] = {}
    if config_file is not None:
        with contextlib.suppress(OSError, tomllib.TOMLDecodeError):
            for key in tomllib.loads(config_file.read_text()):
                found[key.lower()] = ("config file", str(config_file))
    if dotenv.is_file():
        from dotenv import dotenv_values

        for key in dotenv_values(dotenv):
            if key.upper().startswith("PICSTORE_"):
                found[key[9:].split("__")[0].lower()] = (".env", str(dotenv))
    for key in environ:
        if key.upper().startswith("PICSTORE_") and key.upper() != "PICSTORE_CONFIG":
            found[key[9:].split("__")[0].lower()] = ("environment", key)
    return found


def effective_settings(
    settings: Settings, config_file: Path | None, environ: Mapping[str, str] | None = None
) -> list[SettingValue]:
    """Every setting, its value (secrets masked) and its source: environment, .env, config file, default."""
    given = _sources(config_file, os.environ if environ is None else environ, Path(".env").resolve())
    rows = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        source, where = given.get(name, ("default", ""))
        label = f"{source} ({where})" if where else source
        if name == "storage" and not value:
            value, label = settings.storage_url, f"default (./{DEFAULT_DATA_DIR} under {Path.cwd()})"
        elif name == "database" and not value:
            value, label = settings.database_url, f"default (./{DEFAULT_DATA_DIR} under {Path.cwd()})"
        elif name == "public_url" and not value:
            value, label = settings.base_url, "default (http://{host}:{port})"
        shown = list(value) if isinstance(value, tuple) else value
        rows.append(SettingValue(name, f"PICSTORE_{name.upper()}", _mask(name, shown), label))
    return rows


def _file_root(url: str) -> Path:
    parts = urlsplit(url)
    path = unquote(parts.path)
    return Path(parts.netloc + path).resolve() if parts.netloc in (".", "..") else Path(path)


_NO_STORE_FIX = (
    "run picstore from the directory that holds picstore-data, or set PICSTORE_STORAGE and "
    "PICSTORE_DATABASE (or --config) to where your store is; `picstore serve` or `picstore tenant create` "
    "starts a new one"
)


def check_catalog(settings: Settings) -> Check:
    """Whether the catalog database answers and is at the schema this picstore knows."""
    from sqlalchemy.engine import make_url

    from picstore.catalog.engine import create_catalog_engine, current_revision, head_revision

    url = settings.database_url
    shown = redact_url(url)
    try:
        parsed = make_url(url)
    except Exception:
        return Check(
            "catalog", "fail", f"invalid database URL {shown}", "use sqlite:///path or postgresql://..."
        )
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")
    if on_disk and not Path(str(parsed.database)).is_file():
        fix = _NO_STORE_FIX if not settings.database else "check PICSTORE_DATABASE"
        return Check("catalog", "fail", f"{parsed.database} does not exist", fix)
    try:
        engine = create_catalog_engine(url)
    except PicstoreError as exc:
        return Check("catalog", "fail", exc.message, "fix PICSTORE_DATABASE")
    try:
        revision = current_revision(engine)
    except Exception as exc:  # SQLAlchemy's connection errors: the message is what helps here
        why = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        return Check(
            "catalog",
            "fail",
            f"{shown} does not answer: {why}",
            "start the database or fix PICSTORE_DATABASE",
        )
    finally:
        engine.dispose()
    head = head_revision()
    if revision != head:
        detail = f"{shown} is at schema {revision or 'none (empty)'}; this picstore's is {head}"
        return Check(
            "catalog", "warn", detail, "run `picstore db upgrade` (picstore serve also does it on start)"
        )
    return Check("catalog", "ok", f"{shown} answers, schema {head}")


def check_storage(settings: Settings) -> list[Check]:
    """Whether the blob store exists and answers; for S3, also which credentials will be used."""
    from picstore.blobs.registry import open_blob_store as open_store

    url = settings.storage_url
    checks: list[Check] = []
    if url.startswith("file:"):
        root = _file_root(url)
        if not root.is_dir():
            fix = _NO_STORE_FIX if not settings.storage else "check PICSTORE_STORAGE"
            return [Check("storage", "fail", f"{root} does not exist", fix)]
        if not os.access(root, os.W_OK):
            return [Check("storage", "fail", f"{root} is not writable", f"let this user write to {root}")]
    elif url.startswith("s3:"):
        checks.append(_s3_credentials())
    try:
        store = open_store(url, settings)
    except PicstoreError as exc:
        return [
            *checks,
            Check("storage", "fail", exc.message, "fix PICSTORE_STORAGE (see docs/configuration.md)"),
        ]
    try:
        with contextlib.suppress(NotFound):
            store.head("doctor/probe")
    except PicstoreError as exc:
        return [*checks, Check("storage", "fail", exc.message, "fix the storage settings or the server")]
    finally:
        store.close()
    return [*checks, Check("storage", "ok", f"{url} answers")]


def _s3_credentials() -> Check:
    env = os.environ
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return Check("s3 credentials", "ok", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (environment)")
    if env.get("AWS_PROFILE"):
        return Check("s3 credentials", "ok", f"AWS profile {env['AWS_PROFILE']} (AWS_PROFILE)")
    home = Path(env.get("HOME") or Path.home())
    if (home / ".aws" / "credentials").is_file() or env.get("AWS_SHARED_CREDENTIALS_FILE"):
        return Check("s3 credentials", "ok", "the default profile of the AWS credentials file")
    return Check(
        "s3 credentials",
        "warn",
        "none in the environment or ~/.aws; only a cloud instance role can supply them",
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)",
    )


def diagnose(config_file: Path | None = None) -> Diagnosis:
    """Look at the configuration, the catalog and the blob store; change nothing."""
    diagnosis = Diagnosis()
    try:
        settings = load_settings(config_file)
    except PicstoreError as exc:
        diagnosis.checks.append(Check("config", "fail", exc.message, "fix the setting named above"))
        return diagnosis
    diagnosis.settings = effective_settings(settings, config_file)
    local = settings.storage_url.startswith("file:")
    diagnosis.data = {
        "blobs": settings.storage_url,
        "catalog": redact_url(settings.database_url),
        "urls": f"{settings.base_url}/b/<key>, served by picstore"
        if local
        else "the bucket's object URLs (s3_public_url, or presigned with s3_presign)",
        "working_directory": str(Path.cwd()),
    }
    diagnosis.checks.append(Check("config", "ok", "settings are valid"))
    diagnosis.checks.append(check_catalog(settings))
    diagnosis.checks.extend(check_storage(settings))
    if local:
        diagnosis.checks.append(check_serving(settings.base_url))
    return diagnosis


def check_serving(base_url: str) -> Check:
    """Whether picstore answers at the base of the URLs it hands out for blobs on local disk."""
    import urllib.error
    import urllib.request

    health = f"{base_url}/healthz"
    try:
        with urllib.request.urlopen(health, timeout=2) as response:  # noqa: S310 - http(s) from settings
            answered = response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        answered = False
    if answered:
        return Check("serving", "ok", f"picstore answers at {base_url}, so image URLs work")
    return Check(
        "serving",
        "warn",
        f"nothing answers at {health}: image URLs ({base_url}/b/...) do not load until something serves them",
        "run `picstore serve` (or mount picstore in your app, or point nginx at the blob directory; "
        "set PICSTORE_PUBLIC_URL to where they are reached)",
    )
