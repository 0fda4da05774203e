"""The identity and the time zone of each département (or intercommunal operator) the portal serves (DESIGN.md §8).

Nothing of one département is written in code or templates: its name, short name, portal name, logo, colours,
footer, contact, legal notices page and time zone come from configuration —

- ``IDENTITY_FILE``: a TOML file with one table per département code (or operator SIREN)::

      [identities."976"]
      name = "Département de Mayotte"        # as written in sentences and e-mails
      short_name = "Mayotte"
      portal_name = "Extranet des collectivités de Mayotte"
      timezone = "Indian/Mayotte"
      logo = "logo-976.svg"                   # a file next to the TOML (SVG, PNG or JPEG)
      colour = "#00628c"                      # header and buttons
      accent = "#f5a300"
      footer = "Département de Mayotte — Direction du numérique"
      contact_email = "extranet@cd976.example.org"
      contact_phone = "02 69 00 00 00"
      address = "8 rue de l'Hôpital, 97600 Mamoudzou"
      legal_notices = "mentions-legales-976.md"   # a file next to the TOML, or the text itself

  The embedded demo uses ``portal/data/aube/identity.toml`` (the Aube).
- ``DEPARTMENT_TIMEZONE``: the time zone of ``DEPARTMENT_CODE`` when its table gives none (default Europe/Paris;
  overseas départements default to their own zone).

Whatever a table leaves out is derived from the loaded reference data (« Département de Mayotte »). The identity of
a request is that of the active collectivity's département — or, on public pages, the commune's — and elsewhere
(sign-in page) that of the host name (``DEPARTMENT_HOSTS="extranet.cd976.example.org=976,…"``), else the default
département's. Flask-Babel's time zone follows it, so every date shown, stamp and PDF is in the département's legal
time.
"""
from __future__ import annotations

import datetime as dt
import re
import time
import tomllib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, has_app_context, has_request_context

DEMO_IDENTITY_FILE = Path(__file__).resolve().parent / "data" / "aube" / "identity.toml"

# The legal time of the overseas départements (the mainland and Corsica: Europe/Paris).
OVERSEAS_ZONES = {"971": "America/Guadeloupe", "972": "America/Martinique", "973": "America/Cayenne",
                  "974": "Indian/Reunion", "975": "America/Miquelon", "976": "Indian/Mayotte",
                  "977": "America/St_Barthelemy", "978": "America/Marigot"}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_KEYS = {"name", "short_name", "portal_name", "timezone", "logo", "colour", "accent", "footer", "contact_email",
         "contact_phone", "address", "legal_notices", "website"}


@dataclass(frozen=True)
class Identity:
    code: str
    name: str
    short_name: str
    portal_name: str
    timezone: str
    colour: str = "#1d4f91"
    accent: str = "#b3262d"
    footer: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    address: str = ""
    website: str = ""
    legal_notices: str = ""
    logo_path: Path | None = None
    configured: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def logo_type(self) -> str:
        return _LOGO_TYPES.get(self.logo_path.suffix.lower(), "") if self.logo_path else ""


class IdentityError(ValueError):
    pass


def _check_zone(name: str, where: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise IdentityError(f"{where}: unknown time zone « {name} » (e.g. Europe/Paris, Indian/Reunion)") from None
    return name


@lru_cache(maxsize=8)
def _read_file(path: str) -> dict[str, dict]:
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IdentityError(f"IDENTITY_FILE {file}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise IdentityError(f"IDENTITY_FILE {file}: {exc}") from None
    out: dict[str, dict] = {}
    for code, table in (data.get("identities") or {}).items():
        where = f"{file.name} [identities.\"{code}\"]"
        unknown = set(table) - _KEYS
        if unknown:
            raise IdentityError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        entry = dict(table)
        if "timezone" in entry:
            _check_zone(entry["timezone"], where)
        for key in ("colour", "accent"):
            if key in entry and not _COLOUR.match(entry[key]):
                raise IdentityError(f"{where}: {key} must be a colour like #1d4f91")
        if "logo" in entry:
            logo = (file.parent / entry.pop("logo")).resolve()
            if logo.suffix.lower() not in _LOGO_TYPES or not logo.is_file():
                raise IdentityError(f"{where}: logo {logo.name} not found or not SVG/PNG/JPEG")
            entry["logo_path"] = logo
        notices = entry.get("legal_notices", "")
        if notices and "\n" not in notices and notices.endswith((".md", ".txt", ".html")):
            page = (file.parent / notices).resolve()
            if not page.is_file():
                raise IdentityError(f"{where}: legal notices file {page.name} not found")
            entry["legal_notices"] = page.read_text(encoding="utf-8")
        out[str(code)] = entry
    return out


def identity_file(app=None) -> str:
    app = app or current_app
    return app.config.get("IDENTITY_FILE") or str(DEMO_IDENTITY_FILE)


def check(app) -> None:
    """Read the configuration once at start-up: a wrong IDENTITY_FILE, time zone or DEPARTMENT_HOSTS stops the app
    with a clear message instead of failing on the first page."""
    _read_file(identity_file(app))
    _watch_collectivities()
    _check_zone(app.config["DEPARTMENT_TIMEZONE"], "DEPARTMENT_TIMEZONE")
    for host, code in (app.config.get("DEPARTMENT_HOSTS") or {}).items():
        if not host or not code or not _HOST_CODE.match(code) or "/" in host:
            raise IdentityError(f"DEPARTMENT_HOSTS: « {host}={code} » is not host=code "
                                "(e.g. extranet.cd976.example.org=976)")


_HOST_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$")  # a département code (10, 2A, 976) or an operator's


def host_code() -> str | None:
    """The identity configured for the request's host name (DEPARTMENT_HOSTS), if any."""
    hosts = current_app.config.get("DEPARTMENT_HOSTS") or {}
    if not hosts or not has_request_context():
        return None
    from flask import request

    host = (request.host or "").lower()
    return hosts.get(host) or hosts.get(re.sub(r":\d+$", "", host))


def default_zone_name(code: str) -> str:
    if code in OVERSEAS_ZONES:
        return OVERSEAS_ZONES[code]
    return current_app.config.get("DEPARTMENT_TIMEZONE") or "Europe/Paris"


def identity_for(code: str | None = None) -> Identity:
    """The identity of département (or operator) ``code``; the default département's without one."""
    code = code or current_app.config["DEPARTMENT_CODE"]
    cache = g.setdefault("_identities", {}) if has_request_context() else {}
    if code in cache:
        return cache[code]
    kept = current_app.extensions.setdefault("identities", {})  # per app and process, see IDENTITY_TTL
    entry = kept.get(code)
    if entry is not None and entry[0] == _generation and entry[1] > time.monotonic():
        cache[code] = entry[2]
        return entry[2]
    ident, loaded = _build(code)
    if loaded:  # not before the territory is loaded (first start): the next page reads it again
        kept[code] = (_generation, time.monotonic() + IDENTITY_TTL, ident)
    cache[code] = ident
    return ident


# An identity is read from the configuration and the department's (or operator's) row, which change at a territory
# load or an administrator's edit: every page wore it for one SELECT each. It is kept per process: a write of a
# department or operator row in this process drops it at once (mapper events below), other processes (the other
# gunicorn workers, Celery) read it again within IDENTITY_TTL seconds.
IDENTITY_TTL = 60.0
_generation = 0


def forget_identities(*_args) -> None:
    """Drop the identities kept by every app of this process (a department or operator row was written)."""
    global _generation
    _generation += 1


def _watch_collectivities() -> None:
    from sqlalchemy import event

    from .models import Collectivity

    for name in ("after_insert", "after_update", "after_delete"):
        if not event.contains(Collectivity, name, _forget_if_identity):
            event.listen(Collectivity, name, _forget_if_identity)


def _forget_if_identity(mapper, connection, target) -> None:
    if target.kind in ("department", "operator"):
        forget_identities()


def _build(code: str) -> tuple[Identity, bool]:
    configured = _read_file(identity_file()).get(code)
    entry = dict(configured or {})
    loaded_name, home, found = _loaded(code)
    name = entry.pop("name", None) or loaded_name
    short = entry.pop("short_name", None) or _short(name)
    portal_name = entry.pop("portal_name", None)
    if not portal_name:
        portal_name = current_app.config.get("PORTAL_NAME") if code == current_app.config["DEPARTMENT_CODE"] \
            and current_app.config.get("PORTAL_NAME") else f"Extranet des collectivités — {short}"
    timezone = entry.pop("timezone", None) or default_zone_name(home or code)
    return Identity(code=code, name=name, short_name=short, portal_name=portal_name, timezone=timezone,
                    configured=configured is not None, **entry), found


def _loaded(code: str) -> tuple[str, str | None, bool]:
    """The loaded department's (or operator's) name and département code, and whether its row was found."""
    from sqlalchemy import or_, select

    from .extensions import db
    from .models import KIND_DEPARTMENT, KIND_OPERATOR, Collectivity

    try:
        row = db.session.execute(select(Collectivity.name, Collectivity.department_code).where(or_(
            (Collectivity.kind == KIND_DEPARTMENT) & (Collectivity.department_code == code),
            (Collectivity.kind == KIND_OPERATOR) & (Collectivity.operator_code == code))).limit(1)).first()
    except Exception:  # noqa: BLE001 - no database yet (first start before `flask db upgrade`)
        row = None
    return (row[0], row[1], True) if row else (f"Département {code}", None, False)


def _short(name: str) -> str:
    return re.sub(r"^Département (de la |de l'|du |des |de )", "", name)


def identity_code_of(collectivity) -> str | None:
    """The identity a collectivity's pages wear: its operator's when it is an operator, else its département's."""
    if collectivity is None:
        return None
    if collectivity.kind == "operator":
        return collectivity.operator_code or collectivity.department_code
    return collectivity.department_code or None


_WEARING: ContextVar[str | None] = ContextVar("identity_wearing", default=None)


@contextmanager
def wearing(code: str | None):
    """Render (an e-mail, a PDF of a background task) in the identity ``code``, whatever the request's."""
    token = _WEARING.set(code)
    try:
        yield
    finally:
        _WEARING.reset(token)


def current_identity() -> Identity:
    """The identity of the page being served: the active collectivity's (or the public page's commune's); inside
    :func:`wearing`, that one (an e-mail to a commune of another département)."""
    if _WEARING.get():
        return identity_for(_WEARING.get())
    if has_request_context():
        if g.get("identity_code"):  # a page about one identity (legal notices ?d=…)
            return identity_for(g.identity_code)
        coll = g.get("collectivity") or g.get("public_collectivity")
        if coll is None:  # sign-in, password reset, lists of every buyer…: the host name's département
            return identity_for(host_code())
        return identity_for(identity_code_of(coll))
    return identity_for(None)


_BOUNDS: dict[tuple[str, str], list | None] = {}


def current_bounds() -> list | None:
    """[[south, west], [north, east]] of the current identity's communes (from their loaded boundaries), for maps
    before anything is located; cached per database and département."""
    from sqlalchemy import select

    from .extensions import db
    from .models import KIND_COMMUNE, KIND_OPERATOR, Collectivity

    ident = current_identity()
    key = (str(db.engine.url), ident.code)
    if key not in _BOUNDS:
        import json

        import shapely
        from shapely.geometry import shape

        op = db.session.scalar(select(Collectivity).where(Collectivity.kind == KIND_OPERATOR,
                                                          Collectivity.operator_code == ident.code))
        stmt = select(Collectivity.boundary_geojson).where(Collectivity.kind == KIND_COMMUNE,
                                                           Collectivity.boundary_geojson.is_not(None))
        stmt = stmt.where(Collectivity.id.in_([c.id for c in op.operated])) if op is not None \
            else stmt.where(Collectivity.department_code == ident.code)
        shapes = [shape(json.loads(g)) for g in db.session.scalars(stmt)]
        if shapes:
            minx, miny, maxx, maxy = shapely.total_bounds(shapes)
            _BOUNDS[key] = [[miny, minx], [maxy, maxx]]
        else:
            _BOUNDS[key] = None
    return _BOUNDS[key]


def current_zone() -> ZoneInfo:
    return current_identity().zone


def zone_for(collectivity=None) -> ZoneInfo:
    """The legal time zone of a collectivity's département (the current page's without one). Outside any app (a
    generator run by a script): DEPARTMENT_TIMEZONE of the environment, else Europe/Paris."""
    if not has_app_context():
        import os

        return ZoneInfo(os.environ.get("DEPARTMENT_TIMEZONE") or "Europe/Paris")
    if collectivity is None:
        return current_zone()
    return ZoneInfo(zone_name_for(identity_code_of(collectivity)))


_DEPARTMENT = re.compile(r"^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B|97[1-8])$")


def zone_name_for(code: str | None) -> str:
    """The time zone of identity ``code`` without reading the database when the configuration or the code tells it
    (every date of a page asks: a convention in force, a deadline)."""
    code = code or current_app.config["DEPARTMENT_CODE"]
    configured = _read_file(identity_file()).get(code) or {}
    if configured.get("timezone"):
        return configured["timezone"]
    if _DEPARTMENT.match(code):
        return default_zone_name(code)
    return identity_for(code).timezone  # an operator: its département's


def local_now(collectivity=None) -> dt.datetime:
    """The wall-clock time of the collectivity's département (aware)."""
    return dt.datetime.now(zone_for(collectivity))


def to_local(moment: dt.datetime, collectivity=None) -> dt.datetime:
    """A naive UTC moment (how the database stores them) as the département's aware local time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(zone_for(collectivity))


def from_local(wall: dt.datetime, collectivity=None) -> dt.datetime:
    """A wall-clock time of the département (naive, as typed in a form) as a naive UTC moment."""
    return wall.replace(tzinfo=zone_for(collectivity)).astimezone(dt.timezone.utc).replace(tzinfo=None)


# How a French document names each legal time (« Reçu le … (heure de Paris) »).
_ZONE_LABELS = {"Europe/Paris": "heure de Paris", "America/Guadeloupe": "heure de la Guadeloupe",
                "America/Martinique": "heure de la Martinique", "America/Cayenne": "heure de la Guyane",
                "Indian/Reunion": "heure de La Réunion", "Indian/Mayotte": "heure de Mayotte",
                "America/Miquelon": "heure de Saint-Pierre-et-Miquelon"}


def zone_label(collectivity=None) -> str:
    """« heure de Paris », « heure de Mayotte »…: the legal time of the collectivity's département, in French."""
    zone = str(zone_for(collectivity))
    return _ZONE_LABELS.get(zone, f"heure légale ({zone})")


def today(collectivity=None) -> dt.date:
    """The legal date of the collectivity's département (the current page's without one): at 23:30 UTC it is
    already tomorrow in Mayotte, still today in Guadeloupe."""
    return local_now(collectivity).date()


def local_wall(collectivity=None) -> dt.datetime:
    """The département's wall-clock time, naive: how deadlines typed in a form (« le 12/03 à 12 h ») are stored."""
    return local_now(collectivity).replace(tzinfo=None)


def department_today(code: str | None = None) -> dt.date:
    """The legal date of département (or operator) ``code`` (the default département's without one)."""
    return dt.datetime.now(ZoneInfo(zone_name_for(code))).date()


def latest_wall() -> dt.datetime:
    """The latest wall-clock time any département shows now (naive, UTC+14): a bound to pre-select rows whose local
    deadline may have passed somewhere, before checking each in its own zone."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(hours=14)


def with_values(ident: Identity, **values) -> Identity:
    return replace(ident, **values)
