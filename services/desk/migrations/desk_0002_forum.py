"""desk: the forum — categories, threads (addressed to an audience like news), posts, follows, reports

Revision ID: desk_0002
Revises: desk_0001
Create Date: 2026-12-07 02:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = "desk_0002"
down_revision = "desk_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "desk_forum_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_forum_category")),
        sa.UniqueConstraint("name", name=op.f("uq_desk_forum_category_name")),
    )
    op.create_table(
        "desk_forum_thread",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_post_at", sa.DateTime(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("solution_post_id", sa.Integer(), nullable=True),
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["audience_id"], ["audience.id"], name=op.f("fk_desk_forum_thread_audience_id_audience")),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"],
                                name=op.f("fk_desk_forum_thread_author_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["category_id"], ["desk_forum_category.id"],
                                name=op.f("fk_desk_forum_thread_category_id_desk_forum_category")),
        sa.ForeignKeyConstraint(["publisher_id"], ["collectivity.id"],
                                name=op.f("fk_desk_forum_thread_publisher_id_collectivity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_forum_thread")),
    )
    for column in ("category_id", "last_post_at", "audience_id", "publisher_id"):
        op.create_index(op.f(f"ix_desk_forum_thread_{column}"), "desk_forum_thread", [column])
    op.create_table(
        "desk_forum_post",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"],
                                name=op.f("fk_desk_forum_post_author_id_user_account"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["collectivity_id"], ["collectivity.id"],
                                name=op.f("fk_desk_forum_post_collectivity_id_collectivity")),
        sa.ForeignKeyConstraint(["thread_id"], ["desk_forum_thread.id"],
                                name=op.f("fk_desk_forum_post_thread_id_desk_forum_thread"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_forum_post")),
    )
    op.create_index(op.f("ix_desk_forum_post_thread_id"), "desk_forum_post", ["thread_id"])
    op.create_table(
        "desk_forum_follow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["desk_forum_thread.id"],
                                name=op.f("fk_desk_forum_follow_thread_id_desk_forum_thread"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_desk_forum_follow_user_id_user_account"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_forum_follow")),
        sa.UniqueConstraint("user_id", "thread_id", name=op.f("uq_desk_forum_follow_user_id")),
    )
    op.create_index(op.f("ix_desk_forum_follow_user_id"), "desk_forum_follow", ["user_id"])
    op.create_index(op.f("ix_desk_forum_follow_thread_id"), "desk_forum_follow", ["thread_id"])
    op.create_table(
        "desk_forum_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["desk_forum_post.id"],
                                name=op.f("fk_desk_forum_report_post_id_desk_forum_post"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_desk_forum_report_user_id_user_account"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_forum_report")),
    )
    op.create_index(op.f("ix_desk_forum_report_post_id"), "desk_forum_report", ["post_id"])


def downgrade():
    op.drop_index(op.f("ix_desk_forum_report_post_id"), table_name="desk_forum_report")
    op.drop_table("desk_forum_report")
    op.drop_index(op.f("ix_desk_forum_follow_thread_id"), table_name="desk_forum_follow")
    op.drop_index(op.f("ix_desk_forum_follow_user_id"), table_name="desk_forum_follow")
    op.drop_table("desk_forum_follow")
    op.drop_index(op.f("ix_desk_forum_post_thread_id"), table_name="desk_forum_post")
    op.drop_table("desk_forum_post")
    for column in ("publisher_id", "audience_id", "last_post_at", "category_id"):
        op.drop_index(op.f(f"ix_desk_forum_thread_{column}"), table_name="desk_forum_thread")
    op.drop_table("desk_forum_thread")
    op.drop_table("desk_forum_category")
