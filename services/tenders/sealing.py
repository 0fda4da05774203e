"""Sealing of the bids: what a company deposits is unreadable by anyone until the consultation's deadline.

- Each consultation gets an RSA-3072 key pair (:func:`consultation_key`) the first time a bid arrives. The public key
  seals; the private key is itself encrypted (AES-256-GCM) with the **key-encryption key** of the installation —
  ``TENDERS_SEAL_KEY`` (32 random bytes, base64), or, when unset, a key derived from ``SECRET_KEY`` — which is kept
  in the configuration, never in the database. A database administrator or a backup therefore holds sealed files and
  a sealed private key, nothing readable.
- A file is sealed with a fresh AES-256-GCM data key; the data key is wrapped with RSA-OAEP (SHA-256). Since the
  deposit streams (:class:`SealingWriter`: encrypted as it arrives, never written in clear, never held twice), the
  stored blob is ``SEAL2 | len(wrapped) | wrapped key | nonce | ciphertext of (content + its SHA-256) | tag``: one
  GCM stream fed chunk by chunk, the associated data binding it to the tender, the plaintext's SHA-256 (known only at
  the end) sealed inside, so a changed, truncated or swapped file does not open. Blobs of the first format
  (``SEAL1 | len | wrapped | nonce | ciphertext+tag``, the SHA-256 in the associated data) still open.
- :func:`private_key` releases the private key only once the deadline has passed (server clock, UTC); before, it
  raises :class:`Sealed` whoever asks. Staff with every permission cannot open a bid early through the portal; the
  operator who holds the configuration is the one party the design must trust (stated in the README).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import struct

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from portal.security import key_from_setting

MAGIC = b"SEAL1"
MAGIC2 = b"SEAL2"
TAG = 16
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class Sealed(Exception):
    """The consultation's private key is not released yet (deadline not passed)."""


class Broken(Exception):
    """A sealed file does not open with its key, or its content does not match the recorded SHA-256."""


def key_encryption_key() -> bytes:
    return key_from_setting("TENDERS_SEAL_KEY", salt=b"extranet-tenders", info=b"seal-kek")


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


class SealingWriter:
    """Seal a file as it arrives: each chunk given to :meth:`write` is hashed (SHA-256 of the plaintext) and
    encrypted (AES-256-GCM, one stream) straight into ``sink`` (a callable taking bytes: the storage file's write),
    so the plaintext is never written anywhere and no chunk is copied twice. :meth:`finish` seals the SHA-256 after
    the content, writes the tag and returns the SHA-256 (hex); ``sealed_sha256`` and ``sealed_size`` describe the
    bytes given to ``sink``.

    hashlib and the ``cryptography`` ciphers run in C and release the GIL on large buffers: a gunicorn thread
    sealing one upload does not hold the others."""

    def __init__(self, public_pem: bytes, tender_id: int, sink) -> None:
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        wrapped = _public_key(public_pem).encrypt(data_key, OAEP)
        self._enc = Cipher(algorithms.AES(data_key), modes.GCM(nonce)).encryptor()
        self._enc.authenticate_additional_data(f"bid2:{tender_id}".encode())
        self._plain, self._sealed, self._sink = hashlib.sha256(), hashlib.sha256(), sink
        self.size = self.sealed_size = 0
        self.sha256 = ""
        self._out(MAGIC2 + struct.pack(">H", len(wrapped)) + wrapped + nonce)

    def _out(self, data: bytes) -> None:
        self._sealed.update(data)
        self.sealed_size += len(data)
        self._sink(data)

    def write(self, data) -> int:
        self._plain.update(data)
        self.size += len(data)
        self._out(self._enc.update(data))
        return len(data)

    def plain_sha256(self) -> str:
        """The SHA-256 (hex) of what was written so far, without closing the seal."""
        return self._plain.copy().hexdigest()

    def finish(self) -> str:
        digest = self._plain.digest()
        self._out(self._enc.update(digest) + self._enc.finalize() + self._enc.tag)
        self.sha256 = digest.hex()
        return self.sha256

    @property
    def sealed_sha256(self) -> str:
        return self._sealed.hexdigest()


_PUBLIC_KEYS: dict[bytes, object] = {}


def _public_key(public_pem: bytes):
    """The loaded public key (parsed once per consultation and process: a rush brings the same key 50 times)."""
    key = _PUBLIC_KEYS.get(public_pem)
    if key is None:
        if len(_PUBLIC_KEYS) > 256:
            _PUBLIC_KEYS.clear()
        key = _PUBLIC_KEYS[public_pem] = serialization.load_pem_public_key(public_pem)
    return key


def seal(public_pem: bytes, data: bytes, tender_id: int) -> tuple[bytes, str]:
    """(sealed blob, SHA-256 of ``data``): :class:`SealingWriter` on bytes held in memory."""
    parts: list[bytes] = []
    writer = SealingWriter(public_pem, tender_id, parts.append)
    view = memoryview(data)
    for start in range(0, len(data), CHUNK):
        writer.write(view[start:start + CHUNK])
    digest = writer.finish()
    return b"".join(parts), digest


CHUNK = 1024 * 1024


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

    if blob[:5] == MAGIC2:
        return _unseal2(private, blob, tender_id, sha256)
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


def _unseal2(private, blob: bytes, tender_id: int, sha256: str) -> bytes:
    from cryptography.exceptions import InvalidTag

    try:
        (size,) = struct.unpack(">H", blob[5:7])
        wrapped, nonce = blob[7:7 + size], blob[7 + size:19 + size]
        body = memoryview(blob)[19 + size:]
        if len(body) < TAG + 32:
            raise ValueError("truncated sealed file")
        data_key = private.decrypt(wrapped, OAEP)
        dec = Cipher(algorithms.AES(data_key), modes.GCM(nonce, bytes(body[-TAG:]))).decryptor()
        dec.authenticate_additional_data(f"bid2:{tender_id}".encode())
        out = bytearray(len(body) - TAG + 15)  # update_into wants room for a block more than it is given
        n = dec.update_into(body[:-TAG], out)
        dec.finalize()
    except (InvalidTag, ValueError, struct.error) as exc:
        raise Broken(f"sealed file of tender {tender_id} does not open: {exc!r}") from exc
    data, sealed_digest = bytes(out[:n - 32]), bytes(out[n - 32:n])
    if sealed_digest.hex() != sha256 or hashlib.sha256(data).hexdigest() != sha256:
        raise Broken(f"sealed file of tender {tender_id} does not match its SHA-256")
    return data
