"""desk: the search window (PostgreSQL) tests the audience as a scalar sub-query, and returns each entry's
publication date

Revision ID: desk_0016_search_window_scalar
Revises: desk_0015_department_audiences
Create Date: 2026-12-07 16:30:00

``desk_search_window(q, n)`` (migration ``desk_0012_audience_rls`` says why it is a function of the owner) returns
the ``n`` newest entries matching ``q`` that the viewer may read, with their rank. Its audience test was the
``EXISTS (SELECT 1 FROM audience a WHERE a.id = s.audience_id AND …)`` of desk_0015, which the planner may turn into
a hashed sub-plan — a sequential scan of every ``audience`` row, whatever the number of matches actually read (27.6
of 50.3 ms of a search at a quarter of the department's scale). It is now the scalar sub-query of
``portal.audiences.criteria``, ``coalesce((SELECT <holds> FROM audience a WHERE a.id = s.audience_id), false)``: a
primary-key lookup per row read, which cannot be hashed. Same rule, same truth (the audience row exists: foreign key;
a NULL of the rule is false in both forms), same rows. The planner keeps its two plans, chosen per query's words
(``plan_cache_mode``): for a common word the primary key walked newest first, the match then the audience tested
row by row until ``n`` pass; for a rarer one the GIN index, then the test on each match.

(Tried and dropped: sorting every match on its id first and testing the audience in that order only. At full scale
it read the heap of every match of a common word — ~6 000 rows — where the walk newest first stops after ~2 000:
19–24 ms vs 12–13 ms for « deliberations » (median of 5 calls each, alternated), load 5.)

The function also returns ``published_at``, so that the caller picks its page (rank, then newest) from the window
itself and reads again only the entries it shows (``services/desk/search.py``: 30 rows, was every entry tied on rank
with the 30th — often the whole window of 200); a new result column is a new return type, hence DROP and CREATE
(the downgrade puts back desk_0015's function).
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
   SET plan_cache_mode = force_custom_plan AS $$
   #variable_conflict use_column
   BEGIN
     RETURN QUERY SELECT w.id, ts_rank(w.tsv, q), w.published_at FROM (
       SELECT s.id, s.tsv, s.published_at FROM desk_search s
       WHERE s.tsv @@ q AND {can_read('s')}
       ORDER BY s.id DESC LIMIT n) w;
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
