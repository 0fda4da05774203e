"""desk: one search index for news and forum threads — PostgreSQL: French tsvector with unaccent under a GIN index;
SQLite: FTS5 table (unicode61, remove_diacritics 2) holding the folded, de-pluralised words

Revision ID: desk_0003
Revises: desk_0002
Create Date: 2026-12-07 03:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "desk_0003"
down_revision = "desk_0002"
branch_labels = None
depends_on = None

PG_CONFIG = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS desk_french",
    "CREATE TEXT SEARCH CONFIGURATION desk_french (COPY = french)",
    "ALTER TEXT SEARCH CONFIGURATION desk_french ALTER MAPPING FOR hword, hword_part, word "
    "WITH unaccent, french_stem",
]


def upgrade():
    op.create_table(
        "desk_search",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("audience_id", sa.Integer(), nullable=False),
        sa.Column("publisher_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["audience_id"], ["audience.id"], name=op.f("fk_desk_search_audience_id_audience")),
        sa.ForeignKeyConstraint(["publisher_id"], ["collectivity.id"],
                                name=op.f("fk_desk_search_publisher_id_collectivity")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_search")),
        sa.UniqueConstraint("kind", "ref_id", name=op.f("uq_desk_search_kind")),
    )
    op.create_index(op.f("ix_desk_search_audience_id"), "desk_search", ["audience_id"])
    op.create_index(op.f("ix_desk_search_publisher_id"), "desk_search", ["publisher_id"])
    if op.get_bind().dialect.name == "postgresql":
        for stmt in PG_CONFIG:
            op.execute(stmt)
        op.execute("CREATE INDEX ix_desk_search_fulltext ON desk_search USING gin "
                   "(to_tsvector('desk_french'::regconfig, title || ' ' || body))")
    else:
        op.execute("CREATE VIRTUAL TABLE desk_search_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 2')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_desk_search_fulltext")
        op.execute("DROP TEXT SEARCH CONFIGURATION IF EXISTS desk_french")
    else:
        op.execute("DROP TABLE IF EXISTS desk_search_fts")
    op.drop_index(op.f("ix_desk_search_publisher_id"), table_name="desk_search")
    op.drop_index(op.f("ix_desk_search_audience_id"), table_name="desk_search")
    op.drop_table("desk_search")
