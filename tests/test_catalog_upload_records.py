"""Direct-upload records on PostgreSQL without index scans: the sweep's oldest-first order comes from its
ORDER BY, not from the ``expires_us`` index that SQLite (and PostgreSQL, when it uses it) walks in order.
The rest of the records' rules are tested through DirectUploads in test_direct_uploads.py."""

from __future__ import annotations

import pytest

from picstore.catalog.upload_records import UploadRecord
from tests.catalog_support import migrated_catalog, without_index_scans


@pytest.mark.postgres
def test_the_sweep_takes_the_oldest_expired_first_without_an_index(pg_url: str) -> None:
    with migrated_catalog(without_index_scans(pg_url), "acme") as catalog:
        for upload_id, expires in [("late", 30), ("early", 10), ("middle", 20), ("live", 90)]:
            catalog.uploads.add(
                UploadRecord(
                    upload_id,
                    "t1",
                    "memory://in",
                    f"in/{upload_id}",
                    None,
                    "image/*",
                    10,
                    None,
                    None,
                    1,
                    expires,
                )
            )
        assert [r.id for r in catalog.uploads.expired(25)] == ["early", "middle"]
        assert [r.id for r in catalog.uploads.expired(91, limit=2)] == ["early", "middle"]
        assert [r.id for r in catalog.uploads.expired(91, limit=1)] == ["early"]
