"""The user guide: every page links to the guide's section about it, the guide prints as a PDF whose text holds every
section, and its sections all exist."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader


@pytest.mark.parametrize("login,url,section", [
    (None, "/", "accueil"),
    (None, "/connexion", "accueil"),
    (None, "/p/desk/emplois", "emplois"),
    (None, "/p/desk/annuaire", "annuaire"),
    ("mayor_a", "/", "accueil"),
    ("mayor_a", "/s/desk/", "actualites"),
    ("mayor_a", "/s/desk/emplois", "emplois"),
    ("mayor_a", "/s/desk/annuaire/ma-fiche", "annuaire"),
    ("mayor_a", "/s/desk/agenda", "agenda"),
    ("mayor_a", "/s/desk/forum", "forum"),
    ("mayor_a", "/mairie/membres", "membres"),
    ("dept_admin", "/admin/collectivites", "departement"),
])
def test_every_page_links_to_its_section_of_the_guide(app, login_as, login, url, section):
    from tests.conftest import PortalClient

    client = login_as(login) if login else PortalClient(app)
    body = client.get(url).get_data(as_text=True)
    links = re.findall(r'<a class="help-link" href="([^"]+)">([^<]+)</a>', body)
    assert links == [(f"/p/desk/aide#{section}", "Aide")], (url, links)
    guide = client.get("/p/desk/aide").get_data(as_text=True)
    assert f'id="{section}"' in guide


def test_every_section_has_its_text_and_every_endpoint_a_section(app):
    from services.desk import guide

    for key in guide.KEYS:
        with app.app_context():
            assert app.jinja_env.get_template(f"desk/guide/sections/{key}.html")
    assert guide.section_for("tenders_public.index") == "marches"
    assert guide.section_for("desk_public.public_entry") == "annuaire"
    assert guide.section_for("electoral.voters") == "elections"
    assert guide.section_for(None) == "accueil"


def test_the_guide_prints_as_a_pdf_with_every_section(app):
    from services.desk import guide
    from tests.conftest import PortalClient

    resp = PortalClient(app).get("/p/desk/aide.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(resp.get_data()))
    text = " ".join(page.extract_text() for page in reader.pages)
    text = re.sub(r"\s+", " ", text)
    for _key, title, _prefixes in guide.SECTIONS:
        assert title in text, title
    assert "Choisir le service public" in text and "Afficher aux habitants" in text
    assert len(reader.pages) >= len(guide.SECTIONS)
