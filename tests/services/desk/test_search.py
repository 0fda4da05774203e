"""The one search box: French words found whatever their accents and plural, only among what the person may read,
with the words asked for highlighted (run on SQLite FTS5 and on PostgreSQL's French tsvector by the two suites)."""
from __future__ import annotations

import re


def test_deliberation_is_found_by_deliberations_without_accents(world, publish, login_as):
    publish("Modèle de délibération", "all", body="<p>La délibération du conseil municipal fixe les tarifs.</p>")
    publish("Note sans rapport", "all", body="<p>Horaires d'été de la préfecture.</p>")
    page = login_as("mayor_a").get("/s/desk/recherche?q=deliberations").get_data(as_text=True)
    assert "Modèle de délibération" in page and "Note sans rapport" not in page
    assert "<mark>délibération</mark>" in page


def test_plural_and_accents_the_other_way(world, publish, login_as):
    publish("Élections", "all", body="<p>Les bureaux de vote ferment à 18 h.</p>")
    page = login_as("mayor_a").get("/s/desk/recherche?q=élection bureau").get_data(as_text=True)
    assert "Élections" in page and "<mark>bureaux</mark>" in page


def test_results_are_what_the_person_may_read(world, partners, publish, category, login_as):
    publish("Délibération pour l'EPCI seulement", "epci")
    publish("Délibération pour Jaucourt", "list", member_ids=(world.b,))
    mayor = login_as("mayor_a")
    thread = mayor.post(f"/s/desk/forum/{category}/nouveau",
                        {"title": "Délibérations budgétaires", "body": "Quel modèle pour la délibération ?"},
                        csrf_from=f"/s/desk/forum/{category}/nouveau")
    assert thread.status_code == 302
    page = mayor.get("/s/desk/recherche?q=délibération").get_data(as_text=True)
    assert "Délibérations budgétaires" in page  # the forum is searched too
    assert "pour l&#39;EPCI seulement" not in page and "pour Jaucourt" not in page
    assert "pour Jaucourt" in login_as("mayor_b").get("/s/desk/recherche?q=deliberation").get_data(as_text=True)
    assert "pour l&#39;EPCI seulement" in login_as("epci_user").get("/s/desk/recherche?q=deliberation").get_data(
        as_text=True)


def test_withdrawn_and_hidden_items_leave_the_index(world, publish, category, login_as):
    news_id = publish("Délibération retirée", "all")
    admin = login_as("dept_admin")
    assert admin.post(f"/s/desk/actualites/{news_id}/retirer", {}).status_code == 302
    mayor = login_as("mayor_a")
    resp = mayor.post(f"/s/desk/forum/{category}/nouveau", {"title": "Délibération masquée", "body": "Texte"},
                      csrf_from=f"/s/desk/forum/{category}/nouveau")
    thread_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    assert admin.post(f"/s/desk/forum/sujets/{thread_id}/moderer", {"action": "hide"},
                      csrf_from=f"/s/desk/forum/sujets/{thread_id}").status_code == 302
    page = mayor.get("/s/desk/recherche?q=deliberation").get_data(as_text=True)
    assert "retirée" not in page and "masquée" not in page


def test_snippet_escapes_the_text_and_a_query_of_punctuation_finds_nothing(world, publish, login_as):
    publish("Titre", "all", body="<p>Délibération &lt;script&gt;alert(1)&lt;/script&gt;</p>")
    mayor = login_as("mayor_a")
    page = mayor.get("/s/desk/recherche?q=deliberation").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert mayor.get('/s/desk/recherche?q="*()').status_code == 200


def test_stem():
    from services.desk.search import stem

    assert stem("Délibérations") == stem("deliberation") == "deliberation"
    assert stem("bureaux") == stem("bureau")
    assert re.fullmatch(r"\w+", stem("Élus"))


def test_small_words_are_left_out_of_the_query_as_postgresql_does(world, publish, login_as):
    """« permis de construire » finds a text that writes « permis à construire » (PostgreSQL's french configuration
    drops « de » and « à »; the SQLite search drops the same words), and a query of nothing else finds nothing."""
    publish("Instruction des permis", "all", body="<p>Les demandes de permis à construire sont instruites par l'EPCI.</p>")
    publish("Voirie", "all", body="<p>Construire un trottoir sans permis préalable ? Non.</p>")
    publish("Cimetière", "all", body="<p>Le règlement du cimetière.</p>")
    mayor = login_as("mayor_a")
    page = mayor.get("/s/desk/recherche?q=permis de construire").get_data(as_text=True)
    assert "Instruction des permis" in page and "Voirie" in page and "Cimetière" not in page
    page = mayor.get("/s/desk/recherche?q=de la").get_data(as_text=True)
    assert "Instruction des permis" not in page and "Cimetière" not in page
