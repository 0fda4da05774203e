"""News on the home page: publishing (partners and the department only), audit, read marks, pinning, and the HTML a
publisher writes made inert everywhere it is shown (page, home page, e-mail digest, Atom feed)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

XSS = {
    "script": "<script>alert('xss-script')</script>",
    "onerror": '<img src=x onerror="alert(\'xss-onerror\')">',
    "javascript": '<a href="javascript:alert(\'xss-js\')">cliquez</a>',
    "svg": '<svg onload="alert(\'xss-svg\')"><script>alert(1)</script></svg>',
    "iframe": '<iframe src="javascript:alert(\'xss-iframe\')"></iframe>',
    "style": '<p style="background:url(javascript:alert(1))">texte</p>',
}
BODY = "<p>Les <strong>nouveaux</strong> formulaires sont en ligne.</p>" + "".join(XSS.values())
DANGEROUS = re.compile(r"<script|onerror|onload|javascript:|<svg|<iframe|style=", re.IGNORECASE)


def publish_form(client, **fields):
    data = {"title": "Nouveaux formulaires", "body": BODY, "audience": "all", "audience_epci": "",
            "audience_service": "", "audience_codes": "", "document_title": "", "document_url": ""}
    data.update(fields)
    return client.post("/s/desk/actualites/nouvelle", data, csrf_from="/s/desk/actualites/nouvelle")


def test_a_partner_publishes_and_the_mayor_reads_it_on_the_home_page(app, world, partners, login_as):
    from portal.extensions import db
    from portal.models import AuditEvent

    resp = publish_form(login_as("partner_cdg"), title="Concours d'adjoint administratif", pinned="y")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    mayor = login_as("mayor_a")
    home = mayor.get("/").get_data(as_text=True)
    assert "Concours d&#39;adjoint administratif" in home and PARTNER_NAME in home
    assert "news-unread" in home
    news_id = int(re.search(r"/s/desk/actualites/(\d+)", home).group(1))
    assert mayor.post(f"/s/desk/actualites/{news_id}/lu", {"next": "/"}).status_code == 302
    assert "news-unread" not in mayor.get("/").get_data(as_text=True)
    # read marks are per person: the secretary of the same mairie has not read it
    assert "news-unread" in login_as("secretary_a").get("/").get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "desk.news_published"))
        assert event.collectivity_id == partners.cdg and event.details["audience"] == "all"


PARTNER_NAME = "Centre de gestion de l&#39;Aube (essai)"


@pytest.mark.parametrize("role", ["mayor_a", "secretary_a", "epci_user", "dept_agent"])
def test_only_partners_and_the_department_publish(world, login_as, role):
    client = login_as(role)
    assert client.get("/s/desk/actualites/nouvelle").status_code == 403
    assert publish_form(client).status_code in (400, 403)


def test_publisher_html_is_inert_on_the_page_the_home_page_and_in_atom(app, world, partners, login_as):
    resp = publish_form(login_as("partner_cdg"))
    assert resp.status_code == 302
    news_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    mayor = login_as("mayor_a")
    for url in (f"/s/desk/actualites/{news_id}", "/", "/s/desk/"):
        page = mayor.get(url).get_data(as_text=True)
        body = page[page.index("news-body"):]
        body = body[:body.index("</div>")]
        assert "<strong>nouveaux</strong>" in body, url
        assert not DANGEROUS.search(body), (url, body)
    feed = mayor.get("/s/desk/actualites.atom")
    assert feed.mimetype == "application/atom+xml"
    from lxml import etree

    root = etree.fromstring(feed.get_data())
    content = root.find(".//{http://www.w3.org/2005/Atom}content").text  # the HTML a feed reader would render
    assert "<strong>nouveaux</strong>" in content and not DANGEROUS.search(content)


def test_a_javascript_document_link_is_refused_with_a_french_message(world, partners, login_as):
    resp = publish_form(login_as("partner_cdg"), document_url="javascript:alert(1)", document_title="Circulaire")
    assert resp.status_code == 400
    assert 'class="alert alert-error"' in resp.get_data(as_text=True)


def test_the_department_moderates_and_partners_edit_only_their_own(app, world, partners, publish, login_as):
    from portal.extensions import db
    from portal.models import AuditEvent

    amf = publish("Réunion des maires", "all", publisher=partners.amf, author="partner_amf")
    cdg = login_as("partner_cdg")
    assert cdg.get(f"/s/desk/actualites/{amf}").status_code == 200  # addressed to all: readable…
    assert cdg.get(f"/s/desk/actualites/{amf}/modifier").status_code == 403  # …not editable
    assert cdg.post(f"/s/desk/actualites/{amf}/retirer", {}).status_code == 403
    admin = login_as("dept_admin")
    resp = admin.post(f"/s/desk/actualites/{amf}/modifier",
                      {"title": "Réunion des maires (lieu changé)", "body": "<p>À Bar-sur-Aube</p>",
                       "audience": "communes"}, csrf_from=f"/s/desk/actualites/{amf}/modifier")
    assert resp.status_code == 302
    assert admin.post(f"/s/desk/actualites/{amf}/retirer", {}).status_code == 302
    assert admin.get(f"/s/desk/actualites/{amf}").status_code == 404
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("desk.%"))))
    assert {"desk.news_published", "desk.news_edited", "desk.news_withdrawn"} <= actions


def test_pinned_news_come_first(world, publish, login_as):
    publish("Ancienne-mais-epinglee", "all", pinned=True)
    publish("Recente-non-epinglee", "all")
    page = login_as("mayor_a").get("/").get_data(as_text=True)
    assert page.index("Ancienne-mais-epinglee") < page.index("Recente-non-epinglee")


def test_plain_text_keeps_its_paragraphs_and_ampersands():
    from services.desk.sanitize import clean, text_of

    cleaned = clean("Bonjour,\n\nLa réunion a lieu à 18 h.\nSalle des fêtes & mairie.")
    assert cleaned == "<p>Bonjour,</p><p>La réunion a lieu à 18 h.<br>Salle des fêtes &amp; mairie.</p>"
    assert text_of(cleaned) == "Bonjour,\nLa réunion a lieu à 18 h.\nSalle des fêtes & mairie."
