"""Where an ``s3://bucket/prefix`` store lives and how to reach it, resolved once from URL, settings and env.

Precedence, for each value: picstore's settings (``PICSTORE_S3_*``), then the standard AWS variables
(``AWS_ENDPOINT_URL_S3``/``AWS_ENDPOINT_URL``, ``AWS_REGION``/``AWS_DEFAULT_REGION``), then the AWS profile
(``AWS_PROFILE``, ``~/.aws/config``), then defaults (AWS itself, ``us-east-1``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from picstore.blobs.base import validate_prefix
from picstore.blobs.s3_errors import translate_botocore
from picstore.errors import ConfigError, InvalidKey

if TYPE_CHECKING:
    from obstore.store import S3Credential

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class S3Options:
    """Everything needed to talk to one bucket and to build URLs of its objects."""

    bucket: str
    prefix: str = ""
    endpoint: str | None = None
    region: str = DEFAULT_REGION
    path_style: bool = True
    public_base_url: str | None = None
    presign: bool = False
    presign_ttl: int = 3600
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    profile: str | None = None

    @property
    def where(self) -> str:
        """``s3://bucket/prefix``: names this store in messages."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def full_key(self, key: str) -> str:
        """The object name in the bucket for a store key."""
        return f"{self.prefix}/{key}" if self.prefix else key

    def bucket_endpoint(self) -> str:
        """The base URL that addresses the bucket (path-style or virtual-hosted), without a slash."""
        if self.endpoint:
            parts = urlsplit(self.endpoint)
            if self.path_style:
                return f"{self.endpoint.rstrip('/')}/{self.bucket}"
            return f"{parts.scheme}://{self.bucket}.{parts.netloc}{parts.path.rstrip('/')}"
        if self.path_style:
            return f"https://s3.{self.region}.amazonaws.com/{self.bucket}"
        return f"https://{self.bucket}.s3.{self.region}.amazonaws.com"

    def object_url(self, key: str) -> str:
        """The plain (unsigned) URL of an object; it works anonymously once the bucket policy allows it."""
        return f"{self.bucket_endpoint()}/{self.full_key(key)}"

    def obstore_config(self) -> dict[str, Any]:
        """Keyword arguments for :class:`obstore.store.S3Store` (without retry and client options)."""
        config: dict[str, Any] = {"region": self.region, "virtual_hosted_style_request": not self.path_style}
        if self.endpoint:
            # obstore wants the bucket in the endpoint for virtual-hosted requests.
            config["endpoint"] = self.endpoint.rstrip("/") if self.path_style else self.bucket_endpoint()
        if self.access_key_id and self.secret_access_key:
            config["access_key_id"] = self.access_key_id
            config["secret_access_key"] = self.secret_access_key
            if self.session_token:
                config["session_token"] = self.session_token
        return config


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``; :class:`ConfigError` if malformed."""
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme.lower() != "s3" or not parts.netloc:
        raise ConfigError(f"invalid S3 store URL {url!r}: expected s3://bucket/prefix")
    if parts.query or parts.fragment or "@" in parts.netloc or ":" in parts.netloc:
        raise ConfigError(f"invalid S3 store URL {url!r}: only s3://bucket/prefix (settings carry the rest)")
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if not (3 <= len(bucket) <= 63) or not all(c.isalnum() or c in "-." for c in bucket):
        raise ConfigError(f"invalid bucket name {bucket!r} in {url!r}")
    try:
        validate_prefix(prefix)
    except InvalidKey as exc:
        raise ConfigError(f"invalid prefix {prefix!r} in {url!r}: {exc}") from exc
    return bucket, prefix


def _first(*values: str | None) -> str | None:
    return next((v for v in values if v), None)


def _has_aws_files(env: Mapping[str, str]) -> bool:
    home = Path(env.get("HOME") or Path.home())
    files = [env.get("AWS_SHARED_CREDENTIALS_FILE"), env.get("AWS_CONFIG_FILE")]
    files += [str(home / ".aws" / "credentials"), str(home / ".aws" / "config")]
    return any(f and Path(f).is_file() for f in files)


def resolve(url: str, settings: object | None = None, env: Mapping[str, str] | None = None) -> S3Options:
    """Resolve the options of the store at ``url`` from picstore ``settings`` and the environment."""
    env = os.environ if env is None else env
    bucket, prefix = parse_url(url)
    endpoint = _first(
        getattr(settings, "s3_endpoint", None), env.get("AWS_ENDPOINT_URL_S3"), env.get("AWS_ENDPOINT_URL")
    )
    if endpoint and urlsplit(endpoint).scheme not in ("http", "https"):
        raise ConfigError(f"invalid S3 endpoint {endpoint!r}: expected http(s)://host[:port]")
    # Env keys win over files; obstore reads them itself, but botocore is asked only when they are absent
    # and a profile file exists, so a machine without ~/.aws never waits on the EC2 metadata service.
    profile = env.get("AWS_PROFILE") or None
    use_profile = not env.get("AWS_ACCESS_KEY_ID") and (profile is not None or _has_aws_files(env))
    region = _first(
        getattr(settings, "s3_region", None), env.get("AWS_REGION"), env.get("AWS_DEFAULT_REGION")
    )
    if region is None and use_profile:
        region = _profile_region(profile)
    path_style = getattr(settings, "s3_path_style", None)
    if path_style is None:
        # Self-hosted servers (RGW, MinIO) rarely have wildcard DNS for bucket subdomains; AWS prefers
        # virtual-hosted addressing.
        path_style = endpoint is not None
    ttl = int(getattr(settings, "s3_presign_ttl", 3600) or 3600)
    if not 1 <= ttl <= 7 * 24 * 3600:
        raise ConfigError(f"s3_presign_ttl must be 1 s to 7 days (SigV4's limit), not {ttl}")
    public = getattr(settings, "s3_public_url", None)
    return S3Options(
        bucket=bucket,
        prefix=prefix,
        endpoint=endpoint,
        region=region or DEFAULT_REGION,
        path_style=bool(path_style),
        public_base_url=public.rstrip("/") if public else None,
        presign=bool(getattr(settings, "s3_presign", False)),
        presign_ttl=ttl,
        profile=(profile or "default") if use_profile else None,
    )


def botocore_client(
    options: S3Options, *, signature_version: str | None = None, purpose: str = "reach"
) -> Any:
    """A botocore S3 client for the store's endpoint, region, addressing and credentials.

    obstore covers the data path; botocore is for what it lacks: bucket administration and POST policies
    (pass ``signature_version="s3v4"`` for those: botocore still signs them with SigV2 by default).
    ``purpose`` names the operation in a :class:`ConfigError` or storage error if the client cannot be made.
    """
    import botocore.session
    from botocore.config import Config

    config: dict[str, Any] = {
        "s3": {"addressing_style": "path" if options.path_style else "virtual"},
        # botocore >= 1.36 adds CRC32 checksums that some S3-compatible servers refuse.
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
        "retries": {"mode": "standard", "total_max_attempts": 4},
        "connect_timeout": 5,
        "read_timeout": 30,
    }
    if signature_version is not None:
        config["signature_version"] = signature_version
    try:
        session = botocore.session.Session(profile=options.profile if options.profile != "default" else None)
        return session.create_client(
            "s3",
            endpoint_url=options.endpoint,
            region_name=options.region,
            aws_access_key_id=options.access_key_id,
            aws_secret_access_key=options.secret_access_key,
            aws_session_token=options.session_token,
            config=Config(**config),
        )
    except Exception as exc:  # ProfileNotFound, NoRegionError, a malformed endpoint
        raise translate_botocore(exc, purpose, options.where) from exc


def _profile_region(profile: str | None) -> str | None:
    import botocore.session

    try:
        region = botocore.session.Session(profile=profile).get_config_variable("region")
    except Exception as exc:  # botocore's ProfileNotFound and config parse errors
        raise ConfigError(f"AWS profile {profile!r}: {exc}") from exc
    return str(region) if region else None


class ProfileCredentials:
    """An obstore credential provider reading an AWS profile (``~/.aws`` files) through botocore.

    obstore reads credentials from the environment and cloud metadata services, not from profile
    files, so profile users get them from botocore, which also refreshes assumed-role credentials.
    """

    def __init__(self, profile: str | None) -> None:
        import botocore.session

        try:
            session = botocore.session.Session(profile=None if profile == "default" else profile)
            credentials = session.get_credentials()
        except Exception as exc:  # ProfileNotFound, malformed files
            raise ConfigError(f"AWS profile {profile!r}: {exc}") from exc
        if credentials is None:
            raise ConfigError(f"no AWS credentials found for profile {profile!r}")
        self._credentials = credentials

    def __call__(self) -> S3Credential:
        frozen = self._credentials.get_frozen_credentials()
        if not frozen.access_key or not frozen.secret_key:
            raise ConfigError("the AWS profile's credentials are incomplete (access key or secret missing)")
        # botocore refreshes expiring credentials itself; asking again every 10 minutes picks that up.
        return {
            "access_key_id": frozen.access_key,
            "secret_access_key": frozen.secret_key,
            "token": frozen.token,
            "expires_at": datetime.now(UTC) + timedelta(minutes=10),
        }
