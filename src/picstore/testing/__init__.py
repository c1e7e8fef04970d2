"""Test suites for picstore's extension points, for backends' own test modules. Only tests import this
package (it imports pytest).

A backend's test module subclasses :class:`BlobStoreConformance` and provides a ``store`` fixture::

    from picstore.testing import BlobStoreConformance

    class TestMemory(BlobStoreConformance):
        @pytest.fixture
        def store(self):
            return MemoryStore()

The suite checks every verb of :class:`~picstore.blobs.base.BlobStore` and, through
:class:`AbilityConformance`, each optional ability (``picstore.blobs.base``) the backend claims.
"""

from picstore.testing.abilities import AbilityConformance
from picstore.testing.conformance import BlobStoreConformance

__all__ = ["AbilityConformance", "BlobStoreConformance"]
