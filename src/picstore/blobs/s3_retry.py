"""How hard :class:`~picstore.blobs.s3.S3Store` tries before it reports
:class:`~picstore.errors.StorageUnavailable`: obstore's own retries, and picstore's retries of a create
whose connection broke (which obstore does not retry)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

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

    def obstore_retry(self) -> RetryConfig:
        return {
            "max_retries": self.max_retries,
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
