"""Job offers (« bourse de l'emploi »): the audience matrix, publishing by the centre de gestion and by a mairie,
closing at the date (before and after the beat task), the public page, the Atom feed (valid, XSS inert), the link to
the national job site."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from defusedxml import ElementTree
from sqlalchemy import select

from tests.helpers.clock import legal_today

from .test_audiences import EXPECTED, KINDS, LOGINS

ATOM = "{http://www.w3.org/2005/Atom}"
XSS = '<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">lien</a>'


@pytest.fixture
def offer(app, world):
    """``offer("Titre", "all", publisher=…, closes_on=…, **audience)`` → id, published in the system context."""
    from portal.extensions import db
    from portal.models import Collectivity, User
    from services.desk import jobs, operations

    def _offer(title, kind="public", *, publisher=None, author="dept_admin", closes_on=None, description="",
               commune_insee=None, full_time=True, weekly_hours=None, **audience):
        with app.app_context():
            item = jobs.publish_offer(
                publisher=db.session.get(Collectivity, publisher or world.dept),
                author=db.session.get(User, world.users[author].id),
                audience=operations.AudienceChoice(kind=kind, **audience), title=title, grade="Adjoint administratif",
                category="C", full_time=full_time, weekly_hours=weekly_hours, commune_insee=commune_insee, place="",
                closes_on=closes_on or dt.date.today() + dt.timedelta(days=10), description=description,
                contact="Lettre et CV à la mairie", national_url="")
            db.session.commit()
            return item.id

    return _offer


def title(kind):
    return f"Offre-pour-{kind}-fin"


@pytest.fixture
def matrix(app, world, partners, offer, subscribe):
    subscribe("tenders", world.a)
    extra = {"epci_members": {"epci_id": world.epci}, "service": {"service_slug": "tenders"},
             "list": {"member_ids": (world.b, world.epci)}}
    return {kind: offer(title(kind), kind, publisher=partners.cdg, author="partner_cdg", **extra.get(kind, {}))
            for kind in KINDS}


@pytest.mark.parametrize("viewer", sorted(EXPECTED))
def test_each_viewer_reads_exactly_the_offers_addressed_to_it(login_as, world, matrix, viewer):
    client = login_as(LOGINS[viewer])
    body = client.get("/s/desk/emplois").get_data(as_text=True)
    # partner_cdg published them all, and a publisher reads what it published (another partner: see below)
    expected = set(KINDS) if viewer == "partner" else EXPECTED[viewer]
    for kind, offer_id in matrix.items():
        page = client.get(f"/s/desk/emplois/{offer_id}")
        if kind in expected:
            assert title(kind) in body, (viewer, kind)
            assert page.status_code == 200, (viewer, kind)
        else:
            assert title(kind) not in body, (viewer, kind)
            assert page.status_code == 404, (viewer, kind)


def test_another_partner_reads_only_all_and_public(login_as, matrix):
    client = login_as("partner_amf")
    body = client.get("/s/desk/emplois").get_data(as_text=True)
    assert {k for k in KINDS if title(k) in body} == {"all", "public"}


@pytest.mark.parametrize("login", [None, "mayor_a", "partner_amf", "dept_admin"])
def test_the_public_page_and_feed_show_public_offers_only_whoever_looks(app, world, login_as, matrix, login):
    from tests.conftest import PortalClient

    client = login_as(login) if login else PortalClient(app)
    for url in ("/p/desk/emplois", "/p/desk/emplois.atom"):
        body = client.get(url).get_data(as_text=True)
        assert {k for k in KINDS if title(k) in body} == {"public"}, (login, url)
    assert client.get(f"/p/desk/emplois/{matrix['public']}").status_code == 200
    for kind in set(KINDS) - {"public"}:
        assert client.get(f"/p/desk/emplois/{matrix[kind]}").status_code == 404, (login, kind)


def test_the_centre_de_gestion_publishes_and_a_secretary_of_another_commune_reads(app, world, login_as, partners):
    cdg = login_as("partner_cdg")
    form = cdg.get("/s/desk/emplois/nouvelle")
    assert form.status_code == 200
    assert 'value="public" selected' in form.get_data(as_text=True) or 'selected value="public"' in \
        form.get_data(as_text=True)
    closes = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    resp = cdg.post("/s/desk/emplois/nouvelle", {
        "title": "Secrétaire de mairie itinérante", "grade": "Rédacteur territorial", "category": "B", "time": "part",
        "weekly_hours": "17.5", "commune_insee": world.insee_b, "place": "", "closes_on": closes,
        "description": "Missions : état civil, urbanisme.\n\nTemps partagé entre deux mairies.",
        "contact": "Centre de gestion, service emploi", "national_url": "", "audience": "public"},
        csrf_from="/s/desk/emplois/nouvelle")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    secretary = login_as("secretary_a")
    listing = secretary.get("/s/desk/emplois").get_data(as_text=True)
    assert "Secrétaire de mairie itinérante" in listing and "17,5" in listing
    page = secretary.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Jaucourt" in page and "Rédacteur territorial" in page and "<p>Missions : état civil, urbanisme.</p>" in page
    assert "choisirleservicepublic.gouv.fr/nos-offres/filtres/mot-cles/" in page
    from portal.extensions import db
    from portal.models import AuditEvent

    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "desk.job_published"))
        assert event is not None and event.details["title"] == "Secrétaire de mairie itinérante"


def test_bad_input_gets_french_messages_not_a_500(world, login_as):
    client = login_as("mayor_a")
    past = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    base = {"title": "Agent technique", "category": "C", "time": "full", "closes_on": past, "audience": "public"}
    resp = client.post("/s/desk/emplois/nouvelle", base, csrf_from="/s/desk/emplois/nouvelle")
    assert resp.status_code == 400 and "déjà passée" in resp.get_data(as_text=True)
    future = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    resp = client.post("/s/desk/emplois/nouvelle", {**base, "closes_on": future, "time": "part"},
                       csrf_from="/s/desk/emplois/nouvelle")
    assert resp.status_code == 400 and "heures" in resp.get_data(as_text=True)
    resp = client.post("/s/desk/emplois/nouvelle", {**base, "closes_on": future, "national_url": "javascript:alert(1)"},
                       csrf_from="/s/desk/emplois/nouvelle")
    assert resp.status_code == 400 and "choisirleservicepublic.gouv.fr" in resp.get_data(as_text=True)
    resp = client.post("/s/desk/emplois/nouvelle", {**base, "closes_on": future, "commune_insee": "99999"},
                       csrf_from="/s/desk/emplois/nouvelle")
    assert resp.status_code == 400 and "99999" in resp.get_data(as_text=True)
    assert login_as("elected_a").get("/s/desk/emplois/nouvelle").status_code == 403


def test_an_offer_is_never_shown_open_after_its_date_and_the_task_closes_it(app, world, login_as, offer):
    from portal.extensions import db
    from services.desk.models_public import JobOffer
    from services.desk.tasks import close_job_offers
    from tests.conftest import PortalClient

    # « today » is the Aube's date, as the product reads it: the host's (UTC) is still yesterday from 23:00 UTC
    today = legal_today()
    today_id = offer("Offre-qui-ferme-ce-soir", closes_on=today + dt.timedelta(days=1))
    past_id = offer("Offre-deja-echue", closes_on=today + dt.timedelta(days=1))
    with app.app_context():  # its date passes (as if days went by): the beat task has not run yet
        db.session.get(JobOffer, past_id).closes_on = today - dt.timedelta(days=1)
        db.session.get(JobOffer, today_id).closes_on = today
        db.session.commit()
    public = PortalClient(app)
    for client, url in ((public, "/p/desk/emplois"), (public, "/p/desk/emplois.atom"),
                        (login_as("mayor_b"), "/s/desk/emplois")):
        body = client.get(url).get_data(as_text=True)
        assert "Offre-qui-ferme-ce-soir" in body and "Offre-deja-echue" not in body, url
    page = public.get(f"/p/desk/emplois/{past_id}").get_data(as_text=True)
    assert "Cette offre est close" in page
    assert close_job_offers.apply().get() == 1
    assert close_job_offers.apply().get() == 0  # idempotent
    with app.app_context():
        closed = db.session.get(JobOffer, past_id)
        assert closed.closed_at is not None and closed.closed_reason == "date"
        assert db.session.get(JobOffer, today_id).closed_at is None


def test_the_publisher_closes_its_offer_and_nobody_else_may(app, world, login_as, offer):
    offer_id = offer("Agent-d-entretien", publisher=world.a, author="mayor_a", commune_insee=world.insee_a)
    other = login_as("mayor_b")
    token = other.csrf(f"/s/desk/emplois/{offer_id}")
    assert other.http.post(f"/s/desk/emplois/{offer_id}/cloturer",
                           data={"csrf_token": token, "reason": "filled"}).status_code == 403
    assert other.get(f"/s/desk/emplois/{offer_id}/modifier").status_code == 403
    mayor = login_as("mayor_a")
    resp = mayor.post(f"/s/desk/emplois/{offer_id}/cloturer", {"reason": "filled"},
                      csrf_from=f"/s/desk/emplois/{offer_id}")
    assert resp.status_code == 302
    assert "Agent-d-entretien" not in mayor.get("/p/desk/emplois").get_data(as_text=True)
    own = mayor.get("/s/desk/emplois").get_data(as_text=True)
    assert "Agent-d-entretien" in own and "poste pourvu" in own


def test_the_feed_is_valid_atom_and_publishers_html_is_inert(app, world, offer):
    from tests.conftest import PortalClient

    offer(f"Titre {XSS}", description=f"<p>Texte</p>{XSS}")
    client = PortalClient(app)
    resp = client.get("/p/desk/emplois.atom")
    assert resp.mimetype == "application/atom+xml"
    root = ElementTree.fromstring(resp.get_data())
    assert root.tag == f"{ATOM}feed"
    [entry] = root.findall(f"{ATOM}entry")
    for tag in ("id", "title", "updated", "link"):
        assert entry.find(f"{ATOM}{tag}") is not None, tag
    assert root.find(f"{ATOM}updated").text.endswith("Z")
    content = entry.find(f"{ATOM}content").text  # the HTML a reader renders
    assert "<p>Texte</p>" in content
    for bad in ("<script", "onerror", "javascript:"):
        assert bad not in content
    assert entry.find(f"{ATOM}title").text.startswith("Titre <script>")  # a text construct: shown, never run
    raw = resp.get_data(as_text=True)
    assert "<script" not in raw and "<img" not in raw
    page = client.get("/p/desk/emplois").get_data(as_text=True)
    assert "<script>alert" not in page and 'onerror="' not in page and "<img src=x" not in page  # shown as text


def test_national_link_exact_or_search():
    from services.desk.jobs import national_link
    from services.desk.models_public import JobOffer

    exact = JobOffer(title="x", national_url="https://choisirleservicepublic.gouv.fr/offre-emploi/x-reference-2026-1/")
    assert national_link(exact) == (exact.national_url, True)
    url, is_exact = national_link(JobOffer(title="Secrétaire de mairie / accueil", national_url=""))
    assert not is_exact
    assert url == ("https://choisirleservicepublic.gouv.fr/nos-offres/filtres/mot-cles/"
                   "Secr%C3%A9taire%20de%20mairie%20accueil/")


def test_the_publisher_edits_its_offer_and_a_later_date_opens_it_again(app, world, login_as, offer):
    from portal.extensions import db
    from services.desk import jobs
    from services.desk.models_public import JobOffer

    offer_id = offer("Agent-de-voirie", publisher=world.a, author="mayor_a", commune_insee=world.insee_a,
                     full_time=False, weekly_hours=20)
    with app.app_context():  # its date passed and the beat task closed it
        db.session.get(JobOffer, offer_id).closes_on = dt.date.today() - dt.timedelta(days=2)
        assert jobs.close_expired() == 1
        db.session.commit()
    mayor = login_as("mayor_a")
    form = mayor.get(f"/s/desk/emplois/{offer_id}/modifier").get_data(as_text=True)
    assert 'value="Agent-de-voirie"' in form
    assert re.search(r'<input checked[^>]*value="part"|<input[^>]*value="part"[^>]*checked', form)
    later = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    resp = mayor.post(f"/s/desk/emplois/{offer_id}/modifier", {
        "title": "Agent-de-voirie", "category": "C", "time": "part", "weekly_hours": "24", "closes_on": later,
        "commune_insee": world.insee_a, "audience": "public"}, csrf_from=f"/s/desk/emplois/{offer_id}/modifier")
    assert resp.status_code == 302
    with app.app_context():
        edited = db.session.get(JobOffer, offer_id)
        assert edited.closed_at is None and edited.weekly_hours == 24 and edited.audience.kind == "public"
    assert "Agent-de-voirie" in login_as("mayor_b").get("/p/desk/emplois").get_data(as_text=True)
