"""desk: personal secret addresses of the agenda feed (a calendar application subscribes without a session)

Revision ID: desk_0013_calendar_token
Revises: desk_0012_audience_rls
Create Date: 2026-12-07 08:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "desk_0013_calendar_token"
down_revision = "desk_0012_audience_rls"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "desk_calendar_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["collectivity_id"], ["collectivity.id"], ondelete="CASCADE",
                                name=op.f("fk_desk_calendar_token_collectivity_id_collectivity")),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="CASCADE",
                                name=op.f("fk_desk_calendar_token_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_calendar_token")),
        sa.UniqueConstraint("token", name=op.f("uq_desk_calendar_token_token")),
        sa.UniqueConstraint("user_id", "collectivity_id", name=op.f("uq_desk_calendar_token_user_id")),
    )
    op.create_index(op.f("ix_desk_calendar_token_user_id"), "desk_calendar_token", ["user_id"])


def downgrade():
    op.drop_index(op.f("ix_desk_calendar_token_user_id"), table_name="desk_calendar_token")
    op.drop_table("desk_calendar_token")
