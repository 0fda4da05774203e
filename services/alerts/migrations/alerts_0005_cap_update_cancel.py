"""alerts: CAP message type of an alert (alert, update, cancel) and the earlier alert it refers to

Revision ID: alerts_0005
Revises: alerts_0004
Create Date: 2026-12-02 04:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = "alerts_0005"
down_revision = "alerts_0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("alerts_alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("msg_type", sa.String(length=8), nullable=False, server_default="alert"))
        batch_op.add_column(sa.Column("references_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_alerts_alert_references_id"), ["references_id"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_alerts_alert_references_id_alerts_alert"), "alerts_alert",
                                    ["references_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("alerts_alert", schema=None) as batch_op:
        batch_op.alter_column("msg_type", server_default=None)


def downgrade():
    with op.batch_alter_table("alerts_alert", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_alerts_alert_references_id_alerts_alert"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_alerts_alert_references_id"))
        batch_op.drop_column("references_id")
        batch_op.drop_column("msg_type")
