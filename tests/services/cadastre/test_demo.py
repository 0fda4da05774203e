"""The demo communes get a fictitious plan drawn inside their real boundary, marked as such wherever it shows."""
from __future__ import annotations

import io

import pytest
import shapely
from sqlalchemy import func, select

from .test_pages import _map_config

MARK = "Plan fictif de démonstration"


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def demo_plans(app, world, subscribe):
    from services.cadastre.cli import cli
    from services.cadastre.models import Feature, Parcel, Vintage

    from .conftest import _clear_rtrees

    _clear_rtrees(app)
    subscribe("cadastre", world.a, world.b)
    runner = app.test_cli_runner()
    result = runner.invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(cli, ["demo"])  # idempotent: a commune with a plan is left alone
    assert again.exit_code == 0 and again.output.count("left alone") == 2, again.output
    return Feature, Parcel, Vintage


def test_the_cadastre_of_every_demo_commune_is_not_empty(app, world, demo_plans, login_as):
    from portal.extensions import db
    from portal.tenancy import territory_scope
    from services.cadastre.demo import commune_boundary

    Feature, Parcel, Vintage = demo_plans
    with app.app_context(), territory_scope(None):
        for insee in (world.insee_a, world.insee_b):
            (vintage,) = db.session.scalars(select(Vintage).where(Vintage.commune_insee == insee)).all()
            assert vintage.source == "demo" and vintage.current
            parcels = db.session.scalars(select(Parcel.geom).where(Parcel.commune_insee == insee)).all()
            boundary, _name = commune_boundary(insee)
            # Sections and parcels tile the real commune: nothing outside, no gap, no overlap (to GeoJSON rounding).
            union = shapely.union_all(parcels)
            assert len(parcels) > 300
            assert boundary.symmetric_difference(union).area < 0.001 * boundary.area
            assert abs(sum(p.area for p in parcels) - union.area) < 0.001 * boundary.area
            sections = db.session.scalars(select(Feature.geom).where(Feature.commune_insee == insee,
                                                                     Feature.layer == "section")).all()
            assert len(sections) >= 4
            assert boundary.symmetric_difference(shapely.union_all(sections)).area < 0.001 * boundary.area
            assert db.session.scalar(select(func.count()).select_from(Feature).where(
                Feature.commune_insee == insee, Feature.layer == "batiment")) > 20
            assert db.session.scalar(select(func.count()).select_from(Feature).where(
                Feature.commune_insee == insee, Feature.layer == "commune")) == 1
    mayor = login_as("mayor_a")
    index = mayor.get("/s/cadastre/").get_data(as_text=True)
    assert "Aucun plan cadastral" not in index and 'id="cadastre-map"' in index
    with app.app_context(), territory_scope(None):
        idu = db.session.scalar(select(Parcel.idu).where(Parcel.commune_insee == world.insee_a).order_by(Parcel.idu))
    assert MARK in mayor.get(f"/s/cadastre/parcelles/{idu}").get_data(as_text=True)
    assert MARK in mayor.get(f"/s/cadastre/parcelles/{idu}/panneau").get_data(as_text=True)
    assert _map_config(mayor.get("/s/cadastre/carte").get_data(as_text=True))["data"]["demoMark"] == MARK
    pdf = mayor.get(f"/s/cadastre/parcelles/{idu}/fiche.pdf")
    assert pdf.status_code == 200 and MARK in _pdf_text(pdf.data)


def test_parcel_sheet_pdf_footer_prints_the_apostrophe_once_escaped(app, world, demo_plans, login_as, monkeypatch):
    """The footer is CSS generated content: « Extranet … de l'Aube », not « de l&#39;Aube »."""
    from portal.extensions import db
    from portal.tenancy import territory_scope

    _Feature, Parcel, _Vintage = demo_plans
    monkeypatch.setitem(app.config, "PORTAL_NAME", "Extranet des collectivités de l'Aube")
    with app.app_context(), territory_scope(None):
        idu = db.session.scalar(select(Parcel.idu).where(Parcel.commune_insee == world.insee_a).order_by(Parcel.idu))
    text = _pdf_text(login_as("mayor_a").get(f"/s/cadastre/parcelles/{idu}/fiche.pdf").data)
    assert "de l'Aube" in text and "&#39;" not in text and "&amp;" not in text
