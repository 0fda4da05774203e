"""desk: audiences (portal.audiences), partner organisations' news on the information desk, read marks, digest choices

Partners are rows of ``collectivity`` with kind ``partner`` (no schema change). News items have no place: they are
addressed to an audience (``audience`` + ``audience_member`` for hand-picked lists), filtered in the query layer.

Revision ID: desk_0001
Revises: cadastre_0005
Create Date: 2026-12-07 02:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = "desk_0001"
down_revision = "cadastre_0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audience",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("epci_id", sa.Integer(), nullable=True),
        sa.Column("service_slug", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["epci_id"], ["collectivity.id"], name=op.f("fk_audience_epci_id_collectivity"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience")),
    )
    op.create_index(op.f("ix_audience_kind"), "audience", ["kind"])
    op.create_index(op.f("ix_audience_epci_id"), "audience", ["epci_id"])
    op.create_table(
        "audience_member",
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("collectivity_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["audience_id"], ["audience.id"], name=op.f("fk_audience_member_audience_id_audience"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["collectivity_id"], ["collectivity.id"],
                                name=op.f("fk_audience_member_collectivity_id_collectivity"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("audience_id", "collectivity_id", name=op.f("pk_audience_member")),
    )
    op.create_index(op.f("ix_audience_member_collectivity_id"), "audience_member", ["collectivity_id"])
    op.create_table(
        "desk_news",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("document_url", sa.String(length=500), nullable=False),
        sa.Column("document_title", sa.String(length=200), nullable=False),
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["audience_id"], ["audience.id"], name=op.f("fk_desk_news_audience_id_audience")),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"], name=op.f("fk_desk_news_author_id_user_account"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["publisher_id"], ["collectivity.id"],
                                name=op.f("fk_desk_news_publisher_id_collectivity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_news")),
    )
    op.create_index(op.f("ix_desk_news_audience_id"), "desk_news", ["audience_id"])
    op.create_index(op.f("ix_desk_news_publisher_id"), "desk_news", ["publisher_id"])
    op.create_index(op.f("ix_desk_news_published_at"), "desk_news", ["published_at"])
    op.create_index("ix_desk_news_pinned_published", "desk_news", ["pinned", "published_at"])
    op.create_table(
        "desk_news_read",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("news_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["news_id"], ["desk_news.id"], name=op.f("fk_desk_news_read_news_id_desk_news"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_desk_news_read_user_id_user_account"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_news_read")),
        sa.UniqueConstraint("user_id", "news_id", name=op.f("uq_desk_news_read_user_id")),
    )
    op.create_index(op.f("ix_desk_news_read_user_id"), "desk_news_read", ["user_id"])
    op.create_index(op.f("ix_desk_news_read_news_id"), "desk_news_read", ["news_id"])
    op.create_table(
        "desk_digest_choice",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=8), nullable=False),
        sa.Column("last_sent_at", sa.DateTime(), nullable=True),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"],
                                name=op.f("fk_desk_digest_choice_user_id_user_account"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_desk_digest_choice")),
    )


def downgrade():
    op.drop_table("desk_digest_choice")
    op.drop_index(op.f("ix_desk_news_read_news_id"), table_name="desk_news_read")
    op.drop_index(op.f("ix_desk_news_read_user_id"), table_name="desk_news_read")
    op.drop_table("desk_news_read")
    op.drop_index("ix_desk_news_pinned_published", table_name="desk_news")
    op.drop_index(op.f("ix_desk_news_published_at"), table_name="desk_news")
    op.drop_index(op.f("ix_desk_news_publisher_id"), table_name="desk_news")
    op.drop_index(op.f("ix_desk_news_audience_id"), table_name="desk_news")
    op.drop_table("desk_news")
    op.drop_index(op.f("ix_audience_member_collectivity_id"), table_name="audience_member")
    op.drop_table("audience_member")
    op.drop_index(op.f("ix_audience_epci_id"), table_name="audience")
    op.drop_index(op.f("ix_audience_kind"), table_name="audience")
    op.drop_table("audience")
