"""Electronic deposit of bids: company accounts (SIRET, confirmed address), the deadline to the second in Paris time,
sealing at rest (no plaintext stored, the key unreleased before the deadline), replacement kept in the register,
receipts (PDF and e-mail with each file's SHA-256)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
from pathlib import Path

import pytest

from tests.helpers.clock import legal_wall

from .conftest import real_pdf
from .test_documents_public_award import wait_for_mail

MARKER = "OFFRE-SECRETE-CHARPENTE-4242"


def _company(app, email="devis@couvreur.test.example.org", confirmed=True, name="Couverture Auboise SARL") -> int:
    from portal.extensions import db
    from portal.security import hash_password
    from services.tenders.companies import Company

    with app.app_context():
        c = Company(name=name, siret="73282932000074", email=email,
                    password_hash=hash_password("Tuiles-plates-du-clocher-1887"),
                    confirmed_at=dt.datetime(2026, 1, 1) if confirmed else None)
        db.session.add(c)
        db.session.commit()
        return c.id


def _deposit(app, tid, company_id, at, files=None):
    from portal.extensions import db
    from services.tenders import deposits
    from services.tenders.companies import Company
    from services.tenders.models import Tender

    with app.app_context():
        t, c = db.session.get(Tender, tid), db.session.get(Company, company_id)
        try:
            bid = deposits.deposit(t, c, files or [("offre", "offre.pdf", real_pdf(MARKER))], at=at)
        except deposits.DepositRefused:
            db.session.rollback()
            raise
        db.session.commit()
        return bid.id


def _deadline_utc(app, tid) -> dt.datetime:
    from portal.extensions import db
    from services.tenders import deposits
    from services.tenders.models import Tender

    with app.app_context():
        return deposits.deadline_utc(db.session.get(Tender, tid))


def test_siret_is_checked_for_format_and_luhn_key():
    from services.tenders.companies import luhn_ok, siret_ok

    assert siret_ok("73282932000074")
    assert not siret_ok("73282932000075") and not siret_ok("7328293200007") and not siret_ok("7328293200007A")
    la_poste = "35600000000015"  # La Poste's establishments: sum of the digits multiple of 5, not Luhn
    assert not luhn_ok(la_poste) and siret_ok(la_poste) and not siret_ok("35600000000016")


def test_deadline_is_paris_time_in_winter_and_in_summer(app, published):
    from portal.extensions import db
    from services.tenders import deposits
    from services.tenders.models import Tender

    _mayor, tid = published
    with app.app_context():
        t = db.session.get(Tender, tid)
        t.reception_deadline = dt.datetime(2027, 1, 15, 12, 0)
        assert deposits.deadline_utc(t) == dt.datetime(2027, 1, 15, 11, 0, tzinfo=dt.timezone.utc)
        t.reception_deadline = dt.datetime(2027, 7, 1, 12, 0)
        assert deposits.deadline_utc(t) == dt.datetime(2027, 7, 1, 10, 0, tzinfo=dt.timezone.utc)
        # the night the clocks go back (31 October 2027): 02:30 happens twice; the first one (summer time) counts
        t.reception_deadline = dt.datetime(2027, 10, 31, 2, 30)
        assert deposits.deadline_utc(t) == dt.datetime(2027, 10, 31, 0, 30, tzinfo=dt.timezone.utc)
        db.session.rollback()


def _late(app, bid_id) -> bool:
    from portal.extensions import db
    from services.tenders.deposits import Bid

    with app.app_context():
        return db.session.get(Bid, bid_id).late


def test_a_deposit_one_second_before_the_deadline_is_in_time_one_second_after_is_kept_out_of_time(app, published):
    """The arrêté of 22 March 2019 on buyer profiles (I, 5°): the profile receives and keeps offers « y compris hors
    délais »; R2151-5 eliminates them. A late deposit is recorded, marked late, and replaces nothing."""
    from portal.extensions import db
    from services.tenders import deposits, opening
    from services.tenders.models import Tender

    _mayor, tid = published
    company = _company(app)
    deadline = _deadline_utc(app, tid)
    in_time = _deposit(app, tid, company, deadline - dt.timedelta(seconds=1))
    after = _deposit(app, tid, company, deadline + dt.timedelta(seconds=1))
    at_deadline = _deposit(app, tid, company, deadline)  # at the deadline itself: already late
    assert not _late(app, in_time) and _late(app, after) and _late(app, at_deadline)
    with app.app_context():
        t = db.session.get(Tender, tid)
        assert [b.id for b in deposits.register_of(t)] == [in_time, at_deadline, after]  # in order of receipt
        assert [b.id for b in opening.valid_bids(t)] == [in_time]  # the late ones replace nothing
        first = db.session.get(deposits.Bid, in_time)
        assert first.superseded_at is None and first.state_fr == "valide"
        assert db.session.get(deposits.Bid, after).state_fr == "hors délai"


def test_an_ended_consultation_receives_nothing(app, published):
    from flask_babel import force_locale

    from portal.extensions import db
    from services.tenders.deposits import DepositRefused
    from services.tenders.models import Tender

    _mayor, tid = published
    company = _company(app)
    with app.app_context():
        db.session.get(Tender, tid).status = "discontinued"
        db.session.commit()
    with pytest.raises(DepositRefused) as refused:
        _deposit(app, tid, company, _deadline_utc(app, tid) - dt.timedelta(hours=1))
    with app.test_request_context(), force_locale("fr"):
        assert "ne reçoit plus d'offres" in str(refused.value.message)


def test_stored_bytes_hold_no_plaintext_and_the_key_stays_sealed_until_the_deadline(app, published):
    from portal.extensions import db
    from services.tenders import deposits, sealing, storage
    from services.tenders.models import Tender

    _mayor, tid = published
    company = _company(app)
    offer = real_pdf(MARKER)
    deadline = _deadline_utc(app, tid)
    bid_id = _deposit(app, tid, company, deadline - dt.timedelta(hours=1), [("offre", "offre.pdf", offer)])
    with app.app_context():
        t = db.session.get(Tender, tid)
        [f] = db.session.get(deposits.Bid, bid_id).files
        blob = storage.path_of(f.storage_key).read_bytes()
        assert MARKER.encode() not in blob and b"%PDF" not in blob and offer[:200] not in blob
        assert f.sha256 == hashlib.sha256(offer).hexdigest() and len(blob) > len(offer)
        key = deposits.consultation_key(t)
        assert b"PRIVATE KEY" not in key.private_sealed and b"PUBLIC KEY" in key.public_pem
        with pytest.raises(sealing.Sealed):
            deposits.open_bid_file(t, f, at=deadline - dt.timedelta(seconds=1))
        assert deposits.open_bid_file(t, f, at=deadline) == offer
        # a file changed at rest is refused, never returned
        tampered = bytearray(blob)
        tampered[-10] ^= 0xFF
        blob_path = storage.path_of(f.storage_key)
        blob_path.write_bytes(bytes(tampered))
        f.sealed_sha256, f.sealed_size = hashlib.sha256(tampered).hexdigest(), len(tampered)
        with pytest.raises(sealing.Broken):
            deposits.open_bid_file(t, f, at=deadline)
        db.session.rollback()


def test_a_replacement_before_the_deadline_supersedes_and_the_register_keeps_both(app, published, login_as):
    _mayor, tid = published
    company = _company(app)
    deadline = _deadline_utc(app, tid)
    first = _deposit(app, tid, company, deadline - dt.timedelta(hours=2))
    second = _deposit(app, tid, company, deadline - dt.timedelta(hours=1),
                      [("candidature", "dc1.pdf", real_pdf("DC1")), ("offre", "offre-v2.pdf", real_pdf("v2"))])
    mayor = login_as("mayor_a")
    page = mayor.get(f"/s/tenders/{tid}/depots").get_data(as_text=True)
    assert "Couverture Auboise SARL" in page and page.count("remplacé") == 1 and "offre-v2.pdf" in page
    csv = mayor.get(f"/s/tenders/{tid}/depots.csv")
    assert csv.status_code == 200 and csv.headers["Cache-Control"] == "no-store"
    lines = csv.get_data(as_text=True).splitlines()
    assert len(lines) == 1 + 3 and "remplacé" in lines[1] and "valide" in lines[2]
    assert first < second
    # another collectivity's staff never reach the register
    assert login_as("mayor_b").get(f"/s/tenders/{tid}/depots").status_code == 404


def test_a_company_signs_up_confirms_its_address_deposits_and_gets_its_receipt(app, published, client, smtp):
    from services.tenders.companies import Company

    _mayor, tid = published
    email = "offres@menuiserie.test.example.org"
    form = {"name": "Menuiserie du Barrois", "siret": "73282932000075", "email": email,
            "password": "Chene-massif-du-Barrois-77"}
    bad = client.post("/p/tenders/entreprises/inscription", form, csrf_from="/p/tenders/entreprises/inscription")
    assert bad.status_code == 422 and "clé de contrôle" in bad.get_data(as_text=True)
    form["siret"] = "73282932000074"
    assert client.post("/p/tenders/entreprises/inscription", form,
                       csrf_from="/p/tenders/entreprises/inscription").status_code == 302
    confirmation = wait_for_mail(smtp, email)
    link = next(w for w in confirmation.text.split() if "/entreprises/confirmer/" in w)
    assert client.post("/p/tenders/entreprises/connexion", {"email": email, "password": form["password"]},
                       csrf_from="/p/tenders/entreprises/connexion").status_code == 302
    offer = real_pdf(MARKER)

    def send():
        token = client.csrf("/p/tenders/entreprises/connexion")  # the sign-out form of the signed-in company
        return client.http.post(f"/p/tenders/{tid}/depot", data={
            "csrf_token": token, "offre": (io.BytesIO(offer), "Offre financière.pdf")},
            content_type="multipart/form-data", follow_redirects=True)

    assert "Confirmez d'abord" in client.get(f"/p/tenders/{tid}/depot").get_data(as_text=True)
    assert "Confirmez d'abord" in send().get_data(as_text=True)  # not confirmed yet: refused by the server too
    client.get(link[link.index("/p/"):])
    page = send().get_data(as_text=True)
    assert "reçue et scellée" in page
    receipt_mail = wait_for_mail(smtp, email)
    assert hashlib.sha256(offer).hexdigest() in receipt_mail.text and "UTC" in receipt_mail.text
    with app.app_context():
        from portal.extensions import db
        from services.tenders.deposits import Bid

        company = db.session.query(Company).filter_by(email=email).one()
        bid = db.session.query(Bid).filter_by(company_id=company.id).one()
    pdf = client.get(f"/p/tenders/{tid}/depot/{bid.id}/accuse.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    out = Path(__file__).resolve().parents[3] / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "tenders-receipt.pdf").write_bytes(pdf.data)
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True,
                          check=True).stdout.decode()
    assert hashlib.sha256(offer).hexdigest() in "".join(text.split()) and "Accusé de réception" in text
    assert "heure de Paris" in text and "UTC" in text
    # another company (or nobody) never gets this receipt
    other = app.test_client()
    assert other.get(f"/p/tenders/{tid}/depot/{bid.id}/accuse.pdf").status_code == 404


def test_bids_open_only_after_the_deadline_for_a_holder_of_tenders_open_and_each_opening_is_audited(
        app, published, login_as):
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.tenders import deposits
    from services.tenders.models import Tender

    _mayor, tid = published
    company = _company(app)
    offer = real_pdf(MARKER)
    deadline = _deadline_utc(app, tid)
    bid_id = _deposit(app, tid, company, deadline - dt.timedelta(minutes=5), [("offre", "offre.pdf", offer)])
    with app.app_context():
        file_id = db.session.get(deposits.Bid, bid_id).files[0].id
    url = f"/s/tenders/{tid}/depots/{bid_id}/fichiers/{file_id}"
    mayor = login_as("mayor_a")
    early = mayor.get(url)
    assert early.status_code == 302 and offer not in early.data
    assert "scellées" in mayor.get(f"/s/tenders/{tid}/depots").get_data(as_text=True)
    with app.app_context():  # the deadline passes
        t = db.session.get(Tender, tid)
        t.reception_deadline = legal_wall() - dt.timedelta(seconds=1)
        db.session.commit()
    assert login_as("secretary_a").get(url).status_code == 403  # no tenders.open
    assert login_as("mayor_b").get(url).status_code == 404  # another collectivity
    opened = mayor.get(url)
    assert opened.status_code == 200 and opened.data == offer and opened.headers["Cache-Control"] == "no-store"
    with app.app_context():
        events = db.session.query(AuditEvent).filter_by(action="tenders.bid_file_opened").all()
        assert len(events) == 1 and events[0].details["sha256"] == hashlib.sha256(offer).hexdigest()


def _set_deadline(app, tid, wall_clock: dt.datetime) -> None:
    from portal.extensions import db
    from services.tenders.models import Tender

    with app.app_context():
        db.session.get(Tender, tid).reception_deadline = wall_clock
        db.session.commit()


def test_deadline_edges_on_the_nights_the_clocks_change(app, published):
    """Spring: the clocks jump from 02:00 to 03:00 — a 03:00 deadline is 01:00 UTC. Autumn: 02:00-03:00 happens
    twice — a 02:30 deadline is the first 02:30 (00:30 UTC); a deposit at the second 02:00 (01:00 UTC), earlier on
    the wall clock, is already late."""
    _mayor, tid = published
    company = _company(app)
    utc = dt.timezone.utc
    _set_deadline(app, tid, dt.datetime(2027, 3, 28, 3, 0))
    assert _deadline_utc(app, tid) == dt.datetime(2027, 3, 28, 1, 0, tzinfo=utc)
    assert not _late(app, _deposit(app, tid, company, dt.datetime(2027, 3, 28, 0, 59, 59, tzinfo=utc)))
    assert _late(app, _deposit(app, tid, company, dt.datetime(2027, 3, 28, 1, 0, 0, tzinfo=utc)))
    _set_deadline(app, tid, dt.datetime(2027, 10, 31, 2, 30))
    assert not _late(app, _deposit(app, tid, company, dt.datetime(2027, 10, 31, 0, 29, 59, tzinfo=utc)))
    # 02:00 Paris the second time (winter time), after the first 02:30: out of time
    assert _late(app, _deposit(app, tid, company, dt.datetime(2027, 10, 31, 1, 0, 0, tzinfo=utc)))
    assert _late(app, _deposit(app, tid, company, dt.datetime(2027, 10, 31, 0, 30, 1, tzinfo=utc)))
