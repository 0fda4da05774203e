"""actes: covering indexes of the commune's list and its search (territory, collectivity, decision date, id; on
PostgreSQL including number, objet, matière and status) and of the public page (including number, objet, decision
date)

Revision ID: actes_0014_list_index
Revises: actes_0013_convocation
Create Date: 2026-12-07 09:40:00

Measured with EXPLAIN ANALYZE as the application role on the bench's 32 000 acts (services/actes/README.md,
"Performance"): row-level security's filter (``current_setting`` and ``string_to_array`` for each row) was evaluated
on every act of the collectivity (2 200) before a top-50 sort, because the planner under-estimates what the policy
keeps and prefers a bitmap scan. The list now asks for its 50 ids first: with this index the policy and the search
are evaluated on index entries, in the page's order, and the walk stops at the 50th match.
"""
import sqlalchemy as sa
from alembic import op

PUBLIC_WHERE = "published_at IS NOT NULL AND publication_kind <> 'individual' AND status = 'acknowledged'"

revision = 'actes_0014_list_index'
down_revision = 'actes_0013_convocation'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.create_index('ix_actes_act_list', ['commune_insee', 'collectivity_id', 'decision_date', 'id'],
                              unique=False, postgresql_include=['number', 'subject', 'matiere', 'status'])
        batch_op.drop_index('ix_actes_act_public')
        batch_op.create_index('ix_actes_act_public', ['commune_insee', 'collectivity_id', 'published_at', 'id'],
                              unique=False, postgresql_where=sa.text(PUBLIC_WHERE), sqlite_where=sa.text(PUBLIC_WHERE),
                              postgresql_include=['number', 'subject', 'decision_date'])


def downgrade():
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.drop_index('ix_actes_act_public')
        batch_op.create_index('ix_actes_act_public', ['commune_insee', 'collectivity_id', 'published_at', 'id'],
                              unique=False, postgresql_where=sa.text(PUBLIC_WHERE), sqlite_where=sa.text(PUBLIC_WHERE))
        batch_op.drop_index('ix_actes_act_list')
