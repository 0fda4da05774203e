"""alerts: geocoded subscriber addresses and alert zones

Revision ID: alerts_0003
Revises: alerts_0002
Create Date: 2026-11-23 13:10:00
"""
import sqlalchemy as sa
from alembic import op

from portal.tenancy import rls_policy_sql

revision = "alerts_0003"
down_revision = "alerts_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alerts_subscriber_location",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("street", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("geocoded_at", sa.DateTime(), nullable=True),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["subscriber_id"], ["alerts_subscriber.id"],
                                name=op.f("fk_alerts_subscriber_location_subscriber_id_alerts_subscriber"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts_subscriber_location")),
        sa.UniqueConstraint("subscriber_id", name=op.f("uq_alerts_subscriber_location_subscriber_id")),
    )
    with op.batch_alter_table("alerts_subscriber_location", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_subscriber_location_commune_insee"), ["commune_insee"],
                              unique=False)
    with op.batch_alter_table("alerts_alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("zone", sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for stmt in rls_policy_sql("alerts_subscriber_location"):
            op.execute(stmt)


def downgrade():
    with op.batch_alter_table("alerts_alert", schema=None) as batch_op:
        batch_op.drop_column("zone")
    op.drop_table("alerts_subscriber_location")
