"""cadastre: BAN address points, row-level security

Revision ID: cadastre_0003
Revises: cadastre_0002
Create Date: 2026-11-23 12:35:00

"""
from alembic import op
import sqlalchemy as sa

revision = "cadastre_0003"
down_revision = "cadastre_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cadastre_address",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ban_id", sa.String(length=60), nullable=False),
        sa.Column("number", sa.String(length=12), nullable=False),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("postcode", sa.String(length=5), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("search_label", sa.String(length=300), nullable=False),
        sa.Column("parcels", sa.String(length=300), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadastre_address")),
    )
    with op.batch_alter_table("cadastre_address", schema=None) as batch_op:
        batch_op.create_index("ix_cadastre_address_commune_x_y", ["commune_insee", "x", "y"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_address_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_address_search_label"), ["search_label"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        from portal.tenancy import rls_policy_sql

        for stmt in rls_policy_sql("cadastre_address"):
            op.execute(stmt)


def downgrade():
    op.drop_table("cadastre_address")
