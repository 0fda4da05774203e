"""The user guide (« Aide »): one French section per service and part of the portal, written for the secretaries of
the mairies, in templates (``templates/desk/guide/<section>.html``); screenshots taken by the browser test
``tests/browser/test_desk_jobs_directory.py`` (with ``UPDATE_GUIDE_SHOTS=1``) into ``static/desk/guide/``, so the
guide shows the portal as it is.

Every page links to the guide's section about itself: :func:`section_for` maps the page's endpoint to a section, and
the « Aide » link of ``base.html`` reads ``help_url()`` (a template global given by the desk's public blueprint).
The whole guide prints as a PDF (WeasyPrint), screenshots included, read from the repository's static folder.
"""
from __future__ import annotations

from pathlib import Path

from flask import request, url_for

STATIC = Path(__file__).resolve().parent / "static"
SHOTS_DIR = STATIC / "desk" / "guide"

# (key, French title, endpoint prefixes that lead to it). The first match wins: more precise prefixes first.
SECTIONS = (
    ("accueil", "Se connecter et la page d'accueil", ("home.", "auth.")),
    ("emplois", "La bourse de l'emploi", ("desk.job", "desk_public.public_job")),
    ("annuaire", "L'annuaire et la page de votre commune",
     ("desk.directory", "desk_public.public_director", "desk_public.public_entry")),
    ("agenda", "L'agenda : ateliers et réunions",
     ("desk.agenda", "desk.event", "desk_public.public_agenda", "desk_public.public_event")),
    ("forum", "Le forum des secrétaires", ("desk.forum", "desk_department.forum")),
    ("recherche", "La recherche", ("desk.search",)),
    ("actualites", "Les actualités et le courriel récapitulatif", ("desk.", "desk_public.", "desk_department.")),
    ("membres", "Les comptes de la mairie et le journal", ("mairie.",)),
    ("elections", "Les listes électorales", ("electoral",)),
    ("cadastre", "Le cadastre", ("cadastre",)),
    ("marches", "Les marchés publics", ("tenders",)),
    ("actes", "Les actes et le contrôle de légalité", ("actes",)),
    ("alertes", "Alerte citoyen", ("alerts",)),
    ("departement", "Pour l'équipe du département", ("admin.", "support.")),
)
KEYS = tuple(key for key, _title, _prefixes in SECTIONS)

# Screenshots of each section (file name in SHOTS_DIR, French caption), written by the browser test of the guide.
SHOTS = {
    "accueil": [("accueil-public.png", "La page d'accueil du portail pour les personnes sans compte.")],
    "actualites": [("actualites.png", "Les actualités adressées à votre collectivité.")],
    "emplois": [("emplois-formulaire.png", "Publier une offre d'emploi."),
                ("emplois-public.png", "La page publique des offres d'emploi.")],
    "annuaire": [("annuaire-fiche.png", "La fiche de la mairie, à remplir par la mairie."),
                 ("annuaire-public.png", "La page de la commune vue par les habitants.")],
    "agenda": [("agenda-evenement.png", "Un atelier de l'agenda, avec l'inscription.")],
}


def section_for(endpoint: str | None) -> str:
    for key, _title, prefixes in SECTIONS:
        if endpoint and endpoint.startswith(prefixes):
            return key
    return "accueil"


def shots(section: str) -> list[tuple[str, str]]:
    """The screenshots of ``section`` that exist (a fresh clone has the committed ones)."""
    return [(name, caption) for name, caption in SHOTS.get(section, []) if (SHOTS_DIR / name).is_file()]


def help_url() -> str:
    """The guide's section about the current page."""
    section = section_for(request.endpoint)
    return url_for("desk_public.guide_page", _anchor=section)
