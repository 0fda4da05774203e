"""The signature circuit (« parapheur »): the visa of the secretary, then the PAdES signature of the act's PDF by
the mayor or a deputy with their certificate (PKCS#12), using pyHanko. The signed PDF is what is sent to the
préfecture and what is stamped and published.

The PKCS#12 file is kept as uploaded (``SignerCertificate``): it is encrypted by the signer's passphrase, which is
never stored — the signer types it at each signature. An expired (or not yet valid) certificate, a wrong passphrase
or a file that is not a PKCS#12 are refused with a French message; nothing is signed.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
from concurrent.futures import ThreadPoolExecutor

from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit
from portal.extensions import db
from portal.models import utcnow

from .models import Act, SignerCertificate
from .operations import add_file, read_file
from .transmission import ActionRefused

log = logging.getLogger(__name__)


def load_signer(pkcs12: bytes, passphrase: str, now: dt.datetime | None = None):
    """(pyHanko signer, subject, not_after) of a PKCS#12 file, or :class:`ActionRefused`."""
    from pyhanko.sign import signers

    try:
        signer = signers.SimpleSigner.load_pkcs12_data(pkcs12, other_certs=[],
                                                       passphrase=passphrase.encode() if passphrase else None)
    except Exception as exc:  # noqa: BLE001 - pyHanko/cryptography raise many kinds for a bad file or passphrase
        log.info("actes: PKCS#12 not opened: %s", exc)
        signer = None
    if signer is None:
        raise ActionRefused(_("The certificate file cannot be opened with this passphrase."))
    cert = signer.signing_cert
    validity = cert["tbs_certificate"]["validity"]
    not_before = validity["not_before"].native.replace(tzinfo=None)
    not_after = validity["not_after"].native.replace(tzinfo=None)
    now = now or utcnow()
    if now > not_after:
        raise ActionRefused(_("The certificate expired on %(date)s; ask for a new one.",
                              date=not_after.strftime("%d/%m/%Y")))
    if now < not_before:
        raise ActionRefused(_("The certificate is not valid before %(date)s.", date=not_before.strftime("%d/%m/%Y")))
    return signer, cert.subject.human_friendly, not_after


def sign_pdf(data: bytes, signer, *, name: str, location: str, reason: str) -> bytes:
    """The PDF with a PAdES signature (ETSI.CAdES.detached) added as an incremental update."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    def work() -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
        meta = signers.PdfSignatureMetadata(field_name="SignatureMaire", subfilter=fields.SigSeedSubFilter.PADES,
                                            name=name, location=location, reason=reason)
        return signers.sign_pdf(writer, meta, signer=signer).getvalue()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    # pyHanko runs its own event loop (asyncio.run): under a caller that already runs one (an async server, a
    # browser-driving test), sign in a thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work).result()


def give_visa(act: Act, user) -> None:
    if act.status != "draft":
        raise ActionRefused(_("Only a draft can be checked and approved."))
    act.visa_by_id, act.visa_at = user.id, utcnow()
    audit.record("actes.act_visa", target=act, collectivity=act.collectivity, user=user, number=act.number)


def stored_certificate(act: Act, user) -> SignerCertificate | None:
    return db.session.scalar(select(SignerCertificate).where(SignerCertificate.user_id == user.id,
                                                             SignerCertificate.collectivity_id == act.collectivity_id))


def sign(act: Act, user, passphrase: str, pkcs12: bytes | None = None) -> None:
    """Sign the act's PDF; ``pkcs12`` replaces the signer's kept certificate, else the kept one is used."""
    if act.status != "draft" or act.file("signed") is not None:
        raise ActionRefused(_("Only a draft not yet signed can be signed."))
    if act.visa_at is None:
        raise ActionRefused(_("The act must first be approved (visa) by the secretary."))
    kept = stored_certificate(act, user)
    data = pkcs12 or (kept.pkcs12 if kept else None)
    if not data:
        raise ActionRefused(_("Add your certificate (PKCS#12 file, .p12 or .pfx)."))
    signer, subject, not_after = load_signer(data, passphrase)
    if pkcs12:
        if kept is None:
            kept = SignerCertificate(user_id=user.id, collectivity_id=act.collectivity_id)
            db.session.add(kept)
        kept.pkcs12, kept.subject, kept.not_after, kept.uploaded_at = pkcs12, subject, not_after, utcnow()
    main = act.file("act")
    signed = sign_pdf(read_file(main), signer, name=user.full_name or user.email,
                      location=act.collectivity.name, reason=_("Signature of act %(n)s", n=act.number))
    add_file(act, "signed", f"{act.number}-signe.pdf", signed, main.piece_type, mimetype="application/pdf")
    act.signed_by_id, act.signed_at, act.signer_name = user.id, utcnow(), subject[:200]
    audit.record("actes.act_signed", target=act, collectivity=act.collectivity, user=user, number=act.number)

