"""One search box for the desk: French full text with accents and plurals handled, results limited to what the person
may read (the rows are ``AudienceScoped``: the audience filter applies to the search query like to any other).

- PostgreSQL: ``to_tsvector('desk_french', title || ' ' || body)`` — the ``french`` configuration with ``unaccent``
  before the Snowball stemmer (« délibérations » and « deliberation » both become ``deliber``) — stored in the
  generated column ``tsv`` under a GIN index; the query is ``websearch_to_tsquery`` with the same configuration, the
  :data:`WINDOW` newest matches the person may read ranked by ``ts_rank`` (SQL function ``desk_search_window``, which
  applies the audience rule of the row-level security itself: see migrations ``desk_0012_audience_rls`` and
  ``desk_0016_search_window_scalar``).
- SQLite: the FTS5 table ``desk_search_fts`` (``unicode61 remove_diacritics 2``) holds the text already folded and
  reduced by :func:`stem` (accents off, plural ``-s``/``-x`` off), and the query goes through the same function; the
  :data:`WINDOW` most recently indexed matches the person may read are ranked by bm25 (scoring every match of a
  common word costs more than the 50 ms a search may take).
- Snippets: the body around the first word whose stem is asked for, every such word in ``<mark>`` (the text is
  escaped first), the same on both backends.

The index is written by the operations that publish, edit, answer or moderate (:func:`index`, :func:`unindex`), in
their transaction.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from markupsafe import Markup, escape
from sqlalchemy import column, delete, func, literal_column, select, table, text

from portal.extensions import db
from portal.models import fold

from .models import SearchEntry

FTS = "desk_search_fts"
_fts = table(FTS, column("rowid"))
_WORD = re.compile(r"\w+", re.UNICODE)
LIMIT = 30
WINDOW = 200  # the newest matches scored for relevance (see search())


@cache
def stop_words() -> frozenset[str]:
    """The French words PostgreSQL's ``french`` configuration drops from a query (« de », « la », « à »…), folded:
    the SQLite search drops them too, so that « permis de construire » finds the same entries on both backends
    (``data/french.stop``, copied from PostgreSQL; see ``data/SOURCES.md``)."""
    text_ = (Path(__file__).parent / "data" / "french.stop").read_text(encoding="utf-8")
    return frozenset(fold(w).replace(" ", "") for w in text_.split())


def stem(word: str) -> str:
    """A folded word without its French plural mark (« délibérations » → « deliberation », « travaux » → « travau »,
    as « travau » for « travaux » too: what counts is that singular and plural meet)."""
    w = fold(word).replace(" ", "")
    if len(w) > 3 and w[-1] in "sx":
        w = w[:-1]
    return w


def terms(text_: str) -> str:
    return " ".join(stem(w) for w in _WORD.findall(text_ or "") if fold(w))


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def index(kind: str, ref_id: int, *, title: str, body: str, audience=None, publisher_id: int, published_at,
          audience_id: int | None = None) -> None:
    """Create or refresh the entry of an item (same audience row as the item: ``audience`` or its ``audience_id``)."""
    entry = db.session.scalar(select(SearchEntry).where(SearchEntry.kind == kind, SearchEntry.ref_id == ref_id))
    if entry is None:
        entry = SearchEntry(kind=kind, ref_id=ref_id)
        db.session.add(entry)
    entry.title, entry.body = title[:200], body
    if audience is not None:
        entry.audience = audience
    else:
        entry.audience_id = audience_id
    entry.publisher_id, entry.published_at = publisher_id, published_at
    db.session.flush()
    if _dialect() == "sqlite":
        db.session.execute(text(f"DELETE FROM {FTS} WHERE rowid = :id"), {"id": entry.id})
        db.session.execute(text(f"INSERT INTO {FTS} (rowid, terms) VALUES (:id, :terms)"),
                           {"id": entry.id, "terms": terms(f"{title} {body}")})


def unindex(kind: str, ref_id: int) -> None:
    entry_id = db.session.scalar(select(SearchEntry.id).where(SearchEntry.kind == kind, SearchEntry.ref_id == ref_id))
    if entry_id is None:
        return
    if _dialect() == "sqlite":
        db.session.execute(text(f"DELETE FROM {FTS} WHERE rowid = :id"), {"id": entry_id})
    db.session.execute(delete(SearchEntry).where(SearchEntry.id == entry_id))


def search(query: str, limit: int = LIMIT) -> list[SearchEntry]:
    """Entries matching every word of ``query`` that the current viewer may read, best first."""
    words = [w for w in _WORD.findall(query or "") if fold(w)]
    if not words:
        return []
    if _dialect() == "postgresql":
        # desk_search_window (migrations desk_0012_audience_rls, desk_0016_search_window_scalar): the WINDOW newest
        # matches the viewer may read (the audience tested as a scalar sub-query: a lookup per row read), with their
        # ts_rank and publication date. It is a function of the owner because under the table's row-level security
        # the match (@@, not LEAKPROOF) could not use the GIN index; it applies the same audience rule, and the rows
        # are read again below under the policy and the ORM filter.
        tsq = func.websearch_to_tsquery(literal_column("'desk_french'::regconfig"), " ".join(words))
        window = (func.desk_search_window(tsq, WINDOW).table_valued("id", "rank", "published_at")
                  .render_derived(name="search_window"))
        # Only the page is read again (policy, filter, publisher, audience): the ``limit`` best of the window in
        # the order shown (rank, then newest), every entry tied with the last of them on both kept so that the
        # order below picks the same ``limit`` entries as over the whole window — not 200 rows re-read for 30
        # shown (ranks alone tie often: a one-word query scores many entries alike).
        best = (select(window.c.id, window.c.rank, window.c.published_at)
                .order_by(window.c.rank.desc(), window.c.published_at.desc())
                .fetch(limit, with_ties=True).subquery("search_best"))
        stmt = (select(SearchEntry).join(best, best.c.id == SearchEntry.id)
                .order_by(best.c.rank.desc(), best.c.published_at.desc()))
    else:
        # FTS5 scores (bm25) every match before it can sort them: ~65 ms for a word in 15 % of 60 000 texts. So the
        # newest matches the viewer may read (the doclist walked backwards, stopped after WINDOW: under a
        # millisecond) are taken first, and only they are scored and sorted by relevance; the ``limit`` best of them
        # are then read as entries (not the whole window).
        # Words PostgreSQL's configuration would drop are dropped here too (a query of nothing else finds nothing,
        # as there).
        wanted = [w for w in words if fold(w).replace(" ", "") not in stop_words()]
        if not wanted:
            return []
        match = " ".join(f'"{stem(w)}"' for w in wanted)
        newest = (select(SearchEntry.id.label("id"), SearchEntry.published_at.label("published_at"),
                         literal_column(f"{FTS}.rank").label("score"))
                  .join(_fts, _fts.c.rowid == SearchEntry.id)
                  .where(text(f"{FTS} MATCH :match").bindparams(match=match))
                  .order_by(_fts.c.rowid.desc()).limit(WINDOW).subquery())
        best = (select(newest.c.id, newest.c.score, newest.c.published_at)
                .order_by(newest.c.score, newest.c.published_at.desc()).limit(limit).subquery("search_best"))
        stmt = (select(SearchEntry).join(best, best.c.id == SearchEntry.id)
                .order_by(best.c.score, best.c.published_at.desc()))
    return list(db.session.scalars(stmt.limit(limit)))


def snippet(entry_text: str, query: str, width: int = 90) -> Markup:
    """The text around the first word asked for, the words asked for in ``<mark>``; escaped."""
    wanted = {stem(w) for w in _WORD.findall(query or "") if fold(w)}
    matches = [m for m in _WORD.finditer(entry_text or "") if stem(m.group()) in wanted]
    if not matches:
        return Markup(escape((entry_text or "")[:2 * width]))
    start = max(0, matches[0].start() - width)
    end = min(len(entry_text), matches[0].end() + width)
    out, pos = [], start
    for m in matches:
        if m.start() < start or m.end() > end:
            continue
        out.append(escape(entry_text[pos:m.start()]))
        out.append(Markup("<mark>") + escape(m.group()) + Markup("</mark>"))
        pos = m.end()
    out.append(escape(entry_text[pos:end]))
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(entry_text) else ""
    return Markup(prefix) + Markup("").join(out) + Markup(suffix)
