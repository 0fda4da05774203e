"""actes: acts, files, statuses, prefecture replies, classifications, TdT accounts

Revision ID: actes_0001
Revises: cadastre_0005
Create Date: 2026-12-07 02:16:28
"""
import sqlalchemy as sa
from alembic import op

from portal.tenancy import rls_policy_sql

SCOPED = ("actes_act", "actes_file", "actes_status_change", "actes_reply")


# revision identifiers, used by Alembic.
revision = 'actes_0001'
down_revision = 'cadastre_0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('actes_classification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefecture', sa.String(length=12), nullable=False),
    sa.Column('version_date', sa.Date(), nullable=False),
    sa.Column('xml', sa.LargeBinary(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_classification')),
    sa.UniqueConstraint('prefecture', 'version_date', name='uq_actes_classification_version')
    )
    with op.batch_alter_table('actes_classification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actes_classification_prefecture'), ['prefecture'], unique=False)

    op.create_table('actes_prefecture',
    sa.Column('prefecture', sa.String(length=12), nullable=False),
    sa.Column('current_version', sa.Date(), nullable=True),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('prefecture', name=op.f('pk_actes_prefecture'))
    )
    op.create_table('actes_act',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collectivity_id', sa.Integer(), nullable=False),
    sa.Column('nature', sa.Integer(), nullable=False),
    sa.Column('matiere', sa.String(length=20), nullable=False),
    sa.Column('number', sa.String(length=15), nullable=False),
    sa.Column('decision_date', sa.Date(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('session_date', sa.Date(), nullable=True),
    sa.Column('paper_annexes', sa.Boolean(), nullable=False),
    sa.Column('publication_kind', sa.String(length=16), nullable=False),
    sa.Column('classification_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=False),
    sa.Column('tdt_transaction_id', sa.String(length=40), nullable=True),
    sa.Column('send_started_at', sa.DateTime(), nullable=True),
    sa.Column('next_poll_at', sa.DateTime(), nullable=True),
    sa.Column('poll_failures', sa.Integer(), nullable=False),
    sa.Column('unique_id', sa.String(length=64), nullable=True),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('ar_xml', sa.LargeBinary(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['collectivity_id'], ['collectivity.id'], name=op.f('fk_actes_act_collectivity_id_collectivity')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_actes_act_created_by_id_user_account'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_act')),
    sa.UniqueConstraint('collectivity_id', 'number', name='uq_actes_act_collectivity_number')
    )
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actes_act_commune_insee'), ['commune_insee'], unique=False)
        batch_op.create_index('ix_actes_act_collectivity_decision', ['collectivity_id', 'decision_date'], unique=False)
        batch_op.create_index('ix_actes_act_collectivity_published', ['collectivity_id', 'published_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_act_next_poll_at'), ['next_poll_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_act_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_act_tdt_transaction_id'), ['tdt_transaction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_act_unique_id'), ['unique_id'], unique=False)

    op.create_table('actes_tdt_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('collectivity_id', sa.Integer(), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('login', sa.String(length=100), nullable=False),
    sa.Column('prefecture', sa.String(length=12), nullable=False),
    sa.Column('arrondissement', sa.Integer(), nullable=False),
    sa.Column('collectivity_nature', sa.String(length=2), nullable=False),
    sa.Column('certificate_holder', sa.String(length=200), nullable=False),
    sa.Column('certificate_expires_on', sa.Date(), nullable=True),
    sa.Column('paid_by_department', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['collectivity_id'], ['collectivity.id'], name=op.f('fk_actes_tdt_account_collectivity_id_collectivity')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_tdt_account')),
    sa.UniqueConstraint('collectivity_id', name=op.f('uq_actes_tdt_account_collectivity_id'))
    )
    op.create_table('actes_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('act_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('piece_type', sa.String(length=5), nullable=False),
    sa.Column('mimetype', sa.String(length=100), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['act_id'], ['actes_act.id'], name=op.f('fk_actes_file_act_id_actes_act'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_file'))
    )
    with op.batch_alter_table('actes_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actes_file_act_id'), ['act_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_file_commune_insee'), ['commune_insee'], unique=False)

    op.create_table('actes_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('act_id', sa.Integer(), nullable=False),
    sa.Column('tdt_document_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('answer_due_on', sa.Date(), nullable=False),
    sa.Column('document_key', sa.String(length=200), nullable=True),
    sa.Column('document_sha256', sa.String(length=64), nullable=True),
    sa.Column('document_size', sa.Integer(), nullable=True),
    sa.Column('answer_kind', sa.String(length=16), nullable=True),
    sa.Column('answer_text', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answer_transaction_id', sa.String(length=40), nullable=True),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['act_id'], ['actes_act.id'], name=op.f('fk_actes_reply_act_id_actes_act'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_reply')),
    sa.UniqueConstraint('act_id', 'tdt_document_id', name='uq_actes_reply_document')
    )
    with op.batch_alter_table('actes_reply', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actes_reply_act_id'), ['act_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_reply_answer_due_on'), ['answer_due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_reply_commune_insee'), ['commune_insee'], unique=False)

    op.create_table('actes_status_change',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('act_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('commune_insee', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['act_id'], ['actes_act.id'], name=op.f('fk_actes_status_change_act_id_actes_act'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actes_status_change'))
    )
    with op.batch_alter_table('actes_status_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actes_status_change_act_id'), ['act_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_actes_status_change_commune_insee'), ['commune_insee'], unique=False)
    if op.get_bind().dialect.name == "postgresql":  # the second lock: row-level security by territory
        for table in SCOPED:
            for stmt in rls_policy_sql(table):
                op.execute(stmt)


def downgrade():
    with op.batch_alter_table('actes_status_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actes_status_change_commune_insee'))
        batch_op.drop_index(batch_op.f('ix_actes_status_change_act_id'))

    op.drop_table('actes_status_change')
    with op.batch_alter_table('actes_reply', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actes_reply_commune_insee'))
        batch_op.drop_index(batch_op.f('ix_actes_reply_answer_due_on'))
        batch_op.drop_index(batch_op.f('ix_actes_reply_act_id'))

    op.drop_table('actes_reply')
    with op.batch_alter_table('actes_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actes_file_commune_insee'))
        batch_op.drop_index(batch_op.f('ix_actes_file_act_id'))

    op.drop_table('actes_file')
    op.drop_table('actes_tdt_account')
    with op.batch_alter_table('actes_act', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actes_act_unique_id'))
        batch_op.drop_index(batch_op.f('ix_actes_act_tdt_transaction_id'))
        batch_op.drop_index(batch_op.f('ix_actes_act_status'))
        batch_op.drop_index(batch_op.f('ix_actes_act_next_poll_at'))
        batch_op.drop_index('ix_actes_act_collectivity_published')
        batch_op.drop_index('ix_actes_act_collectivity_decision')
        batch_op.drop_index(batch_op.f('ix_actes_act_commune_insee'))

    op.drop_table('actes_act')
    op.drop_table('actes_prefecture')
    with op.batch_alter_table('actes_classification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actes_classification_prefecture'))

    op.drop_table('actes_classification')
