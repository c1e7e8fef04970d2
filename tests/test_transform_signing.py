"""Transform URL signatures: HMAC-SHA256 over spec and id, several keys for rotation, constant-time checks."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from picstore.delivery.signing import Signer, signature
from picstore.errors import ConfigError, InvalidSignature, TransformsDisabled

OLD, NEW = "o" * 40, "n" * 40


def test_signature_is_hmac_sha256_of_spec_and_id_in_base64url() -> None:
    digest = hmac.new(NEW.encode(), b"w=640/abc123", hashlib.sha256).digest()
    assert signature(NEW, "w=640", "abc123") == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert "=" not in signature(NEW, "w=640", "abc123")


def test_rotation_signs_with_the_first_key_and_accepts_every_key() -> None:
    rotating = Signer([NEW, OLD])
    assert rotating.sign("w=640", "abc") == signature(NEW, "w=640", "abc")
    rotating.verify(signature(OLD, "w=640", "abc"), "w=640", "abc")
    rotating.verify(signature(NEW, "w=640", "abc"), "w=640", "abc")


def test_a_retired_key_no_longer_verifies() -> None:
    with pytest.raises(InvalidSignature):
        Signer([NEW]).verify(signature(OLD, "w=640", "abc"), "w=640", "abc")


@pytest.mark.parametrize(
    ("sig", "spec", "image_id"),
    [
        (signature(NEW, "w=640", "abc"), "w=641", "abc"),  # other spec
        (signature(NEW, "w=640", "abc"), "w=640", "abd"),  # other image
        (signature(NEW, "w=640", "abc")[:-1], "w=640", "abc"),  # truncated
        (signature(NEW, "w=640", "abc") + "A", "w=640", "abc"),  # extended
        ("", "w=640", "abc"),
        ("é" * 43, "w=640", "abc"),  # non-ASCII compares (and fails) too
    ],
)
def test_anything_else_is_refused(sig: str, spec: str, image_id: str) -> None:
    signer = Signer([NEW])
    with pytest.raises(InvalidSignature) as caught:
        signer.verify(sig, spec, image_id)
    assert caught.value.http_status == 403


def test_short_keys_are_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="at least 32"):
        Signer(["short"])


def test_without_keys_transforms_are_disabled() -> None:
    signer = Signer([])
    assert not signer.enabled
    with pytest.raises(TransformsDisabled):
        signer.sign("w=640", "abc")
    with pytest.raises(TransformsDisabled):
        signer.verify("x", "w=640", "abc")


def test_path_carries_signature_spec_and_id() -> None:
    spec = "w=9,h=9,fit=cover,g=fp:1:2,dpr=1.5"
    assert Signer([NEW]).path(spec, "abc") == f"/t/{signature(NEW, spec, 'abc')}/{spec}/abc"
