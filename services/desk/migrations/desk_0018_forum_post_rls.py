"""desk: row-level security on the forum's messages (desk_forum_post), which follow their thread's audience — the
second lock of DESIGN.md §2 beside ``services.desk.access`` (a message is reached through its thread only)

Revision ID: desk_0018_forum_post_rls
Revises: tenders_0008_tender_rls
Create Date: 2026-12-07 20:00:00

Read with the viewer settings of ``portal.audiences`` (the model is ``ViewerGuarded``: the session writes them before
any statement about messages):

- ``desk_forum_post_read`` (SELECT): a message is read by whoever reads its thread — the EXISTS on desk_forum_thread
  runs under that table's own policy (desk_0015_department_audiences: the thread's audience holds the viewer, or the
  viewer published it, or ``app.viewer`` = ``*``, the department's moderators and the system context) — and by the
  collectivity that wrote it (``collectivity_id`` = ``app.viewer``). A message is not its author's collectivity's
  alone: every member the thread's audience holds reads every message of it.
- ``desk_forum_post_write`` (every command): a collectivity writes its own messages in a thread it reads; the
  moderators and the system context (``*``) write any (hiding, the digest, the index).

A connection that set nothing reads the messages of threads addressed to the public only.
"""
from alembic import op


revision = "desk_0018_forum_post_rls"
down_revision = "tenders_0008_tender_rls"
branch_labels = None
depends_on = None

TABLE = "desk_forum_post"
_THREAD = f"EXISTS (SELECT 1 FROM desk_forum_thread t WHERE t.id = {TABLE}.thread_id)"
READ = f"(app_viewer_all() OR {TABLE}.collectivity_id = app_viewer_id() OR {_THREAD})"
WRITE = f"(app_viewer_all() OR ({TABLE}.collectivity_id = app_viewer_id() AND {_THREAD}))"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY",
                      f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY",
                      f"DROP POLICY IF EXISTS {TABLE}_read ON {TABLE}",
                      f"DROP POLICY IF EXISTS {TABLE}_write ON {TABLE}",
                      f"CREATE POLICY {TABLE}_read ON {TABLE} FOR SELECT USING {READ}",
                      f"CREATE POLICY {TABLE}_write ON {TABLE} USING {WRITE} WITH CHECK {WRITE}"):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (f"DROP POLICY IF EXISTS {TABLE}_write ON {TABLE}",
                      f"DROP POLICY IF EXISTS {TABLE}_read ON {TABLE}",
                      f"ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY",
                      f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY"):
        op.execute(statement)
