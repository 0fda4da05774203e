"""A département's territory from the official reference files (DESIGN.md §8): read, check, load or refresh.

The files are those of ``portal/data/aube/`` (the embedded demo), for any département ``CODE``:

- ``decoupage-departement-CODE.json``: the département (geo.api.gouv.fr « découpage administratif »);
- ``communes-CODE.csv``: the communes of the INSEE COG with SIREN, postal codes, population and EPCI
  (``;``-separated, one header line);
- ``decoupage-communes-CODE.json``: the same communes as geo.api.gouv.fr gives them, communes déléguées and
  associées included (it tells which commune nouvelle absorbed a commune);
- ``decoupage-epci-CODE.json``: the EPCI with at least one member in the département, with all their members;
- ``communes-CODE*.geojson`` (optional): the communes' boundaries (WGS84).

:func:`read_territory` checks everything before anything is written — codes of the département, no duplicates,
every commune in one EPCI or none, files that agree with one another, boundaries valid — and raises
:class:`TerritoryFileError` naming the file and the line. :func:`apply_territory` then loads or refreshes the
département in the caller's transaction and returns a :class:`LoadReport`: communes added, renamed, merged into a
commune nouvelle, EPCI changes. A commune or EPCI that leaves the files while it still holds data (accounts,
conventions, journal, service data) is never deleted: it is marked historical.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, exists, func, or_, select

from .identity import department_today
from .extensions import db
from .models import (KIND_COMMUNE, KIND_DEPARTMENT, KIND_EPCI, AuditEvent, Collectivity, Convention, Membership,
                     ServiceActivation, SupportSession, epci_members, fold, operator_communes)

log = logging.getLogger(__name__)

CSV_COLUMNS = ("code_insee", "nom", "type", "code_departement", "siren", "codes_postaux", "population",
               "epci_siren")
_DEPARTMENT_CODE = re.compile(r"^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-8])$")
_INSEE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_SIREN = re.compile(r"^\d{9}$")
_POSTAL = re.compile(r"^\d{5}$")


class TerritoryFileError(ValueError):
    """A reference file that cannot be loaded: which file, which line (when it has one), what is wrong."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path, self.line, self.message = Path(path), line, message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path.name if self.line is None else f"{self.path.name}, line {self.line}"
        return f"{where}: {self.message}"


def department_of(insee: str) -> str:
    """The département of an INSEE commune code: three characters overseas (97x), two elsewhere (2A, 2B…)."""
    return insee[:3] if insee.startswith("97") else insee[:2]


def valid_department_code(code: str) -> bool:
    return bool(_DEPARTMENT_CODE.match(code or ""))


# Sources ---------------------------------------------------------------------------------------------------------

@dataclass
class Sources:
    department: Path
    communes_csv: Path
    communes_json: Path
    epci: Path
    boundaries: Path | None = None


def find_sources(directory: Path, code: str, **given: Path | None) -> Sources:
    """The files of département ``code`` in ``directory`` (by their official names), or those given one by one."""
    directory = Path(directory) if directory else None
    names = {"department": f"decoupage-departement-{code}.json", "communes_csv": f"communes-{code}.csv",
             "communes_json": f"decoupage-communes-{code}.json", "epci": f"decoupage-epci-{code}.json"}
    found: dict[str, Path | None] = {}
    for key, name in names.items():
        path = given.get(key) or (directory / name if directory else None)
        if path is None:
            raise TerritoryFileError(name, None, "file not given (use --from DIR or the option of this file)")
        if not Path(path).is_file():
            raise TerritoryFileError(path, None, f"file not found in {Path(path).parent}")
        found[key] = Path(path)
    boundaries = given.get("boundaries")
    if boundaries is None and directory is not None:
        matches = sorted(directory.glob(f"communes-{code}*.geojson"))
        boundaries = matches[0] if matches else None
    elif boundaries is not None and not Path(boundaries).is_file():
        raise TerritoryFileError(boundaries, None, "file not found")
    return Sources(boundaries=boundaries, **found)


# Reading and checking -------------------------------------------------------------------------------------------

@dataclass
class CommuneRecord:
    insee: str
    name: str
    siren: str | None
    postal_codes: str
    population: int | None
    epci_siren: str | None
    line: int


@dataclass
class EpciRecord:
    siren: str
    name: str
    epci_type: str
    population: int | None
    members: list[str]  # INSEE codes of this département
    home_department: str  # the département of most of its members (all départements counted)
    line: int


@dataclass
class Territory:
    code: str
    name: str
    communes: dict[str, CommuneRecord]
    absorbed: dict[str, str]  # commune déléguée / associée → the commune nouvelle it belongs to
    epcis: dict[str, EpciRecord]
    boundaries: dict[str, str]
    sources: Sources
    warnings: list[str] = field(default_factory=list)


def _load_json(path: Path):
    text = path.read_text(encoding="utf-8-sig")
    if not text.strip():
        raise TerritoryFileError(path, 1, "the file is empty")
    try:
        return text, json.loads(text)
    except json.JSONDecodeError as exc:
        raise TerritoryFileError(path, exc.lineno, f"not valid JSON ({exc.msg}, column {exc.colno}): "
                                                   "truncated or damaged file?") from None


def _line_of(text: str, needle: str, after: int = 0) -> int | None:
    """Line (1-based) of the first ``needle`` in ``text`` at or after character ``after``."""
    at = text.find(needle, after)
    return None if at < 0 else text.count("\n", 0, at) + 1


def _code_line(text: str, code: str, nth: int = 1) -> int | None:
    """Line of the ``nth`` ``"code": "<code>"`` of a JSON text (records are found by their code)."""
    for i, m in enumerate(re.finditer(r'"code"\s*:\s*"%s"' % re.escape(code), text), 1):
        if i == nth:
            return text.count("\n", 0, m.start()) + 1
    return None


def read_territory(code: str, sources: Sources) -> Territory:
    """Read and check every file of département ``code``; nothing is written. Raises TerritoryFileError."""
    if not valid_department_code(code):
        raise TerritoryFileError(sources.department, None, f"« {code} » is not a département code (01…95, 2A, 2B, "
                                                           "971…978)")
    name = _read_department(code, sources.department)
    communes = _read_csv(code, sources.communes_csv)
    absorbed = _read_communes_json(code, sources.communes_json, communes, sources.communes_csv)
    epcis = _read_epcis(code, sources.epci, communes, sources.communes_csv)
    territory = Territory(code=code, name=name, communes=communes, absorbed=absorbed, epcis=epcis, boundaries={},
                          sources=sources)
    if sources.boundaries is not None:
        territory.boundaries = _read_boundaries(code, sources.boundaries, communes, absorbed, territory.warnings)
    return territory


def _read_department(code: str, path: Path) -> str:
    text, data = _load_json(path)
    records = data if isinstance(data, list) else [data]
    if not records or not all(isinstance(r, dict) for r in records):
        raise TerritoryFileError(path, 1, "expected a list with the département's record")
    mine = [r for r in records if r.get("code") == code]
    if not mine:
        others = ", ".join(sorted(str(r.get("code")) for r in records)) or "none"
        raise TerritoryFileError(path, _code_line(text, str(records[0].get("code"))) or 1,
                                 f"this file describes département {others}, not {code}: wrong file?")
    if len(records) > 1:
        raise TerritoryFileError(path, _code_line(text, str([r for r in records if r is not mine[0]][0].get("code"))),
                                 f"more than one département in the file (expected only {code})")
    name = (mine[0].get("nom") or "").strip()
    if not name:
        raise TerritoryFileError(path, _code_line(text, code), "the département has no name (« nom »)")
    return name


def _read_csv(code: str, path: Path) -> dict[str, CommuneRecord]:
    communes: dict[str, CommuneRecord] = {}
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=";")
        header = next(reader, None)
        if not header:
            raise TerritoryFileError(path, 1, "the file is empty")
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise TerritoryFileError(path, 1, f"missing column(s) {', '.join(missing)} (separator « ; » expected)")
        idx = {c: header.index(c) for c in header}
        for row in reader:
            line = reader.line_num
            if not row or row == [""]:
                continue
            if len(row) != len(header):
                raise TerritoryFileError(path, line, f"{len(row)} fields instead of {len(header)}: truncated or "
                                                     "damaged line")
            get = {c: row[i].strip() for c, i in idx.items()}
            if get["type"] and get["type"] != "commune-actuelle":
                continue  # communes déléguées / associées, arrondissements municipaux: not collectivities
            insee = get["code_insee"]
            if not _INSEE.match(insee):
                raise TerritoryFileError(path, line, f"« {insee} » is not an INSEE commune code")
            if get["code_departement"] != code or department_of(insee) != code:
                raise TerritoryFileError(path, line, f"commune {insee} ({get['nom']}) belongs to département "
                                                     f"{get['code_departement'] or department_of(insee)}, not {code}")
            if insee in communes:
                raise TerritoryFileError(path, line, f"commune {insee} already on line {communes[insee].line} "
                                                     "(duplicate code)")
            if not get["nom"]:
                raise TerritoryFileError(path, line, f"commune {insee} has no name")
            siren = get["siren"] or None
            if siren is not None and not _SIREN.match(siren):
                raise TerritoryFileError(path, line, f"« {siren} » is not a SIREN (9 digits)")
            postal = [p for p in get["codes_postaux"].split("|") if p]
            bad = [p for p in postal if not _POSTAL.match(p)]
            if bad:
                raise TerritoryFileError(path, line, f"« {bad[0]} » is not a postal code")
            population = get["population"]
            if population and not population.isdigit():
                raise TerritoryFileError(path, line, f"population « {population} » is not a number")
            epci = get["epci_siren"] or None
            if epci is not None and not _SIREN.match(epci):
                raise TerritoryFileError(path, line, f"EPCI « {epci} » is not a SIREN (9 digits)")
            communes[insee] = CommuneRecord(insee, get["nom"], siren, "|".join(postal),
                                            int(population) if population else None, epci, line)
    if not communes:
        raise TerritoryFileError(path, None, f"no commune of département {code} in the file")
    return communes


def _read_communes_json(code: str, path: Path, communes: dict[str, CommuneRecord], csv_path: Path) -> dict[str, str]:
    text, data = _load_json(path)
    if not isinstance(data, list):
        raise TerritoryFileError(path, 1, "expected a list of communes")
    seen: dict[str, int] = {}
    absorbed: dict[str, str] = {}
    for rec in data:
        c = str(rec.get("code", ""))
        line = _code_line(text, c, 2 if c in seen else 1)
        if rec.get("departement") != code:
            raise TerritoryFileError(path, line, f"commune {c} ({rec.get('nom')}) belongs to département "
                                                 f"{rec.get('departement')}, not {code}")
        kind = rec.get("type")
        if kind == "commune-actuelle":
            if c in seen:
                raise TerritoryFileError(path, _code_line(text, c, 2), f"commune {c} appears twice (duplicate code; "
                                                                      f"first on line {seen[c]})")
            seen[c] = line or 0
        elif kind in ("commune-deleguee", "commune-associee") and rec.get("chefLieu"):
            absorbed[c] = rec["chefLieu"]
    only_json = sorted(set(seen) - set(communes))
    only_csv = sorted(set(communes) - set(seen))
    if only_json or only_csv:
        detail = []
        if only_json:
            detail.append(f"{len(only_json)} commune(s) missing from {csv_path.name} (first: {only_json[0]})")
        if only_csv:
            detail.append(f"{len(only_csv)} commune(s) of {csv_path.name} missing here (first: {only_csv[0]}, line "
                          f"{communes[only_csv[0]].line} of the CSV)")
        line = seen.get(only_json[0]) if only_json else None
        raise TerritoryFileError(path, line, f"{len(seen)} communes here, {len(communes)} in {csv_path.name}: "
                                             + "; ".join(detail) + " — truncated file or files of two vintages?")
    return absorbed


def _read_epcis(code: str, path: Path, communes: dict[str, CommuneRecord], csv_path: Path) -> dict[str, EpciRecord]:
    text, data = _load_json(path)
    if not isinstance(data, list):
        raise TerritoryFileError(path, 1, "expected a list of EPCI")
    epcis: dict[str, EpciRecord] = {}
    member_of: dict[str, str] = {}
    for rec in data:
        siren = str(rec.get("code", ""))
        line = _code_line(text, siren, 2 if siren in epcis else 1)
        if not _SIREN.match(siren):
            raise TerritoryFileError(path, line, f"« {siren} » is not an EPCI SIREN (9 digits)")
        if siren in epcis:
            raise TerritoryFileError(path, _code_line(text, siren, 2),
                                     f"EPCI {siren} appears twice (duplicate code; first on line {epcis[siren].line})")
        members_all = [str(m.get("code", "")) for m in rec.get("membres") or []]
        mine = [m for m in members_all if department_of(m) == code]
        if not mine:
            raise TerritoryFileError(path, line, f"EPCI {siren} ({rec.get('nom')}) has no member in département "
                                                 f"{code}: file of another département?")
        for m in mine:
            if m not in communes:
                raise TerritoryFileError(path, _line_of(text, f'"{m}"', text.find(f'"{siren}"')) or line,
                                         f"member {m} of EPCI {siren} is not a commune of {csv_path.name}")
            if m in member_of and member_of[m] != siren:
                raise TerritoryFileError(path, _line_of(text, f'"{m}"', text.find(f'"{siren}"')) or line,
                                         f"commune {m} ({communes[m].name}) is a member of two EPCI: "
                                         f"{member_of[m]} and {siren}")
            member_of[m] = siren
        counts: dict[str, int] = {}
        for m in members_all:
            counts[department_of(m)] = counts.get(department_of(m), 0) + 1
        home = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        pop = rec.get("populationMunicipale")
        epcis[siren] = EpciRecord(siren, str(rec.get("nom") or siren), str(rec.get("type") or ""),
                                  int(pop) if isinstance(pop, (int, float)) else None, mine, home, line or 0)
    for insee, c in communes.items():
        if c.epci_siren and member_of.get(insee) != c.epci_siren:
            raise TerritoryFileError(csv_path, c.line, f"commune {insee} is given EPCI {c.epci_siren} here but "
                                                       f"{member_of.get(insee) or 'none'} in {path.name}")
    return epcis


def _read_boundaries(code: str, path: Path, communes: dict[str, CommuneRecord], absorbed: dict[str, str],
                     warnings: list[str]) -> dict[str, str]:
    from shapely.geometry import shape
    from shapely.validation import explain_validity

    text, data = _load_json(path)
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise TerritoryFileError(path, 1, "expected a GeoJSON FeatureCollection")
    out: dict[str, str] = {}
    for number, feat in enumerate(features, 1):
        props = (feat or {}).get("properties") or {}
        c = str(props.get("code", ""))
        where = f"feature {number} (code « {c} »)"
        line = _code_line(text, c)
        if department_of(c) != code or not _INSEE.match(c):
            raise TerritoryFileError(path, line, f"{where}: not a commune of département {code}")
        if c in out:
            raise TerritoryFileError(path, line, f"{where}: a second boundary for the same commune")
        try:
            geom = shape(feat["geometry"])
        except Exception as exc:  # noqa: BLE001 - any malformed geometry is reported the same way
            raise TerritoryFileError(path, line, f"{where}: unreadable geometry ({exc})") from None
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
            raise TerritoryFileError(path, line, f"{where}: a commune's boundary must be a (multi)polygon")
        if not geom.is_valid:
            raise TerritoryFileError(path, line, f"{where}: invalid geometry ({explain_validity(geom)})")
        minx, miny, maxx, maxy = geom.bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            raise TerritoryFileError(path, line, f"{where}: coordinates are not WGS84 longitude/latitude")
        if c not in communes:
            # Boundaries of an older vintage: a commune since merged keeps no boundary of its own.
            warnings.append(f"{path.name}: boundary of {c} ignored ({'merged into ' + absorbed[c] if c in absorbed else 'not a current commune'})")
            continue
        out[c] = json.dumps(feat["geometry"], separators=(",", ":"))
    return out


# Loading --------------------------------------------------------------------------------------------------------

@dataclass
class LoadReport:
    department: str
    communes: int = 0
    epci: int = 0
    added: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    merged: list[tuple[str, str, str]] = field(default_factory=list)  # (code, name, commune nouvelle)
    removed: list[tuple[str, str]] = field(default_factory=list)
    historical: list[tuple[str, str]] = field(default_factory=list)  # kept: they hold data
    epci_added: list[tuple[str, str]] = field(default_factory=list)
    epci_renamed: list[tuple[str, str, str]] = field(default_factory=list)
    epci_members: list[tuple[str, str, int, int]] = field(default_factory=list)  # (siren, name, +n, -n)
    epci_removed: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"Département {self.department}: {self.communes} communes, {self.epci} EPCI."]

        def block(title, rows, fmt):
            if rows:
                out.append(f"{title} ({len(rows)}):")
                out.extend("  " + fmt(r) for r in rows)

        block("Communes added", self.added, lambda r: f"{r[0]} {r[1]}")
        block("Communes renamed", self.renamed, lambda r: f"{r[0]} {r[1]} → {r[2]}")
        block("Communes merged into a commune nouvelle", self.merged, lambda r: f"{r[0]} {r[1]} → {r[2]}")
        block("Communes gone from the files", self.removed, lambda r: f"{r[0]} {r[1]}")
        block("Kept as historical (they hold data)", self.historical, lambda r: f"{r[0]} {r[1]}")
        block("EPCI added", self.epci_added, lambda r: f"{r[0]} {r[1]}")
        block("EPCI renamed", self.epci_renamed, lambda r: f"{r[0]} {r[1]} → {r[2]}")
        block("EPCI members changed", self.epci_members, lambda r: f"{r[0]} {r[1]}: +{r[2]} −{r[3]}")
        block("EPCI gone from the files", self.epci_removed, lambda r: f"{r[0]} {r[1]}")
        block("Warnings", self.warnings, str)
        return out

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


# The article of each département's name (« le Nord », « les Vosges », « Paris »…): the INSEE COG's TNCC. Names not
# listed are feminine singular (« la Marne »); names beginning with a vowel take « l' ».
_MASCULINE = {"Nord", "Pas-de-Calais", "Calvados", "Cher", "Doubs", "Finistère", "Gard", "Gers", "Jura", "Loiret",
              "Lot", "Lot-et-Garonne", "Morbihan", "Rhône", "Tarn", "Tarn-et-Garonne", "Var", "Val-de-Marne",
              "Val-d'Oise", "Cantal", "Territoire de Belfort", "Haut-Rhin", "Bas-Rhin", "Puy-de-Dôme", "Loir-et-Cher",
              "Maine-et-Loire"}
_NO_ARTICLE = {"Paris", "Mayotte", "La Réunion"}


def department_title(name: str) -> str:
    """« Département de l'Aube », « du Nord », « des Vosges », « de Mayotte », « de la Marne »."""
    if name in _NO_ARTICLE:
        return f"Département de {name}"
    if name in _MASCULINE:
        return f"Département du {name}"
    first = name.split("-")[0]
    if first.endswith("s") or first == "Deux":
        return f"Département des {name}"
    if name[0] in "AEIOUYÉÈ" or name == "Hérault":
        return f"Département de l'{name}"
    return f"Département de la {name}"


def _scoped_models():
    from .tenancy import TerritoryScoped

    return [m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, TerritoryScoped)]


def holds_data(coll: Collectivity) -> bool:
    """Whether a collectivity is referred to by anything but reference data: accounts, conventions, services
    enabled, journal, support sessions, or (a commune) any service row of its INSEE code."""
    for model, column in ((Membership, Membership.collectivity_id), (Convention, Convention.collectivity_id),
                          (ServiceActivation, ServiceActivation.collectivity_id),
                          (AuditEvent, AuditEvent.collectivity_id), (SupportSession, SupportSession.collectivity_id)):
        if db.session.scalar(select(exists().where(column == coll.id))):
            return True
    if coll.kind == KIND_COMMUNE and coll.insee:
        for model in _scoped_models():
            if db.session.scalar(select(exists().where(model.commune_insee == coll.insee))):
                return True
    return False


def apply_territory(t: Territory, today: dt.date | None = None) -> LoadReport:
    """Load or refresh département ``t`` in the session's transaction (the caller commits or rolls back)."""
    today = today or department_today(t.code)
    report = LoadReport(department=t.code, warnings=list(t.warnings))
    department = db.session.scalar(select(Collectivity).filter_by(kind=KIND_DEPARTMENT, department_code=t.code))
    if department is None:
        department = Collectivity(kind=KIND_DEPARTMENT, department_code=t.code, name=department_title(t.name))
        db.session.add(department)
    else:
        department.name = department_title(t.name)
    department.search_name = fold(department.name)

    existing = {c.insee: c for c in db.session.scalars(
        select(Collectivity).where(Collectivity.kind == KIND_COMMUNE,
                                   or_(Collectivity.department_code == t.code,
                                       Collectivity.insee.in_(list(t.communes)))))}
    sirens = [c.siren for c in t.communes.values() if c.siren]
    # A SIREN held by another row (a commune whose code changed): the row of the new code takes it over.
    taken = {c.siren: c for c in db.session.scalars(select(Collectivity).where(Collectivity.siren.in_(sirens)))} \
        if sirens else {}
    communes: dict[str, Collectivity] = {}
    for insee, rec in t.communes.items():
        coll = existing.get(insee)
        if coll is None:
            coll = Collectivity(kind=KIND_COMMUNE, insee=insee)
            db.session.add(coll)
            report.added.append((insee, rec.name))
        elif coll.name != rec.name:
            report.renamed.append((insee, coll.name, rec.name))
        holder = taken.get(rec.siren) if rec.siren else None
        if holder is not None and holder is not coll:
            holder.siren = None
            db.session.flush()
        coll.name, coll.search_name = rec.name, fold(rec.name)
        coll.siren = rec.siren or coll.siren
        coll.department_code, coll.population, coll.postal_codes = t.code, rec.population, rec.postal_codes
        coll.historical_since = coll.successor_insee = None
        if insee in t.boundaries:
            coll.boundary_geojson = t.boundaries[insee]
        communes[insee] = coll
    db.session.flush()

    gone = [c for insee, c in existing.items() if insee not in t.communes and c.historical_since is None]
    for coll in gone:
        successor = t.absorbed.get(coll.insee)
        if successor:
            report.merged.append((coll.insee, coll.name, successor))
        else:
            report.removed.append((coll.insee, coll.name))
        if holds_data(coll):
            coll.historical_since, coll.successor_insee = today, successor
            coll.epcis = []
            report.historical.append((coll.insee, coll.name))
        else:
            db.session.execute(delete(operator_communes).where(operator_communes.c.commune_id == coll.id))
            db.session.delete(coll)
    db.session.flush()

    # EPCI: those of the files, and those of the database that had a member here.
    here_ids = {c.id for c in communes.values()} | {c.id for c in gone}
    known = {e.siren: e for e in db.session.scalars(select(Collectivity).where(
        Collectivity.kind == KIND_EPCI,
        or_(Collectivity.siren.in_(list(t.epcis)),
            Collectivity.id.in_(select(epci_members.c.epci_id).where(epci_members.c.commune_id.in_(here_ids))))))}
    for siren, rec in t.epcis.items():
        epci = known.get(siren)
        if epci is None:
            epci = Collectivity(kind=KIND_EPCI, siren=siren, members=[])
            db.session.add(epci)
            report.epci_added.append((siren, rec.name))
        elif epci.name != rec.name:
            report.epci_renamed.append((siren, epci.name, rec.name))
        epci.name, epci.search_name, epci.epci_type = rec.name, fold(rec.name), rec.epci_type
        epci.department_code, epci.population, epci.historical_since = rec.home_department, rec.population, None
        before = {m.insee for m in epci.members}
        # Members in other départements (an EPCI straddling two) stay as their own département loaded them.
        others = [m for m in epci.members if m.department_code != t.code and m.insee not in t.communes]
        epci.members = others + [communes[m] for m in rec.members]
        after = {m.insee for m in epci.members}
        if siren in known and before != after:
            report.epci_members.append((siren, rec.name, len(after - before), len(before - after)))
    for siren, epci in known.items():
        if siren in t.epcis:
            continue
        before = len(epci.members)
        epci.members = [m for m in epci.members if m.department_code != t.code and m.id not in here_ids]
        if epci.members:
            report.epci_members.append((siren, epci.name, 0, before - len(epci.members)))
            continue
        report.epci_removed.append((siren, epci.name))
        if holds_data(epci):
            epci.historical_since = today
            report.historical.append((siren, epci.name))
        else:
            db.session.delete(epci)
    db.session.flush()
    report.communes = len(communes)
    report.epci = len(t.epcis)
    return report


def load_department(code: str, directory: Path | None = None, today: dt.date | None = None,
                    **files: Path | None) -> LoadReport:
    """Read, check and load département ``code`` (from ``directory`` or files given one by one). Everything is
    checked before the first write; the caller commits (or rolls back on any error)."""
    territory = read_territory(code, find_sources(directory, code, **files))
    report = apply_territory(territory, today=today)
    log.info("territory of département %s loaded: %s communes, %s EPCI, %s added, %s renamed, %s merged, "
             "%s kept as historical", code, report.communes, report.epci, len(report.added), len(report.renamed),
             len(report.merged), len(report.historical))
    return report


def count_communes(code: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Collectivity).where(
        Collectivity.kind == KIND_COMMUNE, Collectivity.department_code == code,
        Collectivity.historical_since.is_(None))) or 0


# Intercommunal operators ----------------------------------------------------------------------------------------

class OperatorError(ValueError):
    pass


_OPERATOR_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,19}$")


def save_operator(code: str, name: str, epcis: list[str] = (), communes: list[str] = (),
                  siren: str | None = None) -> tuple[Collectivity, dict]:
    """Create or refresh the intercommunal operator ``code`` (a communauté de communes or a syndicat mixte sharing
    the tools): its territory is the members of the EPCI ``epcis`` (SIREN) and the communes ``communes`` (INSEE),
    all taken from the loaded official files, possibly across départements. Its staff (dept_admin, dept_agent
    memberships) then play the department team's role over those communes only."""
    from .models import KIND_OPERATOR

    code = (code or "").strip().lower()
    if not _OPERATOR_CODE.match(code):
        raise OperatorError(f"« {code} » is not an operator code (2 to 20 lower-case letters, digits or dashes)")
    if not (name or "").strip():
        raise OperatorError("the operator needs a name (--name)")
    if not epcis and not communes:
        raise OperatorError("give the operator's territory: --epci SIREN (its members) and/or --communes INSEE,…")
    if siren is not None and not _SIREN.match(siren):
        raise OperatorError(f"« {siren} » is not a SIREN (9 digits)")
    chosen: dict[str, Collectivity] = {}
    for s in epcis:
        epci = db.session.scalar(select(Collectivity).where(Collectivity.kind == KIND_EPCI, Collectivity.siren == s))
        if epci is None:
            raise OperatorError(f"EPCI {s} is not loaded (flask territory load its département first)")
        for m in epci.members:
            if m.historical_since is None:
                chosen[m.insee] = m
    wanted = [c.strip() for c in communes if c.strip()]
    if wanted:
        found = {c.insee: c for c in db.session.scalars(select(Collectivity).where(
            Collectivity.kind == KIND_COMMUNE, Collectivity.insee.in_(wanted), Collectivity.historical_since.is_(None)))}
        unknown = [c for c in wanted if c not in found]
        if unknown:
            raise OperatorError(f"commune(s) not loaded or no longer current: {', '.join(unknown)}")
        chosen.update(found)
    departments: dict[str, int] = {}
    for c in chosen.values():
        departments[c.department_code] = departments.get(c.department_code, 0) + 1
    home = sorted(departments.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    operator = db.session.scalar(select(Collectivity).where(Collectivity.kind == KIND_OPERATOR,
                                                            Collectivity.operator_code == code))
    created = operator is None
    if created:
        operator = Collectivity(kind=KIND_OPERATOR, operator_code=code)
        db.session.add(operator)
    before = {c.insee for c in operator.operated}
    operator.name, operator.search_name, operator.department_code = name.strip(), fold(name), home
    operator.siren = siren or operator.siren
    operator.operated = sorted(chosen.values(), key=lambda c: c.search_name)
    db.session.flush()
    after = set(chosen)
    return operator, {"created": created, "communes": len(after), "departments": sorted(departments),
                      "added": len(after - before), "removed": len(before - after)}
