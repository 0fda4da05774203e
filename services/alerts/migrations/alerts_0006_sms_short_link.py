"""alerts: short code of each subscriber, for the link to their data in list SMS

Revision ID: alerts_0006
Revises: alerts_0005
Create Date: 2026-12-02 05:00:00
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "alerts_0006"
down_revision = "alerts_0005"
branch_labels = None
depends_on = None

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # services.alerts.models.SHORT_ALPHABET at the time of writing


def upgrade():
    with op.batch_alter_table("alerts_subscriber", schema=None) as batch_op:
        batch_op.add_column(sa.Column("short_code", sa.String(length=16), nullable=True))
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":  # row-level security: the migration acts as the system
        conn.exec_driver_sql("SELECT set_config('app.territory', '*', true)")
    table = sa.table("alerts_subscriber", sa.column("id", sa.Integer), sa.column("short_code", sa.String))
    for (sub_id,) in conn.execute(sa.select(table.c.id)).all():
        code = "".join(secrets.choice(ALPHABET) for _ in range(12))
        conn.execute(table.update().where(table.c.id == sub_id).values(short_code=code))
    with op.batch_alter_table("alerts_subscriber", schema=None) as batch_op:
        batch_op.alter_column("short_code", existing_type=sa.String(length=16), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_alerts_subscriber_short_code"), ["short_code"])


def downgrade():
    with op.batch_alter_table("alerts_subscriber", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_alerts_subscriber_short_code"), type_="unique")
        batch_op.drop_column("short_code")
