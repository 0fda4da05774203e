"""Rate of the department-wide cadastre import against the commune importer, measured in one run.

    .venv/bin/python bench/cadastre_department.py                 # 12 communes
    .venv/bin/python bench/cadastre_department.py --communes 30 --jobs 2
    .venv/bin/python bench/cadastre_department.py --communes 10 --jobs 1 --rounds 5

Data: the FICTITIOUS demonstration plans (services/cadastre/demo.py) of the first N communes of the Aube that have a
boundary in portal/data/aube/ — the same generator as `flask demo load`, nothing real. They are written twice: one
set of Etalab layers per commune (what `flask cadastre import` takes), and the same features as the Aube's department
files (`cadastre-10-<layer>.json.gz`, one feature per line, what `flask cadastre import-department` takes).

Measured on fresh SQLite databases built by the migrations (temporary folder), in alternating rounds (a change of
the machine's load hits both alike; medians printed):
1. baseline: every commune through ``importer.import_commune``, one after the other (the commune importer);
2. the department import: ``department_import.prepare`` (checking the files, splitting them by commune) then
   ``run_import`` with --jobs threads.
Printed: parcels per second of each, and the ratio department / commune (target ≥ 1).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_app(folder: Path):
    os.environ["INSTANCE_PATH"] = str(folder)
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade

    from portal import create_app
    from portal.demo import load_territory
    from portal.extensions import db

    app = create_app({"TESTING": False, "CELERY_EAGER": True, "SERVER_NAME": None,
                      "SQLALCHEMY_DATABASE_URI": os.environ["DATABASE_URL"], "INSTANCE_PATH": str(folder)})
    with app.app_context():
        upgrade(revision="heads")
        load_territory()
        db.session.commit()
    return app


def write_data(tmp: Path, n: int):
    from services.cadastre.demo import commune_boundary, generate_plan, write_plan

    csv = (ROOT / "portal" / "data" / "aube" / "communes-10.csv").read_text(encoding="utf-8").splitlines()[1:]
    communes = []
    per_commune: dict[str, list[Path]] = {}
    layers: dict[str, list[str]] = {}
    for line in csv:
        insee, _, kind = line.split(";", 3)[:3]
        if kind != "commune-actuelle" or insee in per_commune or commune_boundary(insee)[0] is None:
            continue
        plan = generate_plan(insee)
        folder = tmp / "communes" / insee
        folder.mkdir(parents=True)
        per_commune[insee] = write_plan(plan, insee, folder)
        for path in per_commune[insee]:
            layer = path.name.split("-", 2)[2].rsplit(".", 1)[0]
            for feat in json.loads(path.read_text(encoding="utf-8"))["features"]:
                if layer == "batiments":
                    feat["properties"]["commune"] = insee
                layers.setdefault(layer, []).append(json.dumps(feat, separators=(",", ":")))
        communes.append(insee)
        if len(communes) >= n:
            break
    dep = tmp / "etalab-cadastre" / "2024-10-01" / "geojson" / "departements" / "10"
    dep.mkdir(parents=True)
    for layer, feats in layers.items():
        text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(feats) + "\n]}\n"
        (dep / f"cadastre-10-{layer}.json.gz").write_bytes(gzip.compress(text.encode()))
    return communes, per_commune, dep


def commune_round(folder: Path, communes, per_commune) -> tuple[float, int]:
    app = make_app(folder)
    from services.cadastre.importer import import_commune

    parcels = 0
    with app.app_context():
        t0 = time.perf_counter()
        for insee in communes:
            parcels += import_commune(per_commune[insee], commune=insee, vintage="2024-10").parcels
        return time.perf_counter() - t0, parcels


def department_round(folder: Path, dep: Path, communes, parcels: int, jobs: int) -> tuple[float, float]:
    app = make_app(folder)
    from services.cadastre.department_import import prepare, run_import

    with app.app_context():
        t0 = time.perf_counter()
        run, plan, workdir = prepare([dep], "10", None)
        split_s = time.perf_counter() - t0
        run = run_import(run, plan, workdir, jobs=jobs)
        dep_s = time.perf_counter() - t0
        assert run.done == len(communes) and run.parcels == parcels, (run.done, run.parcels, parcels)
        return dep_s, split_s


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--communes", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds (commune importer, department import), medians printed")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-cadastre-department-"))
    communes, per_commune, dep = write_data(tmp, args.communes)

    commune_times, dep_times, split_times, ratios = [], [], [], []
    for k in range(args.rounds):  # alternating, each on fresh databases: a load change hits both alike
        commune_s, parcels = commune_round(tmp / f"a{k}", communes, per_commune)
        dep_s, split_s = department_round(tmp / f"b{k}", dep, communes, parcels, args.jobs)
        commune_times.append(commune_s)
        dep_times.append(dep_s)
        split_times.append(split_s)
        ratios.append(commune_s / dep_s)
        print(f"round {k + 1}: commune importer {commune_s:.1f} s, department import {dep_s:.1f} s, "
              f"ratio {commune_s / dep_s:.2f}", flush=True)

    med = statistics.median
    rate_c, rate_d = parcels / med(commune_times), parcels / med(dep_times)
    print(f"{len(communes)} communes, {parcels} parcels (fictitious demo plans), SQLite, {os.cpu_count()} cores, "
          f"medians of {args.rounds} alternating rounds")
    print(f"commune importer, one after the other: {med(commune_times):.1f} s, {rate_c:.0f} parcels/s")
    print(f"department import (--jobs {args.jobs}), split included: {med(dep_times):.1f} s (checking and splitting "
          f"the files: {med(split_times):.1f} s), {rate_d:.0f} parcels/s")
    print(f"ratio department / commune: median of the rounds {med(ratios):.2f} (target ≥ 1)")


if __name__ == "__main__":
    main()
