"""tenders: row-level security on the consultations (tender) — the second lock of DESIGN.md §2 beside
``services.tenders.access`` (``owned_or_404`` for the buyer's pages, ``status != 'draft'`` for the public ones)

Revision ID: tenders_0008_tender_rls
Revises: merge_0007
Create Date: 2026-12-07 19:55:00

Two policies, read with the viewer settings of ``portal.audiences`` (the model is ``ViewerGuarded``: the session
writes them before any statement about tenders):

- ``tender_public`` (SELECT): a consultation that left the draft stage (published, closed, awarded, ended) is read by
  anyone — residents and companies with no collectivity (``app.viewer`` empty), the public pages, the Atom feed, the
  DECP/OCDS exports, a connection that set nothing;
- ``tender_buyer`` (every command): the buying collectivity (``app.viewer`` = its id; an EPCI's consultations are not
  its communes', nor a commune's its EPCI's); a department team (``app.viewer`` = ``*``) for the collectivities of its
  départements (``app.viewer_departments``); everything in the system context only (``*`` with no département: CLI,
  the Celery task and the closing at the deadline, ``services.tenders.operations.close_expired``).

So a draft is read, and any consultation written, by its buyer, its département's team and the system context only.
The bids (tender_bid, tender_bid_file) have no policy of their own: their sealing and ``services.tenders.deposits``
keep them to the buyer and the depositing company.
"""
from alembic import op


revision = "tenders_0008_tender_rls"
down_revision = "merge_0007"
branch_labels = None
depends_on = "desk_0012_audience_rls"  # app_viewer_id(), app_viewer_all()

TABLE = "tender"
_DEPARTMENTS = "nullif(current_setting('app.viewer_departments', true), '')"
PUBLIC = f"({TABLE}.status <> 'draft')"
BUYER = (f"({TABLE}.collectivity_id = app_viewer_id() "
         f"OR (app_viewer_all() AND ({_DEPARTMENTS} IS NULL OR EXISTS (SELECT 1 FROM collectivity c "
         f"WHERE c.id = {TABLE}.collectivity_id "
         f"AND c.department_code = ANY (string_to_array({_DEPARTMENTS}, ','))))))")


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY",
                      f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY",
                      f"DROP POLICY IF EXISTS {TABLE}_public ON {TABLE}",
                      f"DROP POLICY IF EXISTS {TABLE}_buyer ON {TABLE}",
                      f"CREATE POLICY {TABLE}_public ON {TABLE} FOR SELECT USING {PUBLIC}",
                      f"CREATE POLICY {TABLE}_buyer ON {TABLE} USING {BUYER} WITH CHECK {BUYER}"):
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in (f"DROP POLICY IF EXISTS {TABLE}_buyer ON {TABLE}",
                      f"DROP POLICY IF EXISTS {TABLE}_public ON {TABLE}",
                      f"ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY",
                      f"ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY"):
        op.execute(statement)
