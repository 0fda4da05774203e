"""The signature circuit: the secretary gives the visa, the mayor signs with a PKCS#12 certificate (PAdES, checked by
pyHanko's validator), the signed PDF is what the TdT receives; a wrong passphrase, an expired certificate, a
signature before the visa, or a person without ``actes.sign`` are refused and nothing is signed."""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import io
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import make_act


def pkcs12(passphrase: str, *, days_before: int = 1, days_after: int = 365, name: str = "Maire d'Ailleville") -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12 as p12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Commune d'Ailleville")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=days_before))
            .not_valid_after(now + dt.timedelta(days=days_after))
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    # 2 048 key-derivation rounds, as the certificates authorities' .p12 files use (cryptography's default is far more)
    encryption = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
                  .key_cert_algorithm(p12.PBES.PBESv2SHA256AndAES256CBC).hmac_hash(hashes.SHA256())
                  .build(passphrase.encode()))
    return p12.serialize_key_and_certificates(b"maire", key, cert, None, encryption)


def _post(client, url, data=None, **kw):
    return client.post(url, data or {}, csrf_from=url.rsplit("/", 1)[0], content_type="multipart/form-data", **kw)


def _act(app, act_id):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.actes import operations
    from services.actes.models import Act

    with app.app_context(), territory_scope(None):
        a = db.session.get(Act, act_id)
        signed = a.file("signed")
        return {"signed": operations.read_file(signed) if signed else None, "visa": a.visa_at,
                "signed_at": a.signed_at, "status": a.status}


def _validate(data: bytes):
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature

    [sig] = PdfFileReader(io.BytesIO(data)).embedded_signatures
    # pyHanko validates with asyncio.run(): in a thread of its own, since the browser tests of the same process may
    # leave an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return sig, pool.submit(validate_pdf_signature, sig).result()


def test_visa_then_pades_signature_then_the_signed_pdf_is_sent(app, actes_world, login_as, tdt):
    act_id = make_act(app, actes_world.a, subject="Budget primitif")
    secretary, mayor = login_as("secretary_a"), login_as("mayor_a")
    # No signature before the visa.
    resp = _post(mayor, f"/s/actes/{act_id}/signer", {"passphrase": "phrase-secrete",
                                                      "certificate": (io.BytesIO(pkcs12("phrase-secrete")), "m.p12")})
    assert resp.status_code == 302 and _act(app, act_id)["signed"] is None
    assert _post(secretary, f"/s/actes/{act_id}/visa").status_code == 302
    assert _act(app, act_id)["visa"] is not None
    assert _post(secretary, f"/s/actes/{act_id}/signer", {"passphrase": "x"}).status_code == 403
    resp = _post(mayor, f"/s/actes/{act_id}/signer", {"passphrase": "phrase-secrete",
                                                      "certificate": (io.BytesIO(pkcs12("phrase-secrete")), "m.p12")})
    assert resp.status_code == 302
    signed = _act(app, act_id)["signed"]
    sig, status = _validate(signed)
    assert status.intact and status.valid  # cryptographically sound (the test certificate is not trusted)
    assert sig.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert "Maire d'Ailleville" in html.unescape(mayor.get(f"/s/actes/{act_id}").get_data(as_text=True))
    assert _post(mayor, f"/s/actes/{act_id}/envoyer").status_code == 302
    [tx] = tdt.transactions.values()
    sent = next(d for name, _f, d in tx["files"] if name == "acte_pdf_file")
    assert hashlib.sha256(sent).hexdigest() == hashlib.sha256(signed).hexdigest()


def test_the_kept_certificate_signs_the_next_act_with_the_passphrase_only(app, actes_world, login_as):
    mayor = login_as("mayor_a")
    first, second = make_act(app, actes_world.a, number="A1"), make_act(app, actes_world.a, number="A2")
    for act_id in (first, second):
        assert _post(mayor, f"/s/actes/{act_id}/visa").status_code == 302
    _post(mayor, f"/s/actes/{first}/signer", {"passphrase": "pp-1", "certificate": (io.BytesIO(pkcs12("pp-1")), "m.p12")})
    assert _act(app, first)["signed"] is not None
    page = html.unescape(mayor.get(f"/s/actes/{second}").get_data(as_text=True))
    assert "Votre certificat" in page
    _post(mayor, f"/s/actes/{second}/signer", {"passphrase": "pp-1"})
    assert _validate(_act(app, second)["signed"])[1].intact


@pytest.mark.parametrize("p12, passphrase, message", [
    (lambda: pkcs12("bonne-phrase"), "mauvaise-phrase", "ne peut pas être ouvert"),
    (lambda: pkcs12("pp", days_before=400, days_after=-2), "pp", "a expiré"),
    (lambda: b"not a pkcs12 file", "pp", "ne peut pas être ouvert"),
], ids=["wrong-passphrase", "expired", "not-pkcs12"])
def test_bad_certificates_are_refused_and_nothing_is_signed(app, actes_world, login_as, p12, passphrase, message):
    from portal.extensions import db
    from services.actes.models import SignerCertificate

    act_id = make_act(app, actes_world.a)
    mayor = login_as("mayor_a")
    _post(mayor, f"/s/actes/{act_id}/visa")
    resp = _post(mayor, f"/s/actes/{act_id}/signer", {"passphrase": passphrase,
                                                      "certificate": (io.BytesIO(p12()), "m.p12")},
                 follow_redirects=True)
    assert message in html.unescape(resp.get_data(as_text=True))
    assert _act(app, act_id)["signed"] is None
    with app.app_context():
        assert db.session.query(SignerCertificate).count() == 0


def test_signing_works_when_the_caller_runs_an_event_loop(app):
    """pyHanko runs asyncio.run(): under a running loop (an async server, Playwright in the same process) the
    signature is made in a thread of its own instead of failing."""
    import asyncio

    from services.actes import signature

    from .fixtures import make_pdf

    with app.test_request_context():
        signer, _subject, _until = signature.load_signer(pkcs12("pp"), "pp")

        async def inside_a_loop():
            return signature.sign_pdf(make_pdf(), signer, name="Maire", location="Ailleville", reason="test")

        # The loop is started in a thread of the test's own: the browser tests of the same process may leave one
        # running in this thread, where asyncio.run() would refuse to start.
        with ThreadPoolExecutor(max_workers=1) as pool:
            signed = pool.submit(asyncio.run, inside_a_loop()).result()
        assert _validate(signed)[1].intact
