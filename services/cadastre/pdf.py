"""PDF documents (WeasyPrint): parcel sheet (bordereau parcellaire, no owner) and owner statement (relevé de
propriété, restricted). The map extract is an SVG drawn here from the stored geometries: no network needed.
"""
from __future__ import annotations

import math
from html import escape

import shapely
from markupsafe import Markup

from . import spatial

def css_string(value) -> Markup:
    """``value`` as a CSS string literal, for ``content:`` in a stylesheet (HTML escaping does not apply there: an
    apostrophe would print as « &#39; »)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ").replace("\n", " ")
    return Markup(f'"{text}"')


SVG_W, SVG_H = 680, 440  # CSS pixels (about 180 × 116 mm)


def _nice_length(max_m: float) -> float:
    """A round scale-bar length not above ``max_m`` metres (1, 2, 5 × 10^n)."""
    if max_m <= 0:
        return 1
    exp = math.floor(math.log10(max_m))
    for mult in (5, 2, 1):
        v = mult * 10 ** exp
        if v <= max_m:
            return v
    return 10 ** exp


def map_svg(parcel, margin_ratio: float = 0.35) -> str:
    """The parcel (red), the parcels and buildings around it, numbers, a scale bar and a north arrow.

    One drawing in one coordinate frame, a little over 60 lines: splitting it would hand the frame (origin, scale,
    height) to every part and hide the order in which the layers are painted."""
    minx, miny, maxx, maxy = parcel.geom.bounds
    w, h = maxx - minx, maxy - miny
    pad = max(w, h) * margin_ratio + 10
    minx, miny, maxx, maxy = minx - pad, miny - pad, maxx + pad, maxy + pad
    k = min(SVG_W / (maxx - minx), SVG_H / (maxy - miny))
    ox = (SVG_W - (maxx - minx) * k) / 2
    oy = (SVG_H - (maxy - miny) * k) / 2

    def pt(x, y):
        return f"{ox + (x - minx) * k:.1f},{oy + (maxy - y) * k:.1f}"

    def path(geom):
        d = []
        for poly in getattr(geom, "geoms", [geom]):
            if poly.geom_type != "Polygon":
                continue
            for ring in (poly.exterior, *poly.interiors):
                coords = list(ring.coords)
                d.append("M" + " L".join(pt(x, y) for x, y in coords) + " Z")
        return " ".join(d)

    view = shapely.box(minx, miny, maxx, maxy)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{SVG_H}" '
             f'viewBox="0 0 {SVG_W} {SVG_H}" font-family="sans-serif">',
             f'<rect x="0" y="0" width="{SVG_W}" height="{SVG_H}" fill="#ffffff" stroke="#666"/>']
    around = spatial.parcels_in_bbox(minx, miny, maxx, maxy)
    for p in around:
        g = p.geom.intersection(view)
        if g.is_empty:
            continue
        style = 'fill="#fdecea" stroke="#ce0500" stroke-width="2.5"' if p.id == parcel.id else \
            'fill="#fbf8ee" stroke="#444" stroke-width="0.8"'
        parts.append(f'<path d="{path(g)}" {style} fill-rule="evenodd"/>')
    from sqlalchemy import select

    from portal.extensions import db

    from .models import Feature

    for b in db.session.scalars(select(Feature).where(
            Feature.current.is_(True), Feature.layer == "batiment",
            spatial.bbox_filter(Feature, minx, miny, maxx, maxy))):
        g = b.geom.intersection(view)
        if not g.is_empty:
            parts.append(f'<path d="{path(g)}" fill="#9a9a9a" stroke="#555" stroke-width="0.5"/>')
    for p in around:
        g = p.geom.intersection(view)
        if g.is_empty or g.area * k * k < 250:
            continue
        c = g.representative_point()
        x, y = pt(c.x, c.y).split(",")
        weight = "bold" if p.id == parcel.id else "normal"
        size = 14 if p.id == parcel.id else 10
        parts.append(f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" text-anchor="middle" '
                     f'fill="#222">{escape(str(int(p.numero)) if p.numero.isdigit() else p.numero)}</text>')
    # Scale bar (bottom left) and north arrow (top right).
    length = _nice_length((SVG_W * 0.25) / k)
    px = length * k
    parts.append(f'<rect x="14" y="{SVG_H - 30}" width="{px + 12:.1f}" height="22" fill="#fff" opacity="0.85"/>')
    parts.append(f'<line x1="20" y1="{SVG_H - 14}" x2="{20 + px:.1f}" y2="{SVG_H - 14}" stroke="#000" stroke-width="3"/>')
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    parts.append(f'<text x="20" y="{SVG_H - 18}" font-size="11">{label}</text>')
    parts.append(f'<path d="M{SVG_W - 24},14 L{SVG_W - 16},36 L{SVG_W - 24},31 L{SVG_W - 32},36 Z" fill="#000"/>')
    parts.append(f'<text x="{SVG_W - 24}" y="50" font-size="12" text-anchor="middle">N</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()
