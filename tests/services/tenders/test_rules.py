"""The rules engine, table-driven over every threshold and date change (issue #5)."""
import datetime as dt
from decimal import Decimal

import pytest

from services.tenders import rules

D = dt.date
W, F, S = "works", "supplies", "services"

CASES = [
    # nature, amount HT, launch date, expected procedure, expected publicity
    # supplies/services: 40 000 until 31 March 2026, 60 000 from 1 April 2026 (décret 2025-1386)
    (F, 39_999, D(2026, 3, 31), "none", "free"),
    (F, 40_000, D(2026, 3, 31), "mapa", "free"),
    (S, 39_999, D(2026, 3, 31), "none", "free"),
    (S, 40_000, D(2026, 3, 31), "mapa", "free"),
    (F, 59_999, D(2026, 3, 31), "mapa", "free"),
    (F, 39_999, D(2026, 4, 1), "none", "free"),
    (F, 40_000, D(2026, 4, 1), "none", "free"),
    (F, 59_999, D(2026, 4, 1), "none", "free"),
    (F, 60_000, D(2026, 4, 1), "mapa", "free"),
    (S, 59_999, D(2026, 4, 1), "none", "free"),
    (S, 60_000, D(2026, 4, 1), "mapa", "free"),
    # works: 100 000 from 1 January 2026
    (W, 99_999, D(2026, 1, 1), "none", "free"),
    (W, 100_000, D(2026, 1, 1), "mapa", "boamp_or_jal"),
    (W, 85_000, D(2026, 11, 23), "none", "free"),
    # BOAMP or JAL notice from 90 000 (R2131-12)
    (S, 89_999, D(2026, 6, 1), "mapa", "free"),
    (S, 90_000, D(2026, 6, 1), "mapa", "boamp_or_jal"),
    # European thresholds 2026-2027
    (S, 215_999, D(2026, 6, 1), "mapa", "boamp_or_jal"),
    (S, 216_000, D(2026, 6, 1), "formalised", "boamp_and_joue"),
    (F, 216_000, D(2026, 1, 1), "formalised", "boamp_and_joue"),
    (W, 5_403_999, D(2026, 6, 1), "mapa", "boamp_or_jal"),
    (W, 5_404_000, D(2026, 6, 1), "formalised", "boamp_and_joue"),
    (W, 5_404_000, D(2027, 12, 31), "formalised", "boamp_and_joue"),
    # 2024-2025: 221 000 / 5 538 000, works dispensed below 100 000 (décret 2022-1683 prorogé), F/S 40 000
    (S, 216_000, D(2025, 12, 31), "mapa", "boamp_or_jal"),
    (S, 220_999, D(2025, 6, 1), "mapa", "boamp_or_jal"),
    (S, 221_000, D(2025, 6, 1), "formalised", "boamp_and_joue"),
    (W, 5_404_000, D(2025, 12, 31), "mapa", "boamp_or_jal"),
    (W, 5_537_999, D(2025, 6, 1), "mapa", "boamp_or_jal"),
    (W, 5_538_000, D(2025, 6, 1), "formalised", "boamp_and_joue"),
    (W, 99_999, D(2025, 6, 1), "none", "free"),
    (W, 100_000, D(2025, 6, 1), "mapa", "boamp_or_jal"),
    (F, 39_999, D(2025, 6, 1), "none", "free"),
    (F, 40_000, D(2025, 6, 1), "mapa", "free"),
    (F, 59_999, D(2025, 6, 1), "mapa", "free"),
]


@pytest.mark.parametrize("nature,amount,on,procedure,publicity", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_boundaries(app, nature, amount, on, procedure, publicity):
    with app.test_request_context():
        d = rules.decide(nature, amount, on)
    assert (d.procedure, d.publicity) == (procedure, publicity)
    assert d.reasons and all("article" in r or "R2121" in r or "trace" in r for r in d.reasons)


def test_epci_same_rules(app):
    with app.test_request_context():
        assert rules.decide(W, 100_000, D(2026, 2, 1), "epci").procedure == "mapa"


def test_explanation_is_french_with_articles(app):
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        d = rules.decide(W, Decimal("150000"), D(2026, 6, 1))
        text = " ".join(d.reasons)
    assert "procédure adaptée" in text.lower()
    assert "R2131-12" in text and "BOAMP" in text
    assert "150\u202f000\u00a0€" in text
    assert d.min_days == 15


@pytest.mark.parametrize("nature,amount,on", [
    ("lunch", 1000, D(2026, 6, 1)), (W, -5, D(2026, 6, 1)), (W, 0, D(2026, 6, 1)),
    (W, "douze", D(2026, 6, 1)), (W, 10**10, D(2026, 6, 1)),
    (W, 1000, D(2019, 6, 1)),  # no thresholds known for that date
    (W, 1000, D(2028, 1, 1)),  # European thresholds of 2028 not published yet
])
def test_bad_input_is_refused_with_a_message(app, nature, amount, on):
    with app.test_request_context():
        with pytest.raises(rules.RulesError) as exc:
            rules.decide(nature, amount, on)
    assert str(exc.value)


def test_every_row_cites_its_source():
    rows, deadlines = rules.load()
    for t in rows:
        assert t.article and t.source and t.verified and t.text, t.id
        # every amount in force appears in the quoted text or in its source, written the French way
        assert f"{int(t.amount):,}".replace(",", " ") in (t.text + t.source).replace("\u00a0", " ") or \
            t.verified.startswith("NON vérifié"), t.id
    # the rows in force from 2026 on cite the décret or the delegated regulation that fixes them
    assert "2025-1386" in rules.thresholds_on("works", D(2026, 1, 1))["no_publicity_below"].source
    assert "2025-1386" in rules.thresholds_on("supplies", D(2026, 4, 1))["no_publicity_below"].source
    assert "2025/2152" in rules.thresholds_on("services", D(2027, 12, 31))["formalised_from"].source
    assert "2023/2495" in rules.thresholds_on("works", D(2025, 12, 31))["formalised_from"].source
    # R2132-2 (buyer profile): 40 000 € HT until 31 March 2026, 60 000 € HT from 1 April 2026 (décret 2025-1386)
    assert rules.thresholds_on("supplies", D(2026, 3, 31))["buyer_profile_from"].amount == 40000
    profile = rules.thresholds_on("works", D(2026, 4, 1))["buyer_profile_from"]
    assert profile.amount == 60000 and "2025-1386" in profile.source
    for n in rules.NATURES:  # no gap nor overlap between 2024-01-01 and 2027-12-31
        day = D(2024, 1, 1)
        while day <= D(2027, 12, 31):
            assert set(rules.thresholds_on(n, day)) == {"no_publicity_below", "publication_notice_from",
                                                        "formalised_from", "buyer_profile_from"}, (n, day)
            day += dt.timedelta(days=1)


def test_anonymise_masks_contact_details():
    from services.tenders.wizard import anonymise

    text = anonymise("SARL Dupont, SIRET 123 456 789 00012, tél. 03.25.42.68.47, contact@dupont.example.org : "
                     "faut-il 2 couches ?")
    assert "dupont.example" not in text and "03.25" not in text and "123 456" not in text
    assert "faut-il 2 couches ?" in text
