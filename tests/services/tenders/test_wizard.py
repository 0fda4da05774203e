"""The wizard through HTTP: steps, autosave, errors at the step, summary, publication rules, permissions."""
import datetime as dt

from sqlalchemy import select

from tests.helpers.clock import legal_today

from .conftest import ROOF, calendar, fill, new_tender


def _tender(app, tid):
    from portal.extensions import db
    from services.tenders.models import Tender

    with app.app_context():
        db.session.expire_all()
        t = db.session.get(Tender, tid)
        db.session.expunge(t) if t else None
        return t


def test_roof_85k_is_below_the_works_dispensation(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    fill(sec, tid, amount="85000")
    page = sec.get(f"/s/tenders/{tid}/etape/3").get_data(as_text=True)
    assert "R2122-8" in page and "100\u202f000" in page
    summary = sec.get(f"/s/tenders/{tid}/recapitulatif").get_data(as_text=True)
    assert "sans publicité" in summary.lower() or "without publicity" in summary.lower()


def test_mapa_published_by_mayor(app, published):
    mayor, tid = published
    t = _tender(app, tid)
    assert t.status == "published" and t.procedure == "mapa" and t.publicity == "boamp_or_jal"
    assert t.amount_ht == 120000


def test_step_errors_are_shown_and_nothing_advances(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    resp = sec.post(f"/s/tenders/{tid}/etape/1", {"title": "", "nature": "lunch", "action": "next"},
                    csrf_from=f"/s/tenders/{tid}/etape/1")
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "field-error" in body and "error-text" in body
    fill_step1 = dict(ROOF[1])
    sec.post(f"/s/tenders/{tid}/etape/1", fill_step1 | {"action": "next"}, csrf_from=f"/s/tenders/{tid}/etape/1")
    for bad in ("-5", "abc", "0", "99999999999"):
        resp = sec.post(f"/s/tenders/{tid}/etape/2", {"lot_1": bad, "action": "next"},
                        csrf_from=f"/s/tenders/{tid}/etape/1")
        assert resp.status_code == 422, bad
    assert _tender(app, tid).amount_ht is None


def test_weights_must_total_100(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    resp = sec.post(f"/s/tenders/{tid}/etape/5", {"weight_price": "60", "weight_technical": "30", "action": "next"},
                    csrf_from=f"/s/tenders/{tid}/etape/1")
    assert resp.status_code == 422
    # the message with its total, not the bare digits « 90 » (a CSRF token or an id on the page may hold them)
    assert "Le total des pondérations doit faire 100\xa0% (actuellement 90\xa0%)" in resp.get_data(as_text=True)


def test_deadline_in_the_past_or_too_short_is_refused(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    data = {k: dict(v) for k, v in ROOF.items()}
    for step in (1,):
        sec.post(f"/s/tenders/{tid}/etape/{step}", data[step] | {"action": "next"}, csrf_from="/s/tenders/")
    sec.post(f"/s/tenders/{tid}/etape/2", {"lot_1": "300000", "action": "next"}, csrf_from="/s/tenders/")
    past = calendar(days=-2)
    resp = sec.post(f"/s/tenders/{tid}/etape/4", past | {"action": "next"}, csrf_from="/s/tenders/")
    assert resp.status_code == 422
    short = calendar(days=5) | {"media": ["portal", "buyer_profile", "boamp"]}
    resp = sec.post(f"/s/tenders/{tid}/etape/4", short | {"action": "next"}, csrf_from="/s/tenders/")
    assert resp.status_code == 422
    assert "R2123-4" in resp.get_data(as_text=True)


def test_autosave_keeps_partial_input(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    token = sec.csrf(f"/s/tenders/{tid}/etape/1")
    resp = sec.http.post(f"/s/tenders/{tid}/etape/1", data={"csrf_token": token, "title": "Chasse-neige",
                                                           "action": "autosave"}, headers={"X-Autosave": "1"})
    assert resp.status_code == 200 and resp.json["saved"] is True and "nature" in resp.json["errors"]
    assert _tender(app, tid).title == "Chasse-neige"
    # resumable: the list links the draft at its step, and a second draft coexists
    tid2 = new_tender(sec)
    index = sec.get("/s/tenders/").get_data(as_text=True)
    assert "Chasse-neige" in index and f"/s/tenders/{tid2}/etape/1" in index


def test_publication_refused_when_incomplete_and_for_secretary(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    resp = sec.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from="/s/tenders/")
    assert resp.status_code == 403  # publish is the mayor's (grantable)
    mayor = login_as("mayor_a")
    resp = mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from="/s/tenders/")
    assert resp.status_code == 302
    assert _tender(app, tid).status == "draft"
    page = mayor.get(f"/s/tenders/{tid}/recapitulatif").get_data(as_text=True)
    assert "alert-warning" in page


def test_below_threshold_is_not_published(app, tenders_world, login_as):
    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    fill(mayor, tid, amount="85000")
    mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from="/s/tenders/")
    assert _tender(app, tid).status == "draft"


def test_elected_reads_but_cannot_write(app, tenders_world, login_as):
    elected = login_as("elected_a")
    assert elected.get("/s/tenders/").status_code == 200
    assert elected.post("/s/tenders/nouveau", {}, csrf_from="/s/tenders/").status_code == 403


def test_epci_buys_on_its_own(app, tenders_world, login_as):
    from portal.extensions import db
    from services.tenders.models import Tender

    epci = login_as("epci_user")
    tid = new_tender(epci)
    with app.app_context():
        t = db.session.get(Tender, tid)
        assert t.collectivity_id == tenders_world.epci
    # a member commune's mayor does not see the EPCI's draft
    mayor = login_as("mayor_a")
    assert mayor.get(f"/s/tenders/{tid}/recapitulatif").status_code == 404
    assert "etape" not in mayor.get("/s/tenders/").get_data(as_text=True)


def test_roof_85k_published_voluntarily(app, tenders_world, login_as):
    """Below the 100 000 € works dispensation nothing is required, but the commune may choose to publish."""
    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    data = {k: dict(v) for k, v in ROOF.items()}
    data[3] = {"voluntary": "1"}
    fill(mayor, tid, data=data, amount="85000")
    t = _tender(app, tid)
    assert (t.procedure, t.publicity) == ("mapa", "voluntary")
    assert mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from="/s/tenders/").status_code == 302
    assert _tender(app, tid).status == "published"


def test_api_lists_tenders_and_answers_the_rules_engine(app, tenders_world, login_as):
    sec = login_as("secretary_a")
    tid = new_tender(sec)
    fill(sec, tid, amount="85000")
    listing = sec.get("/api/v1/tenders/").json
    assert [t["id"] for t in listing["tenders"]] == [tid]
    one = sec.get(f"/api/v1/tenders/{tid}").json
    assert one["amount_ht"] == 85000 and one["lots"][0]["number"] == 1 and one["criteria"][0]["weight"] == 60
    r = sec.get("/api/v1/tenders/procedure?nature=supplies&amount=59999&date=2026-03-31").json
    assert r["procedure"] == "mapa" and any(th["article"].startswith("R2122-8") for th in r["thresholds"])
    assert sec.get("/api/v1/tenders/procedure?nature=supplies&amount=59999&date=2026-04-01").json["procedure"] == "none"
    bad = sec.get("/api/v1/tenders/procedure?nature=works&amount=-1")
    assert bad.status_code == 400 and bad.json["message"]
    assert sec.get("/api/v1/tenders/procedure?nature=works&amount=1&date=hier").status_code == 400
    assert login_as("mayor_b").get(f"/api/v1/tenders/{tid}").status_code == 404


def test_canteen_in_two_lots_formalised_with_30_clear_days(app, tenders_world, login_as):
    """Services over the European threshold once renewals are counted: open call for tenders, 30 days minimum as
    bids are received electronically (R2161-2 reduced by R2161-3, 2°), counted as a délai franc (the deadline on the
    31st day at the earliest), one acte d'engagement per lot."""
    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    data = {k: dict(v) for k, v in ROOF.items()}
    data[1] |= {"title": "Restauration scolaire", "nature": "services", "cpv_code": "55523100",
                "duration_months": "12", "renewals": "3", "renewal_months": "12",
                "lots": "Repas en liaison froide\nGoûters bio", "single_lot_reason": ""}
    for step in (1,):
        assert mayor.post(f"/s/tenders/{tid}/etape/1", data[1] | {"action": "next"},
                          csrf_from="/s/tenders/").status_code == 302
    resp = mayor.post(f"/s/tenders/{tid}/etape/2", {"lot_1": "180000", "lot_2": "40000", "action": "next"},
                      csrf_from="/s/tenders/")
    assert resp.status_code == 302
    t = _tender(app, tid)
    assert t.amount_ht == 220000 and t.total_months == 48
    assert (t.procedure, t.publicity) == ("formalised", "boamp_and_joue")  # 220 000 ≥ 216 000 (2026-2027)
    too_short = calendar(days=30) | {"media": ["portal", "buyer_profile", "boamp", "joue"]}
    resp = mayor.post(f"/s/tenders/{tid}/etape/4", too_short | {"action": "next"}, csrf_from="/s/tenders/")
    page = resp.get_data(as_text=True)
    # the minimum in its sentence, not the bare digits « 30 » (a date, a token or an id on the page may hold them)
    assert resp.status_code == 422 and "R2161-2 et R2161-3, 2°" in page
    assert "au moins 30 jours après la publication" in page
    just_enough = calendar(days=31) | {"media": ["portal", "buyer_profile", "boamp", "joue"]}
    assert mayor.post(f"/s/tenders/{tid}/etape/4", just_enough | {"action": "next"},
                      csrf_from="/s/tenders/").status_code == 302
    missing_joue = calendar(days=40) | {"media": ["portal", "buyer_profile", "boamp"]}
    resp = mayor.post(f"/s/tenders/{tid}/etape/4", missing_joue | {"action": "next"}, csrf_from="/s/tenders/")
    assert resp.status_code == 422
    ok = calendar(days=40) | {"media": ["portal", "buyer_profile", "boamp", "joue"]}
    assert mayor.post(f"/s/tenders/{tid}/etape/4", ok | {"action": "next"}, csrf_from="/s/tenders/").status_code == 302
    for doc in ("ae-1", "ae-2"):
        assert mayor.get(f"/s/tenders/{tid}/documents/{doc}.docx").status_code == 200
    assert mayor.get(f"/s/tenders/{tid}/documents/ae-3.docx").status_code == 404


def test_thresholds_page_lists_every_row_with_its_source(app, tenders_world, login_as):
    from services.tenders import rules

    page = login_as("elected_a").get("/s/tenders/seuils").get_data(as_text=True)
    for row in rules.load()[0]:
        assert row.article in page
    assert "2025-1386" in page and "216\u202f000" in page and "5\u202f538\u202f000" in page


def test_a_draft_dated_2025_shows_2025_rules_but_cannot_be_published_as_such(app, tenders_world, login_as):
    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    fill(mayor, tid, amount="218000", step4=calendar() | {"media": ["portal", "buyer_profile", "boamp"]})
    data = {k: dict(v) for k, v in ROOF.items()}
    mayor.post(f"/s/tenders/{tid}/etape/1", data[1] | {"nature": "services", "action": "next"}, csrf_from="/s/tenders/")
    mayor.post(f"/s/tenders/{tid}/etape/2", {"lot_1": "218000", "action": "next"}, csrf_from="/s/tenders/")
    mayor.post(f"/s/tenders/{tid}/etape/3", {"launch_date": "2025-06-01", "action": "next"}, csrf_from="/s/tenders/")
    page = mayor.get(f"/s/tenders/{tid}/etape/3").get_data(as_text=True)
    assert "221\u202f000" in page  # 2024-2025 European threshold: 218 000 € of services is still a MAPA then
    assert _tender(app, tid).procedure == "mapa"
    mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from="/s/tenders/")
    assert _tender(app, tid).status == "draft"
    mayor.post(f"/s/tenders/{tid}/etape/3", {"launch_date": legal_today().isoformat(), "action": "next"},
               csrf_from="/s/tenders/")
    assert _tender(app, tid).procedure == "formalised"  # 218 000 ≥ 216 000 in 2026-2027


def test_a_draft_resumed_later_is_published_with_todays_date(app, tenders_world, login_as):
    from portal.extensions import db
    from services.tenders.models import Tender

    mayor = login_as("mayor_a")
    tid = new_tender(mayor)
    fill(mayor, tid, amount="120000", step4=calendar() | {"media": ["portal", "buyer_profile", "boamp"]})
    with app.app_context():  # the draft was started three days ago
        db.session.get(Tender, tid).launch_date = legal_today() - dt.timedelta(days=3)
        db.session.commit()
    mayor.post(f"/s/tenders/{tid}/publier", {"confirm": "1"}, csrf_from="/s/tenders/")
    t = _tender(app, tid)
    # the Aube's date, as the product reads it (the host's, in UTC, is still yesterday from 23:00 UTC)
    assert t.status == "published" and t.launch_date == legal_today()


def test_the_buyer_profile_is_required_and_ticked_from_the_r2132_2_threshold(app, tenders_world, login_as):
    """Supplies of 70 000 € HT launched after 1 April 2026: a procédure adaptée with free publicity, but above the
    60 000 € HT of R2132-2 — the buyer profile is required and ticked by default; at 59 000 € HT it is not."""
    import datetime as dt

    from portal.extensions import db
    from services.tenders import wizard
    from services.tenders.models import Tender

    mayor = login_as("mayor_a")
    from .conftest import new_tender

    tid = new_tender(mayor)
    with app.app_context():
        t = db.session.get(Tender, tid)
        t.nature, t.launch_date, t.procedure, t.publicity = "supplies", dt.date(2026, 6, 1), "mapa", "free"
        for amount, required in ((70000, True), (59000, False)):
            t.amount_ht = amount
            assert wizard.buyer_profile_required(t) is required
            assert ("buyer_profile" in wizard.default_media(t)) is required
        t.amount_ht, t.launch_date = 50000, dt.date(2026, 3, 1)  # 40 000 € HT before 1 April 2026
        assert wizard.buyer_profile_required(t)
        t.amount_ht = 70000
        db.session.commit()
    page = mayor.get(f"/s/tenders/{tid}/etape/4").get_data(as_text=True)
    assert 'value="buyer_profile" checked' in page
