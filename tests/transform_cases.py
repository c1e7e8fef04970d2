"""Refused transform URLs the file-store and the Ceph RGW tests both request: (path, expected code)."""

from __future__ import annotations

import time

from picstore.delivery.signing import signature

#: The spec the cases are variations of, and the key that signs them.
SPEC = "w=200,h=100,fit=cover"
RETIRED = "r" * 40


def signed(spec: str, image_id: str, key: str) -> str:
    return f"/t/{signature(key, spec, image_id)}/{spec}/{image_id}"


def refused_cases(image_id: str, key: str) -> list[tuple[str, str]]:
    """Forged, truncated, reordered, duplicated-parameter, non-canonical, expired and retired-key URLs."""
    sig = signature(key, SPEC, image_id)
    return [
        (f"/t/{'A' * 43}/{SPEC}/{image_id}", "invalid_signature"),  # forged
        (f"/t/{sig[:-2]}/{SPEC}/{image_id}", "invalid_signature"),  # truncated signature
        (f"/t/{sig}/w=200,h=10,fit=cover/{image_id}", "invalid_signature"),  # truncated spec
        (f"/t/{sig}/{SPEC}/{image_id[:-1]}", "invalid_signature"),  # truncated id
        (f"/t/{sig}/h=100,w=200,fit=cover/{image_id}", "invalid_signature"),  # reordered, same signature
        (f"/t/{sig}/{SPEC},w=200/{image_id}", "invalid_signature"),  # duplicated, same signature
        (signed("h=100,w=200,fit=cover", image_id, key), "non_canonical_transform"),  # reordered, signed
        (signed("w=200,w=200,h=100,fit=cover", image_id, key), "non_canonical_transform"),  # duplicated
        (signed("w=0200,h=100,fit=cover", image_id, key), "non_canonical_transform"),
        (signed("w=200,h=100,fit=cover,g=centre", image_id, key), "non_canonical_transform"),
        (signed("w=200,h=100,fit=cover,f=auto", image_id, key), "non_canonical_transform"),
        (signed("w=200,h=100,fit=sideways", image_id, key), "invalid_transform"),
        (signed(f"{SPEC},exp={int(time.time()) - 1}", image_id, key), "expired_url"),
        (signed(SPEC, image_id, RETIRED), "invalid_signature"),  # a key no longer configured
    ]
