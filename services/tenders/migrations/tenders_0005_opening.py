"""tenders: unique deposit numbers, registers, opening, analysis and decision, company alerts and exchanges

Revision ID: tenders_0005_opening
Revises: merge_0003
Create Date: 2026-12-07 05:13:25.216448

"""
from alembic import op
import sqlalchemy as sa



revision = 'tenders_0005_opening'
down_revision = 'merge_0003'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('tender_lot_grid',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.Integer(), nullable=False),
    sa.Column('price_formula', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_lot_grid_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_lot_grid')),
    sa.UniqueConstraint('tender_id', 'lot_number', name='uq_tender_lot_grid')
    )
    with op.batch_alter_table('tender_lot_grid', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_lot_grid_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_opening',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_by_name', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], name=op.f('fk_tender_opening_opened_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_opening_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_opening')),
    sa.UniqueConstraint('tender_id', name=op.f('uq_tender_opening_tender_id'))
    )
    op.create_table('tender_withdrawal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['tender_company.id'], name=op.f('fk_tender_withdrawal_company_id_tender_company'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_withdrawal_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_withdrawal'))
    )
    with op.batch_alter_table('tender_withdrawal', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_withdrawal_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_lot_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.Integer(), nullable=False),
    sa.Column('winner_bid_id', sa.Integer(), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('notified_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_tender_lot_decision_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_lot_decision_tender_id_tender'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['winner_bid_id'], ['tender_bid.id'], name=op.f('fk_tender_lot_decision_winner_bid_id_tender_bid'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_lot_decision')),
    sa.UniqueConstraint('tender_id', 'lot_number', name='uq_tender_lot_decision')
    )
    with op.batch_alter_table('tender_lot_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_lot_decision_tender_id'), ['tender_id'], unique=False)

    op.create_table('tender_mark',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.Integer(), nullable=False),
    sa.Column('price_ht', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('points', sa.JSON(), nullable=False),
    sa.Column('comments', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['bid_id'], ['tender_bid.id'], name=op.f('fk_tender_mark_bid_id_tender_bid'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_mark_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_mark')),
    sa.UniqueConstraint('bid_id', 'lot_number', name='uq_tender_mark_bid_lot')
    )
    with op.batch_alter_table('tender_mark', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_mark_bid_id'), ['bid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_mark_tender_id'), ['tender_id'], unique=False)

    with op.batch_alter_table('tender_bid', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_tender_bid_number', ['tender_id', 'number'])

    with op.batch_alter_table('tender_bid_file', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check', sa.String(length=8), nullable=False, server_default=''))



    op.create_table('tender_company_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('cpv_prefix', sa.String(length=8), nullable=False),
    sa.Column('place_prefix', sa.String(length=5), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['tender_company.id'], name=op.f('fk_tender_company_alert_company_id_tender_company'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_company_alert'))
    )
    with op.batch_alter_table('tender_company_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_company_alert_company_id'), ['company_id'], unique=False)

    op.create_table('tender_exchange',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tender_id', sa.Integer(), nullable=False),
    sa.Column('bid_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('reply_deadline', sa.DateTime(), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('replied_at', sa.DateTime(), nullable=True),
    sa.Column('reply_filename', sa.String(length=200), nullable=False),
    sa.Column('reply_key', sa.String(length=200), nullable=True),
    sa.Column('reply_sha256', sa.String(length=64), nullable=False),
    sa.Column('reply_size', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['bid_id'], ['tender_bid.id'], name=op.f('fk_tender_exchange_bid_id_tender_bid'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['user_account.id'], name=op.f('fk_tender_exchange_sent_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], name=op.f('fk_tender_exchange_tender_id_tender'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tender_exchange'))
    )
    with op.batch_alter_table('tender_exchange', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tender_exchange_bid_id'), ['bid_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tender_exchange_tender_id'), ['tender_id'], unique=False)


def downgrade():
    with op.batch_alter_table('tender_exchange', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_exchange_tender_id'))
        batch_op.drop_index(batch_op.f('ix_tender_exchange_bid_id'))

    op.drop_table('tender_exchange')
    with op.batch_alter_table('tender_company_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_company_alert_company_id'))

    op.drop_table('tender_company_alert')

    with op.batch_alter_table('tender_bid_file', schema=None) as batch_op:
        batch_op.drop_column('check')

    with op.batch_alter_table('tender_bid', schema=None) as batch_op:
        batch_op.drop_constraint('uq_tender_bid_number', type_='unique')

    with op.batch_alter_table('tender_mark', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_mark_tender_id'))
        batch_op.drop_index(batch_op.f('ix_tender_mark_bid_id'))

    op.drop_table('tender_mark')
    with op.batch_alter_table('tender_lot_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_lot_decision_tender_id'))

    op.drop_table('tender_lot_decision')
    with op.batch_alter_table('tender_withdrawal', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_withdrawal_tender_id'))

    op.drop_table('tender_withdrawal')
    op.drop_table('tender_opening')
    with op.batch_alter_table('tender_lot_grid', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tender_lot_grid_tender_id'))

    op.drop_table('tender_lot_grid')

