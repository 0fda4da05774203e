"""cadastre: row-level security on a département's plan imports (cadastre_department_import)

Revision ID: cadastre_0007_dept_import_rls
Revises: cadastre_0006_department_imports
Create Date: 2026-12-07 17:20:00

Written like the forum categories' policy (desk_0016_forum_category_rls), with the viewer settings of
``portal.audiences`` (the model is ``ViewerGuarded``): a run is read and written by the department teams of its
département (``app.viewer`` = ``*``, ``app.viewer_departments``; not by a commune of it, whose viewer is its id),
and by everything only in the system context (``app.viewer`` = ``*`` with no département: the ``flask cadastre``
import commands and workers). A connection that set nothing reads nothing.
"""
from alembic import op


revision = "cadastre_0007_dept_import_rls"
down_revision = "cadastre_0006_department_imports"
branch_labels = None
depends_on = "desk_0012_audience_rls"  # app_viewer_id(), app_viewer_all()

TABLE = "cadastre_department_import"
POLICY = f"{TABLE}_department"
_DEPARTMENTS = "nullif(current_setting('app.viewer_departments', true), '')"
RULE = (f"(app_viewer_all() AND ({_DEPARTMENTS} IS NULL "
        f"OR {TABLE}.department_code = ANY (string_to_array({_DEPARTMENTS}, ','))))")


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
