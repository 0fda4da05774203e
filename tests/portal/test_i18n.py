"""The French catalog (portal/translations/fr) is complete, compiled, consistent, and the pages use it.

When a test here fails after a change of the English source strings: run ``scripts/i18n.sh``, translate the empty
msgstr of ``portal/translations/fr/LC_MESSAGES/messages.po``, run ``scripts/i18n.sh`` again, commit .pot, .po, .mo.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages import checkers
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "portal" / "translations"
PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
# The marking functions besides Babel's defaults; keep in step with KEYWORDS in scripts/i18n.sh.
KEYWORDS = ["_l", "lazy_gettext", "lazy_ngettext:1,2", "lazy_pgettext:1c,2", "lazy_npgettext:1c,2,3"]


def _key(msg):
    return msg.context, (msg.id if isinstance(msg.id, str) else tuple(msg.id))


def _strings(msg):
    return list(msg.string) if isinstance(msg.string, (list, tuple)) else [msg.string]


def _show(msg):
    return msg.id if isinstance(msg.id, str) else msg.id[0]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The msgids of the sources now, extracted with babel.cfg into a temporary .pot."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    args = [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg"]
    for k in KEYWORDS:
        args += ["-k", k]
    subprocess.run([*args, "-o", str(pot), "."], cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fh:
        catalog = read_po(fh)
    messages = {_key(m): m for m in catalog if m.id}
    assert len(messages) > 100, "extraction found almost nothing: is babel.cfg still at the root?"
    return messages


@pytest.fixture(scope="module")
def catalog():
    with PO.open("rb") as fh:
        return read_po(fh, locale="fr")


def test_catalog_header_is_french_and_usable(catalog):
    assert str(catalog.locale) == "fr"
    assert catalog.plural_expr.replace(" ", "") == "(n>1)"
    assert catalog.num_plurals == 2
    assert not catalog.fuzzy, "a fuzzy header makes pybabel compile skip the whole catalog"


def test_every_msgid_of_the_sources_has_a_french_translation(extracted, catalog):
    entries = {_key(m): m for m in catalog if m.id}
    missing = sorted(_show(m) for k, m in extracted.items() if k not in entries)
    assert not missing, f"msgids missing from {PO.name} (run scripts/i18n.sh, then translate): {missing}"
    untranslated = sorted(_show(entries[k]) for k in extracted if not all(s and s.strip() for s in _strings(entries[k])))
    assert not untranslated, f"untranslated msgids: {untranslated}"
    fuzzy = sorted(_show(entries[k]) for k in extracted if entries[k].fuzzy)
    assert not fuzzy, f"fuzzy translations (review them, then remove the fuzzy flag): {fuzzy}"


def test_catalog_keeps_no_msgid_the_sources_dropped(extracted, catalog):
    stale = sorted(_show(m) for m in catalog if m.id and _key(m) not in extracted)
    assert not stale, f"msgids no longer in the sources (run scripts/i18n.sh): {stale}"


def test_committed_pot_is_up_to_date(extracted):
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        committed = {_key(m) for m in read_po(fh) if m.id}
    assert committed == set(extracted), "portal/translations/messages.pot is out of date: run scripts/i18n.sh"


def test_committed_mo_matches_the_po(catalog, tmp_path):
    fresh = tmp_path / "messages.mo"
    with fresh.open("wb") as fh:
        write_mo(fh, catalog)  # as pybabel compile does: fuzzy entries left out

    def messages(path):
        with path.open("rb") as fh:
            return {_key(m): tuple(_strings(m)) for m in read_mo(fh) if m.id}

    want, have = messages(fresh), messages(MO)
    assert have == want, (
        f"{MO.name} is not compiled from the current {PO.name} (run scripts/i18n.sh): "
        f"{sorted(str(k[1]) for k in set(want) ^ set(have) or [k for k in want if want[k] != have.get(k)])[:10]}"
    )


def test_placeholders_are_kept(extracted, catalog):
    """Every %(name)s of a msgid is in its translation (each plural form); no stray % that would break formatting."""
    problems = []
    for msg in catalog:
        if not msg.id or not all(_strings(msg)):
            continue
        source = extracted.get(_key(msg))
        if (source is not None and source.python_format) or msg.python_format:
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
    assert not problems, "\n".join(problems)


def _placeholders(text: str) -> set[str]:
    from babel.messages.catalog import PYTHON_FORMAT

    return {m.group(0) for m in PYTHON_FORMAT.finditer(text) if m.group(0) != "%%"}


def test_french_typography(catalog):
    """No-break space before : ; ? ! and inside « » — a plain space lets the sign start a new line."""
    problems = []
    for msg in catalog:
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


def test_password_reset_email_is_in_french(client, world, smtp):
    client.post("/mot-de-passe-oublie", {"email": world.users["mayor_a"].email}, csrf_from="/mot-de-passe-oublie")
    assert len(smtp.messages) == 1
    text = smtp.messages[0].text
    assert "Bonjour" in text and "Pour choisir un nouveau mot de passe, ouvrez ce lien" in text
    assert "Ce message est envoyé automatiquement" in text
    assert "open this link" not in text


def test_i18n_script_check_passes():
    """scripts/i18n.sh --check is what CI and the other engineers run; it must agree with the tests above."""
    script = ROOT / "scripts" / "i18n.sh"
    res = subprocess.run(["bash", str(script), "--check"], cwd=ROOT, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})
    assert res.returncode == 0, res.stderr[-3000:]
