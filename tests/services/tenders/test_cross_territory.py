"""Every route of the tenders service (/s/tenders, /api/v1/tenders, /p/tenders) × every role of commune A × the ids
of commune B's objects (+ the EPCI user against Troyes, + department staff): refused, and nothing private shown."""
import datetime as dt
from decimal import Decimal

import pytest

from tests.helpers.clock import legal_wall
from tests.helpers.cross_territory import check_routes

PREFIXES = ("/s/tenders", "/api/v1/tenders", "/p/tenders")
DRAFT_TITLE = "Brouillon-secret-de-Jaucourt"
PUB_TITLE = "Consultation-publiee-de-Jaucourt"
QUESTION = "Question-privee-non-repondue"
ASKER = "entreprise-privee@btp.test.example.org"
# The mark's price as JSON/CSV and as the French pages write it. Never the bare digits « 98765 »: they turn up by
# chance in the microseconds of a timestamp: a CI run failed on commune A's own tenders in /api/v1/tenders/, whose
# only digits are ids, amounts and ISO timestamps with microseconds.
PRICE_MARKERS = ("98765.43", "98765,43", "98\u202f765,43", "98\u00a0765,43", "98 765,43")


def make(app, collectivity_id, title, status):
    """A complete tender of a collectivity (system context), with a lot, an attachment, a question, an award."""
    from portal.extensions import db
    from services.tenders.models import Tender, TenderAttachment, TenderAward, TenderLot, TenderQuestion

    with app.app_context():
        now = legal_wall()
        t = Tender(collectivity_id=collectivity_id, reference=f"X-{title[:10]}", status=status, title=title,
                   description=title, nature="works", cpv_code="45261000", place="x", duration_months=3,
                   single_lot_reason="x", amount_ht=Decimal("120000"), launch_date=now.date(), procedure="mapa",
                   publicity="boamp_or_jal", media=["boamp"], reception_deadline=now + dt.timedelta(days=20),
                   criteria=[{"code": "price", "label": "Prix", "weight": 100}], buyer_siret="21100176000012",
                   contact_email="mairie@jaucourt.test.example.org",
                   published_at=now if status != "draft" else None)
        t.lots.append(TenderLot(number=1, title=title, amount_ht=Decimal("120000")))
        from services.tenders import storage

        db.session.add(t)
        db.session.flush()
        stored = storage.save("attachments", t.id, b"%PDF-1.4 " + title.encode())
        t.attachments.append(TenderAttachment(filename="plan.pdf", mimetype="application/pdf",
                                              storage_key=stored.key, sha256=stored.sha256, size=stored.size))
        t.questions.append(TenderQuestion(email=ASKER, question=QUESTION))
        if status == "awarded":
            t.awards.append(TenderAward(lot_number=1, holder_name="Couvreur", holder_siret="12345678900011", amount_ht=Decimal("1"),
                                  notified_on=now.date(), offers_received=1, data_published_on=now.date()))
        db.session.add(t)
        from services.tenders.companies import Company
        from services.tenders.deposits import Bid, BidFile

        company = Company(name=f"Entreprise-{title[:12]}", siret="73282932000074", email=f"{t.id}-{ASKER}",
                          password_hash="x", confirmed_at=now)
        bid = Bid(tender_id=t.id, number=1, received_at=now, company=company)
        bid.files.append(BidFile(role="offre", filename="offre.pdf", size=1, sha256="0" * 64, storage_key="x",
                                 sealed_sha256="0" * 64, sealed_size=1))
        db.session.add(bid)
        db.session.flush()
        from services.tenders.analysis import LotDecision, LotGrid, Mark
        from services.tenders.opening import Opening, Withdrawal

        db.session.add_all([
            Opening(tender_id=t.id, opened_at=now, opened_by_name=f"ouvreur-{title[:12]}"),
            Withdrawal(tender_id=t.id, company=company, at=now, kind="dce", name=f"retrait-{title[:12]}.zip"),
            LotGrid(tender_id=t.id, lot_number=1, price_formula="ratio"),
            Mark(tender_id=t.id, bid_id=bid.id, lot_number=1, price_ht=Decimal("98765.43"), points={},
                 comments={"technical": f"appreciation-{title[:12]}"}),
            LotDecision(tender_id=t.id, lot_number=1, winner_bid_id=bid.id, decided_on=now.date(),
                        notified_on=now.date())])
        from services.tenders.exchanges import CompanyAlert, Exchange

        exchange = Exchange(tender_id=t.id, bid_id=bid.id, kind="missing", message=f"demande-{title[:12]}",
                            sent_at=now, reply_deadline=now + dt.timedelta(days=3), reply=f"reponse-{title[:12]}",
                            replied_at=now, reply_filename="piece.pdf", reply_key="x", reply_sha256="0" * 64,
                            reply_size=1)
        alert = CompanyAlert(company_id=company.id, cpv_prefix="45", place_prefix="10", created_at=now)
        db.session.add_all([exchange, alert])
        db.session.commit()
        return {"tender_id": t.id, "lot_number": 1, "exchange_id": exchange.id, "alert_id": alert.id,
                "attachment_id": t.attachments[0].id, "question_id": t.questions[0].id,
                "collectivity_id": collectivity_id, "step": 1, "doc": "rc", "fmt": "pdf", "bid_id": bid.id,
                "file_id": bid.files[0].id, "token": "x"}


def test_attachments_of_a_draft_are_never_public(app, tenders_world, foreign, client, login_as):
    draft, pub = foreign["draft_b"], foreign["pub_b"]
    assert client.get(f"/p/tenders/{draft['tender_id']}/pieces/{draft['attachment_id']}").status_code == 404
    # a published tender's attachment, asked through another tender's id, is not served either
    assert client.get(f"/p/tenders/{draft['tender_id']}/pieces/{pub['attachment_id']}").status_code == 404
    served = client.get(f"/p/tenders/{pub['tender_id']}/pieces/{pub['attachment_id']}")
    assert served.status_code == 200 and served.data.startswith(b"%PDF-1.4 Consultation-publiee")
    # commune A's staff cannot reach it through the staff route (the tender belongs to B)
    mayor_a = login_as("mayor_a", tenders_world.a)
    assert mayor_a.get(f"/s/tenders/{pub['tender_id']}/pieces/{pub['attachment_id']}").status_code == 404


@pytest.fixture
def foreign(app, tenders_world):
    w = tenders_world
    return {"draft_b": make(app, w.b, DRAFT_TITLE, "draft"), "pub_b": make(app, w.b, PUB_TITLE, "published"),
            "draft_troyes": make(app, w.troyes, DRAFT_TITLE + "-Troyes", "draft")}


@pytest.mark.parametrize("role", ["mayor_a", "secretary_a", "elected_a", "secretary_ab"])
@pytest.mark.parametrize("which", ["draft_b", "pub_b"])
def test_commune_a_never_reaches_commune_b(app, tenders_world, login_as, foreign, role, which):
    client = login_as(role, tenders_world.a)
    markers = [QUESTION, ASKER, f"Entreprise-{PUB_TITLE[:12]}", f"ouvreur-{PUB_TITLE[:12]}", *PRICE_MARKERS,
               f"appreciation-{PUB_TITLE[:12]}", f"retrait-{PUB_TITLE[:12]}", f"demande-{PUB_TITLE[:12]}",
               f"reponse-{PUB_TITLE[:12]}"] + ([DRAFT_TITLE] if which == "draft_b" else [])
    # A published tender's public pages serve binaries (zip, PDF) that the shared helper cannot decode as text:
    # they are public by design and checked below (anonymous test); the draft run covers /p/ refusals.
    exclude = ("/p/tenders",) if which == "pub_b" else None
    report = check_routes(client, app, foreign[which], markers, prefixes=PREFIXES, exclude=exclude)
    report.assert_clean()
    assert len(report.checked) >= 15
    for path in ("/retraits", "/retraits.pdf", "/depots.pdf", "/ouverture", "/pv-ouverture.pdf", "/analyse/1",
                 "/rapport-analyse.pdf", "/analyse/1/decision", "/analyse/1/notification", "/courriers/1/",
                 "/avis-attribution.pdf", "/echanges", "/fichier"):
        assert any(path in checked for checked in report.checked), path


def test_epci_user_never_reaches_troyes_nor_its_members_drafts(app, tenders_world, login_as, foreign):
    client = login_as("epci_user")
    for which, markers in (("draft_troyes", [DRAFT_TITLE, QUESTION, ASKER]), ("draft_b", [DRAFT_TITLE, ASKER])):
        report = check_routes(client, app, foreign[which], markers, prefixes=PREFIXES)
        report.assert_clean()


@pytest.mark.parametrize("role", ["dept_admin", "dept_agent", "mayor_c"])
def test_department_staff_and_unsubscribed(app, tenders_world, login_as, foreign, role):
    client = login_as(role)
    report = check_routes(client, app, foreign["draft_b"], [DRAFT_TITLE, QUESTION, ASKER], prefixes=PREFIXES)
    report.assert_clean()


def test_anonymous_sees_only_published_and_never_e_mails(app, tenders_world, foreign, client):
    pub = foreign["pub_b"]["tender_id"]
    body = client.get(f"/p/tenders/{pub}").get_data(as_text=True)
    assert PUB_TITLE in body and ASKER not in body and QUESTION not in body  # unanswered questions stay private
    assert client.get(f"/p/tenders/{foreign['draft_b']['tender_id']}").status_code == 404
    assert client.get(f"/p/tenders/{foreign['draft_b']['tender_id']}/dce.zip").status_code == 404
    assert DRAFT_TITLE not in client.get("/p/tenders/flux.atom").get_data(as_text=True)


def test_a_company_never_reads_another_companys_letter_or_receipt(app, tenders_world, foreign):
    """Cross-company: the public routes of a company (its letters, its receipts) answer 404 to any other company."""
    from portal.extensions import db
    from services.tenders.companies import Company

    pub = foreign["pub_b"]
    with app.app_context():
        other = Company(name="Autre entreprise", siret="73282932000074", email="autre@btp.test.example.org",
                        password_hash="x", confirmed_at=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    client = app.test_client()
    with client.session_transaction() as s:
        s["tenders_company"] = other_id
    for url in (f"/p/tenders/{pub['tender_id']}/courriers/1.pdf",
                f"/p/tenders/{pub['tender_id']}/depot/{pub['bid_id']}/accuse.pdf"):
        resp = client.get(url)
        assert resp.status_code == 404, url
        assert f"Entreprise-{PUB_TITLE[:12]}".encode() not in resp.data
    # another company's exchanges and alerts: not shown, not answerable, not deletable
    page = client.get(f"/p/tenders/{pub['tender_id']}/echanges")
    assert page.status_code == 200 and f"demande-{PUB_TITLE[:12]}".encode() not in page.data
    assert b"code CPV" in client.get("/p/tenders/entreprises/alertes").data
    from tests.conftest import PortalClient

    portal = PortalClient(app)
    with portal.http.session_transaction() as s:
        s["tenders_company"] = other_id
    assert portal.post(f"/p/tenders/{pub['tender_id']}/echanges", {"exchange": str(pub["exchange_id"]),
                                                                     "reply": "x"},
                       csrf_from="/p/tenders/entreprises/connexion").status_code == 404
    assert portal.post(f"/p/tenders/entreprises/alertes/{pub['alert_id']}/supprimer", {},
                       csrf_from="/p/tenders/entreprises/connexion").status_code == 404
