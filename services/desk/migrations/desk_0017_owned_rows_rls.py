"""desk: row-level security on the rows a collectivity owns outside any audience — its people's calendar addresses
(desk_calendar_token) and event registrations (desk_event_registration)

Revision ID: desk_0017_owned_rows_rls
Revises: desk_0016_forum_category_rls
Create Date: 2026-12-07 17:20:00

Written like the policy of ``audience_member`` (desk_0012_audience_rls), with the viewer settings of
``portal.audiences`` (the models are ``ViewerGuarded``): a row is its collectivity's (``app.viewer`` = its id) or read
by ``app.viewer`` = ``*`` (department teams, which read every desk row, and the system context: the event reminders).
A registration is also read by the publisher of its event (a partner or the department seeing who registered). The
calendar feed finds its token before anyone is known: ``services.desk.agenda.feed_of_token`` reads (and stamps) it in
``audience_scope(None)``, then reads the events as the token's collectivity. A connection that set nothing reads
nothing.
"""
from alembic import op


revision = "desk_0017_owned_rows_rls"
down_revision = "desk_0016_forum_category_rls"
branch_labels = None
depends_on = None

RULES = {
    "desk_calendar_token": "(app_viewer_all() OR desk_calendar_token.collectivity_id = app_viewer_id())",
    "desk_event_registration": (
        "(app_viewer_all() OR desk_event_registration.collectivity_id = app_viewer_id() "
        "OR EXISTS (SELECT 1 FROM desk_event e WHERE e.id = desk_event_registration.event_id "
        "AND e.publisher_id = app_viewer_id()))"),
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, rule in RULES.items():
        for statement in (f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
                          f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
                          f"DROP POLICY IF EXISTS {table}_owner ON {table}",
                          f"CREATE POLICY {table}_owner ON {table} USING {rule} WITH CHECK {rule}"):
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in RULES:
        for statement in (f"DROP POLICY IF EXISTS {table}_owner ON {table}",
                          f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
                          f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"):
            op.execute(statement)
