"""Import of a whole département's plans: Etalab's department files or a folder of EDIGEO sheets.

- **Etalab department files** (``cadastre-<dep>-parcelles.json.gz``, ``-batiments``, ``-sections``, ``-lieux_dits``,
  ``-communes``: every commune of the département in one file per layer, one feature per line) are read as a stream
  and split by commune into a work folder; **EDIGEO sheets** (``edigeo-<insee><prefixe><section><feuille>.tar.bz2``,
  in one folder or in the département / commune folders Etalab distributes) are grouped by commune.
- Everything is checked before the first commune is imported, and the whole run is refused with the file and the
  line of each problem — nothing imported — when the files mix départements or vintages (millésimes), name a
  commune this portal has not loaded, or are not such files.
- Then each commune is imported by the commune importer (``importer.import_commune``) as one vintage, all-or-nothing,
  several at a time (``jobs`` worker processes, each with its own app; on SQLite their database part takes turns), and the run's row
  (:class:`~services.cadastre.models.DepartmentImport`) counts communes done, failed and skipped as they finish:
  the department page and the CLI's progress bar read it.
- Resumable: running the same import again (same files) picks up the same row and work folder, and skips the
  communes that already have this vintage — a crash (or a stopped worker) loses at most the communes in progress,
  each of which was all-or-nothing.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import shutil
import time
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.territory import department_of

from .vintages import MILLESIME_RE

log = logging.getLogger(__name__)

LAYERS = ("parcelles", "batiments", "sections", "lieux_dits", "communes")
ETALAB_RE = re.compile(r"^cadastre-(?P<dep>\d[\dAB]\d?)-(?P<layer>%s)\.json(\.gz)?$" % "|".join(LAYERS))
EDIGEO_RE = re.compile(r"^edigeo-(?P<insee>\d[\dAB]\d{3})(?P<sheet>[0-9A-Z]{7})\.tar\.bz2$")
MAX_ERRORS = 20
MIN_COMMUNES_PER_WORKER = 8
PROGRESS_EVERY = 1.0  # seconds between two writes of the run's progress row


@dataclass
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}{'' if self.line is None else f', line {self.line}'}: {self.message}"


class DepartmentImportRefused(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass
class Plan:
    department: str
    kind: str
    vintage: str | None
    files: list[Path]
    communes: dict[str, list[Path]] = field(default_factory=dict)  # INSEE → its files (split, or EDIGEO sheets)


def _expand(paths) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()))
        else:
            out.append(p)
    return out


def _millesime(path: Path) -> str | None:
    dates = [m.group(1) for part in path.parts if (m := MILLESIME_RE.search(part))]
    return dates[-1] if dates else None


def signature(files: list[Path]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.name):
        h.update(f"{f.name}:{f.stat().st_size}\n".encode())
    return h.hexdigest()


def _loaded_communes(department: str) -> set[str]:
    from portal.models import Collectivity

    return set(db.session.scalars(select(Collectivity.insee).where(
        Collectivity.kind == "commune", Collectivity.department_code == department,
        Collectivity.historical_since.is_(None))))


def check_files(paths, department: str, vintage: str | None = None) -> tuple[str, str | None, list[Path]]:
    """The kind of the files (etalab / edigeo) and their vintage, or DepartmentImportRefused with every problem of the
    names (another département, two millésimes, unknown files)."""
    files = _expand(paths)
    problems: list[Problem] = []
    if not files:
        raise DepartmentImportRefused([Problem(", ".join(map(str, paths)), None, "no file found")])
    kinds, millesimes = {}, {}
    for f in files:
        if m := ETALAB_RE.match(f.name):
            kinds[f] = "etalab"
            dep = m.group("dep")
        elif m := EDIGEO_RE.match(f.name):
            kinds[f] = "edigeo"
            dep = department_of(m.group("insee"))
        else:
            problems.append(Problem(f.name, None, "neither an Etalab department layer (cadastre-DEP-parcelles.json.gz…) "
                                                  "nor an EDIGEO sheet (edigeo-…tar.bz2)"))
            continue
        if dep != department:
            problems.append(Problem(f.name, None, f"file of département {dep}, not {department}"))
        if (mil := _millesime(f)) is not None:
            millesimes[f] = mil
    if len(set(kinds.values())) > 1:
        problems.append(Problem(", ".join(sorted({f.name for f, k in kinds.items() if k == 'edigeo'})[:3]), None,
                                "EDIGEO sheets mixed with Etalab department files: import them separately"))
    distinct = sorted(set(millesimes.values()))
    if len(distinct) > 1:
        first = {mil: next(f for f, m in millesimes.items() if m == mil) for mil in distinct}
        problems.append(Problem(first[distinct[1]].name, None, "millésime " + distinct[1] + ", but "
                                + first[distinct[0]].name + " is of millésime " + distinct[0]
                                + ": the files mix vintages"))
    if vintage and distinct and distinct[0] != vintage:
        problems.append(Problem(next(iter(millesimes)).name, None,
                                f"millésime {distinct[0]} of the files differs from --vintage {vintage}"))
    names = [f.name for f, k in kinds.items() if k == "etalab"]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(Problem(name, None, "the same layer is given twice"))
    if problems:
        raise DepartmentImportRefused(problems[:MAX_ERRORS])
    return next(iter(kinds.values())), vintage or (distinct[0] if distinct else None), files


_COMMUNE_PROP = re.compile(r'"commune"\s*:\s*"([0-9AB]{5})"')
_ID_PROP = re.compile(r'"id"\s*:\s*"([0-9AB]{5})[^"]*"')


def _feature_lines(path: Path, layer: str):
    """(line number, commune, feature text) of an Etalab GeoJSON file — one feature per line, Etalab's layout —
    streamed; the commune is read from the line's text (a feature without it is parsed). A file of another layout
    is read whole (line numbers are then 1)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            text = line.strip().rstrip(",")
            if not text.startswith('{"type":"Feature"') and not text.startswith('{"type": "Feature"'):
                if number == 1 and text.startswith("{") and text.endswith("}") and '"features"' in text:
                    for feat in json.loads(text).get("features", []):
                        yield 1, _commune_of(layer, feat), json.dumps(feat, separators=(",", ":"))
                continue
            if text.endswith("}]}"):
                text = text[:-2]  # the last feature closes the collection
            m = _COMMUNE_PROP.search(text) or (_ID_PROP.search(text) if layer == "communes" else None)
            if m is not None and text.endswith("}"):
                yield number, m.group(1), text
                continue
            try:
                feat = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DepartmentImportRefused([Problem(path.name, number, f"damaged feature ({exc.msg})")]) \
                    from None
            yield number, _commune_of(layer, feat), text


def _commune_of(layer: str, feat: dict) -> str:
    props = feat.get("properties") or {}
    code = props.get("commune") or (props.get("id") if layer == "communes" else None) or str(feat.get("id", ""))[:5]
    return str(code)[:5]


def split_etalab(files: list[Path], department: str, workdir: Path) -> dict[str, list[Path]]:
    """Split the department files by commune into ``workdir/<insee>/cadastre-<insee>-<layer>.json``; check on the way
    that every feature is of a loaded commune of the département (else DepartmentImportRefused, file and line)."""
    loaded = _loaded_communes(department)
    problems: list[Problem] = []
    out: dict[str, dict[str, list[str]]] = {}
    for path in files:
        layer = ETALAB_RE.match(path.name).group("layer")
        try:
            _split_file(path, layer, department, loaded, out, problems)
        except (OSError, EOFError, UnicodeDecodeError) as exc:  # a truncated .gz, a damaged file
            raise DepartmentImportRefused(problems + [Problem(path.name, None, f"unreadable ({exc}): truncated or "
                                                                               "damaged file?")]) from None
        if len(problems) >= MAX_ERRORS:
            raise DepartmentImportRefused(problems)
    if problems:
        raise DepartmentImportRefused(problems)
    return _write_split(out, workdir)


def _split_file(path: Path, layer: str, department: str, loaded: set, out: dict, problems: list) -> None:
    """Sort the features of one department file by commune into ``out``; problems are appended to ``problems``."""
    for number, insee, feat in _feature_lines(path, layer):
        if department_of(insee) != department:
            problems.append(Problem(path.name, number, f"feature of commune {insee} (département "
                                                       f"{department_of(insee)}) in a file of département "
                                                       f"{department}"))
        elif insee not in loaded:
            problems.append(Problem(path.name, number, f"commune {insee} is not loaded on this portal (flask "
                                                       "territory load)"))
            loaded.add(insee)  # once per commune
        else:
            out.setdefault(insee, {}).setdefault(layer, []).append(feat)
        if len(problems) >= MAX_ERRORS:
            return


def _write_split(out: dict, workdir: Path) -> dict[str, list[Path]]:
    communes: dict[str, list[Path]] = {}
    for insee, layers in sorted(out.items()):
        if "parcelles" not in layers:
            continue  # a commune with buildings but no parcel (never in Etalab's files) has nothing to import
        folder = workdir / insee
        folder.mkdir(parents=True, exist_ok=True)
        communes[insee] = []
        for layer, feats in layers.items():
            target = folder / f"cadastre-{insee}-{layer}.json"
            target.write_text('{"type":"FeatureCollection","features":[\n' + ",\n".join(feats) + "\n]}\n",
                              encoding="utf-8")
            communes[insee].append(target)
    return communes


def group_edigeo(files: list[Path], department: str) -> dict[str, list[Path]]:
    loaded = _loaded_communes(department)
    communes: dict[str, list[Path]] = {}
    seen: dict[str, Path] = {}
    problems = []
    for f in files:
        insee = EDIGEO_RE.match(f.name).group("insee")
        if f.name in seen:
            problems.append(Problem(f.name, None, f"the same sheet twice (also in {seen[f.name].parent})"))
        seen[f.name] = f
        if insee not in loaded:
            problems.append(Problem(f.name, None, f"commune {insee} is not loaded on this portal (flask territory "
                                                  "load)"))
            continue
        communes.setdefault(insee, []).append(f)
    if problems:
        raise DepartmentImportRefused(problems[:MAX_ERRORS])
    return dict(sorted(communes.items()))


def prepare(paths, department: str, vintage: str | None, user_email: str = "system"):
    """Check the files and find (or start) the run's row and work folder; → (DepartmentImport, Plan). Refused runs
    leave nothing behind."""
    from .models import DepartmentImport

    kind, vintage, files = check_files(paths, department, vintage)
    sig = signature(files)
    run = db.session.scalar(select(DepartmentImport).where(
        DepartmentImport.department_code == department, DepartmentImport.signature == sig,
        DepartmentImport.status != "done",  # an interrupted run (or one with failed communes) is resumed
        DepartmentImport.vintage.is_(vintage) if vintage is None else DepartmentImport.vintage == vintage)
        .order_by(DepartmentImport.id.desc()).limit(1))
    workdir = Path(current_app.config.get("CADASTRE_IMPORT_DIR") or
                   Path(current_app.config["INSTANCE_PATH"]) / "cadastre-imports") / f"department-{department}-{sig[:16]}"
    try:
        if kind == "etalab":
            communes = split_etalab(files, department, workdir)
        else:
            communes = group_edigeo(files, department)
    except DepartmentImportRefused:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    if run is None:
        run = DepartmentImport(department_code=department, signature=sig, kind=kind, vintage=vintage,
                               files=[f.name for f in files], started_by=user_email, results={}, total=0, done=0,
                               failed=0, skipped=0, parcels=0)
        db.session.add(run)
    run.status, run.total = "running", len(communes)
    db.session.commit()
    return run, Plan(department, kind, vintage, files, communes), workdir


# Configuration a worker process needs to open the same database and files as the process that starts it.
_WORKER_KEYS = ("SQLALCHEMY_DATABASE_URI", "DATABASE_OWNER_URL", "INSTANCE_PATH", "SECRET_KEY", "EXTRA_SERVICES",
                "IDENTITY_FILE", "DEPARTMENT_CODE", "DEPARTMENT_TIMEZONE", "CADASTRE_IMPORT_DIR", "TESTING",
                "CELERY_EAGER", "REDIS_URL")
_WORKER: dict = {}


def _worker_config() -> dict:
    return {k: current_app.config[k] for k in _WORKER_KEYS if k in current_app.config}


def _worker_init(config: dict, lock) -> None:
    """A worker process: its own app (the same configuration), its app context for its whole life."""
    from portal import create_app

    app = create_app(config)
    app.app_context().push()
    _WORKER.update(app=app, lock=lock)


def _import_one(insee: str, paths: list[str], vintage: str | None, user_email: str, in_worker) -> dict:
    """Import one commune (all-or-nothing); → its result for the run's row. Never raises."""
    from .importer import ImportFailed, import_commune

    try:
        report = import_commune(paths, commune=insee, vintage=vintage, user_email=user_email,
                                write_lock=_WORKER.get("lock") if in_worker else None)
        return {"status": "done", "parcels": report.parcels, "vintage": report.vintage, "errors": []}
    except ImportFailed as exc:
        already = any("already imported" in str(e) for e in exc.errors)
        return {"status": "skipped" if already else "failed", "parcels": 0, "errors": [str(e) for e in exc.errors]}
    except Exception as exc:  # noqa: BLE001 - one commune's failure must not stop the others
        log.exception("department import: commune %s failed", insee)
        return {"status": "failed", "parcels": 0, "errors": [f"unexpected error: {exc}"]}
    finally:
        if in_worker:
            db.session.remove()


def _count(run, results: dict) -> None:
    run.results = dict(results)
    run.done = sum(1 for r in results.values() if r["status"] == "done")
    run.failed = sum(1 for r in results.values() if r["status"] == "failed")
    run.skipped = sum(1 for r in results.values() if r["status"] == "skipped")
    run.parcels = sum(r.get("parcels", 0) for r in results.values())


def run_import(run, plan: Plan, workdir: Path | None = None, *, jobs: int = 2, user_email: str = "system",
               progress=None, stop_after: int | None = None):
    """Import every commune of ``plan`` not done yet, ``jobs`` at a time; ``progress(insee, result)`` after each.
    ``stop_after``: start no more than that many communes, as if the process had died then (the resume test)."""
    from .models import DepartmentImport, Vintage

    results = dict(run.results or {})
    existing = set()
    if plan.vintage:
        existing = set(db.session.scalars(select(Vintage.commune_insee).where(
            Vintage.label == plan.vintage, Vintage.commune_insee.in_(list(plan.communes)))))
    todo = []
    for insee in plan.communes:
        if results.get(insee, {}).get("status") in ("done", "skipped") or insee in existing:
            if insee not in results:
                results[insee] = {"status": "skipped", "parcels": 0, "errors": ["already imported"]}
            continue
        todo.append(insee)
    run_id = run.id
    _count(run, results)
    db.session.commit()
    stopped = stop_after is not None and len(todo) > stop_after
    if stop_after is not None:
        todo = todo[:stop_after]  # as if the process had died once those were done

    last_saved = [time.monotonic()]

    def record(insee: str, result: dict) -> None:
        # The run's row (the page's progress) is written at most once a second, not after every commune: a commune's
        # own commit already makes it resumable (its vintage is skipped on the next run); a crash loses only the
        # page's count of the last second, which the next run rebuilds.
        results[insee] = result
        if time.monotonic() - last_saved[0] >= PROGRESS_EVERY or result.get("status") == "failed":
            _save(results)
        if progress is not None:
            progress(insee, result)

    def _save(results: dict) -> None:
        current = db.session.get(DepartmentImport, run_id)
        _count(current, results)
        db.session.commit()
        last_saved[0] = time.monotonic()

    # A worker process costs its start (an interpreter and an app, a few seconds): worth it from a few communes each.
    if jobs <= 1 or len(todo) < MIN_COMMUNES_PER_WORKER * 2:
        for insee in todo:  # in this process, one after the other
            result = _import_one(insee, [str(p) for p in plan.communes[insee]], plan.vintage, user_email, None)
            db.session.remove()
            record(insee, result)
    else:
        ctx = multiprocessing.get_context("spawn")  # a clean interpreter: no threads or connections inherited
        lock = ctx.Lock() if db.engine.dialect.name == "sqlite" else None  # SQLite: one writer at a time
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo) // MIN_COMMUNES_PER_WORKER), mp_context=ctx, initializer=_worker_init,
                                 initargs=(_worker_config(), lock)) as pool:
            futures = {pool.submit(_import_one, insee, [str(p) for p in plan.communes[insee]], plan.vintage,
                                   user_email, True): insee for insee in todo}
            for future in as_completed(futures):
                insee = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker that died: that commune failed, not the run
                    log.exception("department import: worker lost on commune %s", insee)
                    result = {"status": "failed", "parcels": 0, "errors": [f"worker lost: {exc}"]}
                record(insee, result)
    run = db.session.get(DepartmentImport, run_id)
    _count(run, results)
    if not stopped:
        run.status = "failed" if run.failed else "done"
        if workdir is not None and plan.kind == "etalab" and not run.failed:
            shutil.rmtree(workdir, ignore_errors=True)
    db.session.commit()
    log.info("department import %s (%s): %s done, %s failed, %s skipped, %s parcels", run.id, run.department_code,
             run.done, run.failed, run.skipped, run.parcels)
    return run
