"""Settings: one typed, frozen object from ``PICSTORE_*`` env vars, a ``.env`` file or a TOML file.

Precedence, highest first: keyword arguments, environment, ``.env``, the TOML file, defaults. With no
configuration at all, blobs go under ``./picstore-data/blobs`` and the catalog is
``./picstore-data/picstore.db``. Nothing here is module-level state: build a Settings and pass it on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from picstore.errors import ConfigError

DEFAULT_DATA_DIR = Path("picstore-data")
DEFAULT_VARIANTS = {"thumb": "cover:200x200", "card": "width:640", "large": "fit:1600x1600"}


class Settings(BaseSettings):
    """Everything picstore can be configured with. See docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="PICSTORE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",
        frozen=True,
        env_nested_delimiter="__",
    )

    #: The TOML file this class reads (set per call by :func:`load_settings`).
    toml_file: ClassVar[Path | None] = None

    #: Where new blobs go for a new catalog: ``file:///path``, ``s3://bucket/prefix`` or ``memory://``.
    #: After that the catalog's write target decides (``picstore storage use``, ``picstore migrate``).
    storage: str = ""
    #: Seconds a node keeps the catalog's write target before reading it again (how soon a switch lands).
    target_ttl: float = Field(default=3.0, ge=0, le=300)
    #: The catalog: ``sqlite:///path``, ``sqlite://`` (in memory) or ``postgresql://...``.
    database: str = ""
    #: Base URL picstore is reached at (used in URLs it hands out); default ``http://{host}:{port}``.
    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    # ingest limits and encoding
    max_bytes: int = Field(default=30_000_000, gt=0)
    max_pixels: int = Field(default=50_000_000, gt=0)
    max_total_pixels: int = Field(default=500_000_000, gt=0)
    max_side: int = Field(default=4096, gt=0)
    jpeg_quality: int = Field(default=85, ge=1, le=100)
    webp_quality: int = Field(default=80, ge=1, le=100)
    #: WebP encoder effort 0-6. 2 makes the 1600 px WebP about 2.5x faster than 4 for files 2-3 % larger
    #: (the WebP encode is most of an upload's cost; docs/performance.md has the measurements).
    webp_effort: int = Field(default=2, ge=0, le=6)
    variants: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_VARIANTS))
    variant_formats: tuple[str, ...] = ("jpeg", "webp")
    #: Most frames an animation may declare.
    max_frames: int = Field(default=300, gt=0)
    #: Work budget of one upload: pixels decoded plus pixels encoded, over all frames and outputs,
    #: computed from the header (a 12 MP photo is ~30 MP of work; 150 frames of 1600x1600 ~1,200 MP).
    max_work_pixels: int = Field(default=400_000_000, gt=0)
    #: Wall-time budget of one upload's processing; a decode or encode still running then is killed.
    max_ingest_seconds: float = Field(default=30.0, gt=0)
    #: Uploads processed at once in this process (0: two per core), and at most how many of them one
    #: tenant may hold (0: half). Small uploads also get one fast-lane slot per core (admission.py).
    ingest_slots: int = Field(default=0, ge=0)
    ingest_slots_per_tenant: int = Field(default=0, ge=0)
    #: AVIF variants, when "avif" is in variant_formats (slow: about 2 s a 1600 px image at effort 4).
    avif_quality: int = Field(default=55, ge=1, le=100)
    avif_effort: int = Field(default=4, ge=0, le=9)

    # S3 (credentials come from the standard AWS variables and files)
    s3_endpoint: str | None = None
    s3_region: str | None = None
    s3_path_style: bool | None = None
    #: A CDN or public base URL in front of the bucket; object URLs are ``{s3_public_url}/{key}``.
    s3_public_url: str | None = None
    #: Private bucket: hand out presigned GET URLs instead of public object URLs.
    s3_presign: bool = False
    s3_presign_ttl: int = Field(default=3600, gt=0, le=7 * 24 * 3600)

    #: URL path prefix of the old picture tree brought in by ``picstore import`` (e.g. ``/pictures``):
    #: ``picstore serve`` answers old paths under it with a 301 to the picture. Unset: no redirects.
    legacy_prefix: str | None = Field(default=None, pattern=r"^/[^?#]*$")

    #: Admin key for tenant management over the API (unset: tenant management only by CLI). At least
    #: 16 characters: it is a password that anyone who can reach the service may guess at.
    admin_key: str | None = Field(default=None, min_length=16)

    # HTTP service (picstore serve)
    #: Seconds a request body may stall (no bytes arriving) before it is refused with 408.
    body_timeout: float = Field(default=30.0, gt=0)
    #: Seconds a whole request body may take to arrive (a trickle that never stalls is cut off here).
    body_deadline: float = Field(default=600.0, gt=0)
    #: Seconds a direct upload (``POST /v1/uploads``) accepts its file; S3 presigned POSTs get at most 900.
    upload_ttl: int = Field(default=900, ge=10, le=900)
    #: Where direct uploads wait for ``complete``: a blob store URL that nothing serves publicly.
    #: Default: ``<dir>-incoming`` beside a file store; ``s3://<bucket>/incoming/<prefix>`` for S3.
    upload_incoming: str | None = None
    #: Seconds a web UI sign-in lasts (a session cookie; sign-out ends it at once).
    session_ttl: int = Field(default=12 * 3600, ge=60, le=30 * 24 * 3600)
    #: Seconds a connection has to deliver complete request headers (slow-header clients are cut off).
    header_timeout: float = Field(default=10.0, gt=0)
    #: Seconds an idle kept-alive connection stays open.
    idle_timeout: int = Field(default=5, gt=0)
    #: Open connections one ``picstore serve`` process accepts; beyond that a 503 ``server_busy``.
    max_connections: int = Field(default=1000, gt=0)
    #: Failed authentications (wrong API key, admin key or upload token, refused sign-in) one client
    #: address may make in a burst; then one more per ``auth_failure_window / auth_failure_limit`` seconds,
    #: others answered 429 ``too_many_auth_failures``. Counted per process. 0: no limit.
    auth_failure_limit: int = Field(default=30, ge=0)
    auth_failure_window: float = Field(default=60.0, gt=0)
    #: Requests a second one API key (or upload token) may make, sustained, after a burst of
    #: ``key_rate_burst``; beyond, 429 ``rate_limited``. Counted per process. 0: no limit.
    key_rate_limit: float = Field(default=100.0, ge=0)
    key_rate_burst: int = Field(default=200, gt=0)
    #: Seconds a 429 from either throttle is held before it is sent. A client that ignores
    #: ``Retry-After`` and asks again at once then costs one request a second per connection instead of
    #: hundreds of refusals a second (benchmarks/flood.py: 21 instead of 244-264).
    #: At most half of ``max_connections`` are held; beyond, a refusal is sent at once and closes its
    #: connection. 0: refusals are sent at once.
    refusal_hold: float = Field(default=1.0, ge=0, le=30)
    #: API requests without a body (GET, HEAD, DELETE with a key) one process runs at once; the others
    #: wait their turn, handed out fairly between keys (web/turns.py). They are catalog reads and writes,
    #: mostly Python under one GIL: one at a time serves SQLite fastest and keeps a calm tenant's p99
    #: closest to idle while another floods (benchmarks/flood.py). Raise it for a remote PostgreSQL,
    #: whose round trips another request could use.
    request_slots: int = Field(default=1, ge=1)

    # Transforms: signed ``/t/`` URLs (docs/transforms.md)
    #: HMAC-SHA256 keys for transform URLs, newest first: the first signs, every one verifies (rotation).
    #: Empty: ``/t/`` answers 403 and ``transform_url`` refuses.
    transform_keys: tuple[str, ...] = ()
    #: Named transform specs (name -> canonical spec) for ``transform_url(preset=...)``.
    transform_presets: dict[str, str] = Field(default_factory=dict)
    #: Render only the specs in ``transform_presets``; any other signed spec answers 403.
    transform_preset_only: bool = False
    #: Most pixels in one output frame of a transform.
    transform_max_pixels: int = Field(default=16_777_216, gt=0)
    #: Most pixels one transform may decode and write over all its frames (the work of one request).
    transform_max_work: int = Field(default=200_000_000, gt=0)
    #: ``f=auto``: "vary" answers with the format Accept allows and ``Vary: Accept``; "redirect" (CDN-safe)
    #: redirects to the URL that names that format, so every cached URL has one format.
    transform_auto: Literal["vary", "redirect"] = "vary"
    #: Seconds an AVIF encode may take inside a request (estimated from its pixels); a slower one is made by
    #: a background job while WebP or JPEG is served. 0: every AVIF in the background.
    transform_avif_budget: float = Field(default=1.0, ge=0)
    #: Store each rendition once (False: render on every request and store nothing, for a CDN that keeps
    #: the results itself; no claims, no background AVIF).
    transform_store_results: bool = True
    #: Render from the smallest stored preset at least twice the target's size (``large`` for a 512 px
    #: rendition of a 12 MP photo) instead of decoding the master: ~3x less CPU at 12 MP, but the
    #: preset's own JPEG loss shows (docs/performance.md). False (default): always the master.
    transform_from_presets: bool = False
    #: Seconds a render claim (and a background job's lease) lasts before another node may take it over.
    transform_claim_ttl: float = Field(default=60.0, gt=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = getattr(settings_cls, "toml_file", None)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def storage_url(self) -> str:
        """The blob store URL, defaulting to ``./picstore-data/blobs``."""
        return self.storage or (DEFAULT_DATA_DIR / "blobs").resolve().as_uri()

    @property
    def database_url(self) -> str:
        """The catalog URL, defaulting to ``./picstore-data/picstore.db``."""
        return self.database or f"sqlite:///{(DEFAULT_DATA_DIR / 'picstore.db').resolve()}"

    @property
    def base_url(self) -> str:
        """The URL picstore is reached at, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from the environment, ``.env`` and an optional TOML file.

    Raises :class:`ConfigError` with every problem listed, so the CLI can print one clear message.
    """
    if config_file is not None and not Path(config_file).is_file():
        raise ConfigError(f"config file {config_file} not found")
    # A subclass per call carries the TOML path: pydantic-settings reads sources from the class.
    cls: type[Settings] = type(
        "Settings", (Settings,), {"toml_file": None if config_file is None else Path(config_file)}
    )
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc
