"""Sealing of the bids: what a company deposits is unreadable by anyone until the consultation's deadline.

- Each consultation gets an RSA-3072 key pair (:func:`consultation_key`) the first time a bid arrives. The public key
  seals; the private key is itself encrypted (AES-256-GCM) with the **key-encryption key** of the installation —
  ``TENDERS_SEAL_KEY`` (32 random bytes, base64), or, when unset, a key derived from ``SECRET_KEY`` — which is kept
  in the configuration, never in the database. A database administrator or a backup therefore holds sealed files and
  a sealed private key, nothing readable.
- A file is sealed with a fresh AES-256-GCM data key; the data key is wrapped with RSA-OAEP (SHA-256). The stored blob
  is ``SEAL1 | len(wrapped) | wrapped key | nonce | ciphertext``; the GCM tag authenticates the content and the
  associated data (tender id and the file's SHA-256), so a changed or swapped file does not open.
- :func:`private_key` releases the private key only once the deadline has passed (server clock, UTC); before, it
  raises :class:`Sealed` whoever asks. Staff with every permission cannot open a bid early through the portal; the
  operator who holds the configuration is the one party the design must trust (stated in the README).
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from portal.settings import setting

MAGIC = b"SEAL1"
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class Sealed(Exception):
    """The consultation's private key is not released yet (deadline not passed)."""


class Broken(Exception):
    """A sealed file does not open with its key, or its content does not match the recorded SHA-256."""


def key_encryption_key() -> bytes:
    configured = setting("TENDERS_SEAL_KEY")
    if configured:
        key = base64.b64decode(configured)
        if len(key) != 32:
            raise ValueError("TENDERS_SEAL_KEY must be 32 bytes, base64-encoded")
        return key
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"extranet-tenders", info=b"seal-kek").derive(secret)


def new_key_pair(tender_id: int) -> tuple[bytes, bytes]:
    """(public key PEM, private key PEM sealed with the key-encryption key) for a consultation."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    nonce = os.urandom(12)
    sealed = nonce + AESGCM(key_encryption_key()).encrypt(nonce, pem, f"tender-key:{tender_id}".encode())
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return public, sealed


def seal(public_pem: bytes, data: bytes, tender_id: int) -> tuple[bytes, str]:
    """(sealed blob, SHA-256 of ``data``)."""
    digest = hashlib.sha256(data).hexdigest()
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    ciphertext = AESGCM(data_key).encrypt(nonce, data, f"bid:{tender_id}:{digest}".encode())
    wrapped = serialization.load_pem_public_key(public_pem).encrypt(data_key, OAEP)
    return MAGIC + struct.pack(">H", len(wrapped)) + wrapped + nonce + ciphertext, digest


def private_key(tender_id: int, sealed_private: bytes, deadline_utc: dt.datetime, now_utc: dt.datetime):
    """The consultation's private key, once ``now_utc`` has reached the deadline; :class:`Sealed` before."""
    if now_utc < deadline_utc:
        raise Sealed(f"tender {tender_id}: the deadline {deadline_utc.isoformat()} has not passed")
    nonce, ciphertext = sealed_private[:12], sealed_private[12:]
    pem = AESGCM(key_encryption_key()).decrypt(nonce, ciphertext, f"tender-key:{tender_id}".encode())
    # The PEM comes out of an authenticated decryption with the installation's key: it is the key this module
    # generated, so the costly RSA consistency checks (about a second for 3072 bits) are skipped.
    return serialization.load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)


def unseal(private, blob: bytes, tender_id: int, sha256: str) -> bytes:
    """The plaintext of a sealed blob, checked against the SHA-256 recorded at deposit; :class:`Broken` otherwise."""
    from cryptography.exceptions import InvalidTag

    try:
        if not blob.startswith(MAGIC):
            raise ValueError("not a sealed file")
        (size,) = struct.unpack(">H", blob[5:7])
        wrapped, nonce, ciphertext = blob[7:7 + size], blob[7 + size:19 + size], blob[19 + size:]
        data_key = private.decrypt(wrapped, OAEP)
        data = AESGCM(data_key).decrypt(nonce, ciphertext, f"bid:{tender_id}:{sha256}".encode())
    except (InvalidTag, ValueError, struct.error) as exc:
        raise Broken(f"sealed file of tender {tender_id} does not open: {exc!r}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise Broken(f"sealed file of tender {tender_id} does not match its SHA-256")
    return data
