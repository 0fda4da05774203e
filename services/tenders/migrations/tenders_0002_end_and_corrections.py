"""tenders: end of a procedure (infructueuse / sans suite) and correction notices (avis rectificatifs)

Revision ID: tenders_0002
Revises: merge_0001
Create Date: 2026-12-02 04:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'tenders_0002'
down_revision = 'merge_0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tender') as batch:
        batch.add_column(sa.Column('ended_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('end_reason', sa.String(length=32), nullable=False, server_default=''))
        batch.add_column(sa.Column('end_details', sa.Text(), nullable=False, server_default=''))
    op.create_table('tender_correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tender_id', 'number', name='uq_tender_correction_number')
    )
    with op.batch_alter_table('tender_correction') as batch:
        batch.create_index(batch.f('ix_tender_correction_tender_id'), ['tender_id'], unique=False)


def downgrade():
    with op.batch_alter_table('tender_correction') as batch:
        batch.drop_index(batch.f('ix_tender_correction_tender_id'))
    op.drop_table('tender_correction')
    with op.batch_alter_table('tender') as batch:
        batch.drop_column('end_details')
        batch.drop_column('end_reason')
        batch.drop_column('ended_on')
