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
    from portal.identity import local_now

    now_str = local_now().strftime("%d/%m/%Y à %H:%M")  # the mairie's département's legal time, not the server's
    return render_template(template, page_header=css_string(header), header_text=header, now_str=now_str, **context)


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html).write_pdf()


def render_pdf(template: str, header: str, **context) -> bytes:
    return html_to_pdf(render_html(template, header, **context))


# --- Émargement list layout -------------------------------------------------------------------------------------
# WeasyPrint's cost is per line box (≈ 0.3–0.5 ms of CPU each: Pango layout, line metrics, drawing), whatever the
# line's length, plus per element (style cascade, boxes). A table costs ~10 ms per row; one text block per column
# still costs one line box per column and visual line (≈ 20 per voter, blank padding lines included). The list is
# therefore set in a monospaced font (DejaVu Sans Mono): columns are character ranges, each visual line of a row is
# ONE line of text across all columns, each row ONE pre-formatted block whose padding makes the signature space and
# whose bottom border is the rule (3 line boxes and one block per voter). Pagination is ours (fixed line pitch, so
# « page x/y » is exact up front), and the pages are cut into chunks rendered in parallel processes and merged.
# 10 000 voters over 5 bureaux: 156 s (table) → 40–50 s (one block per column) → see README / bench/electoral.py.
EMARGEMENT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"  # the family named in the template's CSS
FONT_PT = 8.5
LINE_MM = 3.7  # line pitch of the list (CSS line-height)
# (key, width in characters) — 105 characters of 8.5 pt DejaVu Sans Mono (0.602 em) fill the 190 mm between the
# A4 margins of 10 mm
EMARGEMENT_COLUMNS = (("num", 6), ("name", 21), ("first", 17), ("birth", 17), ("address", 26), ("sign", 18))
PAGE_LINES = 66  # lines of rows per page: (297 − 10 − 14 margins − 7 header − 8 column titles − 10 slack) / 3.7
FIRST_PAGE_LINES = PAGE_LINES - 3  # the title takes three lines on the first page
FOOTER_LINES = 2  # « Nombre d'électeurs inscrits… » under the last row
_char_em = None


def char_mm() -> float:
    """Advance width of one character of the list's font, in mm (0.602 em when the font file cannot be read)."""
    global _char_em
    if _char_em is None:
        try:
            from fontTools.ttLib import TTFont

            font = TTFont(EMARGEMENT_FONT, lazy=True)
            _char_em = font["hmtx"]["A"][0] / font["head"].unitsPerEm
        except Exception:  # noqa: BLE001 - fall back to DejaVu Sans Mono's advance, never fail a print run
            _char_em = 0.6021
    return _char_em * FONT_PT * 25.4 / 72


def wrap_chars(text: str, width: int) -> list[str]:
    """Greedy line breaking at spaces and hyphens; a word longer than the column is cut."""
    import textwrap

    return textwrap.wrap(" ".join(str(text or "").split()), width) or [""]


def emargement_pages(voters, notes: dict | None = None) -> list[dict]:
    """Paginate the émargement list. Each page: its rows, each the lines of text running across all columns (a
    row's cells start on the same line; one line of padding under them for the signature), and the lines it uses.
    Voters must already be in the legal order. ``notes`` (voter id → text) are printed under the address: the
    procuration beside its mandant, where the mandataire signs (R. 76)."""
    notes = notes or {}
    widths = dict(EMARGEMENT_COLUMNS)
    inner = {key: width - 2 for key, width in EMARGEMENT_COLUMNS}  # one space each side of a cell
    keys = [key for key, _ in EMARGEMENT_COLUMNS if key != "sign"]
    pages: list[dict] = []

    def new_page():
        page = {"rows": [], "used": 0, "capacity": FIRST_PAGE_LINES if not pages else PAGE_LINES}
        pages.append(page)
        return page

    page = new_page()
    for number, v in enumerate(voters, start=1):
        name = wrap_chars(v.birth_name, inner["name"])
        if v.usage_name and v.usage_name != v.birth_name:
            name += wrap_chars(f"({v.usage_name})", inner["name"])
        cells = {"num": [str(number).rjust(inner["num"])], "name": name,
                 "first": wrap_chars(v.first_names, inner["first"]),
                 "birth": [v.birth_date.strftime("%d/%m/%Y") if v.birth_date else ""]
                 + wrap_chars(v.birth_place_line, inner["birth"]),
                 "address": wrap_chars(v.address_line, inner["address"])
                 + (wrap_chars(notes[v.id], inner["address"]) if v.id in notes else [])}
        lines = max(len(cell) for cell in cells.values())
        if page["used"] + lines + 1 > page["capacity"] and page["rows"]:
            page = new_page()
        page["rows"].append("\n".join("".join(" " + (cells[k][i] if i < len(cells[k]) else "").ljust(widths[k] - 1)
                                               for k in keys).rstrip() for i in range(lines)))
        page["used"] += lines + 1
    if page["used"] + FOOTER_LINES > page["capacity"]:
        new_page()
    return pages


EMARGEMENT_TITLES = {"num": ["N°"], "name": ["Nom de naissance", "(nom d'usage)"], "first": ["Prénoms"],
                     "birth": ["Né(e) le, à"], "address": ["Adresse"], "sign": ["Signature"]}


def emargement_layout() -> dict:
    """Column offsets and widths in mm, and the column titles as lines of the same character grid (one text block
    rather than one positioned box per title), for the template."""
    cm = char_mm()
    columns, left = [], 0
    for key, width in EMARGEMENT_COLUMNS:
        columns.append((key, round(left * cm, 2), round(width * cm, 2)))
        left += width
    widths = dict(EMARGEMENT_COLUMNS)
    height = max(len(lines) for lines in EMARGEMENT_TITLES.values())

    def cell(key, i):
        text = EMARGEMENT_TITLES[key][i] if i < len(EMARGEMENT_TITLES[key]) else ""
        return " " + (text.rjust(widths[key] - 2) + " " if key == "num" else text.ljust(widths[key] - 1))

    titles = "\n".join("".join(cell(key, i) for key, _ in EMARGEMENT_COLUMNS).rstrip() for i in range(height))
    return {"columns": columns, "line_mm": LINE_MM, "font_pt": FONT_PT, "grid_mm": round(left * cm, 2),
            "titles": titles}


CHUNK_PAGES = 8  # smallest chunk of pages rendered as one document (each document costs ≈ 0.1 s of CPU of its own)
CHUNKS_PER_WORKER = 8  # enough chunks for every core to stay busy until the end (imbalance ≤ one chunk)


def workers() -> int:
    import os

    return max(os.cpu_count() or 1, 1)


def emargement_chunks(header: str, voters, chunk_pages: int | None = None, **context) -> list[str]:
    """The émargement list of one bureau as HTML documents of at most ``chunk_pages`` pages each. The pagination
    is computed once for the whole bureau, so each chunk carries the true « page x/y » and order numbers; the PDFs
    of the chunks are concatenated in order (``merge_pdfs``)."""
    return _chunk_htmls(header, emargement_pages(voters, context.get("procurations")), len(voters),
                        chunk_pages or CHUNK_PAGES, context)


def _chunk_htmls(header: str, pages: list[dict], voter_count: int, chunk_pages: int, context: dict) -> list[str]:
    for number, page in enumerate(pages, start=1):
        page["number"] = number
    layout = emargement_layout()
    return [render_html("electoral/pdf/emargement.html", header, pages=pages[i:i + chunk_pages],
                        page_count=len(pages), voter_count=voter_count, **layout, **context)
            for i in range(0, len(pages), chunk_pages)]


def merge_pdfs(parts: list[bytes]) -> bytes:
    if len(parts) == 1:
        return parts[0]
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_emargements(lists: list[tuple[str, list, dict]], progress=None) -> list[bytes]:
    """Render several bureaux' émargement lists — (header, voters in legal order, template context) each — with
    all their page chunks spread over the worker pool; one PDF per bureau, in the order given.

    The pagination of every bureau is computed first; the chunk size then gives each worker about
    ``CHUNKS_PER_WORKER`` documents (never fewer than ``CHUNK_PAGES`` pages). Each chunk goes to the pool as soon
    as its HTML is ready, and a bureau's PDF is merged as soon as its last chunk is back, while the workers go on
    with the others: the work of this process overlaps theirs."""
    paginated = [(header, emargement_pages(voters, context.get("procurations")), len(voters), context)
                 for header, voters, context in lists]
    total = sum(len(pages) for _, pages, _, _ in paginated)
    size = max(CHUNK_PAGES, -(-total // (workers() * CHUNKS_PER_WORKER)))
    n_chunks = sum(-(-max(len(pages), 1) // size) for _, pages, _, _ in paginated)
    if n_chunks <= 1 or not can_fork_workers():
        docs = [_chunk_htmls(header, pages, count, size, context) for header, pages, count, context in paginated]
        rendered = iter(html_to_pdf_many([html for chunks in docs for html in chunks], progress))
        return [merge_pdfs([next(rendered) for _ in chunks]) for chunks in docs]
    from concurrent.futures import FIRST_COMPLETED, wait

    parts: list[list] = []
    futures: dict = {}
    for d, (header, pages, count, context) in enumerate(paginated):
        chunks = _chunk_htmls(header, pages, count, size, context)
        parts.append([None] * len(chunks))
        for k, html in enumerate(chunks):
            futures[pool().submit(html_to_pdf, html)] = (d, k)
    out: list = [None] * len(parts)
    done_count, pending = 0, set(futures)
    while pending:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            d, k = futures[future]
            parts[d][k] = future.result()
            done_count += 1
            if progress is not None:
                progress(done_count, len(futures))
            if all(p is not None for p in parts[d]):
                out[d] = merge_pdfs(parts[d])
                parts[d] = []
    return out


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


def can_fork_workers() -> bool:
    """False inside a daemonic process (a Celery prefork child): it may not start the pool's processes, so the
    documents are rendered one after the other there (run the worker with ``--pool threads`` or ``solo`` to keep
    the parallel render; README)."""
    import multiprocessing

    return not multiprocessing.current_process().daemon


def html_to_pdf_many(htmls: list[str], progress=None) -> list[bytes]:
    """Render several documents, in parallel across cores when there is more than one. ``progress(done, total)``
    is called after each document (background print jobs show it)."""
    if len(htmls) <= 1 or not can_fork_workers():
        out = []
        for h in htmls:
            out.append(html_to_pdf(h))
            if progress is not None and len(htmls) > 1:
                progress(len(out), len(htmls))
        if progress is not None and len(htmls) <= 1:
            progress(len(out), len(htmls))
        return out
    from concurrent.futures import as_completed

    futures = {pool().submit(html_to_pdf, h): i for i, h in enumerate(htmls)}
    out: list = [None] * len(htmls)
    for done, future in enumerate(as_completed(futures), start=1):
        out[futures[future]] = future.result()
        if progress is not None:
            progress(done, len(htmls))
    return out


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
