"""Transformer: signed transform URLs in, stored renditions out. Joins the spec, signing, the renderer,
the blob store and the catalog, as ImageStore does for uploads.

Invariants:
- :meth:`Transformer.check` verifies the signature before the spec is parsed, then refuses expired URLs and,
  in preset-only mode, every spec that is not a configured preset;
- a rendition is content-addressed by its canonical geometry and encoder parameters
  (``var/<image sha256>/<digest>.<ext>``) and recorded as a ``t:...`` variant of its image, so it is
  rendered once, served like any blob, and removed with its image;
- a render happens only under a claim in the catalog (:meth:`try_render`), so one node renders each key
  even when many ask at once; the claim is released whether the render worked or not. Write order is the
  upload's: blob row reserved as an orphan, bytes written create-only, then one transaction records it;
- limits are checked before any pixel is decoded: ``transform_max_pixels`` per output frame and
  ``transform_max_work`` for the whole render (both on the master's size, whichever copy is decoded);
- a render decodes the master; with ``transform_from_presets`` it decodes instead the smallest stored
  whole-frame preset of the master's format that is at least :data:`SOURCE_MARGIN` times the resize
  target on both sides: a 512 px rendition of a 12 MP photo then decodes the 1600 px ``large`` preset.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypedDict, Unpack

from picstore.catalog.renders import TRANSFORM_PREFIX, Renders
from picstore.delivery.signing import Signer
from picstore.errors import ExpiredUrl, InvalidTransform, NotFound, PresetOnly, TransformTooLarge
from picstore.ingest.encode import Encoding, encoding_for
from picstore.ingest.result import Rendition
from picstore.keys import new_id, variant_key
from picstore.models import BlobLocation, Image, Variant, content_type_for
from picstore.transform.negotiate import fallback_format
from picstore.transform.render import Source, render_transform, work_pixels
from picstore.transform.spec import TransformSpec, parse_transform
from picstore.writes import reserved, write_blob

if TYPE_CHECKING:
    from picstore.store import ImageStore

log = logging.getLogger("picstore.transform")

#: AVIF encoder speed at effort 4 on one core, measured here (docs/performance.md): used to decide whether
#: an AVIF fits ``transform_avif_budget`` or is made in the background.
AVIF_PIXELS_PER_SECOND = 1_000_000
#: A job that failed this often is dropped (its error is logged).
MAX_JOB_ATTEMPTS = 5
#: How much larger than the resize target (on both sides) a stored preset must be to render from it
#: (``transform_from_presets``): the preset's own JPEG loss shrinks with the downscale.
SOURCE_MARGIN = 2


class TransformOptions(TypedDict, total=False):
    """What ``ImageStore.transform_url`` takes (docs/transforms.md has the grammar these become)."""

    #: Box in CSS pixels; a missing side follows the aspect.
    width: int | None
    height: int | None
    #: ``inside`` (default), ``cover``, ``contain`` or ``fill``.
    fit: str
    #: Where ``cover`` crops: ``centre`` (default), a compass point (``north`` ...) or ``smart``.
    gravity: str
    #: A focal point for ``cover``, ``(x, y)`` in percent of the picture.
    focus: tuple[int, int] | None
    #: ``auto`` (default: from the browser's Accept), ``jpeg``, ``webp``, ``avif`` or ``png``.
    format: str
    quality: int | None
    #: Device pixel ratio, 1 to 4.
    dpr: float
    #: When the URL stops working: a Unix time, an aware datetime or a timedelta from now.
    expires: int | datetime | timedelta | None
    #: A name from ``transform_presets`` instead of the fields above.
    preset: str | None


@dataclass(frozen=True)
class Plan:
    """One rendition to find or make: ``spec`` with a concrete format, its variant name and blob key."""

    spec: TransformSpec
    name: str
    key: str
    encoding: Encoding

    @property
    def format(self) -> str:
        return self.encoding.format


class Transformer:
    """Signed transform URLs over one :class:`~picstore.store.ImageStore`."""

    def __init__(self, store: ImageStore) -> None:
        self.store = store
        settings = store.settings
        self.settings = settings
        self.signer = Signer(settings.transform_keys)
        self.catalog: Renders = store.catalog.renders
        self.presets = {name: parse_transform(text) for name, text in settings.transform_presets.items()}
        #: Who this process is in render claims and job leases.
        self.owner = f"{new_id(8)}"
        self.claim_ttl_us = int(settings.transform_claim_ttl * 1_000_000)
        #: Renders this process made (what tests and /metrics count).
        self.renders = 0

    # --- URLs --------------------------------------------------------------------------------------

    def spec(self, **options: Unpack[TransformOptions]) -> TransformSpec:
        """A checked spec from :class:`TransformOptions` (or a configured preset); InvalidTransform
        otherwise."""
        expires = options.get("expires")
        if isinstance(expires, timedelta):
            expires = int(time.time() + expires.total_seconds())
        elif isinstance(expires, datetime):
            expires = int(expires.timestamp())
        preset = options.get("preset")
        if preset is not None:
            if preset not in self.presets:
                raise InvalidTransform(f"no transform preset {preset!r}; presets: {sorted(self.presets)}")
            return replace(self.presets[preset], expires=expires)
        focus = options.get("focus")
        return TransformSpec(
            width=options.get("width"),
            height=options.get("height"),
            fit=options.get("fit", "inside"),
            gravity="fp" if focus is not None else options.get("gravity", "centre"),
            focus=focus,
            format=options.get("format", "auto"),
            quality=options.get("quality"),
            dpr=round(options.get("dpr", 1) * 100),
            expires=expires,
        )

    def url(self, image_id: str, spec: TransformSpec) -> str:
        """The signed URL of ``spec`` of an image: ``{base}/t/{signature}/{spec}/{image_id}``."""
        return self.store.settings.base_url + self.signer.path(spec.canonical, image_id)

    # --- requests ----------------------------------------------------------------------------------

    def check(self, signature: str, spec_text: str, image_id: str) -> TransformSpec:
        """The spec of a transform URL, after its signature, spelling, expiry and preset checks."""
        self.signer.verify(signature, spec_text, image_id)
        spec = parse_transform(spec_text)
        if spec.expires is not None and spec.expires <= time.time():
            raise ExpiredUrl("this transform URL has expired; ask the page for a fresh one")
        if self.settings.transform_preset_only and not self._is_preset(spec):
            raise PresetOnly("this server renders only its configured transform presets")
        return spec

    def _is_preset(self, spec: TransformSpec) -> bool:
        """A configured preset, whatever its expiry; an ``f=auto`` preset in any concrete format too (what
        the CDN-safe redirect of ``f=auto`` asks for)."""
        plain = replace(spec, expires=None)
        presets = self.presets.values()
        return plain in presets or replace(plain, format="auto") in presets

    def plan(self, image: Image, spec: TransformSpec, fmt: str) -> Plan:
        """What rendering ``spec`` of ``image`` in ``fmt`` means; TransformTooLarge beyond the limits."""
        pixels = spec.output_pixels(image.width, image.height)
        if pixels > self.settings.transform_max_pixels:
            raise TransformTooLarge(
                f"the transform makes {pixels:,} pixels; the limit is {self.settings.transform_max_pixels:,}"
            )
        work = work_pixels(spec, _source_of(image), fmt)
        if work > self.settings.transform_max_work:
            raise TransformTooLarge(
                f"the transform needs {work:,} pixels of work; "
                f"the limit is {self.settings.transform_max_work:,}"
            )
        encoding = encoding_for(fmt, self.store.ingest_options, quality=spec.quality)
        name = ",".join(filter(None, (f"{TRANSFORM_PREFIX}{spec.geometry}", encoding.params)))
        return Plan(spec.with_format(fmt), name, variant_key(image.sha256, name, fmt), encoding)

    def avif_deferred(self, image: Image, plan: Plan) -> bool:
        """True when ``plan`` is an AVIF too slow to encode within the request's budget."""
        if plan.format != "avif":
            return False
        seconds = plan.spec.output_pixels(image.width, image.height) / AVIF_PIXELS_PER_SECOND
        return seconds > self.settings.transform_avif_budget

    @staticmethod
    def fallback(image: Image) -> str:
        """The format every client shows for this image."""
        return fallback_format(alpha=has_alpha(image))

    def find(self, image: Image, plan: Plan) -> Variant | None:
        """The stored rendition of ``plan``, if it has been made."""
        return self.catalog.transform_variant(image.id, plan.name, plan.format)

    def render(self, image: Image, plan: Plan) -> Rendition:
        """Render ``plan`` from the image's master (or the preset :meth:`source_preset` picks, with
        ``transform_from_presets``), storing nothing (what ``try_render`` stores)."""
        preset = self.source_preset(image, plan) if self.settings.transform_from_presets else None
        loc, blobs = self.store.locate(image.key if preset is None else preset.key)
        source = _source_of(image, blobs.get(loc.key))
        if preset is not None:
            source = replace(source, pixels=(preset.width, preset.height))
        # Renders share the uploads' bound on CPU work (and its fairness between tenants).
        with self.store.ingest_gate.admit(image.tenant, work_pixels(plan.spec, source, plan.format)):
            made = render_transform(source, plan.spec, plan.encoding, name=plan.name)
        self.renders += 1
        return made

    @staticmethod
    def source_preset(image: Image, plan: Plan) -> Variant | None:
        """The smallest stored preset that can stand in for the master in ``plan``'s render, or None.

        It must be a whole-frame copy (the master's aspect, not a crop), in the master's format (so
        alpha and lossless masters keep what they have), of a still image, and cover the resize target
        :data:`SOURCE_MARGIN` times over. Transform renditions (``t:...``) never qualify: their quality
        is whatever a URL asked for.
        """
        if image.frames > 1:
            return None
        want_w, want_h = plan.spec.resize_to(image.width, image.height)
        fitting = [
            v
            for v in image.variants
            if not v.name.startswith(TRANSFORM_PREFIX)
            and v.format == image.format
            and v.width >= SOURCE_MARGIN * want_w
            and v.height >= SOURCE_MARGIN * want_h
            and v.width * v.height < image.width * image.height
            # Whole frame: the aspect within one pixel of the preset's rounding.
            and abs(v.width * image.height - v.height * image.width) <= max(image.width, image.height)
        ]
        return min(fitting, key=lambda v: v.width * v.height, default=None)

    def try_render(self, image: Image, plan: Plan) -> tuple[Variant, bytes | None] | None:
        """Render, store and record ``plan`` under a claim; None when another node holds the claim.

        Returns the variant and, when rendered here, its bytes (None when it turned out to exist).
        """
        if not self.catalog.claim_render(plan.key, self.owner, self.claim_ttl_us):
            return None
        try:
            found = self.find(image, plan)  # finished by another node between our lookup and our claim
            if found is not None:
                return found, None
            made = self.render(image, plan)
            return self._store(image, plan, made), made.data
        finally:
            self.catalog.release_render(plan.key, self.owner)

    def _store(self, image: Image, plan: Plan, made: Rendition) -> Variant:
        """Write and record a rendition as an upload writes its variants: the blob row reserved first,
        the bytes written create-only, then one transaction records the variant and uses the row."""
        data = made.data
        target = self.store.blobs  # read once: a write-target switch must not split the row from its bytes
        planned = BlobLocation(
            plan.key,
            target.url,
            len(data),
            hashlib.sha256(data).hexdigest(),
            content_type_for(plan.format),
        )
        rows = self.store.catalog.blobs
        with reserved(rows, [planned]) as reservation:
            location = write_blob(target, rows, planned, data, keyed_by_bytes=False)
            variant = Variant(
                plan.name, plan.format, made.width, made.height, location.size, location.sha256, plan.key
            )
            self.catalog.record_transform(image.id, variant, reservation)
        return variant

    # --- background jobs ---------------------------------------------------------------------------

    def defer(self, image: Image, plan: Plan) -> None:
        """Queue ``plan`` for a background render (any node's :meth:`run_jobs` makes it)."""
        self.catalog.add_render_job(plan.key, image.id, plan.spec.canonical)

    def run_jobs(self, limit: int = 10) -> int:
        """Make up to ``limit`` queued renders now; returns how many jobs were settled."""
        settled = 0
        while settled < limit:
            job = self.catalog.lease_render_job(self.owner, self.claim_ttl_us)
            if job is None:
                break
            settled += 1
            try:
                image = self.store.get(job.image_id)
                spec = parse_transform(job.spec)
                plan = self.plan(image, spec, spec.format)
                if self.find(image, plan) is None and self.try_render(image, plan) is None:
                    # Another node is rendering it now: look again later.
                    self.catalog.retry_render_job(job.key, "claimed by another node", self.claim_ttl_us)
                    continue
            except NotFound:
                pass  # the image was deleted: nothing to make
            except Exception as exc:
                if job.attempts < MAX_JOB_ATTEMPTS:
                    log.warning("background render %s failed (attempt %d): %s", job.key, job.attempts, exc)
                    self.catalog.retry_render_job(job.key, str(exc), 2**job.attempts * 1_000_000)
                    continue
                log.error("background render %s failed %d times; dropped: %s", job.key, job.attempts, exc)
            self.catalog.finish_render_job(job.key)
        return settled


def has_alpha(image: Image) -> bool:
    """Whether a stored master may carry alpha: picstore stores pictures with alpha as PNG or WebP."""
    return image.format in ("png", "webp")


def _source_of(image: Image, data: bytes = b"") -> Source:
    return Source(data, image.format, image.width, image.height, image.frames)
