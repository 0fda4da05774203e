"""alerts: SMS segments billed per delivery (every sending counted), what the monthly allowance is charged with

Revision ID: alerts_0007
Revises: alerts_0006
Create Date: 2026-12-02 05:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = "alerts_0007"
down_revision = "alerts_0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alerts_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("billed_segments", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("alerts_delivery", schema=None) as batch_op:
        batch_op.alter_column("billed_segments", server_default=None)
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":  # row-level security: the migration acts as the system
        conn.exec_driver_sql("SELECT set_config('app.territory', '*', true)")
    # What was counted until now: the segments of SMS the provider took.
    conn.exec_driver_sql("UPDATE alerts_delivery SET billed_segments = segments "
                         "WHERE channel = 'sms' AND status IN ('sent', 'delivered')")


def downgrade():
    with op.batch_alter_table("alerts_delivery", schema=None) as batch_op:
        batch_op.drop_column("billed_segments")
