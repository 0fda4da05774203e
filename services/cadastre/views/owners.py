"""Owner data (personal data): only with ``cadastre.owners.read``, every read audited with its purpose — owners of a
parcel, search by owner, owner statement (page, CSV, PDF)."""
from __future__ import annotations


from flask import abort, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from portal.identity import today as local_today
from portal.extensions import db
from portal.registry import requires
from portal.responses import pdf_response

from .. import owners as owners_mod
from ..access import current_parcel_or_404, purpose_arg
from ..demo import DEMO_SOURCE
from ..models import Owner, Parcel
from ..pdf import render_pdf
from ..queries import commune_names
from . import bp
from .pages import no_store, parcels_csv

@bp.get("/parcelles/<idu>/proprietaires")
@requires("cadastre.owners.read")
@no_store
def parcel_owners(idu: str):
    p = current_parcel_or_404(idu)
    purpose = purpose_arg()
    found = owners_mod.owners_of([p.idu], purpose, "parcel")[p.idu] if purpose else None
    return render_template("cadastre/owners.html", parcel=p, purpose=purpose, owners=found,
                           asked="motif" in request.args)


@bp.get("/proprietaires")
@requires("cadastre.owners.read")
@no_store
def owner_search():
    q = request.args.get("q", "").strip()
    purpose = purpose_arg()
    results = owners_mod.search_owners(q, purpose) if q and purpose else []
    return render_template("cadastre/owner_search.html", q=q, purpose=purpose, results=results,
                           asked=bool(q), names=commune_names())


def _statement(account: str):
    """The owner statement of an account: (purpose, holders, parcels, rows), or a response (404 when the account is not
    in the territory — checked before the purpose is asked —, the purpose form when it is missing). The read is
    audited with its purpose (``account_rows``)."""
    if db.session.scalar(select(Owner.id).where(Owner.account == account).limit(1)) is None:
        abort(404)
    purpose = purpose_arg()
    if not purpose:
        return render_template("cadastre/purpose.html", title=_("Owner statement %(account)s", account=account),
                               asked="motif" in request.args)
    commune = (request.args.get("commune") or "").strip() or None
    rows = owners_mod.account_rows(account, purpose, commune)
    if not rows:
        abort(404)
    idus = sorted({r.idu for r in rows})
    parcels = db.session.scalars(select(Parcel).where(Parcel.idu.in_(idus), Parcel.current.is_(True))
                                 .order_by(Parcel.idu)).all()
    holders = {}
    for r in rows:
        holders.setdefault((r.display_name, r.right, r.address), r)
    return purpose, list(holders.values()), parcels, rows


@bp.get("/comptes/<account>")
@requires("cadastre.owners.read")
@no_store
def owner_account(account: str):
    found = _statement(account)
    if not isinstance(found, tuple):
        return found
    purpose, holders, parcels, _rows = found
    return render_template("cadastre/account.html", account=account, purpose=purpose, holders=holders,
                           parcels=parcels, names=commune_names())


@bp.get("/comptes/<account>/releve.csv")
@requires("cadastre.owners.read")
def owner_account_csv(account: str):
    """The owner statement as CSV: one line per parcel of the account and right on it."""
    found = _statement(account)
    if not isinstance(found, tuple):
        return found
    _purpose, _holders, parcels, rows = found
    by_idu: dict[str, list] = {}
    for r in rows:
        by_idu.setdefault(r.idu, []).append(r)
    return parcels_csv(parcels, f"releve-propriete-{account.strip('+')}.csv", owners=by_idu)


@bp.get("/comptes/<account>/releve.pdf")
@requires("cadastre.owners.read")
def owner_account_pdf(account: str):
    found = _statement(account)
    if not isinstance(found, tuple):
        return found
    purpose, holders, parcels, _rows = found
    html = render_template("cadastre/pdf_account.html", account=account, purpose=purpose, holders=holders,
                           parcels=parcels, today=local_today().strftime("%d/%m/%Y"),
                           demo=any(p.vintage.source == DEMO_SOURCE for p in parcels))
    return pdf_response(render_pdf(html), f"releve-propriete-{account.strip('+')}.pdf")
