"""PDF documents built with WeasyPrint: general list, émargement list per bureau, voter cards, commission de
contrôle table, statistics. Each page carries a header (commune, bureau, election) and « page x/y »."""
from __future__ import annotations

import atexit
import base64
import datetime as dt
import io

from flask import render_template

QR_TARGET = "https://www.service-public.fr/particuliers/vosdroits/R16396"  # « Vérifier son inscription électorale »


def css_string(text: str) -> str:
    """A CSS string literal (for @page margin boxes)."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def render_html(template: str, header: str, **context) -> str:
    now_str = dt.datetime.now().strftime("%d/%m/%Y à %H:%M")
    return render_template(template, page_header=css_string(header), now_str=now_str, **context)


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def render_pdf(template: str, header: str, **context) -> bytes:
    return html_to_pdf(render_html(template, header, **context))


_pool = None


def _worker_init():
    import weasyprint  # noqa: F401 - loaded once per worker, not once per document


def pool():
    """A pool of worker processes (one per core) kept for the life of the process: WeasyPrint is single-threaded,
    so the lists of several bureaux are laid out in parallel. Workers are spawned (not forked) so that they share
    no database connection or lock with the web process."""
    global _pool
    if _pool is None:
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        _pool = ProcessPoolExecutor(max_workers=max(os.cpu_count() or 1, 1),
                                    mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init)
        atexit.register(shutdown_pool)
    return _pool


def shutdown_pool():
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def html_to_pdf_many(htmls: list[str]) -> list[bytes]:
    """Render several documents, in parallel across cores when there is more than one."""
    if len(htmls) <= 1:
        return [html_to_pdf(h) for h in htmls]
    return list(pool().map(html_to_pdf, htmls))


def qr_data_uri(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    img = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=1)
    buf = io.BytesIO()
    img.save(buf)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def card_qr(voter, commune) -> str:
    return qr_data_uri(f"{QR_TARGET}?ine={voter.ine or ''}&commune={commune.insee}")


def age_band(age: int) -> str:
    for upper, label in ((24, "18-24"), (34, "25-34"), (49, "35-49"), (64, "50-64"), (79, "65-79")):
        if age <= upper:
            return label
    return "80+"


def statistics(voters, bureaux, today: dt.date) -> list[dict]:
    bands = ["18-24", "25-34", "35-49", "50-64", "65-79", "80+"]
    rows = []
    for b in list(bureaux) + [None]:
        members = [v for v in voters if (v.bureau_id == (b.id if b else None))]
        if b is None and not members:
            continue
        row = {"bureau": b, "total": len(members), "general": sum(v.on_general for v in members),
               "eu": sum(v.on_eu for v in members), "municipal": sum(v.on_municipal for v in members),
               "M": sum(v.sex == "M" for v in members), "F": sum(v.sex == "F" for v in members),
               "bands": {k: 0 for k in bands}}
        for v in members:
            row["bands"][age_band(v.age_on(today))] += 1
        rows.append(row)
    return rows
