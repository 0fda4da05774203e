"""alerts: shared send rate of each provider (database backend of the rate limiter, when there is no Redis)

Revision ID: alerts_0004
Revises: merge_0001
Create Date: 2026-12-02 04:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "alerts_0004"
down_revision = "merge_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "alerts_rate_limit",
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_alerts_rate_limit")),
    )


def downgrade():
    op.drop_table("alerts_rate_limit")
