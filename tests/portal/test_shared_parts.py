"""The shared parts every service uses: after-commit hand-off, responses, French typography."""
from __future__ import annotations

import csv
import io

from sqlalchemy import text

from portal import responses, typography


def test_csv_cells_are_neutralised_against_formulas():
    text = responses.csv_text([["=HYPERLINK(\"http://x\")", "+33 6", "-2", "@SUM(A1)", "\tx", "plain", 12, -3.5]],
                              header=["a", "b", "c", "d", "e", "f", "g", "h"])
    row = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))[1]
    assert row[:5] == ["'=HYPERLINK(\"http://x\")", "'+33 6", "'-2", "'@SUM(A1)", "'\tx"]
    assert row[5:] == ["plain", "12", "-3.5"]  # numbers stay numbers


def test_safe_dict_writer_neutralises_every_row():
    out = io.StringIO()
    w = responses.safe_dict_writer(out, ["nom"], delimiter=";")
    w.writeheader()
    w.writerows([{"nom": "=1+1"}, {"nom": "Durand"}])
    assert out.getvalue().splitlines()[1:] == ["'=1+1", "Durand"]


def test_french_elision_and_numbers():
    assert typography.de("Ailleville") == "d'Ailleville"
    assert typography.de("Éclance") == "d'Éclance"
    assert typography.de("Troyes") == "de Troyes"
    assert typography.de("Les Riceys") == "des Riceys"
    assert typography.de("Le Mesnil-Saint-Loup") == "du Mesnil-Saint-Loup"
    assert typography.number(2857) == "2\u202f857"
    assert typography.number(12.5) == "12,5"
    assert typography.money(0) == "0,00\u00a0€"
    assert typography.money(1250) == "1\u202f250,00\u00a0€"
    assert typography.plural(1, "destinataire") == "1\u00a0destinataire"
    assert typography.plural(2857, "destinataire") == "2\u202f857\u00a0destinataires"


def test_after_commit_hand_off_runs_once_per_commit_and_never_after_rollback(app):
    from portal.extensions import db
    from portal.outbox import enqueue_after_commit

    calls = []

    class Task:
        name = "recording"

        def apply_async(self, args, countdown=0):
            calls.append(args)

    with app.app_context():
        db.session.execute(text("SELECT 1"))  # the hand-off belongs to a transaction, as after a row is added
        enqueue_after_commit(Task(), 1, 2, 3, batch=2)
        db.session.commit()
        assert calls == [[[1, 2]], [[3]]]
        db.session.execute(text("SELECT 1"))
        enqueue_after_commit(Task(), 9)
        db.session.rollback()
        db.session.commit()
        assert calls == [[[1, 2]], [[3]]]
