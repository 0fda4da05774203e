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
    return render_template(template, page_header=css_string(header), header_text=header, now_str=now_str, **context)


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def render_pdf(template: str, header: str, **context) -> bytes:
    return html_to_pdf(render_html(template, header, **context))


# --- Émargement list layout -------------------------------------------------------------------------------------
# WeasyPrint lays a long HTML table out at ~10 ms of CPU per row (style, boxes, line breaking and borders of every
# cell). The émargement list is therefore laid out here: lines are wrapped with the font's own advance widths,
# rows are paginated with a fixed line pitch (which also gives exact « page x/y »), and each page's column is ONE
# pre-formatted text block positioned in its column; rules are a few empty boxes. Same content; 10 000 voters over
# 5 bureaux went from 156 s to 40–50 s on a shared 2-core machine (bench/electoral.py).
EMARGEMENT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # the family named in the template's CSS
FONT_PT = 9.0
LINE_MM = 3.7  # line pitch of the list (CSS line-height)
# (key, width in mm) — the sum is the 190 mm between the A4 margins of 10 mm
EMARGEMENT_COLUMNS = (("num", 11), ("name", 38), ("first", 31), ("birth", 30), ("address", 45), ("sign", 35))
CELL_PAD_MM = 1.5
PAGE_LINES = 66  # lines of rows per page: (297 − 10 − 14 margins − 7 header − 8 column titles − 10 slack) / 3.7
FIRST_PAGE_LINES = PAGE_LINES - 3  # the title takes three lines on the first page
FOOTER_LINES = 2  # « Nombre d'électeurs inscrits… » under the last row
_widths = None


def _advance_widths():
    """Advance widths (in em) of the list's font, per character; None when the font file is missing (then a
    conservative estimate is used instead)."""
    global _widths
    if _widths is None:
        try:
            from fontTools.ttLib import TTFont

            font = TTFont(EMARGEMENT_FONT, lazy=True)
            upem = font["head"].unitsPerEm
            hmtx = font["hmtx"]
            _widths = {chr(cp): hmtx[name][0] / upem for cp, name in font.getBestCmap().items()}
        except Exception:  # noqa: BLE001 - fall back to the estimate, never fail a print run
            _widths = {}
    return _widths


def text_width_mm(text: str) -> float:
    widths = _advance_widths()
    em = sum(widths.get(ch, 1.0) for ch in text) if widths else 0.8 * len(text)
    return em * FONT_PT * 25.4 / 72


def wrap_mm(text: str, width_mm: float) -> list[str]:
    """Greedy line breaking at spaces (a word longer than the column is cut) — 4 % kept for kerning and rounding."""
    limit = width_mm * 0.96
    lines: list[str] = []
    current = ""
    for word in str(text or "").split():
        candidate = f"{current} {word}" if current else word
        if text_width_mm(candidate) <= limit:
            current = candidate
            continue
        if current:
            lines.append(current)
        while text_width_mm(word) > limit:  # hard cut of an overlong word
            cut = len(word) - 1
            while cut > 1 and text_width_mm(word[:cut]) > limit:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]


def emargement_pages(voters) -> list[dict]:
    """Paginate the émargement list. Each page: its rows' columns as lists of lines (row n starts on the same line in
    every column, rows separated by one blank line for the signature), the offsets of the rules between rows, the
    first and last order numbers. Voters must already be in the legal order."""
    inner = {key: width - 2 * CELL_PAD_MM for key, width in EMARGEMENT_COLUMNS}
    pages: list[dict] = []

    def new_page():
        page = {"cols": {key: [] for key, _ in EMARGEMENT_COLUMNS if key != "sign"}, "rules": [], "lines": 0,
                "capacity": FIRST_PAGE_LINES if not pages else PAGE_LINES}
        pages.append(page)
        return page

    page = new_page()
    for number, v in enumerate(voters, start=1):
        name = wrap_mm(v.birth_name, inner["name"])
        if v.usage_name and v.usage_name != v.birth_name:
            name += wrap_mm(f"({v.usage_name})", inner["name"])
        cells = {"num": [str(number)], "name": name, "first": wrap_mm(v.first_names, inner["first"]),
                 "birth": [v.birth_date.strftime("%d/%m/%Y") if v.birth_date else ""]
                 + wrap_mm(v.birth_place_line, inner["birth"]),
                 "address": wrap_mm(v.address_line, inner["address"])}
        height = max(len(lines) for lines in cells.values()) + 1
        if page["lines"] + height > page["capacity"] and page["lines"]:
            page = new_page()
        for key, lines in cells.items():
            page["cols"][key] += lines + [""] * (height - len(lines))
        page["lines"] += height
        page["rules"].append(round(page["lines"] * LINE_MM, 2))
    if page["lines"] + FOOTER_LINES > page["capacity"]:
        page = new_page()
    for page in pages:
        page["height_mm"] = round(page["lines"] * LINE_MM, 2)
        page["text"] = {key: "\n".join(lines) for key, lines in page["cols"].items()}
    return pages


def emargement_context(voters) -> dict:
    """What electoral/pdf/emargement.html needs besides the commune, bureau and election."""
    return {"voters": voters, "pages": emargement_pages(voters), "columns": EMARGEMENT_COLUMNS, "pad": CELL_PAD_MM,
            "line_mm": LINE_MM}


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
