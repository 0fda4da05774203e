"""``flask territory load``: any département from the official files (tests/data/territory/SOURCES.md), beside the
Aube; refresh reports (renamed, merged communes); an EPCI straddling two départements; bad files refused with the
file and the line, nothing changed."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.helpers.territories import restore_reference

DATA = Path(__file__).resolve().parents[1] / "data" / "territory"
AUBE = Path(__file__).resolve().parents[2] / "portal" / "data" / "aube"


def load(app, *args):
    return app.test_cli_runner().invoke(args=["territory", "load", *args])


@pytest.fixture
def territories(app, world):
    yield
    restore_reference(app)


def count(app, **kw):
    from portal.extensions import db
    from portal.models import Collectivity

    with app.app_context():
        stmt = select(func.count()).select_from(Collectivity).filter_by(**kw)
        return db.session.scalar(stmt)


def commune(app, insee):
    from portal.extensions import db
    from portal.models import Collectivity

    with app.app_context():
        c = db.session.scalar(select(Collectivity).where(Collectivity.insee == insee))
        return None if c is None else dict(name=c.name, dep=c.department_code, historical=c.historical_since,
                                           successor=c.successor_insee, epcis=[e.siren for e in c.epcis])


def test_a_second_department_is_loaded_beside_the_aube(app, territories):
    result = load(app, "--department", "976", "--from", str(DATA / "976"))
    assert result.exit_code == 0, result.output
    assert "Département 976: 17 communes, 5 EPCI." in result.output
    assert "Communes added (17):" in result.output and "97611 Mamoudzou" in result.output
    assert count(app, kind="commune", department_code="976") == 17
    assert count(app, kind="commune", department_code="10") == 431  # the Aube untouched
    assert count(app, kind="department") == 2
    assert commune(app, "97611")["epcis"] == ["200060457"]  # CA de Dembeni-Mamoudzou
    from portal.extensions import db
    from portal.models import AuditEvent, Collectivity

    with app.app_context():
        dept = db.session.scalar(select(Collectivity).filter_by(kind="department", department_code="976"))
        assert dept.name == "Département de Mayotte"
        ev = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "territory.loaded"))
        assert ev.collectivity_id == dept.id and ev.details["added"] == 17
    # Loading the same files again changes nothing and says so.
    again = load(app, "--department", "976", "--from", str(DATA / "976"))
    assert again.exit_code == 0 and "added" not in again.output.lower().replace("loaded", "")


def test_files_given_one_by_one(app, territories):
    d = DATA / "976"
    result = load(app, "--department", "976", "--department-file", str(d / "decoupage-departement-976.json"),
                  "--communes-csv", str(d / "communes-976.csv"), "--communes-json", str(d / "decoupage-communes-976.json"),
                  "--epci-file", str(d / "decoupage-epci-976.json"))
    assert result.exit_code == 0, result.output
    assert count(app, kind="commune", department_code="976") == 17


def test_another_department_without_files_is_refused(app, territories):
    result = load(app, "--department", "91")
    assert result.exit_code != 0 and "only the demo département" in result.output


def test_refresh_reports_a_commune_nouvelle_and_keeps_the_merged_commune_that_holds_data(app, territories):
    """Saint-Denis and Pierrefitte-sur-Seine became the commune nouvelle of Saint-Denis (93066) on 1 January 2025."""
    import datetime as dt

    from portal.extensions import db
    from portal.models import Collectivity, Convention

    assert load(app, "--department", "93", "--from", str(DATA / "93-2020")).exit_code == 0
    assert count(app, kind="commune", department_code="93") == 40
    with app.app_context():
        pierrefitte = db.session.scalar(select(Collectivity).where(Collectivity.insee == "93059"))
        db.session.add(Convention(collectivity=pierrefitte, number="CD93-2024-1", status="ended",
                                  starts_on=dt.date(2024, 1, 1)))
        db.session.commit()
    result = load(app, "--department", "93", "--from", str(DATA / "93"))
    assert result.exit_code == 0, result.output
    assert "Communes merged into a commune nouvelle (1):\n  93059 Pierrefitte-sur-Seine → 93066" in result.output
    assert "Kept as historical (they hold data) (1):\n  93059 Pierrefitte-sur-Seine" in result.output
    p = commune(app, "93059")
    assert p["historical"] is not None and p["successor"] == "93066" and p["epcis"] == []
    assert commune(app, "93066")["historical"] is None
    from portal.territory import count_communes

    with app.app_context():
        assert count_communes("93") == 39


def test_a_merged_commune_without_data_is_removed(app, territories):
    assert load(app, "--department", "93", "--from", str(DATA / "93-2020")).exit_code == 0
    result = load(app, "--department", "93", "--from", str(DATA / "93"))
    assert "93059 Pierrefitte-sur-Seine → 93066" in result.output and "Kept as historical" not in result.output
    assert commune(app, "93059") is None


def test_refresh_reports_a_renamed_commune(app, territories):
    assert load(app, "--department", "10", "--from", str(DATA / "10-2020")).exit_code == 0
    assert commune(app, "10411")["name"] == "La Ville-aux-Bois"
    result = load(app)  # back to the embedded 2026 files of the Aube
    assert "Communes renamed (1):\n  10411 La Ville-aux-Bois → Ville-aux-Bois" in result.output
    assert commune(app, "10411")["name"] == "Ville-aux-Bois"


def test_an_epci_straddling_two_departments(app, territories):
    """The Métropole du Grand Paris has members in Paris (75) and in the Seine-Saint-Denis (93)."""
    from portal.extensions import db
    from portal.models import Collectivity

    assert load(app, "--department", "93", "--from", str(DATA / "93")).exit_code == 0
    result = load(app, "--department", "75", "--from", str(DATA / "75"))
    assert "200054781 Métropole du Grand Paris: +1 −0" in result.output
    assert load(app, "--department", "93", "--from", str(DATA / "93")).exit_code == 0  # refreshing 93 keeps Paris
    with app.app_context():
        mgp = db.session.scalar(select(Collectivity).where(Collectivity.siren == "200054781"))
        deps = sorted({m.department_code for m in mgp.members})
        assert deps == ["75", "93"] and len(mgp.members) == 40
        assert "75056" in mgp.territory() and "93066" in mgp.territory()


# Bad input ---------------------------------------------------------------------------------------------------------

def copy_department(src: Path, tmp_path: Path) -> Path:
    dest = tmp_path / src.name
    shutil.copytree(src, dest)
    return dest


def snapshot(app):
    from portal.extensions import db
    from portal.models import Collectivity

    with app.app_context():
        return sorted(db.session.execute(select(Collectivity.kind, Collectivity.insee, Collectivity.siren,
                                                Collectivity.name, Collectivity.department_code)).all(),
                      key=lambda r: tuple(str(x) for x in r))


def refused(app, args, before):
    result = load(app, *args)
    assert result.exit_code != 0, result.output
    assert "nothing was changed" in result.output
    assert snapshot(app) == before
    return result.output


def test_files_of_another_department_are_refused(app, territories, tmp_path):
    d = tmp_path / "976"
    d.mkdir()
    for f in (DATA / "93").iterdir():
        shutil.copy(f, d / f.name.replace("93", "976"))
    before = snapshot(app)
    out = refused(app, ["--department", "976", "--from", str(d)], before)
    assert "decoupage-departement-976.json, line 3: this file describes département 93, not 976" in out


def test_a_communes_file_of_another_department_is_refused(app, territories, tmp_path):
    d = copy_department(DATA / "976", tmp_path)
    shutil.copy(DATA / "93" / "communes-93.csv", d / "communes-976.csv")
    out = refused(app, ["--department", "976", "--from", str(d)], snapshot(app))
    assert "communes-976.csv, line 2: commune 93001 (Aubervilliers) belongs to département 93, not 976" in out


def test_a_truncated_csv_is_refused(app, territories, tmp_path):
    d = copy_department(DATA / "976", tmp_path)
    csv = d / "communes-976.csv"
    text = csv.read_text(encoding="utf-8")
    csv.write_text(text[: text.index("97611") + 20], encoding="utf-8")  # cut in the middle of Mamoudzou's line
    out = refused(app, ["--department", "976", "--from", str(d)], snapshot(app))
    assert "communes-976.csv, line 12: 3 fields instead of 13: truncated or damaged line" in out


def test_a_csv_cut_at_a_line_end_is_refused(app, territories, tmp_path):
    d = copy_department(DATA / "976", tmp_path)
    csv = d / "communes-976.csv"
    csv.write_text("".join(csv.read_text(encoding="utf-8").splitlines(keepends=True)[:10]), encoding="utf-8")
    out = refused(app, ["--department", "976", "--from", str(d)], snapshot(app))
    assert "decoupage-communes-976.json, line" in out
    assert "17 communes here, 9 in communes-976.csv" in out and "truncated file" in out


def test_a_truncated_json_is_refused(app, territories, tmp_path):
    d = copy_department(DATA / "976", tmp_path)
    f = d / "decoupage-epci-976.json"
    f.write_text(f.read_text(encoding="utf-8")[:1500], encoding="utf-8")
    out = refused(app, ["--department", "976", "--from", str(d)], snapshot(app))
    assert "decoupage-epci-976.json, line" in out and "not valid JSON" in out


def test_duplicate_codes_are_refused(app, territories, tmp_path):
    d = copy_department(DATA / "976", tmp_path)
    csv = d / "communes-976.csv"
    lines = csv.read_text(encoding="utf-8").splitlines(keepends=True)
    csv.write_text("".join(lines[:5] + [lines[2]] + lines[5:]), encoding="utf-8")
    out = refused(app, ["--department", "976", "--from", str(d)], snapshot(app))
    assert "communes-976.csv, line 6: commune 97602 already on line 3 (duplicate code)" in out


def test_a_commune_in_two_epci_is_refused(app, territories, tmp_path):
    d = copy_department(DATA / "976", tmp_path)
    f = d / "decoupage-epci-976.json"
    epcis = json.loads(f.read_text(encoding="utf-8"))
    epcis[1]["membres"].append(dict(epcis[0]["membres"][0]))
    f.write_text(json.dumps(epcis, ensure_ascii=False, indent=1), encoding="utf-8")
    first = epcis[0]["membres"][0]
    out = refused(app, ["--department", "976", "--from", str(d)], snapshot(app))
    assert (f"decoupage-epci-976.json, line" in out and
            f"commune {first['code']} ({first['nom']}) is a member of two EPCI: {epcis[0]['code']} and "
            f"{epcis[1]['code']}" in out)


def test_a_refresh_with_a_bad_file_changes_nothing(app, territories, tmp_path):
    assert load(app, "--department", "10", "--from", str(DATA / "10-2020")).exit_code == 0
    before = snapshot(app)
    d = copy_department(AUBE, tmp_path)
    csv = d / "communes-10.csv"
    csv.write_text(csv.read_text(encoding="utf-8").replace("\n10387;Troyes;", "\n10387;;"), encoding="utf-8")
    line = [n for n, row in enumerate(csv.read_text(encoding="utf-8").splitlines(), 1) if row.startswith("10387;")][0]
    out = refused(app, ["--department", "10", "--from", str(d)], before)
    assert f"communes-10.csv, line {line}: commune 10387 has no name" in out
    assert commune(app, "10411")["name"] == "La Ville-aux-Bois"  # the rename of the good files was not applied


def test_an_invalid_boundary_is_refused(app, territories, tmp_path):
    d = copy_department(AUBE, tmp_path)
    f = d / "communes-10-aube.geojson"
    data = json.loads(f.read_text(encoding="utf-8"))
    data["features"][3]["geometry"] = {"type": "Polygon", "coordinates": [[[4.0, 48.0], [4.1, 48.1], [4.1, 48.0],
                                                                           [4.0, 48.1], [4.0, 48.0]]]}
    f.write_text(json.dumps(data), encoding="utf-8")
    code = data["features"][3]["properties"]["code"]
    out = refused(app, ["--department", "10", "--from", str(d)], snapshot(app))
    assert f"communes-10-aube.geojson, line 1: feature 4 (code « {code} »): invalid geometry (Self-intersection" in out


def test_the_dry_run_checks_and_changes_nothing(app, territories):
    before = snapshot(app)
    result = load(app, "--department", "976", "--from", str(DATA / "976"), "--dry-run")
    assert result.exit_code == 0 and "Communes added (17):" in result.output and "Dry run" in result.output
    assert snapshot(app) == before


@pytest.mark.parametrize("name,title", [("Aube", "Département de l'Aube"), ("Nord", "Département du Nord"),
                                        ("Vosges", "Département des Vosges"), ("Mayotte", "Département de Mayotte"),
                                        ("Marne", "Département de la Marne"), ("Deux-Sèvres", "Département des Deux-Sèvres"),
                                        ("Hérault", "Département de l'Hérault"),
                                        ("Seine-Saint-Denis", "Département de la Seine-Saint-Denis")])
def test_department_titles(name, title):
    from portal.territory import department_title

    assert department_title(name) == title
