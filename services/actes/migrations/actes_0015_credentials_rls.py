"""actes: row-level security on a collectivity's TdT account and its signers' certificates (actes_tdt_account,
actes_signer_certificate) — the second lock of DESIGN.md §2 beside the views' own ``collectivity_id`` conditions

Revision ID: actes_0015_credentials_rls
Revises: actes_0014_list_index
Create Date: 2026-12-07 17:20:00

The rule reads the viewer settings of ``portal.audiences`` (the models are ``ViewerGuarded``: the session writes them
before any statement about these rows): a row is read and written by its own collectivity (``app.viewer`` = its id);
by a department team (``app.viewer`` = ``*``) when the collectivity is of one of its départements
(``app.viewer_departments``); by everything only in the system context (``*`` with no département: CLI, workers
sending acts to the TdT and the certificate reminders). A public page reads the two public facts of the account
(SIRET, préfecture) in the system context (``services.actes.operations.public_facts``). A connection that set
nothing reads nothing.
"""
from alembic import op


revision = "actes_0015_credentials_rls"
down_revision = "actes_0014_list_index"
branch_labels = None
depends_on = "desk_0012_audience_rls"  # app_viewer_id(), app_viewer_all()

TABLES = ("actes_tdt_account", "actes_signer_certificate")
_DEPARTMENTS = "nullif(current_setting('app.viewer_departments', true), '')"


def rule(table: str) -> str:
    return (f"({table}.collectivity_id = app_viewer_id() "
            f"OR (app_viewer_all() AND ({_DEPARTMENTS} IS NULL OR EXISTS (SELECT 1 FROM collectivity c "
            f"WHERE c.id = {table}.collectivity_id "
            f"AND c.department_code = ANY (string_to_array({_DEPARTMENTS}, ','))))))")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for statement in (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
                          f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
                          f"DROP POLICY IF EXISTS {table}_owner ON {table}",
                          f"CREATE POLICY {table}_owner ON {table} USING {rule(table)} WITH CHECK {rule(table)}"):
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        for statement in (f"DROP POLICY IF EXISTS {table}_owner ON {table}",
                          f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
                          f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"):
            op.execute(statement)
