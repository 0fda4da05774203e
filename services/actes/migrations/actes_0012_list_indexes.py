"""actes: indexes of the commune's list (collectivity, decision date, id) and of the public page (partial:
published, not individual, acknowledged — collectivity, publication date, id)

Revision ID: actes_0012_list_indexes
Revises: actes_0011_tdt_accounts
Create Date: 2026-12-07 05:30:00

Measured with bench/actes.py (services/actes/README.md, "Performance"): on PostgreSQL the list and the public page
read a commune's whole year and sorted it; with these they read the 50 rows they show.
"""
import sqlalchemy as sa
from alembic import op

revision = 'actes_0012_list_indexes'
down_revision = 'actes_0011_tdt_accounts'
branch_labels = None
depends_on = None

PUBLIC_WHERE = "published_at IS NOT NULL AND publication_kind <> 'individual' AND status = 'acknowledged'"


def upgrade():
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.create_index('ix_actes_act_collectivity_decision_id', ['collectivity_id', 'decision_date', 'id'],
                              unique=False)
        batch_op.create_index('ix_actes_act_public', ['collectivity_id', 'published_at', 'id'], unique=False,
                              postgresql_where=sa.text(PUBLIC_WHERE), sqlite_where=sa.text(PUBLIC_WHERE))


def downgrade():
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.drop_index('ix_actes_act_public', postgresql_where=sa.text(PUBLIC_WHERE),
                            sqlite_where=sa.text(PUBLIC_WHERE))
        batch_op.drop_index('ix_actes_act_collectivity_decision_id')
