"""tenders: company accounts, the consultation's key pair and the register of sealed deposits

Revision ID: tenders_0004
Revises: cadastre_0005
Create Date: 2026-12-07 02:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'tenders_0004'
down_revision = 'cadastre_0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'tender_company',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('siret', sa.String(length=14), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('email'),
    )
    op.create_index(op.f('ix_tender_company_siret'), 'tender_company', ['siret'], unique=False)
    op.create_table(
        'tender_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tender_id', sa.Integer(), nullable=False),
        sa.Column('public_pem', sa.LargeBinary(), nullable=False),
        sa.Column('private_sealed', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('tender_id'),
    )
    op.create_table(
        'tender_bid',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tender_id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.Column('superseded_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['tender_company.id']),
        sa.ForeignKeyConstraint(['tender_id'], ['tender.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_tender_bid_company_id'), 'tender_bid', ['company_id'], unique=False)
    op.create_index(op.f('ix_tender_bid_tender_id'), 'tender_bid', ['tender_id'], unique=False)
    op.create_table(
        'tender_bid_file',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('bid_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('storage_key', sa.String(length=200), nullable=False),
        sa.Column('sealed_sha256', sa.String(length=64), nullable=False),
        sa.Column('sealed_size', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['bid_id'], ['tender_bid.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_tender_bid_file_bid_id'), 'tender_bid_file', ['bid_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_tender_bid_file_bid_id'), table_name='tender_bid_file')
    op.drop_table('tender_bid_file')
    op.drop_index(op.f('ix_tender_bid_tender_id'), table_name='tender_bid')
    op.drop_index(op.f('ix_tender_bid_company_id'), table_name='tender_bid')
    op.drop_table('tender_bid')
    op.drop_table('tender_key')
    op.drop_index(op.f('ix_tender_company_siret'), table_name='tender_company')
    op.drop_table('tender_company')
