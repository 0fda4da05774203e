"""cadastre: owners (rights on parcels, personal data), row-level security

Revision ID: cadastre_0002
Revises: cadastre_0001
Create Date: 2026-11-23 12:25:00

"""
from alembic import op
import sqlalchemy as sa

revision = "cadastre_0002"
down_revision = "cadastre_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cadastre_owner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idu", sa.String(length=14), nullable=False),
        sa.Column("account", sa.String(length=12), nullable=False),
        sa.Column("right", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("usage_name", sa.String(length=120), nullable=False),
        sa.Column("birth_name", sa.String(length=120), nullable=False),
        sa.Column("first_names", sa.String(length=120), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("legal_name", sa.String(length=200), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("search_name", sa.String(length=400), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadastre_owner")),
    )
    with op.batch_alter_table("cadastre_owner", schema=None) as batch_op:
        batch_op.create_index("ix_cadastre_owner_commune_account", ["commune_insee", "account"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_owner_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_owner_idu"), ["idu"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_owner_search_name"), ["search_name"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        from portal.tenancy import rls_policy_sql

        for stmt in rls_policy_sql("cadastre_owner"):
            op.execute(stmt)


def downgrade():
    op.drop_table("cadastre_owner")
