"""alerts: monthly SMS quota per commune, set by the department

Revision ID: alerts_0002
Revises: alerts_0001
Create Date: 2026-11-23 13:00:00
"""
import sqlalchemy as sa
from alembic import op

from portal.tenancy import rls_policy_sql

revision = "alerts_0002"
down_revision = "alerts_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alerts_sms_quota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monthly_segments", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts_sms_quota")),
        sa.UniqueConstraint("commune_insee", name=op.f("uq_alerts_sms_quota_commune_insee")),
    )
    with op.batch_alter_table("alerts_sms_quota", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_sms_quota_commune_insee"), ["commune_insee"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for stmt in rls_policy_sql("alerts_sms_quota"):
            op.execute(stmt)


def downgrade():
    op.drop_table("alerts_sms_quota")
