"""Reference data and demo department (the Aube, from the files under ``portal/data/aube``).

``load_territory`` loads the department, its communes (communes actuelles of COG 2026) and its EPCI with their
members; ``load_demo`` adds conventions, enabled services and one account of every role. Both are idempotent.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from .identity import today as local_today
from .extensions import db
from .models import Collectivity, Convention, Membership, ServiceActivation, User
from .security import hash_password

DATA_DIR = Path(__file__).resolve().parent / "data" / "aube"


def load_territory(data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Load or refresh the embedded demo département (the Aube) through the official-files loader."""
    from .territory import load_department

    report = load_department("10", data_dir)
    return {"communes": report.communes, "epci": report.epci, "department": 1}


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    role: str
    collectivity: tuple[str, str]  # (kind, code): ("commune", INSEE) / ("epci", SIREN) / ("department", "10")


# Ailleville and Jaucourt are villages of the CC de la Région de Bar-sur-Aube; Fravaux (36 inhabitants) has a
# convention still in draft. Names are invented; e-mail domains are reserved for examples (RFC 2606).
DEMO_ACCOUNTS = (
    DemoAccount("admin@cd10.example.org", "Claire Dupuis", "dept_admin", ("department", "10")),
    DemoAccount("agent@cd10.example.org", "Marc Lefèvre", "dept_agent", ("department", "10")),
    DemoAccount("maire@ailleville.example.org", "Jeanne Martin", "mayor", ("commune", "10002")),
    DemoAccount("elu@ailleville.example.org", "Paul Bernard", "elected", ("commune", "10002")),
    DemoAccount("maire@jaucourt.example.org", "Louis Petit", "mayor", ("commune", "10176")),
    DemoAccount("secretariat@mairies.example.org", "Sophie Garnier", "secretary", ("commune", "10002")),
    DemoAccount("secretariat@mairies.example.org", "Sophie Garnier", "secretary", ("commune", "10176")),
    DemoAccount("maire@fravaux.example.org", "Henri Roux", "mayor", ("commune", "10160")),
    DemoAccount("urbanisme@ccrba.example.org", "Nadia Lambert", "secretary", ("epci", "241000405")),
)

# (kind, code) → (convention number, status, services). Service slugs are those of the services/ packages.
DEMO_CONVENTIONS = {
    ("commune", "10002"): ("CD10-2026-001", "active", ["electoral", "cadastre", "alerts", "tenders", "actes"]),
    ("commune", "10176"): ("CD10-2026-002", "active", ["electoral", "tenders", "actes"]),
    ("epci", "241000405"): ("CD10-2026-003", "active", ["cadastre"]),
    ("commune", "10160"): ("CD10-2026-004", "draft", ["electoral"]),
}


def _find(kind: str, code: str) -> Collectivity:
    key = {"commune": {"insee": code}, "epci": {"siren": code}, "department": {"department_code": code}}[kind]
    coll = db.session.scalar(select(Collectivity).filter_by(kind=kind, **key))
    if coll is None:
        raise LookupError(f"collectivity {kind} {code} not loaded")
    return coll


def load_demo(password: str | None) -> str:
    """Load territory, conventions and demo accounts. Returns the password given to every demo account."""
    password = password or secrets.token_urlsafe(12)
    load_territory()
    today = local_today()
    for (kind, code), (number, status, services) in DEMO_CONVENTIONS.items():
        coll = _find(kind, code)
        conv = db.session.scalar(select(Convention).where(Convention.number == number))
        if conv is None:
            conv = Convention(number=number, collectivity=coll)
            db.session.add(conv)
        conv.status, conv.services = status, services
        conv.starts_on = dt.date(today.year, 1, 1)
        conv.ends_on = dt.date(today.year + 2, 12, 31)
        conv.signed_on = dt.date(today.year - 1, 12, 15) if status == "active" else None
        for slug in services:
            act = next((a for a in coll.activations if a.service_slug == slug), None)
            if act is None:
                coll.activations.append(ServiceActivation(service_slug=slug, enabled=status == "active"))
    pw_hash = hash_password(password)
    for acc in DEMO_ACCOUNTS:
        user = db.session.scalar(select(User).where(User.email == acc.email))
        if user is None:
            user = User(email=acc.email)
            db.session.add(user)
        user.full_name, user.status, user.password_hash = acc.full_name, "active", pw_hash
        db.session.flush()
        coll = _find(*acc.collectivity)
        membership = user.membership_for(coll.id)
        if membership is None:
            db.session.add(Membership(user=user, collectivity=coll, role=acc.role))
        else:
            membership.role = acc.role
    db.session.flush()
    return password


def demo_accounts_json() -> list[dict]:
    out = []
    for acc in DEMO_ACCOUNTS:
        kind, code = acc.collectivity
        coll = _find(kind, code)
        out.append({
            "email": acc.email,
            "full_name": acc.full_name,
            "role": acc.role,
            "collectivity_kind": kind,
            "collectivity_name": coll.name,
            "collectivity_insee": code if kind == "commune" else None,
            "collectivity_siren": coll.siren,
            "collectivity_code": code,
        })
    return out
