"""alerts: lists, subscribers, consent records, alerts, deliveries (outbox); row-level security on PostgreSQL

Revision ID: alerts_0001
Revises: b09fe6757c3f
Create Date: 2026-11-23 12:45:00
"""
import sqlalchemy as sa
from alembic import op

from portal.tenancy import rls_policy_sql

revision = "alerts_0001"
down_revision = "b09fe6757c3f"
branch_labels = ("alerts",)
depends_on = None

TABLES = ("alerts_list", "alerts_subscriber", "alerts_subscription", "alerts_alert", "alerts_delivery")


def upgrade():
    op.create_table(
        "alerts_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts_list")),
        sa.UniqueConstraint("commune_insee", "name", name=op.f("uq_alerts_list_commune_insee")),
    )
    with op.batch_alter_table("alerts_list", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_list_commune_insee"), ["commune_insee"], unique=False)

    op.create_table(
        "alerts_subscriber",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("email_confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("phone_confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("sms_code_hash", sa.String(length=128), nullable=False),
        sa.Column("sms_code_expires_at", sa.DateTime(), nullable=True),
        sa.Column("sms_code_attempts", sa.Integer(), nullable=False),
        sa.Column("email_invalid", sa.String(length=200), nullable=False),
        sa.Column("phone_invalid", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts_subscriber")),
        sa.UniqueConstraint("token", name=op.f("uq_alerts_subscriber_token")),
    )
    with op.batch_alter_table("alerts_subscriber", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_subscriber_commune_insee"), ["commune_insee"], unique=False)

    op.create_table(
        "alerts_alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("list_ids", sa.JSON(), nullable=False),
        sa.Column("legal_basis", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=200), nullable=False),
        sa.Column("sms_segments", sa.Integer(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"],
                                name=op.f("fk_alerts_alert_author_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts_alert")),
        sa.UniqueConstraint("identifier", name=op.f("uq_alerts_alert_identifier")),
    )
    with op.batch_alter_table("alerts_alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_alert_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_alert_status"), ["status"], unique=False)

    op.create_table(
        "alerts_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("consent_channel", sa.String(length=16), nullable=False),
        sa.Column("consented_at", sa.DateTime(), nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(), nullable=True),
        sa.Column("unsubscribe_channel", sa.String(length=16), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["list_id"], ["alerts_list.id"],
                                name=op.f("fk_alerts_subscription_list_id_alerts_list"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["alerts_subscriber.id"],
                                name=op.f("fk_alerts_subscription_subscriber_id_alerts_subscriber"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts_subscription")),
        sa.UniqueConstraint("subscriber_id", "list_id", name=op.f("uq_alerts_subscription_subscriber_id")),
    )
    with op.batch_alter_table("alerts_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_subscription_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_subscription_list_id"), ["list_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_subscription_subscriber_id"), ["subscriber_id"], unique=False)

    op.create_table(
        "alerts_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("failure_reason", sa.String(length=40), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_message_id", sa.String(length=100), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts_alert.id"],
                                name=op.f("fk_alerts_delivery_alert_id_alerts_alert"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["subscriber_id"], ["alerts_subscriber.id"],
                                name=op.f("fk_alerts_delivery_subscriber_id_alerts_subscriber"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts_delivery")),
        sa.UniqueConstraint("alert_id", "channel", "address", name=op.f("uq_alerts_delivery_alert_id")),
        sa.UniqueConstraint("key", name=op.f("uq_alerts_delivery_key")),
    )
    with op.batch_alter_table("alerts_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_delivery_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_delivery_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_delivery_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_delivery_provider_message_id"), ["provider_message_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_delivery_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_alerts_delivery_subscriber_id"), ["subscriber_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for stmt in rls_policy_sql(table):
                op.execute(stmt)


def downgrade():
    for table in reversed(TABLES):
        op.drop_table(table)
