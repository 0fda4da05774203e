"""Department-wide import (``flask cadastre import-department``): Etalab department files and folders of EDIGEO
sheets, one vintage per commune, in parallel, progress, resume after a crash, and folders refused as a whole.

Data: the real Etalab file of Paray-Vieille-Poste (91479) laid out as the Essonne's department file (Etalab's
department files are the concatenation of its commune files, one feature per line: this one holds the one commune
the repository has), the real EDIGEO sheets of Luxiol (25354) in Etalab's département / commune folders, and — for
several communes at once — the FICTITIOUS demo plans of three Aube villages (services/cadastre/demo.py, drawn inside
their real boundaries) written as the Aube's department files. Bad folders are made from these in a temporary folder.
"""
from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.services.cadastre.conftest import EDIGEO, ETALAB_91479, _clear_rtrees

MILLESIME = "2024-10-01"


def cli(app, *args):
    from services.cadastre.cli import cli as group

    return app.test_cli_runner().invoke(group, list(args))


def vintages(app, *communes):
    from portal.extensions import db
    from services.cadastre.models import Vintage

    with app.app_context():
        return {(v.commune_insee, v.label, v.parcel_count) for v in db.session.scalars(
            select(Vintage).where(Vintage.commune_insee.in_(communes)))}


def essonne_files(tmp_path: Path, transform=None) -> Path:
    folder = tmp_path / "etalab-cadastre" / MILLESIME / "geojson" / "departements" / "91"
    folder.mkdir(parents=True)
    lines = gzip.decompress(ETALAB_91479.read_bytes()).decode().splitlines(keepends=True)
    if transform:
        lines = transform(lines)
    (folder / "cadastre-91-parcelles.json.gz").write_bytes(gzip.compress("".join(lines).encode()))
    return folder


def doubs_sheets(tmp_path: Path, millesime: str = MILLESIME) -> Path:
    root = tmp_path / "etalab-cadastre"
    for k, sheet in enumerate(EDIGEO):
        folder = root / millesime / "edigeo" / "feuilles" / "25" / "25354"
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(sheet, folder / sheet.name)
    return root


def aube_department_files(tmp_path: Path, communes=("10002", "10176", "10160")) -> Path:
    """The FICTITIOUS demo plans of ``communes`` as the Aube's department files (one feature per line)."""
    from services.cadastre.demo import generate_plan, write_plan

    folder = tmp_path / "etalab-cadastre" / MILLESIME / "geojson" / "departements" / "10"
    folder.mkdir(parents=True)
    layers: dict[str, list] = {}
    for insee in communes:
        work = tmp_path / f"plan-{insee}"
        work.mkdir()
        for path in write_plan(generate_plan(insee), insee, work):
            layer = path.name.split("-", 2)[2].rsplit(".", 1)[0]
            for feat in json.loads(path.read_text(encoding="utf-8"))["features"]:
                if layer == "batiments":
                    feat["properties"]["commune"] = insee
                layers.setdefault(layer, []).append(json.dumps(feat, separators=(",", ":")))
    for layer, feats in layers.items():
        text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(feats) + "\n]}\n"
        (folder / f"cadastre-10-{layer}.json.gz").write_bytes(gzip.compress(text.encode()))
    return folder


def test_etalab_department_file(app, extra_communes, tmp_path):
    result = cli(app, "import-department", str(essonne_files(tmp_path)), "--department", "91")
    assert result.exit_code == 0, result.output
    assert "département 91: 1 communes (etalab, vintage 2024-10)" in result.output
    assert "1 communes imported, 0 already there, 0 failed; 2857 parcels." in result.output
    assert vintages(app, "91479") == {("91479", "2024-10", 2857)}


def test_folder_of_edigeo_sheets(app, extra_communes, tmp_path):
    result = cli(app, "import-department", str(doubs_sheets(tmp_path)), "--department", "25", "--jobs", "1")
    assert result.exit_code == 0, result.output
    assert vintages(app, "25354") == {("25354", "2024-10", 511)}
    again = cli(app, "import-department", str(doubs_sheets(tmp_path / "again")), "--department", "25")
    assert "0 communes imported, 1 already there" in again.output  # the same vintage is not imported twice


def test_several_communes_in_parallel_with_progress_and_resume(app, world, login_as, tmp_path):
    """A run stopped after its first commune (as a crash would) is resumed by running it again."""
    from portal.extensions import db
    from services.cadastre.department_import import prepare, run_import
    from services.cadastre.models import DepartmentImport

    _clear_rtrees(app)
    folder = aube_department_files(tmp_path)
    seen = []
    with app.app_context():
        run, plan, workdir = prepare([folder], "10", None)
        assert sorted(plan.communes) == ["10002", "10160", "10176"] and plan.vintage == "2024-10"
        run = run_import(run, plan, workdir, jobs=2, stop_after=1, progress=lambda i, r: seen.append((i, r["status"])))
        assert run.status == "running" and run.done == 1
        first = seen[0][0]
    assert {c for c, *_ in vintages(app, "10002", "10160", "10176")} == {first}
    page = login_as("dept_admin").get("/admin/s/cadastre/").get_data(as_text=True)
    assert '<progress max="3" value="1">' in page
    result = cli(app, "import-department", str(folder), "--department", "10")  # the same command again
    assert result.exit_code == 0, result.output
    assert "resumed: 1 already done" in result.output  # the run's totals: 3 communes, one of them before the crash
    assert "3 communes imported, 0 already there, 0 failed" in result.output
    got = vintages(app, "10002", "10160", "10176")
    assert {c for c, *_ in got} == {"10002", "10160", "10176"} and {label for _, label, _ in got} == {"2024-10"}
    with app.app_context():
        runs = db.session.scalars(select(DepartmentImport)).all()
        assert len(runs) == 1 and runs[0].status == "done" and runs[0].done == 3
        assert runs[0].parcels == sum(n for *_, n in got)
    page = login_as("dept_admin").get("/admin/s/cadastre/").get_data(as_text=True)
    assert '<progress max="3" value="3">' in page


def nothing_imported(app):
    from portal.extensions import db
    from services.cadastre.models import DepartmentImport, Vintage

    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Vintage)) == 0
                and db.session.scalar(select(func.count()).select_from(DepartmentImport)) == 0)


def test_a_folder_mixing_departments_is_refused(app, extra_communes, tmp_path):
    root = doubs_sheets(tmp_path)
    shutil.copy(EDIGEO[0], root / MILLESIME / "edigeo" / "feuilles" / "25" / "edigeo-91479000AB01.tar.bz2")
    result = cli(app, "import-department", str(root), "--department", "25")
    assert result.exit_code == 1
    assert "error: edigeo-91479000AB01.tar.bz2: file of département 91, not 25" in result.output
    assert "nothing was imported" in result.output and nothing_imported(app)


def test_a_folder_mixing_vintages_is_refused(app, extra_communes, tmp_path):
    root = doubs_sheets(tmp_path)
    later = root / "2025-04-01" / "edigeo" / "feuilles" / "25" / "25354"
    later.mkdir(parents=True)
    moved = sorted((root / MILLESIME / "edigeo" / "feuilles" / "25" / "25354").iterdir())[-1]
    shutil.move(moved, later / moved.name)
    result = cli(app, "import-department", str(root), "--department", "25")
    assert result.exit_code == 1
    assert (f"error: {moved.name}: millésime 2025-04, but" in result.output
            and "is of millésime 2024-10: the files mix vintages" in result.output)
    assert nothing_imported(app)


def test_a_department_file_with_a_feature_of_another_department_is_refused(app, extra_communes, tmp_path):
    def stray(lines):
        lines[3] = lines[3].replace('"commune":"91479"', '"commune":"25354"')
        return lines

    result = cli(app, "import-department", str(essonne_files(tmp_path, stray)), "--department", "91")
    assert result.exit_code == 1
    assert ("error: cadastre-91-parcelles.json.gz, line 4: feature of commune 25354 (département 25) in a file of "
            "département 91") in result.output
    assert nothing_imported(app)


def test_a_commune_the_portal_has_not_loaded_is_refused(app, extra_communes, tmp_path):
    def unknown(lines):
        lines[5] = lines[5].replace('"commune":"91479"', '"commune":"91999"')
        return lines

    result = cli(app, "import-department", str(essonne_files(tmp_path, unknown)), "--department", "91")
    assert "error: cadastre-91-parcelles.json.gz, line 6: commune 91999 is not loaded on this portal" in result.output
    assert nothing_imported(app)


def test_files_that_are_not_department_files_are_refused(app, extra_communes, tmp_path):
    result = cli(app, "import-department", str(ETALAB_91479), "--department", "91")
    assert ("error: cadastre-91479-parcelles.json.gz: neither an Etalab department layer "
            "(cadastre-DEP-parcelles.json.gz…) nor an EDIGEO sheet") in result.output
    assert nothing_imported(app)


def test_worker_processes(app, world, tmp_path, monkeypatch):
    """With enough communes, each is imported in a worker process of its own (spawned, its own app)."""
    from services.cadastre import department_import
    from services.cadastre.department_import import prepare, run_import

    _clear_rtrees(app)
    monkeypatch.setattr(department_import, "MIN_COMMUNES_PER_WORKER", 1)
    folder = aube_department_files(tmp_path)
    with app.app_context():
        run, plan, workdir = prepare([folder], "10", None)
        run = run_import(run, plan, workdir, jobs=2)
        assert (run.status, run.done, run.failed) == ("done", 3, 0), run.results
    assert {c for c, *_ in vintages(app, "10002", "10160", "10176")} == {"10002", "10160", "10176"}
