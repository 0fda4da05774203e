"""electoral: procurations (L. 71 to L. 78), and the search columns folded again (Œ, Æ, ß… transliterated)

Revision ID: electoral_0005
Revises: electoral_0004
Create Date: 2026-12-07 02:50:00

"""
import sqlalchemy as sa
from alembic import op

from portal.tenancy import rls_policy_sql

revision = "electoral_0005"
down_revision = "electoral_0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "electoral_procuration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mandant_id", sa.Integer(), nullable=False),
        sa.Column("proxy_birth_name", sa.String(length=100), nullable=False),
        sa.Column("proxy_usage_name", sa.String(length=100), nullable=False),
        sa.Column("proxy_first_names", sa.String(length=200), nullable=False),
        sa.Column("proxy_birth_date", sa.Date(), nullable=False),
        sa.Column("proxy_commune", sa.String(length=100), nullable=False),
        sa.Column("proxy_ine", sa.String(length=20), nullable=False),
        sa.Column("proxy_key", sa.String(length=300), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("authority", sa.String(length=20), nullable=False),
        sa.Column("established_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=60), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("cancelled_on", sa.Date(), nullable=True),
        sa.Column("author", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["mandant_id"], ["electoral_voter.id"],
                                name=op.f("fk_electoral_procuration_mandant_id_electoral_voter")),
        sa.ForeignKeyConstraint(["election_id"], ["electoral_election.id"],
                                name=op.f("fk_electoral_procuration_election_id_electoral_election"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_electoral_procuration")),
    )
    with op.batch_alter_table("electoral_procuration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_electoral_procuration_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_electoral_procuration_mandant_id"), ["mandant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_electoral_procuration_proxy_key"), ["proxy_key"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for stmt in rls_policy_sql("electoral_procuration"):
            op.execute(stmt)
    _refold()


def _refold():
    """Names with Œ, Æ, ß, Ø, Ł… were folded without those letters: fold them again (same function as the app)."""
    from portal.models import fold
    from services.electoral.models import identity_key

    bind = op.get_bind()
    voters = sa.table("electoral_voter", sa.column("id"), sa.column("birth_name"), sa.column("usage_name"),
                      sa.column("first_names"), sa.column("birth_date", sa.Date()), sa.column("search_name"),
                      sa.column("identity_key"))
    letters = "ŒœÆæßØøŁłĐđÐðÞþ"
    wanted = sa.or_(*[getattr(voters.c, col).contains(ch) for col in ("birth_name", "usage_name", "first_names")
                      for ch in letters])
    for row in bind.execute(sa.select(voters).where(wanted)).all():
        bind.execute(voters.update().where(voters.c.id == row.id).values(
            search_name=fold(f"{row.birth_name} {row.usage_name} {row.first_names}"),
            identity_key=identity_key(row.birth_name, row.first_names, row.birth_date)))


def downgrade():
    with op.batch_alter_table("electoral_procuration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_electoral_procuration_proxy_key"))
        batch_op.drop_index(batch_op.f("ix_electoral_procuration_mandant_id"))
        batch_op.drop_index(batch_op.f("ix_electoral_procuration_commune_insee"))
    op.drop_table("electoral_procuration")
