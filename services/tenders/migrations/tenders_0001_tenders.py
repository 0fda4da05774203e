"""tenders: consultations (collectivity-owned), lots, attachments, public questions, awards per lot

Tenders belong to the buying collectivity (commune or EPCI) through ``collectivity_id``, not to a commune's
territory, so they have no ``commune_insee`` and no row-level security policy: ownership is checked by
services/tenders/access.py (portal.tenancy.owned_or_404).

Revision ID: tenders_0001
Revises: b09fe6757c3f
Create Date: 2026-11-23 12:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'tenders_0001'
down_revision = 'b09fe6757c3f'
branch_labels = ('tenders',)
depends_on = None


def upgrade():
    op.create_table('tender',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collectivity_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('nature', sa.String(length=16), nullable=False),
    sa.Column('cpv_code', sa.String(length=10), nullable=False),
    sa.Column('place', sa.String(length=300), nullable=False),
    sa.Column('place_insee', sa.String(length=5), nullable=True),
    sa.Column('duration_months', sa.Integer(), nullable=True),
    sa.Column('renewals', sa.Integer(), nullable=False),
    sa.Column('renewal_months', sa.Integer(), nullable=False),
    sa.Column('single_lot_reason', sa.Text(), nullable=False),
    sa.Column('amount_ht', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('launch_date', sa.Date(), nullable=True),
    sa.Column('procedure', sa.String(length=16), nullable=False),
    sa.Column('publicity', sa.String(length=16), nullable=False),
    sa.Column('media', sa.JSON(), nullable=False),
    sa.Column('questions_deadline', sa.DateTime(), nullable=True),
    sa.Column('reception_deadline', sa.DateTime(), nullable=True),
    sa.Column('opening_date', sa.Date(), nullable=True),
    sa.Column('notification_date', sa.Date(), nullable=True),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('buyer_siret', sa.String(length=14), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('dce_zip', sa.LargeBinary(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['collectivity_id'], ['collectivity.id'], name=op.f('fk_tender_collectivity_id_collectivity')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_tender_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender')),
    sa.UniqueConstraint('collectivity_id', 'reference', name='uq_tender_collectivity_reference')
    )
    with op.batch_alter_table('tender', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_collectivity_id'), ['collectivity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_place_insee'), ['place_insee'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_reception_deadline'), ['reception_deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_status'), ['status'], unique=False)

    op.create_table('tender_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('mimetype', sa.String(length=100), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_attachment_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_attachment'))
    )
    with op.batch_alter_table('tender_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_attachment_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.Integer(), nullable=False),
    sa.Column('holder_name', sa.String(length=300), nullable=False),
    sa.Column('holder_siret', sa.String(length=14), nullable=False),
    sa.Column('amount_ht', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('notified_on', sa.Date(), nullable=False),
    sa.Column('offers_received', sa.Integer(), nullable=False),
    sa.Column('price_form', sa.String(length=16), nullable=False),
    sa.Column('data_published_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_award_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_award')),
    sa.UniqueConstraint('tender_id', 'lot_number', name='uq_tender_award_lot')
    )
    with op.batch_alter_table('tender_award', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_award_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_lot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('amount_ht', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_lot_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_lot')),
    sa.UniqueConstraint('tender_id', 'number', name='uq_tender_lot_number')
    )
    with op.batch_alter_table('tender_lot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_lot_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_question',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('public_question', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('asked_at', sa.DateTime(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_tender_question_answered_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_question_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_question'))
    )
    with op.batch_alter_table('tender_question', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_question_tender_id'), ['tender_id'], unique=False)


def downgrade():
    op.drop_table('tender_question')
    op.drop_table('tender_lot')
    op.drop_table('tender_award')
    op.drop_table('tender_attachment')
    op.drop_table('tender')
