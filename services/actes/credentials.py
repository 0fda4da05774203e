"""Each collectivity's TLS client certificate on the TdT (the department, as tiers de télétransmission, holds them):
read from the uploaded file, kept encrypted, and the connector that authenticates a collectivity's transmissions.

- :func:`read_credential` reads a PKCS#12 file (``.p12``/``.pfx``, with its password) or a PEM file holding the
  certificate and its private key, with ``cryptography``; refused with a French message: unreadable file, wrong
  password, a key that is not the certificate's, an expired certificate;
- the certificate and its key are kept as PEM sealed with AES-256-GCM (:func:`seal`), under the installation's
  key-encryption key — ``ACTES_CREDENTIAL_KEY`` (32 bytes, base64) or, when unset, a key derived from
  ``SECRET_KEY`` — bound to the collectivity (associated data), never in clear in the database or its backups.
  Unlike a signer's PKCS#12 (opened by the passphrase the signer types), the TdT certificate is used by the
  background tasks, so the installation must be able to open it;
- :func:`connector_for` gives the S²LOW adapter of a collectivity: its own certificate when the department holds
  one (an expired one is refused before anything leaves, :class:`CertificateExpired`), otherwise the department's
  certificate of the settings (``ACTES_TDT_CLIENT_CERT``) when ``ACTES_TDT_DEPARTMENT_FALLBACK`` allows it.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs12
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from portal.extensions import db
from portal.identity import today as local_today
from portal.models import Collectivity
from portal.security import key_from_setting
from portal.settings import setting

from . import tdt
from .models import TdtAccount

log = logging.getLogger(__name__)

MAGIC = b"ACRED1"
MAX_BYTES = 64 * 1024


class CertificateExpired(tdt.TdtRefused):
    """The collectivity's certificate is expired: nothing is sent (``str(exc)`` in French)."""


class NoCertificate(tdt.TdtRefused):
    """Neither the collectivity's certificate nor (allowed) the department's: nothing is sent."""


@dataclass
class Credential:
    pem: bytes  # certificate then private key (PKCS#8), PEM, in clear: only in memory
    subject: str
    holder: str
    serial: str
    issuer: str
    not_after: dt.datetime


def _key_encryption_key() -> bytes:
    return key_from_setting("ACTES_CREDENTIAL_KEY", salt=b"extranet-actes", info=b"tdt-credential")


def _aad(collectivity_id: int) -> bytes:
    return f"actes-tdt-credential:{collectivity_id}".encode()


def seal(pem: bytes, collectivity_id: int) -> bytes:
    nonce = os.urandom(12)
    return MAGIC + nonce + AESGCM(_key_encryption_key()).encrypt(nonce, pem, _aad(collectivity_id))


def unseal(blob: bytes, collectivity_id: int) -> bytes:
    if not blob.startswith(MAGIC):
        raise ValueError("not a sealed TdT credential")
    nonce, ciphertext = blob[len(MAGIC):len(MAGIC) + 12], blob[len(MAGIC) + 12:]
    return AESGCM(_key_encryption_key()).decrypt(nonce, ciphertext, _aad(collectivity_id))


def read_credential(data: bytes, password: str = "", *, today: dt.date | None = None) -> Credential:
    """The certificate and key of an uploaded PKCS#12 or PEM file; ``ValueError`` with a French message."""
    from .tdt_accounts import read_certificate

    today = today or local_today()
    if not data:
        raise ValueError(_("The certificate file is empty."))
    if len(data) > MAX_BYTES:
        raise ValueError(_("This file is too large to be a certificate."))
    if b"-----BEGIN" in data:
        if b"PRIVATE KEY" not in data or b"-----BEGIN CERTIFICATE-----" not in data:
            raise ValueError(_("The PEM file must hold the certificate and its private key."))
        try:
            cert = x509.load_pem_x509_certificate(data)
            key = serialization.load_pem_private_key(data, password.encode() if password else None)
        except (ValueError, TypeError) as exc:
            raise ValueError(_("The certificate or its private key cannot be read (a key protected by a password "
                               "needs it).")) from exc
    else:
        try:
            key, cert, _chain = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
        except (ValueError, TypeError) as exc:
            raise ValueError(_("The PKCS#12 file cannot be opened with this password.")) from exc
        if key is None or cert is None:
            raise ValueError(_("The PKCS#12 file must hold the certificate and its private key."))
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, public)
            != cert.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise ValueError(_("The private key is not the certificate's."))
    info = read_certificate(cert.public_bytes(serialization.Encoding.PEM))
    if info.not_after.date() < today:
        raise ValueError(_("This certificate expired on %(date)s: ask the certification authority for its renewal "
                           "and send the new one.", date=format_date(info.not_after.date(), "dd/MM/yyyy")))
    pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return Credential(pem=pem, subject=info.subject, holder=info.holder, serial=info.serial, issuer=info.issuer,
                      not_after=info.not_after)


def store(acc: TdtAccount, cred: Credential) -> None:
    acc.client_credential = seal(cred.pem, acc.collectivity_id)
    acc.client_certificate_subject = cred.subject
    acc.client_certificate_expires_on = cred.not_after.date()


def _settings_kwargs() -> dict:
    return {"ca_file": setting("ACTES_TDT_CA_FILE") or None, "login": setting("ACTES_TDT_LOGIN"),
            "password": setting("ACTES_TDT_PASSWORD"), "timeout": setting("ACTES_TDT_TIMEOUT")}


def connector_for(coll: Collectivity | None, *, today: dt.date | None = None) -> tdt.Connector:
    """The TdT adapter authenticated as ``coll`` (its own certificate), else as the department when allowed."""
    today = today or local_today(coll)
    acc = db.session.scalar(select(TdtAccount).where(TdtAccount.collectivity_id == coll.id)) if coll else None
    if acc is not None and acc.client_credential:
        if acc.client_certificate_expires_on and acc.client_certificate_expires_on < today:
            raise CertificateExpired(_(
                "The certificate of %(name)s on the TdT expired on %(date)s: nothing was sent. The department must "
                "install its renewed certificate, then the act can be sent again.", name=coll.name,
                date=format_date(acc.client_certificate_expires_on, "dd/MM/yyyy")))
        url = setting("ACTES_TDT_URL")
        if not url:
            raise tdt.TdtUnavailable("ACTES_TDT_URL is not set")
        try:
            pem = unseal(acc.client_credential, acc.collectivity_id)
        except Exception as exc:  # noqa: BLE001 - InvalidTag or a changed key: the operator must know
            raise tdt.TdtUnavailable(f"TdT certificate of collectivity {coll.id} cannot be opened: {exc!r}") from exc
        try:
            return tdt.S2low(url, cert_pem=pem, **_settings_kwargs())
        except (OSError, ValueError) as exc:
            raise tdt.TdtUnavailable(f"TdT certificate of collectivity {coll.id} cannot be loaded: {exc}") from exc
    if coll is not None and not setting("ACTES_TDT_DEPARTMENT_FALLBACK"):
        raise NoCertificate(_("The department holds no certificate of %(name)s for the TdT: nothing was sent. Ask "
                              "the department to install it.", name=coll.name))
    return tdt.connector()


def connectors() -> list[tuple[int | None, tdt.Connector]]:
    """Every identity on the TdT the tasks read the préfecture's documents with: each collectivity whose certificate
    is held and valid, and the department's certificate (settings) when one is configured."""
    out: list[tuple[int | None, tdt.Connector]] = []
    rows = db.session.scalars(select(TdtAccount).where(TdtAccount.client_credential.is_not(None))
                              .order_by(TdtAccount.id)).all()
    for acc in rows:
        try:
            out.append((acc.collectivity_id, connector_for(acc.collectivity)))
        except tdt.TdtError:
            continue
    if setting("ACTES_TDT_CLIENT_CERT") or not out:
        try:
            out.append((None, tdt.connector()))
        except tdt.TdtError as exc:
            log.warning("actes: the department's TdT connector is not available: %s", exc)
    return out
