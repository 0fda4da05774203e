"""Pre-flight checks, one test per rule, through the real deposit page as a secretary uses it: each refusal names its
rule in French, and nothing is written (no act row, no file on disk)."""
from __future__ import annotations

import datetime as dt
import html

import pytest

from tests.helpers.clock import legal_today

from .conftest import act_ids
from .fixtures import PNG, broken_pdf, encrypted_pdf, javascript_pdf, make_pdf, make_png


def _refused(resp, rule: str, *words: str) -> str:
    body = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422, body[:500]
    assert f'data-rule="{rule}"' in body, body[body.find("preflight"):][:1500]
    for w in words:
        assert w in body, w
    return body


def _nothing_written(app, tmp_path):
    assert act_ids(app) == []
    files = tmp_path / "files"
    assert not files.exists() or not any(p.is_file() for p in files.rglob("*"))


@pytest.mark.parametrize("number", ["2026-014", "_2026", "2026_", "ABCDEFGHIJKLMNOP", "d2026", ""])
def test_number_format(app, world, login_as, deposit, tmp_path, number):
    resp = deposit(login_as("secretary_a"), number=number)
    _refused(resp, "number_format", "Numéro")
    _nothing_written(app, tmp_path)


def test_number_unique_in_the_collectivity_with_a_suggestion(app, world, login_as, deposit):
    client = login_as("secretary_a")
    assert deposit(client).status_code == 302
    body = _refused(deposit(client), "number_unique", "2026_014_2")
    assert "déjà utilisé" in body
    assert len(act_ids(app)) == 1
    # …while another commune may use the same number.
    assert deposit(login_as("mayor_b")).status_code == 302


def test_decision_date_not_in_the_future(app, login_as, deposit, tmp_path):
    # the Aube's date, as the product reads it (the host's, in UTC, is still yesterday from 23:00 UTC)
    tomorrow = legal_today() + dt.timedelta(days=1)
    _refused(deposit(login_as("secretary_a"), decision_date=tomorrow.isoformat()), "decision_date", "futur")
    _nothing_written(app, tmp_path)


@pytest.mark.parametrize("subject", ["", "x" * 500])
def test_subject_length(app, login_as, deposit, tmp_path, subject):
    _refused(deposit(login_as("secretary_a"), subject=subject), "subject_length", "499")
    _nothing_written(app, tmp_path)


def test_matiere_must_be_in_the_classification(app, login_as, deposit, tmp_path):
    _refused(deposit(login_as("secretary_a"), matiere="9.9.9"), "matiere_unknown", "9.9.9")
    _nothing_written(app, tmp_path)


def test_classification_older_than_the_prefecture_s_is_refused(app, login_as, deposit, tmp_path):
    from portal.extensions import db
    from services.actes.models import PrefectureState

    with app.app_context():
        db.session.add(PrefectureState(prefecture="PREF010", current_version=dt.date(2017, 7, 13)))
        db.session.commit()
    _refused(deposit(login_as("secretary_a")), "classification_outdated", "01/04/2004", "13/07/2017")
    _nothing_written(app, tmp_path)


@pytest.mark.parametrize("content, words", [
    (b"GIF89a not a pdf", "ne correspond pas"),
    (broken_pdf(), "endommagé"),
    (encrypted_pdf(), "mot de passe"),
    (javascript_pdf(), "scripts"),
], ids=["not-pdf", "broken", "encrypted", "javascript"])
def test_act_must_be_a_real_pdf(app, login_as, deposit, tmp_path, content, words):
    _refused(deposit(login_as("secretary_a"), act=content), "act_pdf", words)
    _nothing_written(app, tmp_path)


def test_xml_annex_only_for_a_budget_act_of_matiere_7_1(app, login_as, deposit, tmp_path):
    xml = ("budget.xml", b"<?xml version='1.0'?><DocumentBudgetaire/>")
    client = login_as("secretary_a")
    _refused(deposit(client, annexes=[xml]), "annex_type", "7.1")
    _nothing_written(app, tmp_path)
    assert deposit(client, annexes=[xml], nature="5", act_piece_type="99_BU").status_code == 302


def test_annexes_pdf_jpeg_png_only(app, login_as, deposit):
    client = login_as("secretary_a")
    _refused(deposit(client, annexes=[("plan.docx", b"PK\x03\x04word")]), "annex_type", "JPEG")
    assert deposit(client, annexes=[("plan.png", PNG), ("note.pdf", make_pdf("Annexe"))]).status_code == 302


@pytest.mark.parametrize("piece_type", ["99DE", "99-DE", "99_DE_", ""])
def test_piece_type_is_five_characters(app, login_as, deposit, tmp_path, piece_type):
    _refused(deposit(login_as("secretary_a"), act_piece_type=piece_type), "piece_type", "99_DE")
    _nothing_written(app, tmp_path)


def test_total_size_at_most_150_mib(app, actes_world):
    """Act and annexes together above 150 MiB (two real 76 MiB scans, each acceptable alone)."""
    from services.actes.checks import Deposit, Upload, preflight
    from services.actes.classification import default_xml, parse

    with app.test_request_context():
        scan = make_png(padding=76 * 1024 * 1024)
        big = [Upload(f"plan-{i}.png", scan, "99_AU") for i in (1, 2)]
        d = Deposit(1, "7.1", "2026_1", legal_today(), "Objet", Upload("a.pdf", make_pdf(), "99_DE"), big)
        report = preflight(d, matieres=parse(default_xml()).matieres, stored_version=None, prefecture_version=None,
                           taken_numbers=set(), today=legal_today())
        assert report.rules() == {"total_size"}
        assert "150 Mio" in report.errors[0].message or "150 MiB" in report.errors[0].message


def test_a_scan_without_text_is_accepted_with_a_warning(app, login_as, deposit):
    client = login_as("secretary_a")
    resp = deposit(client, act=make_pdf(None))
    assert resp.status_code == 302
    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "sans texte" in page


def test_several_problems_are_all_named_at_once(app, login_as, deposit):
    # the Aube's date, as the product reads it (the host's, in UTC, is still yesterday from 23:00 UTC)
    tomorrow = legal_today() + dt.timedelta(days=1)
    body = _refused(deposit(login_as("secretary_a"), number="a-b", decision_date=tomorrow.isoformat(),
                            matiere="0.0"), "number_format")
    assert 'data-rule="decision_date"' in body and 'data-rule="matiere_unknown"' in body


def test_elected_official_cannot_deposit(app, login_as, deposit):
    assert deposit(login_as("elected_a")).status_code == 403
    assert act_ids(app) == []
