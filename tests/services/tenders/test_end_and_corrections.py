"""After publication: correction notices (history on the public page, in the DCE and in OCDS) and the end of a
procedure without a contract (infructueuse / sans suite: public page, OCDS, absent from the DECP, audited, e-mail)."""
import datetime as dt
import io
import zipfile


from tests.helpers.clock import legal_today, legal_wall

from .test_documents_public_award import pdf_text, wait_for_mail


def _tender(app, tid):
    from portal.extensions import db
    from services.tenders.models import Tender

    return db.session.get(Tender, tid)


def _audit(app, action, tid):
    from portal.models import AuditEvent
    from portal.extensions import db

    with app.app_context():
        return db.session.query(AuditEvent).filter_by(action=action, target_id=str(tid)).all()


def _valid_ocds(package):
    from .ocds_check import valid_release

    return valid_release(package)


def test_correction_notice_amends_and_keeps_the_history(app, published, client, login_as):
    mayor, tid = published
    with app.app_context():
        t = _tender(app, tid)
        old_deadline, old_questions, old_description = t.reception_deadline, t.questions_deadline, t.description
    summary = f"/s/tenders/{tid}/recapitulatif"
    new_deadline = old_deadline + dt.timedelta(days=7)
    form = {"reason": "Ajout d'une visite de site obligatoire et report de la date limite.",
            "description": old_description + " Visite de site obligatoire le 15 du mois.",
            "reception_deadline": new_deadline.strftime("%Y-%m-%dT%H:%M"),
            "questions_deadline": old_questions.strftime("%Y-%m-%dT%H:%M"),
            "title": "Réfection de la toiture de l'église"}

    # refused: a secretary without « publish », an earlier deadline, no reason, nothing changed
    sec = login_as("secretary_a")
    assert sec.post(f"/s/tenders/{tid}/rectificatif", form, csrf_from=summary).status_code == 403
    earlier = dict(form, reception_deadline=(old_deadline - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page = mayor.post(f"/s/tenders/{tid}/rectificatif", earlier, csrf_from=summary, follow_redirects=True)
    assert "ne peut pas être antérieure" in page.get_data(as_text=True)
    mayor.post(f"/s/tenders/{tid}/rectificatif", dict(form, reason=""), csrf_from=summary)
    page = mayor.post(f"/s/tenders/{tid}/rectificatif", {"reason": "Rien", "title": "Réfection de la toiture de "
                                                         "l'église"}, csrf_from=summary, follow_redirects=True)
    assert "Rien ne change" in page.get_data(as_text=True)
    with app.app_context():
        assert _tender(app, tid).corrections == [] and _tender(app, tid).reception_deadline == old_deadline

    resp = mayor.post(f"/s/tenders/{tid}/rectificatif", form, csrf_from=summary)
    assert resp.status_code == 302
    with app.app_context():
        t = _tender(app, tid)
        assert t.reception_deadline == new_deadline and "Visite de site" in t.description
        [c] = t.corrections
        assert c.number == 1  # the opening date follows the deadline it was left before
        assert {ch["field"] for ch in c.changes} == {"reception_deadline", "description", "opening_date"}
        dce = zipfile.ZipFile(io.BytesIO(t.dce_zip))
    [event] = _audit(app, "tenders.corrected", tid)
    assert event.details["number"] == 1

    # the public page shows the notice, the former and the new deadline
    page = client.get(f"/p/tenders/{tid}").get_data(as_text=True)
    assert "Avis rectificatif n° 1" in page and "Ajout d&#39;une visite de site" in page
    assert old_deadline.strftime("%d/%m/%Y %H:%M") in page and new_deadline.strftime("%d/%m/%Y %H:%M") in page
    # the DCE carries the notice as a PDF (« Au lieu de / Lire ») and an RC with the new deadline
    notice = next(n for n in dce.namelist() if n.endswith("-rectificatif-1.pdf"))
    text = pdf_text(dce.read(notice))
    assert "Avis rectificatif n° 1" in text and "Au lieu de" in text
    assert old_deadline.strftime("%d/%m/%Y") in text and new_deadline.strftime("%d/%m/%Y") in text
    rc = pdf_text(dce.read(next(n for n in dce.namelist() if n.endswith("-RC.pdf"))))
    assert new_deadline.strftime("%d/%m/%Y") in rc
    assert client.get(f"/p/tenders/{tid}/dce.zip").data == dce.fp.getvalue()
    # OCDS: an amendment release, valid
    release = _valid_ocds(client.get(f"/p/tenders/{tid}/ocds.json").get_json())
    assert release["tag"] == ["tenderAmendment"] and release["tender"]["status"] == "active"
    assert release["tender"]["amendments"][0]["rationale"].startswith("Ajout d'une visite")
    # the extension shortcut is a second numbered notice
    later = (new_deadline + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    assert mayor.post(f"/s/tenders/{tid}/prolonger", {"reception_deadline": later},
                      csrf_from=summary).status_code == 302
    with app.app_context():
        t = _tender(app, tid)
        assert [c.number for c in t.corrections] == [1, 2]
        assert t.questions_deadline == old_questions + dt.timedelta(days=2)
    assert "Avis rectificatif n° 2" in client.get(f"/p/tenders/{tid}").get_data(as_text=True)


def test_discontinued_procedure_is_published_in_ocds_not_in_decp(app, published, client, login_as, smtp,
                                                                    tenders_world):
    mayor, tid = published
    summary = f"/s/tenders/{tid}/recapitulatif"
    token = client.csrf(f"/p/tenders/{tid}")
    client.http.post(f"/p/tenders/{tid}/questions", data={"csrf_token": token, "email": "devis@zinc.test.example.org",
                                                         "question": "Faut-il déposer les gouttières ?"})
    # refused: unsuccessful before the deadline, sans suite without an explanation, a date in the future (the
    # Aube's tomorrow: the host's, in UTC, is the Aube's today from 23:00 UTC on)
    for bad in ({"end_reason": "no_bid"}, {"end_reason": "budget", "end_details": ""},
                {"end_reason": "budget", "end_details": "Le devis dépasse les crédits votés.",
                 "ended_on": (legal_today() + dt.timedelta(days=1)).isoformat()},
                {"end_reason": "n-importe-quoi", "end_details": "Le devis dépasse les crédits votés."}):
        assert mayor.post(f"/s/tenders/{tid}/fin", bad, csrf_from=summary).status_code == 302
    with app.app_context():
        assert _tender(app, tid).status == "published"
    assert login_as("secretary_a").post(f"/s/tenders/{tid}/fin", {"end_reason": "budget"},
                                        csrf_from=summary).status_code == 403

    resp = mayor.post(f"/s/tenders/{tid}/fin", {"end_reason": "budget",
                                                 "end_details": "Le conseil municipal n'a pas voté les crédits."},
                      csrf_from=summary)
    assert resp.status_code == 302
    with app.app_context():
        t = _tender(app, tid)
        assert t.status == "discontinued" and t.ended_on == legal_today() and t.end_reason == "budget"
    [event] = _audit(app, "tenders.ended", tid)
    assert event.details["outcome"] == "discontinued"

    page = client.get(f"/p/tenders/{tid}").get_data(as_text=True)
    assert "déclarée sans suite" in page and "R2185-1" in page and "pas voté les crédits" in page
    assert 'name="question"' not in page  # questions are closed
    assert "Réfection" not in client.get("/p/tenders/").get_data(as_text=True)  # no longer listed as open
    release = _valid_ocds(client.get(f"/p/tenders/{tid}/ocds.json").get_json())
    assert release["tag"] == ["tenderCancellation"]
    assert release["tender"]["status"] == "cancelled" and release["tender"]["finalStatus"] == "cancelled"
    assert "R2185-1" in release["tender"]["finalStatusDetails"]
    # no contract: the buyer's DECP has no record of it
    decp = client.get(f"/p/tenders/acheteurs/{tenders_world.a}/decp.json").get_json()
    assert decp == {"marches": {"marche": []}}
    # the decision is a document of the consultation
    doc = client.get(f"/p/tenders/{tid}/documents/fin.pdf")
    assert doc.status_code == 200 and "Décision de déclaration sans suite" in pdf_text(doc.data)
    # the company that asked a question is told
    mail = wait_for_mail(smtp, "devis@zinc.test.example.org")
    assert "déclarée sans suite" in mail.text and f"/p/tenders/{tid}" in mail.text
    # final: cannot be ended twice, corrected or awarded
    mayor.post(f"/s/tenders/{tid}/fin", {"end_reason": "need_changed", "end_details": "Encore une fois."},
               csrf_from=summary)
    mayor.post(f"/s/tenders/{tid}/rectificatif", {"reason": "x", "title": "Autre"}, csrf_from=summary)
    with app.app_context():
        t = _tender(app, tid)
        assert t.end_reason == "budget" and t.title.startswith("Réfection") and not t.corrections
    assert len(_audit(app, "tenders.ended", tid)) == 1


def test_unsuccessful_after_the_deadline(app, published, client):
    from portal.extensions import db

    mayor, tid = published
    with app.app_context():
        t = _tender(app, tid)
        t.reception_deadline = legal_wall() - dt.timedelta(hours=1)
        db.session.commit()
    assert "Clôturée" in mayor.get(f"/s/tenders/{tid}/recapitulatif").get_data(as_text=True)  # closed on load
    resp = mayor.post(f"/s/tenders/{tid}/fin", {"end_reason": "no_bid"}, csrf_from=f"/s/tenders/{tid}/recapitulatif")
    assert resp.status_code == 302
    with app.app_context():
        assert _tender(app, tid).status == "unsuccessful"
    page = client.get(f"/p/tenders/{tid}").get_data(as_text=True)
    assert "déclarée infructueuse" in page and "aucune offre n&#39;a été remise" in page
    release = _valid_ocds(client.get(f"/p/tenders/{tid}/ocds.json").get_json())
    assert release["tag"] == ["tenderUpdate"] and release["tender"]["status"] == "unsuccessful"
    assert "R2122-2" in pdf_text(client.get(f"/p/tenders/{tid}/documents/fin.pdf").data)
    feed = client.get("/p/tenders/flux.atom").get_data(as_text=True)
    assert "Infructueuse" in feed


def test_an_awarded_lot_blocks_the_end(app, published):
    from decimal import Decimal

    from portal.extensions import db
    from services.tenders.models import TenderAward

    mayor, tid = published
    with app.app_context():
        t = _tender(app, tid)
        t.awards.append(TenderAward(lot_number=1, holder_name="Couvreur", holder_siret="12345678900011",
                                    amount_ht=Decimal("100000"), notified_on=legal_today(), offers_received=2,
                                    data_published_on=legal_today()))
        db.session.commit()
    mayor.post(f"/s/tenders/{tid}/fin", {"end_reason": "budget", "end_details": "Plus de crédits disponibles."},
               csrf_from=f"/s/tenders/{tid}/recapitulatif")
    with app.app_context():
        assert _tender(app, tid).status == "published"


def test_open_data_that_fails_its_schema_is_refused_with_a_message_not_a_500(app, published, client, tenders_world):
    from decimal import Decimal

    from portal.extensions import db
    from services.tenders.models import TenderAward

    mayor, tid = published
    with app.app_context():
        t = _tender(app, tid)
        t.buyer_siret = "123"  # not a SIRET: the DECP schema refuses it
        t.awards.append(TenderAward(lot_number=1, holder_name="Couvreur", holder_siret="12345678900011",
                                    amount_ht=Decimal("100000"), notified_on=legal_today(), offers_received=2,
                                    data_published_on=legal_today()))
        db.session.commit()
    resp = client.get(f"/p/tenders/acheteurs/{tenders_world.a}/decp.json")
    assert resp.status_code == 503 and "ne peuvent pas être produites" in resp.get_json()["error"]
    staff = mayor.get(f"/s/tenders/{tid}/decp.json")
    assert staff.status_code == 503
