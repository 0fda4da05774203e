"""desk: row-level security for audiences (PostgreSQL) — the audience's publisher, the viewer functions, a policy on
the audience tables and on every audience-scoped table, the search window read by a function that applies the rule

Revision ID: desk_0012_audience_rls
Revises: merge_0004
Create Date: 2026-12-07 08:40:00

The rule is the one of ``portal/audiences.py`` (see services/desk/README.md, « Row-level security for audiences »):
a row is readable when the viewer published it or its audience holds the viewer; ``app.viewer`` = ``*`` reads
everything; a connection that set nothing reads what is addressed to the public only.
"""
from alembic import op
import sqlalchemy as sa


revision = "desk_0012_audience_rls"
down_revision = "merge_0004"
branch_labels = None
depends_on = None

# Every table of an AudienceScoped model (portal.audiences): the test of this migration checks that none is missing.
SCOPED = ("desk_news", "desk_forum_thread", "desk_search", "desk_job_offer", "desk_event", "desk_library_folder",
          "desk_library_document", "desk_sheet")

def holds(a: str) -> str:
    """SQL: the audience row ``a`` (a table name or alias) holds the viewer of the settings — the kinds open to it,
    its EPCI, its services, a list naming it (``portal.audiences.holds``)."""
    return (f"({a}.kind = ANY (string_to_array(coalesce(nullif(current_setting('app.viewer_kinds', true), ''), "
            f"'public'), ',')) "
            f"OR ({a}.kind = 'epci_members' AND {a}.epci_id = ANY (string_to_array(nullif(current_setting("
            f"'app.viewer_epcis', true), ''), ',')::integer[])) "
            f"OR ({a}.kind = 'service' AND {a}.service_slug = ANY (string_to_array(nullif(current_setting("
            f"'app.viewer_services', true), ''), ','))) "
            f"OR ({a}.kind = 'list' AND EXISTS (SELECT 1 FROM audience_member m "
            f"WHERE m.audience_id = {a}.id AND m.collectivity_id = app_viewer_id())))")


def can_read(t: str) -> str:
    """SQL: the audience-scoped row ``t`` (table name or alias) may be read by the viewer: everything (``*``),
    published by it, or addressed to it. Written out in each policy rather than called as a function: a SQL function
    whose body has a sub-query is never inlined, and called row by row it cost 2 ms a row (26 s for a search of 12 000
    entries at a fifth of the department's scale); written out, the planner joins the audience table once."""
    return (f"(app_viewer_all() OR {t}.publisher_id = app_viewer_id() OR EXISTS (SELECT 1 FROM audience a "
            f"WHERE a.id = {t}.audience_id AND {holds('a')}))")


FUNCTIONS = [
    # '*' (department, system context) reads everything; both are inlined (no sub-query)
    """CREATE OR REPLACE FUNCTION app_viewer_all() RETURNS boolean LANGUAGE sql STABLE AS $$
         SELECT coalesce(current_setting('app.viewer', true), '') = '*' $$""",
    # the viewer's collectivity id, NULL when nobody is signed in (or everything is read)
    """CREATE OR REPLACE FUNCTION app_viewer_id() RETURNS integer LANGUAGE sql STABLE AS $$
         SELECT nullif(nullif(coalesce(current_setting('app.viewer', true), ''), '*'), '')::integer $$""",
    # the rule as a function, for ad-hoc SQL and reports (the policies write it out: see can_read)
    f"""CREATE OR REPLACE FUNCTION app_can_read_audience(aud integer, pub integer) RETURNS boolean
       LANGUAGE sql STABLE AS $$
         SELECT app_viewer_all() OR pub = app_viewer_id()
             OR EXISTS (SELECT 1 FROM audience a WHERE a.id = aud AND {holds('a')}) $$""",
    # the publisher of an audience, read by the owner (the policy of audience_member cannot read audience through
    # audience's own policy, which reads audience_member)
    """CREATE OR REPLACE FUNCTION app_audience_publisher(aud integer) RETURNS integer
       LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
         SELECT publisher_id FROM audience WHERE id = aud $$""",
    # The search window: the n newest entries matching q that the viewer may read, with their rank. A policy's
    # condition comes before any condition of the query that is not LEAKPROOF, and the full-text match (@@) is not:
    # under the policy of desk_search, the GIN index could not be used and every search would read every entry. So
    # the window is read here, as the owner (desk_search does not FORCE its policy), with the same rule written out.
    # Planned for each query's words (plan_cache_mode): PL/pgSQL's generic plan, kept for the session after five
    # calls, does not know how common the words are, and walked the whole table newest first for a rare one (search
    # p95 248 ms against 92 ms planned each time, same data and load).
    f"""CREATE OR REPLACE FUNCTION desk_search_window(q tsquery, n integer) RETURNS TABLE (id integer, rank real)
       LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
       SET plan_cache_mode = force_custom_plan AS $$
       #variable_conflict use_column
       BEGIN
         RETURN QUERY SELECT w.id, ts_rank(w.tsv, q) FROM (
           SELECT s.id, s.tsv FROM desk_search s
           WHERE s.tsv @@ q AND {can_read('s')}
           ORDER BY s.id DESC LIMIT n) w;
       END $$""",
]

AUDIENCE = f"(app_viewer_all() OR audience.publisher_id = app_viewer_id() OR {holds('audience')})"
MEMBER = ("(app_viewer_all() OR audience_member.collectivity_id = app_viewer_id() "
          "OR app_audience_publisher(audience_member.audience_id) = app_viewer_id())")


def _policy(table: str, expr: str, *, force: bool) -> list[str]:
    return [f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
            f"ALTER TABLE {table} {'FORCE' if force else 'NO FORCE'} ROW LEVEL SECURITY",
            f"DROP POLICY IF EXISTS {table}_audience ON {table}",
            f"CREATE POLICY {table}_audience ON {table} USING {expr} WITH CHECK {expr}"]


def upgrade():
    with op.batch_alter_table("audience") as batch:
        batch.add_column(sa.Column("publisher_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_audience_publisher_id_collectivity"), "collectivity",
                                 ["publisher_id"], ["id"], ondelete="CASCADE")
        batch.create_index(batch.f("ix_audience_publisher_id"), ["publisher_id"])
    for table in SCOPED:
        op.execute(f"UPDATE audience SET publisher_id = (SELECT min(t.publisher_id) FROM {table} t "
                   f"WHERE t.audience_id = audience.id) WHERE publisher_id IS NULL "
                   f"AND EXISTS (SELECT 1 FROM {table} t WHERE t.audience_id = audience.id)")
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in FUNCTIONS:
        op.execute(statement)
    # The content tables bind their owner too (like the territories' policies); the audience tables and desk_search
    # do not, so that the owner's SECURITY DEFINER functions above read them without the policy.
    statements = []
    for table in SCOPED:
        statements += _policy(table, can_read(table), force=table != "desk_search")
    statements += _policy("audience", AUDIENCE, force=False)
    statements += _policy("audience_member", MEMBER, force=False)
    for statement in statements:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in (*SCOPED, "audience", "audience_member"):
            op.execute(f"DROP POLICY IF EXISTS {table}_audience ON {table}")
            op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        for name in ("desk_search_window(tsquery, integer)", "app_audience_publisher(integer)",
                     "app_can_read_audience(integer, integer)",
                     "app_viewer_id()", "app_viewer_all()"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}")
    with op.batch_alter_table("audience") as batch:
        batch.drop_index(batch.f("ix_audience_publisher_id"))
        batch.drop_constraint(batch.f("fk_audience_publisher_id_collectivity"), type_="foreignkey")
        batch.drop_column("publisher_id")
