"""desk: the search window (PostgreSQL) tests the audience of the newest matches only, as a scalar sub-query, and
returns each entry's publication date

Revision ID: desk_0016_search_window_scalar
Revises: desk_0015_department_audiences
Create Date: 2026-12-07 16:30:00

``desk_search_window(q, n)`` (migration ``desk_0012_audience_rls`` says why it is a function of the owner) returned
the ``n`` newest entries matching ``q`` that the viewer may read, with the rule of ``desk_0015`` written as
``EXISTS (SELECT 1 FROM audience a WHERE a.id = s.audience_id AND …)`` in the WHERE clause of the match. Two costs:

- the planner evaluated that test on **every** match (the bitmap scan of the GIN index filters each row before the
  sort by id), e.g. 684 audience lookups for the 200 entries kept of « deliberations » at a tenth of the
  department's scale, ten times that at full scale;
- it may turn the correlated ``EXISTS`` into a hashed sub-plan, a sequential scan of every ``audience`` row, when
  it expects many matches (27.6 of 50.3 ms of a search at a quarter of the scale).

Now the matches are first sorted newest first on their ids alone (id, audience, publisher: a small sort), behind an
``OFFSET 0`` fence so that the audience test is not pushed down into the scan, and the test — the scalar sub-query
of ``portal.audiences.criteria``, ``coalesce((SELECT <holds> FROM audience a WHERE a.id = …), false)``, a
primary-key lookup that cannot be hashed — runs row by row on that order until ``n`` entries pass. Only those ``n``
are read again for their vector (``ts_rank``) and publication date. Same rule, same truth (the audience row exists:
foreign key; a NULL of the rule is false in both forms), same rows.

The function also returns ``published_at``, so that the caller picks its page (rank, then newest) from the window
itself and reads again only the entries it shows (``services/desk/search.py``); a new result column is a new
return type, hence DROP and CREATE (the downgrade puts back desk_0015's function).
"""
from alembic import op


revision = "desk_0016_search_window_scalar"
down_revision = "desk_0015_department_audiences"
branch_labels = None
depends_on = None

DEPARTMENT_WIDE = "('all', 'communes', 'epci', 'service')"


def _setting_list(name: str) -> str:
    return f"string_to_array(nullif(current_setting('{name}', true), ''), ',')"


def holds(a: str) -> str:
    """SQL: the audience row ``a`` holds the viewer of the settings — the rule of desk_0015 (its ``holds``),
    ``portal.audiences.holds_clause``."""
    rule = (f"({a}.kind = ANY (string_to_array(coalesce(nullif(current_setting('app.viewer_kinds', true), ''), "
            f"'public'), ',')) "
            f"OR ({a}.kind = 'epci_members' AND {a}.epci_id = ANY ({_setting_list('app.viewer_epcis')}::integer[])) "
            f"OR ({a}.kind = 'service' AND {a}.service_slug = ANY ({_setting_list('app.viewer_services')})) "
            f"OR ({a}.kind = 'list' AND EXISTS (SELECT 1 FROM audience_member m "
            f"WHERE m.audience_id = {a}.id AND m.collectivity_id = app_viewer_id())))")
    return (f"(({a}.kind NOT IN {DEPARTMENT_WIDE} OR {a}.department_code IS NULL "
            f"OR {a}.department_code = ANY ({_setting_list('app.viewer_departments')})) AND {rule})")


def can_read(t: str) -> str:
    """SQL: the row ``t`` (with ``audience_id`` and ``publisher_id``) may be read — the scalar sub-query form."""
    return (f"(app_viewer_all() OR {t}.publisher_id = app_viewer_id() OR coalesce((SELECT {holds('a')} "
            f"FROM audience a WHERE a.id = {t}.audience_id), false))")


WINDOW = f"""CREATE FUNCTION desk_search_window(q tsquery, n integer)
   RETURNS TABLE (id integer, rank real, published_at timestamp without time zone)
   LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
   SET plan_cache_mode = force_custom_plan SET enable_seqscan = on SET enable_indexscan = on AS $$
   #variable_conflict use_column
   DECLARE
     ids integer[];
     auds integer[];
     pubs integer[];
   BEGIN
     -- 1. every match, newest first (id, audience, publisher only), through the GIN index
     PERFORM set_config('enable_seqscan', 'off', true), set_config('enable_indexscan', 'off', true);
     SELECT array_agg(m.id ORDER BY m.id DESC), array_agg(m.audience_id ORDER BY m.id DESC),
            array_agg(m.publisher_id ORDER BY m.id DESC)
       INTO ids, auds, pubs FROM desk_search m WHERE m.tsv @@ q;
     PERFORM set_config('enable_seqscan', 'on', true), set_config('enable_indexscan', 'on', true);
     -- 2. the audience tested in that order until n pass; their rank and date
     RETURN QUERY SELECT w.id, ts_rank(s.tsv, q), s.published_at FROM (
       SELECT c.id FROM (
         SELECT u.id, u.audience_id, u.publisher_id
         FROM unnest(ids, auds, pubs) WITH ORDINALITY AS u(id, audience_id, publisher_id, o)
         ORDER BY u.o OFFSET 0) c
       WHERE {can_read('c')}
       LIMIT n) w
     JOIN desk_search s ON s.id = w.id;
   END $$"""

# desk_0015's function (the downgrade)
FORMER_WINDOW = f"""CREATE FUNCTION desk_search_window(q tsquery, n integer) RETURNS TABLE (id integer, rank real)
   LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
   SET plan_cache_mode = force_custom_plan AS $$
   #variable_conflict use_column
   BEGIN
     RETURN QUERY SELECT w.id, ts_rank(w.tsv, q) FROM (
       SELECT s.id, s.tsv FROM desk_search s
       WHERE s.tsv @@ q AND (app_viewer_all() OR s.publisher_id = app_viewer_id() OR EXISTS (SELECT 1 FROM audience a
       WHERE a.id = s.audience_id AND {holds('a')}))
       ORDER BY s.id DESC LIMIT n) w;
   END $$"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS desk_search_window(tsquery, integer)")
    op.execute(WINDOW)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS desk_search_window(tsquery, integer)")
    op.execute(FORMER_WINDOW)
