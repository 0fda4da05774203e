"""After the deadline: the registers as PDF, the opening with a tampered file flagged in the minutes, the scoring grid
(price formulas, abnormally low offers), the report in three formats, the award and the letters."""
from __future__ import annotations

import datetime as dt
import io
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers.clock import legal_today, legal_wall

from .conftest import real_pdf
from .test_bids import _company, _deadline_utc, _deposit
from .test_documents_public_award import wait_for_mail

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


def has(text: str, *needles: str) -> bool:
    """Every needle is in the text, ignoring spaces, line breaks and hyphens (table cells wrap in the PDF's layout,
    and pdftotext joins a word cut after a hyphen)."""
    def flat(s: str) -> str:
        return "".join(s.replace("\u202f", " ").replace("\xa0", " ").replace("-", "").split())

    return all(flat(n) in flat(text) for n in needles)


def _save(name: str, data: bytes) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)


def _pass_deadline(app, tid, procedure=None):
    from portal.extensions import db
    from services.tenders.models import Tender

    with app.app_context():
        t = db.session.get(Tender, tid)
        t.reception_deadline = legal_wall() - dt.timedelta(seconds=1)  # the Aube's wall clock, as deadlines are stored
        t.reception_deadline -= dt.timedelta(hours=3)  # well past, whatever the host's time zone
        if procedure:
            t.procedure = procedure
        db.session.commit()


def test_price_formulas_and_the_abnormally_low_rule():
    from services.tenders.analysis import abnormally_low, price_score

    w = Decimal(60)
    assert price_score("ratio", w, Decimal(100000), Decimal(80000), Decimal(120000)) == Decimal("48.00")
    assert price_score("ratio", w, Decimal(80000), Decimal(80000), Decimal(120000)) == Decimal("60.00")
    assert price_score("linear", w, Decimal(100000), Decimal(80000), Decimal(120000)) == Decimal("30.00")
    assert price_score("linear", w, Decimal(120000), Decimal(80000), Decimal(120000)) == Decimal("0.00")
    assert price_score("linear", w, Decimal(90000), Decimal(90000), Decimal(90000)) == Decimal("60.00")
    # 79 000 against a mean of 100 000: below 80 %, flagged; 80 000 is not
    assert abnormally_low(Decimal(79000), [Decimal(90000), Decimal(110000)])
    assert not abnormally_low(Decimal(80000), [Decimal(90000), Decimal(110000)])
    assert not abnormally_low(Decimal(1), [])  # alone: nothing to compare with


def test_register_of_withdrawals_records_anonymous_and_signed_in_downloads(app, published, client, login_as):
    _mayor, tid = published
    assert client.get(f"/p/tenders/{tid}/dce.zip").status_code == 200  # anonymous
    company = _company(app, email="retrait@couvreur.test.example.org")
    with client.http.session_transaction() as s:
        s["tenders_company"] = company
    assert client.get(f"/p/tenders/{tid}/documents/rc.pdf").status_code == 200
    mayor = login_as("mayor_a")
    assert mayor.get(f"/s/tenders/{tid}/dce.zip").status_code == 200  # staff downloads are not withdrawals
    page = mayor.get(f"/s/tenders/{tid}/retraits").get_data(as_text=True)
    assert "anonyme" in page and "Couverture Auboise SARL" in page and "rc.pdf" in page
    assert page.count("<tr>") == 1 + 2
    pdf = mayor.get(f"/s/tenders/{tid}/retraits.pdf")
    assert pdf.status_code == 200 and pdf.headers["Cache-Control"] == "no-store"
    _save("tenders-registre-retraits.pdf", pdf.data)
    text = pdf_text(pdf.data)
    assert has(text, "Registre des retraits", "anonyme", "Couverture Auboise SARL", "rc.pdf", "2 téléchargement(s)")
    assert login_as("mayor_b").get(f"/s/tenders/{tid}/retraits.pdf").status_code == 404


def test_register_of_deposits_as_pdf(app, published, login_as):
    _mayor, tid = published
    company = _company(app)
    deadline = _deadline_utc(app, tid)
    _deposit(app, tid, company, deadline - dt.timedelta(hours=2))
    _deposit(app, tid, company, deadline - dt.timedelta(hours=1), [("offre", "offre-v2.pdf", real_pdf("v2"))])
    pdf = login_as("mayor_a").get(f"/s/tenders/{tid}/depots.pdf")
    assert pdf.status_code == 200
    _save("tenders-registre-depots.pdf", pdf.data)
    text = pdf_text(pdf.data)
    assert has(text, "Registre des dépôts", "2 dépôt(s)", "remplacé", "valide", "offre-v2.pdf", "UTC")


def test_opening_flags_a_tampered_file_in_the_minutes_and_the_journal(app, published, login_as):
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.tenders import deposits, storage

    _mayor, tid = published
    good = _company(app, email="bon@couvreur.test.example.org")
    bad = _company(app, email="altere@couvreur.test.example.org")
    deadline = _deadline_utc(app, tid)
    _deposit(app, tid, good, deadline - dt.timedelta(hours=3))
    bad_bid = _deposit(app, tid, bad, deadline - dt.timedelta(hours=2),
                       [("offre", "offre-alteree.pdf", real_pdf("offre altérée"))])
    mayor = login_as("mayor_a")
    early = mayor.post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    assert early.status_code == 302 and mayor.get(f"/s/tenders/{tid}/pv-ouverture.pdf").status_code == 404
    with app.app_context():  # someone changes the sealed file on the disk of the server
        [f] = db.session.get(deposits.Bid, bad_bid).files
        path = storage.path_of(f.storage_key)
        blob = bytearray(path.read_bytes())
        blob[-20] ^= 0x01
        path.write_bytes(bytes(blob))
    _pass_deadline(app, tid)
    assert login_as("secretary_a").post(f"/s/tenders/{tid}/ouverture", {},
                                        csrf_from=f"/s/tenders/{tid}/depots").status_code == 403
    assert login_as("mayor_b").post(f"/s/tenders/{tid}/ouverture", {},
                                    csrf_from="/s/tenders/").status_code == 404
    opened = mayor.post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    assert opened.status_code == 302
    page = mayor.get(f"/s/tenders/{tid}/depots").get_data(as_text=True)
    assert page.count("ne correspond pas à son empreinte") == 1 and f"/s/tenders/{tid}/pv-ouverture.pdf" in page
    pv = mayor.get(f"/s/tenders/{tid}/pv-ouverture.pdf")
    assert pv.status_code == 200
    _save("tenders-pv-ouverture.pdf", pv.data)
    text = pdf_text(pv.data)
    assert has(text, "Procès-verbal d'ouverture des plis", "SIGNALÉ", "conforme", "Fichiers signalés",
               "dépôt n° 2, offre-alteree.pdf")
    assert not has(text, "dépôt n° 1, offre.pdf")
    with app.app_context():
        flagged = db.session.query(AuditEvent).filter_by(action="tenders.bid_file_broken").all()
        assert [e.details["filename"] for e in flagged] == ["offre-alteree.pdf"]
        [ev] = db.session.query(AuditEvent).filter_by(action="tenders.opened").all()
        assert ev.details["bids"] == 2 and ev.details["flagged"] == 1
        assert db.session.query(AuditEvent).filter_by(action="tenders.register_downloaded").count() == 1
    # opening twice keeps the first opening
    mayor.post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    with app.app_context():
        assert db.session.query(AuditEvent).filter_by(action="tenders.opened").count() == 1


def _three_offers(app, published, login_as):
    _mayor, tid = published
    ids = [_company(app, email=f"offre{n}@btp.test.example.org") for n in range(3)]
    with app.app_context():
        from portal.extensions import db
        from services.tenders.companies import Company

        for cid, name in zip(ids, ("Toitures Champenoises", "Couvreurs de l'Aube", "Bas Prix Express")):
            db.session.get(Company, cid).name = name
        db.session.commit()
    deadline = _deadline_utc(app, tid)
    bids = [_deposit(app, tid, cid, deadline - dt.timedelta(hours=5 - n)) for n, cid in enumerate(ids)]
    return tid, ids, bids


def _grid(mayor, tid, bids, prices, points, formula="ratio"):
    form = {"formula": formula}
    for bid, price, pts in zip(bids, prices, points):
        form[f"price_{bid}"] = price
        form[f"points_{bid}_technical"] = pts
        form[f"comment_{bid}_technical"] = f"mémoire technique noté {pts}"
    return mayor.post(f"/s/tenders/{tid}/analyse/1", form, csrf_from=f"/s/tenders/{tid}/analyse/1")


def test_scoring_grid_report_award_and_letters(app, published, login_as, smtp):
    from portal.extensions import db
    from portal.models import AuditEvent
    from services.tenders.models import Tender

    tid, companies, bids = _three_offers(app, published, login_as)
    mayor = login_as("mayor_a")
    assert mayor.get(f"/s/tenders/{tid}/analyse/1").status_code == 302  # not opened yet
    _pass_deadline(app, tid, procedure="formalised")
    mayor.post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    bad = _grid(mayor, tid, bids, ["100 000", "abc", "60 000"], ["30", "35", "50"])
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "prix hors taxe" in body and "entre 0 et 40" in body
    assert _grid(mayor, tid, bids, ["100 000", "95 000,50", "60 000"], ["30", "35", "10"]).status_code == 302
    page = mayor.get(f"/s/tenders/{tid}/analyse/1").get_data(as_text=True)
    # ratio: 60 × 60 000 / price; Bas Prix Express 60 000 < 80 % of the mean of the others (97 500): flagged
    assert "anormalement basse" in page
    with app.app_context():
        from services.tenders import analysis, opening

        t = db.session.get(Tender, tid)
        rows = analysis.grid(t, 1, opening.valid_bids(t))
        totals = {r.bid.company.name: r.total for r in rows}
        assert totals == {"Bas Prix Express": Decimal("70.00"), "Couvreurs de l'Aube": Decimal("72.89"),
                          "Toitures Champenoises": Decimal("66.00")}
        assert [r.bid.company.name for r in rows][0] == "Couvreurs de l'Aube"
        assert [r.bid.company.name for r in rows if r.abnormally_low] == ["Bas Prix Express"]
    for fmt in ("pdf", "docx", "odt"):
        report = mayor.get(f"/s/tenders/{tid}/rapport-analyse.{fmt}")
        assert report.status_code == 200
        _save(f"tenders-rapport-analyse.{fmt}", report.data)
        if fmt == "pdf":
            text = pdf_text(report.data)
        elif fmt == "docx":
            import docx

            d = docx.Document(io.BytesIO(report.data))
            text = "\n".join([p.text for p in d.paragraphs]
                             + [c.text for tb in d.tables for row in tb.rows for c in row.cells])
        else:
            text = zipfile.ZipFile(io.BytesIO(report.data)).read("content.xml").decode()
        assert has(text, "Rapport d'analyse des offres", "Couvreurs de l'Aube", "72,89", "anormalement basse",
                   "L2152-5", "mémoire technique noté 35")
    decided = mayor.post(f"/s/tenders/{tid}/analyse/1/decision", {}, csrf_from=f"/s/tenders/{tid}/analyse/1")
    assert decided.status_code == 302
    rejected = wait_for_mail(smtp, "offre0@btp.test.example.org")
    assert "n'a pas été retenue" in rejected.text and "/p/tenders/" in rejected.text
    # the winner is not notified before the end of the standstill period (formalised procedure: 11 days)
    early = mayor.post(f"/s/tenders/{tid}/analyse/1/notification", {}, csrf_from=f"/s/tenders/{tid}/analyse/1")
    assert early.status_code == 302
    with app.app_context():
        t = db.session.get(Tender, tid)
        assert not t.awards
    letter = mayor.get(f"/s/tenders/{tid}/courriers/1/{bids[0]}.pdf")
    _save("tenders-lettre-rejet.pdf", letter.data)
    text = pdf_text(letter.data)
    # from the Aube's date, as the product reads it (the host's, in UTC, is still yesterday from 23:00 UTC)
    signature = (legal_today() + dt.timedelta(days=11)).strftime("%d/%m/%Y")
    assert has(text, "Information d'un candidat évincé", "Couvreurs de l'Aube", "11 jours", signature, "R2182-1",
               "mémoire technique noté 30", "66,00", "72,89", "rang 3", "36,00", "37,89")
    # the company reads its own letter on the public pages, and only its own
    company_client = app.test_client()
    with company_client.session_transaction() as s:
        s["tenders_company"] = companies[0]
    assert pdf_text(company_client.get(f"/p/tenders/{tid}/courriers/1.pdf").data) == text
    assert app.test_client().get(f"/p/tenders/{tid}/courriers/1.pdf").status_code == 404
    # eleven days later the winner is notified; the award and its open data follow
    with app.app_context():
        from services.tenders import analysis

        t = db.session.get(Tender, tid)
        d = analysis.decision_of(t, 1)
        d.decided_on -= dt.timedelta(days=11)
        db.session.commit()
    assert mayor.post(f"/s/tenders/{tid}/analyse/1/notification", {},
                      csrf_from=f"/s/tenders/{tid}/analyse/1").status_code == 302
    winner_mail = wait_for_mail(smtp, "offre1@btp.test.example.org")
    assert "Notification" in winner_mail.subject
    noti = pdf_text(mayor.get(f"/s/tenders/{tid}/courriers/1/{bids[1]}.pdf").data)
    assert has(noti, "Notification du marché public", "95 000,50", "Couvreurs de l'Aube")
    notice = pdf_text(mayor.get(f"/s/tenders/{tid}/avis-attribution.pdf").data)
    assert has(notice, "Avis d'attribution", "Couvreurs de l'Aube", "73282932000074")
    with app.app_context():
        t = db.session.get(Tender, tid)
        [award] = t.awards
        assert award.holder_name == "Couvreurs de l'Aube" and award.amount_ht == Decimal("95000.50")
        assert award.offers_received == 3 and t.status == "awarded"
        assert db.session.query(AuditEvent).filter_by(action="tenders.decided").count() == 1
    decp = mayor.get(f"/s/tenders/{tid}/decp.json").get_json()
    assert decp["marches"]["marche"][0]["titulaires"][0]["titulaire"]["id"] == "73282932000074"


def test_a_procedure_adaptee_has_no_standstill_and_notifies_at_once(app, published, login_as, smtp):
    tid, companies, bids = _three_offers(app, published, login_as)
    _pass_deadline(app, tid)
    mayor = login_as("mayor_a")
    mayor.post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    assert _grid(mayor, tid, bids, ["100 000", "95 000", "90 000"], ["30", "35", "20"],
                 formula="linear").status_code == 302
    # incomplete grids cannot be awarded
    mayor.post(f"/s/tenders/{tid}/analyse/1", {"formula": "linear", f"price_{bids[0]}": "1"},
               csrf_from=f"/s/tenders/{tid}/analyse/1")
    refused = mayor.post(f"/s/tenders/{tid}/analyse/1/decision", {}, csrf_from=f"/s/tenders/{tid}/analyse/1",
                         follow_redirects=True)
    assert "Notez chaque critère" in refused.get_data(as_text=True)
    _grid(mayor, tid, bids, ["100 000", "95 000", "90 000"], ["30", "35", "20"], formula="linear")
    assert mayor.post(f"/s/tenders/{tid}/analyse/1/decision", {},
                      csrf_from=f"/s/tenders/{tid}/analyse/1").status_code == 302
    # linear: 100 000 → 0, 95 000 → 30, 90 000 → 60; + technical
    letter = pdf_text(mayor.get(f"/s/tenders/{tid}/courriers/1/{bids[0]}.pdf").data)
    assert has(letter, "procédure adaptée", "aucun délai de suspension", "30,00")
    assert "Notification" in wait_for_mail(smtp, "offre2@btp.test.example.org").subject
    assert login_as("mayor_b").get(f"/s/tenders/{tid}/courriers/1/{bids[0]}.pdf").status_code == 404


@pytest.mark.parametrize("role", ["secretary_a"])
def test_only_a_holder_of_tenders_publish_awards(app, published, login_as, role):
    tid, _companies, bids = _three_offers(app, published, login_as)
    _pass_deadline(app, tid)
    login_as("mayor_a").post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    client = login_as(role)
    assert _grid(client, tid, bids, ["1", "2", "3"], ["1", "2", "3"]).status_code == 302  # tenders.write scores
    assert client.post(f"/s/tenders/{tid}/analyse/1/decision", {},
                       csrf_from=f"/s/tenders/{tid}/analyse/1").status_code == 403


def test_a_formalised_lot_with_a_single_offer_has_no_standstill(app, published, login_as, smtp):
    """R2182-2, 1°: the standstill period of R2182-1 is not required when the contract goes to the only operator
    who took part; the winner is notified at once even in a formalised procedure."""
    _mayor, tid = published
    company = _company(app, email="seul@btp.test.example.org")
    bid = _deposit(app, tid, company, _deadline_utc(app, tid) - dt.timedelta(hours=2))
    _pass_deadline(app, tid, procedure="formalised")
    mayor = login_as("mayor_a")
    mayor.post(f"/s/tenders/{tid}/ouverture", {}, csrf_from=f"/s/tenders/{tid}/depots")
    assert "11 jours" not in mayor.get(f"/s/tenders/{tid}/analyse/1").get_data(as_text=True)
    assert _grid(mayor, tid, [bid], ["100 000"], ["30"]).status_code == 302
    assert mayor.post(f"/s/tenders/{tid}/analyse/1/decision", {},
                      csrf_from=f"/s/tenders/{tid}/analyse/1").status_code == 302
    assert "Notification" in wait_for_mail(smtp, "seul@btp.test.example.org").subject
