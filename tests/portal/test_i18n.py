"""The French catalogs are complete, compiled, consistent, and the pages use them.

Catalogs: the portal's (portal/translations) and the own catalog of each service package that has one
(services/<slug>/translations, merged by the app at start-up). A msgid belongs in the catalog of every package it is
used in: services/<slug>/ when that package has a catalog, the portal's otherwise (same rule as scripts/i18n.sh).

When a test here fails after a change of the English source strings: run ``scripts/i18n.sh`` (or
``scripts/i18n.sh portal`` / ``scripts/i18n.sh <slug>``), translate the empty msgstr of the .po, run it again, commit
the .pot, .po and .mo.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages import checkers
from babel.messages.catalog import PYTHON_FORMAT
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALE = "fr"
# The marking functions besides Babel's defaults; keep in step with KEYWORDS in scripts/i18n.sh.
KEYWORDS = ["_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2", "lazy_npgettext:1c,2,3"]


def _catalogs() -> dict[str, Path]:
    found = {"portal": ROOT / "portal" / "translations"}
    for folder in sorted((ROOT / "services").glob("*/translations")):
        if folder.is_dir():
            found[folder.parent.name] = folder
    return found


CATALOGS = _catalogs()


def _owner(path: str) -> str:
    parts = Path(path).parts
    return parts[1] if len(parts) > 2 and parts[0] == "services" and parts[1] in CATALOGS else "portal"


def _po_path(name: str) -> Path:
    return CATALOGS[name] / LOCALE / "LC_MESSAGES" / "messages.po"


def _load(path: Path, locale=None):
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _key(msg):
    context = msg.context.decode("utf-8") if isinstance(msg.context, bytes) else msg.context  # read_mo gives bytes
    return context, (msg.id if isinstance(msg.id, str) else tuple(msg.id))


def _strings(msg):
    return list(msg.string) if isinstance(msg.string, (list, tuple)) else [msg.string]


def _show(msg):
    return msg.id if isinstance(msg.id, str) else msg.id[0]


def _placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PYTHON_FORMAT.finditer(text) if m.group(0) != "%%"}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The msgids of the sources now (babel.cfg, into a temporary .pot), by catalog: {name: {key: message}}."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    args = [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
            "--ignore-dirs=.* __pycache__"]  # as scripts/i18n.sh: "_" folders (services/_template) are read too
    for k in KEYWORDS:
        args += ["-k", k]
    subprocess.run([*args, "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    by_catalog: dict[str, dict] = {name: {} for name in CATALOGS}
    for msg in _load(pot):
        if msg.id:
            for name in {_owner(path) for path, _line in msg.locations} or {"portal"}:
                by_catalog[name][_key(msg)] = msg
    assert len(by_catalog["portal"]) > 100, "extraction found almost nothing: is babel.cfg still at the root?"
    return by_catalog


@pytest.fixture(scope="module")
def catalogs():
    return {name: _load(_po_path(name), LOCALE) for name in CATALOGS if _po_path(name).exists()}


@pytest.mark.parametrize("name", CATALOGS)
def test_catalog_exists_with_a_french_header(name, extracted, catalogs):
    if name not in catalogs:
        if extracted[name]:
            pytest.fail(f"{_po_path(name)} is missing, and {len(extracted[name])} msgids of services/{name}/ need it: "
                        f"run scripts/i18n.sh {name}, then translate them", pytrace=False)
        return
    catalog = catalogs[name]
    assert str(catalog.locale) == "fr"
    assert catalog.plural_expr.replace(" ", "") == "(n>1)"
    assert catalog.num_plurals == 2
    assert not catalog.fuzzy, "a fuzzy header makes pybabel compile skip the whole catalog"


@pytest.mark.parametrize("name", CATALOGS)
def test_every_msgid_of_the_sources_has_a_french_translation(name, extracted, catalogs):
    if name not in catalogs:
        pytest.skip("no catalog (test_catalog_exists_with_a_french_header says whether one is needed)")
    entries = {_key(m): m for m in catalogs[name] if m.id}
    missing = sorted(_show(m) for k, m in extracted[name].items() if k not in entries)
    assert not missing, f"msgids missing from {_po_path(name)} (run scripts/i18n.sh {name}, translate): {missing}"
    untranslated = sorted(_show(entries[k]) for k in extracted[name]
                          if not all(s and s.strip() for s in _strings(entries[k])))
    assert not untranslated, f"untranslated msgids in {_po_path(name)}: {untranslated}"
    fuzzy = sorted(_show(entries[k]) for k in extracted[name] if entries[k].fuzzy)
    assert not fuzzy, f"fuzzy translations (review them, then remove the fuzzy flag): {fuzzy}"


@pytest.mark.parametrize("name", CATALOGS)
def test_catalog_keeps_no_msgid_the_sources_dropped(name, extracted, catalogs):
    if name not in catalogs:
        pytest.skip("no catalog")
    stale = sorted(_show(m) for m in catalogs[name] if m.id and _key(m) not in extracted[name])
    assert not stale, f"msgids no longer in the sources (run scripts/i18n.sh {name}): {stale}"


@pytest.mark.parametrize("name", CATALOGS)
def test_committed_pot_is_up_to_date(name, extracted):
    pot = CATALOGS[name] / "messages.pot"
    if not pot.exists():
        assert name != "portal", "portal/translations/messages.pot is missing: run scripts/i18n.sh portal"
        pytest.skip("this service keeps no .pot")
    committed = {_key(m) for m in _load(pot) if m.id}
    assert committed == set(extracted[name]), f"{pot} is out of date: run scripts/i18n.sh {name}"


@pytest.mark.parametrize("name", CATALOGS)
def test_committed_mo_matches_the_po(name, catalogs, tmp_path):
    if name not in catalogs:
        pytest.skip("no catalog")
    mo = _po_path(name).with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run scripts/i18n.sh {name}"
    fresh = tmp_path / "messages.mo"
    with fresh.open("wb") as fh:
        write_mo(fh, catalogs[name])  # as pybabel compile does: fuzzy entries left out

    def messages(path):
        with path.open("rb") as fh:
            return {_key(m): tuple(_strings(m)) for m in read_mo(fh) if m.id}

    want, have = messages(fresh), messages(mo)
    differ = sorted(str(k[1]) for k in set(want) | set(have) if want.get(k) != have.get(k))
    assert not differ, f"{mo} is not compiled from the current .po (run scripts/i18n.sh {name}): {differ[:10]}"


@pytest.mark.parametrize("name", CATALOGS)
def test_placeholders_are_kept(name, extracted, catalogs):
    """Every %(name)s of a msgid is in its translation (each plural form), and no other % directive."""
    if name not in catalogs:
        pytest.skip("no catalog")
    catalog = catalogs[name]
    problems = []
    for msg in catalog:
        if not msg.id or not all(_strings(msg)):
            continue
        source = extracted[name].get(_key(msg))
        if source is not None and source.python_format:
            msg.flags.add("python-format")
        try:
            checkers.python_format(catalog, msg)
            checkers.num_plurals(catalog, msg)
        except checkers.TranslationError as exc:
            problems.append(f"{_show(msg)!r}: {exc}")
        # Babel's checker refuses unknown placeholders but lets a translation drop one: check both ways, every form.
        ids = [msg.id] if isinstance(msg.id, str) else list(msg.id)
        names = set().union(*(_placeholders(i) for i in ids))
        for i, form in enumerate(_strings(msg)):
            if _placeholders(form) != names:
                problems.append(f"{_show(msg)!r}: form {i} has {sorted(_placeholders(form))}, expected {sorted(names)}")
            if msg.python_format and "%" in PYTHON_FORMAT.sub("", form):
                problems.append(f"{_show(msg)!r}: a lone % in form {i} breaks the formatting (write %%)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", CATALOGS)
def test_french_typography(name, catalogs):
    """No-break space before : ; ? ! and inside « » — a plain space lets the sign start a new line."""
    if name not in catalogs:
        pytest.skip("no catalog")
    problems = []
    for msg in catalogs[name]:
        for s in _strings(msg) if msg.id else []:
            for bad in (" :", " ;", " ?", " !", "« ", " »"):
                if bad in s:
                    problems.append(f"{_show(msg)!r}: plain space in {bad!r}")
            if '"' in s:
                problems.append(f"{_show(msg)!r}: use « » rather than \" (strings go into HTML attributes)")
    assert not problems, "\n".join(problems)


def test_sign_in_page_is_in_french_by_default(client):
    body = client.get("/connexion").get_data(as_text=True)
    assert '<html lang="fr">' in body
    assert "Se connecter" in body
    assert "Mot de passe oublié\u00a0?" in body
    assert "Adresse électronique" in body  # a form label, translated through lazy_gettext
    assert "Sign in" not in body and "Forgot your password?" not in body


def test_sign_in_page_in_english_on_request(client):
    body = client.get("/connexion?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in body
    assert "Sign in" in body and "Forgot your password?" in body
    assert "Se connecter" not in body
    # the choice sticks for the session
    assert '<html lang="en">' in client.get("/connexion").get_data(as_text=True)
    assert '<html lang="fr">' in client.get("/connexion?lang=fr").get_data(as_text=True)


def test_home_page_of_a_mayor_is_in_french(login_as):
    body = login_as("mayor_a").get("/").get_data(as_text=True)
    assert '<html lang="fr">' in body
    assert "Accueil" in body and "Se déconnecter" in body and "Maire" in body
    assert "Sign out" not in body


def test_catalog_kept_for_the_request_follows_the_locale(app):
    """portal/i18n.py keeps the request's catalog: a template string, a Python string and a lazy string are French,
    English inside ``force_locale("en")`` (an e-mail in the recipient's language), French again after it, and English
    after ``refresh`` once the request's locale changed."""
    from flask import render_template_string, session
    from flask_babel import force_locale, gettext, lazy_gettext, refresh

    lazy = lazy_gettext("Home")

    def strings():
        return render_template_string("{{ _('Home') }}"), gettext("Home"), str(lazy)

    with app.test_request_context("/"):
        assert strings() == ("Accueil",) * 3
        with force_locale("en"):
            assert strings() == ("Home",) * 3
        assert strings() == ("Accueil",) * 3
        session["lang"] = "en"
        refresh()
        assert strings() == ("Home",) * 3


def test_password_reset_email_is_in_french(client, world, smtp):
    client.post("/mot-de-passe-oublie", {"email": world.users["mayor_a"].email}, csrf_from="/mot-de-passe-oublie")
    assert len(smtp.messages) == 1
    text = smtp.messages[0].text
    assert "Bonjour" in text and "Pour choisir un nouveau mot de passe, ouvrez ce lien" in text
    assert "Ce message est envoyé automatiquement" in text
    assert "open this link" not in text


def test_i18n_script_check_passes():
    """scripts/i18n.sh --check is what CI and the other engineers run; it must agree with the tests above (for the
    portal's catalog here: the service catalogs have their own parametrized cases above)."""
    script = ROOT / "scripts" / "i18n.sh"
    res = subprocess.run(["bash", str(script), "--check", "portal"], cwd=ROOT, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})
    assert res.returncode == 0, res.stderr[-3000:]
