"""The CPV list: check digits, accent-insensitive search, validation at step 1, and the all-or-nothing import of the
official file."""
import gzip

import pytest

from services.tenders import cpv

from .conftest import ROOF, new_tender

# Code/check-digit pairs as published in the official CPV 2008 file (CSV export cpv_2008_ver_2013.csv, vendored in
# github.com/kwasiucionek/TenderBot @ 36252247040e), taken across divisions, levels and the division-09 exception.
OFFICIAL = """03000000-1 03111900-1 03115130-0 03117140-7 03121210-0 03221114-8 03222311-6 09000000-3 09100000-0
09111100-1 09134210-2 09134232-2 09300000-2 09310000-5 14212000-0 14611000-7 14621100-1 15000000-8 15119600-1
15131134-3 15131135-0""".split()


@pytest.mark.parametrize("full", OFFICIAL)
def test_check_digit_reproduces_the_official_file(full):
    code, digit = full.split("-")
    assert cpv.check_digit(code) == digit


def test_a_wrong_digit_is_caught():
    assert cpv.check_digit("45261000") == "4"
    assert cpv.normalise("45261000-4") == ("45261000-4", None)
    assert cpv.normalise(" 45261000 ") == ("45261000-4", None)
    assert cpv.normalise("45261000-5") == (None, "check")
    assert cpv.normalise("4526100") == (None, "format")
    assert cpv.normalise("99000000") == (None, "division")  # there is no division 99


def test_a_code_of_the_list_is_checked_against_the_list(app):
    with app.app_context():
        # 45233139-3 is published with a digit the weighted rule does not give (it gives 2): the list decides
        assert cpv.check_digit("45233139") == "2"
        assert cpv.normalise("45233139") == ("45233139-3", None)
        assert cpv.normalise("45233139-2") == (None, "check")
        rows, index = cpv.entries()
        works = [e for e in rows if e.code.startswith("45")]
        assert len(works) == 822 and all(e.label_checked for e in works)  # the whole works division
        assert index["45261211"].label == "Travaux de couverture en tuiles"
        assert sum(1 for e in works if cpv.check_digit(e.code) != e.check) == 1
        # and the divisions of services small communes buy: architects and engineers (71), cleaning, waste (90)
        assert sum(1 for e in rows if e.code[:2] == "71") == 184 and sum(1 for e in rows if e.code[:2] == "90") == 197
        assert index["90620000"].label == "Services de déneigement" and index["90620000"].label_checked
        assert index["71336000"].label == "Services d'assistance dans le domaine de l'ingénierie"
        counts = {d: sum(1 for e in rows if e.code[:2] == d) for d in ("50", "55", "60", "77", "80", "85")}
        assert counts == {"50": 224, "55": 39, "60": 55, "77": 54, "80": 55, "85": 98}
        # the whole nomenclature: 9 454 codes, every division complete (counts as in the official file)
        assert all(e.label_checked for e in rows) and len(rows) == 9454
        per_division = {d: sum(1 for e in rows if e.code[:2] == d) for d in ("03", "15", "33", "44", "72", "98")}
        assert per_division == {"03": 230, "15": 477, "33": 641, "44": 539, "72": 252, "98": 85}
        assert len({e.code[:2] for e in rows}) == 45
        # the codes' digits are the published ones: the pairs read in an independent copy of the official file
        assert all(index[f.split("-")[0]].check == f.split("-")[1] for f in OFFICIAL)
        assert index["51000000"].full == "51000000-9"
        assert [e.full for e in cpv.search("fournitures de bureau")][:1] == ["30192000-1"]
        assert [e.full for e in cpv.search("eclairage public entretien")][:1] == ["50232100-1"]
        # division 09 as published: every sub-code follows the rule's division-09 exception
        energy = [e for e in rows if e.code[:2] == "09"]
        assert len(energy) == 94 and all(cpv.check_digit(e.code) == e.check for e in energy)
        assert cpv.normalise("09135100") == ("09135100-5", None) and index["09135100"].label == "Fioul domestique"
        assert [e.full for e in cpv.search("restauration scolaire")] == ["55523100-3"]


def test_search_ignores_accents_case_and_finds_by_code(app):
    with app.app_context():
        assert [e.code for e in cpv.search("DENEIGEMENT")] == ["34927100", "90620000"]  # salt, then the service
        assert "90620000" in [e.code for e in cpv.search("déneigement")]
        assert [e.full for e in cpv.search("4526")][:2] == ["45260000-7", "45261000-4"]
        assert cpv.search("45261000-4")[0].code == "45261000"
        found = [e.code for e in cpv.search("travaux construction")]
        assert found[0] == "45000000"  # the shorter, more general label first
        assert cpv.label("45261000") == "Travaux de charpente et de couverture et travaux connexes"
        assert [e.full for e in cpv.search("couverture tuiles")] == ["45261211-6"]
        assert "Réparation de toiture" in [e.label for e in cpv.search("toiture")][:5]
        assert cpv.label("39161000-8") == "Mobilier pour jardin d'enfants"
        # a code missing from the list is shown with its division, marked as such
        assert cpv.label("39161999").endswith("(division 39)")


def test_picker_endpoint_and_step_1_validation(app, tenders_world, login_as):
    client = login_as("secretary_a")
    items = client.get("/s/tenders/cpv?q=couverture").get_json()
    assert {"code": "45261000-4", "label": "Travaux de charpente et de couverture et travaux connexes"} in items
    tid = new_tender(client)
    bad = dict(ROOF[1], cpv_code="45261000-9")
    resp = client.post(f"/s/tenders/{tid}/etape/1", bad | {"action": "next"}, csrf_from=f"/s/tenders/{tid}/etape/1")
    assert resp.status_code == 422
    assert "chiffre de contrôle" in resp.get_data(as_text=True)
    resp = client.post(f"/s/tenders/{tid}/etape/1", ROOF[1] | {"action": "next"}, csrf_from=f"/s/tenders/{tid}/etape/1")
    assert resp.status_code == 302
    from portal.extensions import db
    from services.tenders.models import Tender

    with app.app_context():
        assert db.session.get(Tender, tid).cpv_code == "45261000-4"


def test_import_is_all_or_nothing_then_replaces_the_list(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "TENDERS_CPV_FILE", str(tmp_path / "cpv.csv.gz"))
    runner = app.test_cli_runner()
    bad = tmp_path / "bad.csv"
    bad.write_text("CODE;FR\n45261000-4;Travaux de charpente et de couverture et travaux connexes\n4526;Rien\n"
                   "45262000-1;\n", encoding="utf-8")
    result = runner.invoke(args=["tenders", "cpv-import", str(bad)])
    assert result.exit_code != 0
    assert "line 3" in result.output and "line 4" in result.output and "nothing was loaded" in result.output
    assert not (tmp_path / "cpv.csv.gz").exists()

    good = tmp_path / "good.csv"
    rows = ["CODE;EN;FR", "45000000-7;Construction work;Travaux de construction",
            "45262000-1;Special trade construction works other than roof works;Travaux de corps de métier "
            "spécialisés autres que travaux de couverture"]
    good.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(args=["tenders", "cpv-import", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 CPV codes loaded" in result.output
    assert gzip.decompress((tmp_path / "cpv.csv.gz").read_bytes()).decode().count("\n") == 3
    with app.app_context():
        assert cpv.label("45262000") == "Travaux de corps de métier spécialisés autres que travaux de couverture"
        assert [e.code for e in cpv.search("corps de metier")] == ["45262000"]
        assert cpv.label("45261000") == "Travaux de construction (division 45)"  # the import replaces the list
