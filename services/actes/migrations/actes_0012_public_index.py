"""actes: partial index of the public page (published, not individual, acknowledged: commune, collectivity,
publication date, id) and, on PostgreSQL, the statistics telling the planner that a collectivity's acts lie in one
commune

Revision ID: actes_0012_public_index
Revises: actes_0011_tdt_accounts
Create Date: 2026-12-07 05:30:00

Measured with bench/actes.py and EXPLAIN ANALYZE as the application role (services/actes/README.md, "Performance"):
every query of a commune's page carries ``commune_insee = …`` (the portal's territory) and ``collectivity_id = …``;
the planner took them as independent and estimated a hundredth of the rows, so it read the commune's whole year and
sorted it. With the dependency known and the index led by both, the public page's first page reads 50 index
entries and its count is an index-only scan.
"""
import sqlalchemy as sa
from alembic import op

revision = 'actes_0012_public_index'
down_revision = 'actes_0011_tdt_accounts'
branch_labels = None
depends_on = None

PUBLIC_WHERE = "published_at IS NOT NULL AND publication_kind <> 'individual' AND status = 'acknowledged'"


def upgrade():
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.create_index('ix_actes_act_public', ['commune_insee', 'collectivity_id', 'published_at', 'id'],
                              unique=False, postgresql_where=sa.text(PUBLIC_WHERE), sqlite_where=sa.text(PUBLIC_WHERE))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE STATISTICS IF NOT EXISTS actes_act_collectivity_commune (dependencies) "
                   "ON collectivity_id, commune_insee FROM actes_act")
        op.execute("ANALYZE actes_act")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS actes_act_collectivity_commune")
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.drop_index('ix_actes_act_public', postgresql_where=sa.text(PUBLIC_WHERE),
                            sqlite_where=sa.text(PUBLIC_WHERE))
