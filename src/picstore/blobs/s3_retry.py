"""How hard :class:`~picstore.blobs.s3.S3Store` tries before it reports
:class:`~picstore.errors.StorageUnavailable`: obstore's own retries, and the retries picstore makes itself
(:class:`Attempts`): every retry of a create, and of anything whose connection broke, which obstore does
not retry for a PUT or POST."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from picstore.blobs.s3_errors import is_transient_status, is_transport_error

if TYPE_CHECKING:
    from obstore.store import RetryConfig


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before reporting :class:`StorageUnavailable`. Times are in seconds."""

    #: obstore's retries of one request after a 5xx/429 answer or (for reads) a broken connection.
    max_retries: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 3.0
    #: No retry starts later than this after the first attempt.
    retry_timeout: float = 30.0
    #: Attempts of a put whose connection broke (obstore does not retry those).
    put_attempts: int = 3
    connect_timeout: float = 5.0
    #: Whole request, body included.
    timeout: float = 60.0

    def obstore_retry(self, max_retries: int | None = None) -> RetryConfig:
        """obstore's retry configuration (``max_retries`` overrides the policy's)."""
        return {
            "max_retries": self.max_retries if max_retries is None else max_retries,
            "retry_timeout": timedelta(seconds=self.retry_timeout),
            "backoff": {
                "init_backoff": timedelta(seconds=self.initial_backoff),
                "max_backoff": timedelta(seconds=self.max_backoff),
                "base": 2,
            },
        }

    def pause(self, attempt: int) -> float:
        """Full-jitter exponential backoff before attempt number ``attempt`` (1-based retries)."""
        return random.uniform(0, min(self.max_backoff, self.initial_backoff * 2**attempt))


@dataclass
class Attempts:
    """The failed attempts of one request that picstore retries itself.

    An attempt that was answered (a 503, say) stored nothing; one whose connection broke may have been
    stored all the same. :attr:`ambiguous` tells a create that meets an existing object whether that can
    be its own earlier attempt.
    """

    policy: RetryPolicy
    answered: int = 0
    unanswered: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def ambiguous(self) -> bool:
        return self.unanswered > 0

    def again(self, exc: BaseException, *, statuses: bool = True, vanished: bool = False) -> bool:
        """Record the failure ``exc``; after a pause, True when another attempt is worth making.

        A broken connection is tried ``put_attempts`` times in all; with ``statuses`` (when obstore's own
        retries are off) a busy server's answer is retried ``max_retries`` times within ``retry_timeout``.
        ``vanished``: a create met an object that was gone when looked at; it counts as a broken attempt.
        """
        if vanished or is_transport_error(exc):
            self.unanswered += 1
            if self.unanswered >= self.policy.put_attempts:
                return False
        elif statuses and is_transient_status(exc):
            self.answered += 1
            elapsed = time.monotonic() - self.started
            if self.answered > self.policy.max_retries or elapsed > self.policy.retry_timeout:
                return False
        else:
            return False
        time.sleep(self.policy.pause(self.answered + self.unanswered))
        return True
