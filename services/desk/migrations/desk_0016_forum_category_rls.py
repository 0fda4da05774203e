"""desk: row-level security on the forum's categories (desk_forum_category), which belong to a département since
desk_0015_department_audiences — the second lock of DESIGN.md §2 beside the ORM criterion of
``portal.audiences.DepartmentScoped``

Revision ID: desk_0016_forum_category_rls
Revises: desk_0015_department_audiences
Create Date: 2026-12-07 16:30:00

The rule is ``portal.audiences.department_criteria``: a category of the whole platform (``department_code`` NULL) is
everyone's; another is read and written by the viewers of its département (``app.viewer_departments``, set with the
other audience settings for each transaction, see ``portal.audiences.setting_values``). A department team's
``app.viewer`` is ``*`` (it reads every audience of its publishers) but its département is set: it reads its own
categories and the platform's only. Everything is read only by ``app.viewer`` = ``*`` with no département (the system
context, the schema owner's fixtures). A connection that set nothing reads the platform's categories.

Forced on the owner too, like the content tables of desk_0012_audience_rls (no SECURITY DEFINER function reads it).
"""
from alembic import op


revision = "desk_0016_forum_category_rls"
down_revision = "desk_0015_department_audiences"
branch_labels = None
depends_on = None

TABLE = "desk_forum_category"
POLICY = f"{TABLE}_department"
_DEPARTMENTS = "nullif(current_setting('app.viewer_departments', true), '')"
RULE = (f"({TABLE}.department_code IS NULL "
        f"OR {TABLE}.department_code = ANY (string_to_array({_DEPARTMENTS}, ',')) "
        f"OR (app_viewer_all() AND {_DEPARTMENTS} IS NULL))")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY",
                      f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY",
                      f"DROP POLICY IF EXISTS {POLICY} ON {TABLE}",
                      f"CREATE POLICY {POLICY} ON {TABLE} USING {RULE} WITH CHECK {RULE}"):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (f"DROP POLICY IF EXISTS {POLICY} ON {TABLE}",
                      f"ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY",
                      f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY"):
        op.execute(statement)
