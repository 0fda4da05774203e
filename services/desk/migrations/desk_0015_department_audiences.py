"""desk: several départements — « all », « communes », « EPCI » and « service » audiences reach the publisher's
département only (audience.department_code, with the policies re-created to read it), and forum categories belong to
a département (desk_forum_category.department_code)

Revision ID: desk_0015_department_audiences
Revises: cemetery_0003_plan_version
Create Date: 2026-12-07 13:20:00

The rule is the one of ``portal/audiences.py`` (see services/desk/README.md, « Several départements »): on top of
``desk_0012_audience_rls``, an audience of a département-wide kind holds the viewer only when its ``department_code``
is NULL (the whole platform) or one of the viewer's départements (``app.viewer_departments``).

Data: each existing audience takes its publisher's département (an audience without a publisher stays the whole
platform's, as it was); each existing category takes the département of the team that created it (its audit event),
else — on an instance with a single département — that département; any other stays the platform's.
"""
from alembic import op
import sqlalchemy as sa


revision = "desk_0015_department_audiences"
down_revision = "cemetery_0003_plan_version"
branch_labels = None
depends_on = None

SCOPED = ("desk_news", "desk_forum_thread", "desk_search", "desk_job_offer", "desk_event", "desk_library_folder",
          "desk_library_document", "desk_sheet")
DEPARTMENT_WIDE = "('all', 'communes', 'epci', 'service')"


def _setting_list(name: str) -> str:
    return f"string_to_array(nullif(current_setting('{name}', true), ''), ',')"


def holds(a: str, *, departments: bool = True) -> str:
    """SQL: the audience row ``a`` holds the viewer of the settings (``portal.audiences.holds_clause``); without
    ``departments``, the rule of desk_0012 (for the downgrade)."""
    rule = (f"({a}.kind = ANY (string_to_array(coalesce(nullif(current_setting('app.viewer_kinds', true), ''), "
            f"'public'), ',')) "
            f"OR ({a}.kind = 'epci_members' AND {a}.epci_id = ANY ({_setting_list('app.viewer_epcis')}::integer[])) "
            f"OR ({a}.kind = 'service' AND {a}.service_slug = ANY ({_setting_list('app.viewer_services')})) "
            f"OR ({a}.kind = 'list' AND EXISTS (SELECT 1 FROM audience_member m "
            f"WHERE m.audience_id = {a}.id AND m.collectivity_id = app_viewer_id())))")
    if not departments:
        return rule
    return (f"(({a}.kind NOT IN {DEPARTMENT_WIDE} OR {a}.department_code IS NULL "
            f"OR {a}.department_code = ANY ({_setting_list('app.viewer_departments')})) AND {rule})")


def can_read(t: str, departments: bool = True) -> str:
    """SQL: the audience-scoped row ``t`` may be read (written out in each policy: see desk_0012)."""
    return (f"(app_viewer_all() OR {t}.publisher_id = app_viewer_id() OR EXISTS (SELECT 1 FROM audience a "
            f"WHERE a.id = {t}.audience_id AND {holds('a', departments=departments)}))")


def functions(departments: bool) -> list[str]:
    return [
        f"""CREATE OR REPLACE FUNCTION app_can_read_audience(aud integer, pub integer) RETURNS boolean
           LANGUAGE sql STABLE AS $$
             SELECT app_viewer_all() OR pub = app_viewer_id()
                 OR EXISTS (SELECT 1 FROM audience a WHERE a.id = aud AND {holds('a', departments=departments)}) $$""",
        # the search window (desk_0012 says why it is a function), with the same rule
        f"""CREATE OR REPLACE FUNCTION desk_search_window(q tsquery, n integer) RETURNS TABLE (id integer, rank real)
           LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
           SET plan_cache_mode = force_custom_plan AS $$
           #variable_conflict use_column
           BEGIN
             RETURN QUERY SELECT w.id, ts_rank(w.tsv, q) FROM (
               SELECT s.id, s.tsv FROM desk_search s
               WHERE s.tsv @@ q AND {can_read('s', departments)}
               ORDER BY s.id DESC LIMIT n) w;
           END $$""",
    ]


def policies(departments: bool) -> list[str]:
    statements = []
    for table in SCOPED:
        expr = can_read(table, departments)
        statements += [f"DROP POLICY IF EXISTS {table}_audience ON {table}",
                       f"CREATE POLICY {table}_audience ON {table} USING {expr} WITH CHECK {expr}"]
    expr = f"(app_viewer_all() OR audience.publisher_id = app_viewer_id() OR {holds('audience', departments=departments)})"
    statements += ["DROP POLICY IF EXISTS audience_audience ON audience",
                   f"CREATE POLICY audience_audience ON audience USING {expr} WITH CHECK {expr}"]
    return statements


# The data (module constants: tests/services/desk/test_departments.py runs them on rows of its own).
FILL_AUDIENCES = ("UPDATE audience SET department_code = (SELECT c.department_code FROM collectivity c "
                  "WHERE c.id = audience.publisher_id) WHERE publisher_id IS NOT NULL")
FILL_CATEGORIES = (
    # the département of the team whose creation of the category is in the journal
    "UPDATE desk_forum_category SET department_code = (SELECT c.department_code FROM audit_event e "
    "JOIN collectivity c ON c.id = e.collectivity_id WHERE e.action = 'desk.forum_category_created' "
    "AND e.target_type = 'ForumCategory' AND e.target_id = CAST(desk_forum_category.id AS VARCHAR(60)) "
    "ORDER BY e.id LIMIT 1) WHERE department_code IS NULL",
    # else the only département of the instance; else the category stays the whole platform's
    "UPDATE desk_forum_category SET department_code = (SELECT min(department_code) FROM collectivity "
    "WHERE kind = 'department') WHERE department_code IS NULL "
    "AND (SELECT count(*) FROM collectivity WHERE kind = 'department') = 1",
)


def upgrade():
    with op.batch_alter_table("audience") as batch:
        batch.add_column(sa.Column("department_code", sa.String(length=3), nullable=True))
        batch.create_index(batch.f("ix_audience_department_code"), ["department_code"])
    op.execute(FILL_AUDIENCES)

    with op.batch_alter_table("desk_forum_category") as batch:
        batch.add_column(sa.Column("department_code", sa.String(length=3), nullable=True))
        batch.create_index(batch.f("ix_desk_forum_category_department_code"), ["department_code"])
        batch.drop_constraint("uq_desk_forum_category_name", type_="unique")
        batch.create_unique_constraint(batch.f("uq_desk_forum_category_department_code"), ["department_code", "name"])
    for statement in FILL_CATEGORIES:
        op.execute(statement)

    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in functions(True) + policies(True):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for statement in functions(False) + policies(False):
            op.execute(statement)
    with op.batch_alter_table("desk_forum_category") as batch:
        batch.drop_constraint(batch.f("uq_desk_forum_category_department_code"), type_="unique")
        batch.create_unique_constraint("uq_desk_forum_category_name", ["name"])
        batch.drop_index(batch.f("ix_desk_forum_category_department_code"))
        batch.drop_column("department_code")
    with op.batch_alter_table("audience") as batch:
        batch.drop_index(batch.f("ix_audience_department_code"))
        batch.drop_column("department_code")
