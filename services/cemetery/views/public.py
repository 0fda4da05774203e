"""The public search of a grave, at /p/cemetery/<insee>/ with no sign-in, when the mairie switched it on: a name →
the cemetery, the allée, the emplacement on a map. Never the holders, never their contact details."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.lookups import public_commune
from portal.maps import map_config
from portal.ratelimit import limiter

from ..models import Alley, Deceased, Plot, Preference, Zone
from ..queries import name_pattern, named

public = Blueprint("cemetery_public", __name__, template_folder="../templates", static_folder="../static")


@public.get("/<insee>/")
@limiter.limit("60/minute")
def search(insee: str):
    with public_commune(insee, "cemetery") as commune:
        pref = db.session.scalar(select(Preference))
        if pref is None or not pref.public_search:
            abort(404)
        q = " ".join(request.args.get("q", "").split())[:80]
        hits, config = [], None
        pattern = name_pattern(q)
        if pattern is not None:
            hits = db.session.scalars(
                select(Deceased).options(joinedload(Deceased.plot).joinedload(Plot.alley).joinedload(Alley.zone)
                                         .joinedload(Zone.cemetery))
                .where(Deceased.plot_id.is_not(None),
                       named(Deceased, pattern))
                .order_by(Deceased.last_name, Deceased.first_names).limit(30)).unique().all()
            chosen = request.args.get("id", type=int)
            shown = next((d for d in hits if d.id == chosen), hits[0] if len(hits) == 1 else None)
            if shown is not None and shown.plot.geometry:
                plot = shown.plot
                config = map_config(bounds=[[plot.min_lat, plot.min_lon], [plot.max_lat, plot.max_lon]], max_zoom=22,
                                    outlines=[{"geojson": plot.geometry, "style": {"color": "#ce0500", "weight": 3}}])
        return render_template("cemetery/public.html", commune=commune, q=q, hits=hits, config=config,
                               dates=pref.public_dates)
