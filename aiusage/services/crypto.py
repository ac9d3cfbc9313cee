"""Provider keys at rest: AES-256-GCM, a random 96-bit nonce per seal, and the owner and
provider bound in as associated data (a ciphertext moved to another row will not open).

The master key comes from configuration with a key id, so it can be rotated: new seals use
the active key; old key ids still open until `aiusage keys rotate-master` re-seals them."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from aiusage.config import get_settings


class SealError(Exception):
    """A sealed secret could not be opened (unknown key id, or tampered). No secret inside."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


@functools.lru_cache(maxsize=8)
def _cipher(master_key: bytes) -> AESGCM:
    # Building the cipher (key schedule) cost more than the decryption on the proxy's path.
    return AESGCM(master_key)


def provider_key_aad(user_id: int, provider: str) -> bytes:
    return f"aiusage/provider-key/v1/{user_id}/{provider}".encode()


def seal(plaintext: str, user_id: int, provider: str) -> Sealed:
    return seal_with(plaintext, provider_key_aad(user_id, provider))


def open_sealed(sealed: Sealed, user_id: int, provider: str) -> str:
    return open_with(sealed, provider_key_aad(user_id, provider))


def seal_with(plaintext: str, aad: bytes) -> Sealed:
    """Seals any secret with the active master key; `aad` says what it is and whose (other
    secrets than provider keys, e.g. TOTP secrets, bind their own purpose in)."""
    settings = get_settings()
    key_id = settings.active_key_id
    nonce = os.urandom(12)
    ciphertext = _cipher(settings.encryption_keyring[key_id]).encrypt(
        nonce, plaintext.encode(), aad
    )
    return Sealed(key_id, nonce, ciphertext)


def open_with(sealed: Sealed, aad: bytes) -> str:
    key = get_settings().encryption_keyring.get(sealed.key_id)
    if key is None:
        raise SealError(f"master key {sealed.key_id!r} is not configured")
    try:
        return _cipher(key).decrypt(sealed.nonce, sealed.ciphertext, aad).decode()
    except InvalidTag:
        raise SealError("sealed secret failed authentication") from None


class SealedColumns(Protocol):
    """A stored row holding one sealed secret (provider keys, TOTP secrets)."""

    master_key_id: str
    nonce: bytes
    ciphertext: bytes


def reseal(row: SealedColumns, aad: bytes) -> None:
    """Opens the row's secret and seals it again under the active master key, bound to the
    same `aad` (a master-key rotation): the one place a stored secret is ever re-sealed."""
    sealed = seal_with(open_with(Sealed(row.master_key_id, row.nonce, row.ciphertext), aad), aad)
    row.master_key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
