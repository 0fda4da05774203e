"""Deposits received out of time (hors délai): the arrêté of 22 March 2019 on buyer profiles (annexe 7 of the code,
I, 4° and 5°) has the profile « réceptionner et conserver » candidatures and offers « y compris hors délais »;
R2143-2 and R2151-5 have the buyer eliminate them. The company is told its deposit is late and will be eliminated;
the register lists it « hors délai » with its time-stamp and fingerprints; the opening does not decrypt it; the PV
lists it apart; its receipt says so."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess

from tests.helpers.clock import legal_wall

from .conftest import real_pdf
from .test_bids import _company, _deposit
from .test_documents_public_award import wait_for_mail
from .test_opening_analysis import pdf_text

LATE_MARKER = "OFFRE-TARDIVE-ZINGUERIE-5151"


def _pass_deadline_keep_published(app, tid):
    """The deadline passes (three hours ago on the Paris wall clock); the consultation is still published."""
    from portal.extensions import db
    from services.tenders import deposits
    from services.tenders.models import Tender

    with app.app_context():
        t = db.session.get(Tender, tid)
        before = deposits.deadline_utc(t)
        t.reception_deadline = legal_wall() - dt.timedelta(hours=3)
        db.session.commit()
        return before, deposits.deadline_utc(t)


def test_a_late_deposit_is_kept_marked_out_of_time_never_opened_and_listed_apart_in_the_minutes(
        app, published, client, smtp, login_as):
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.tenders import storage
    from services.tenders.deposits import Bid

    mayor, tid = published
    in_time_company = _company(app, email="atemps@charpente.test.example.org")
    _company(app, email="tard@zinc.test.example.org", name="Zinguerie Tardive SAS")
    assert client.post("/p/tenders/entreprises/connexion", {"email": "tard@zinc.test.example.org",
                                                             "password": "Tuiles-plates-du-clocher-1887"},
                       csrf_from="/p/tenders/entreprises/connexion").status_code == 302
    _old, deadline = _pass_deadline_keep_published(app, tid)
    in_time = _deposit(app, tid, in_time_company, deadline - dt.timedelta(minutes=10),
                       [("offre", "offre.pdf", real_pdf("A TEMPS"))])

    # the company is told before sending, then after
    form = client.get(f"/p/tenders/{tid}/depot").get_data(as_text=True)
    assert "La date limite est passée" in form and "sera éliminé par l'acheteur" in form
    assert 'name="financiere_1"' in form and "Déposer mon offre hors délai" in form
    late_offer = real_pdf(LATE_MARKER)
    page = client.http.post(f"/p/tenders/{tid}/depot", data={
        "csrf_token": client.csrf("/p/tenders/entreprises/connexion"),
        "offre": (io.BytesIO(late_offer), "Offre tardive.pdf")},
        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "après la date limite" in page and "sera éliminée" in page and "ne sera pas ouverte" in page
    assert "reçue et scellée" not in page and "hors délai" in page

    with app.app_context():
        late = db.session.query(Bid).filter(Bid.id != in_time).one()
        assert late.late and late.began_at is not None and late.began_at <= late.received_at
        assert late.received_at.replace(tzinfo=dt.timezone.utc) >= deadline
        f = late.files[0]
        blob = storage.path_of(f.storage_key).read_bytes()  # kept, sealed like any other deposit
        assert blob.startswith(b"SEAL2") and LATE_MARKER.encode() not in blob
        assert f.sha256 == hashlib.sha256(late_offer).hexdigest()
        late_id, late_file_id, late_sha = late.id, f.id, f.sha256
        assert db.session.get(Bid, in_time).superseded_at is None

    mail = wait_for_mail(smtp, "tard@zinc.test.example.org")
    assert "hors délai" in mail.subject.lower() and "éliminée" in mail.text and late_sha in mail.text
    receipt = client.get(f"/p/tenders/{tid}/depot/{late_id}/accuse.pdf")
    text = " ".join(subprocess.run(["pdftotext", "-layout", "-", "-"], input=receipt.data, capture_output=True,
                                   check=True).stdout.decode().split())
    assert "reçu hors délai" in text and "HORS DÉLAI" in text and "R2151-5" in text
    assert "Début de la réception" in text and late_sha in text.replace(" ", "")

    # the register: listed « hors délai » with its time-stamp and fingerprint, no link to open it
    register = mayor.get(f"/s/tenders/{tid}/depots").get_data(as_text=True)
    assert register.count(">hors délai</strong>") == 1 and "éliminé, non ouvert" in register and late_sha in register
    assert f"/depots/{late_id}/fichiers/" not in register and f"/depots/{in_time}/fichiers/" in register
    csv_lines = mayor.get(f"/s/tenders/{tid}/depots.csv").get_data(as_text=True).splitlines()
    assert "réception commencée (UTC)" in csv_lines[0]
    assert ["hors délai" in line for line in csv_lines[1:]] == [False, True]
    register_pdf = pdf_text(mayor.get(f"/s/tenders/{tid}/depots.pdf").data)
    assert "hors délai" in register_pdf and "R2151-5" in register_pdf

    # the opening decrypts the deposit in time only
    mayor.post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    with app.app_context():
        assert db.session.get(Bid, in_time).files[0].check == "ok"
        assert db.session.get(Bid, late_id).files[0].check == ""  # never decrypted
        opened = db.session.query(AuditEvent).filter_by(action="tenders.opened").one()
        assert opened.details["bids"] == 1 and opened.details["late"] == 1
    journal = mayor.get("/mairie/journal").get_data(as_text=True)
    assert "plis arrivés hors délai" in journal  # the detail's French label in the « Journal des opérations »
    pv = " ".join(pdf_text(mayor.get(f"/s/tenders/{tid}/pv-ouverture.pdf").data).split())
    assert "Plis arrivés hors délai (éliminés, non ouverts)" in pv and "R2143-2" in pv
    assert "Zinguerie Tardive SAS" in pv and "copie de sauvegarde" in pv
    # a late file is not served, even to a holder of tenders.open after the opening
    refused = mayor.get(f"/s/tenders/{tid}/depots/{late_id}/fichiers/{late_file_id}", follow_redirects=True)
    assert late_offer not in refused.data and "l&#39;offre est éliminée et n&#39;est pas ouverte" in refused.get_data(as_text=True)
    with app.app_context():
        assert not db.session.query(AuditEvent).filter_by(action="tenders.bid_file_opened").count()
    # the analysis grid has the offer in time only
    grid = mayor.get(f"/s/tenders/{tid}/analyse/1").get_data(as_text=True)
    assert "Couverture Auboise SARL" in grid and "Zinguerie Tardive SAS" not in grid
