"""desk: documents library (folders addressed to an audience, documents sharing their folder's audience, versions on
disk with their preview) and fiches juridiques (themes, legal references, versions, model documents); PostgreSQL: the
search vector stored (generated column) under the GIN index

Revision ID: desk_0010_library
Revises: merge_0003
Create Date: 2026-12-07 05:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = "desk_0010_library"
down_revision = "merge_0003"
branch_labels = None
depends_on = None


def _scoped():
    """The columns and constraints of portal.audiences.AudienceScoped."""
    return [sa.Column("audience_id", sa.Integer(), nullable=False),
            sa.Column("publisher_id", sa.Integer(), nullable=False)]


def _scoped_keys(table):
    return [sa.ForeignKeyConstraint(["audience_id"], ["audience.id"], name=op.f(f"fk_{table}_audience_id_audience")),
            sa.ForeignKeyConstraint(["publisher_id"], ["collectivity.id"],
                                    name=op.f(f"fk_{table}_publisher_id_collectivity"))]


def _scoped_indexes(table):
    op.create_index(op.f(f"ix_{table}_audience_id"), table, ["audience_id"])
    op.create_index(op.f(f"ix_{table}_publisher_id"), table, ["publisher_id"])


TSV = ("ALTER TABLE desk_search ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
       "(to_tsvector('desk_french'::regconfig, title || ' ' || body)) STORED")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # The search ranks by ts_rank: reading a stored vector instead of computing every match's vector again
        # (seconds for a common word over 60 000 entries).
        op.execute("DROP INDEX IF EXISTS ix_desk_search_fulltext")
        op.execute(TSV)
        op.execute("CREATE INDEX ix_desk_search_tsv_fulltext ON desk_search USING gin (tsv)")
    op.create_table(
        "desk_library_folder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        *_scoped(), *_scoped_keys("desk_library_folder"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_library_folder")),
        sa.UniqueConstraint("publisher_id", "name", name=op.f("uq_desk_library_folder_publisher_id")),
    )
    _scoped_indexes("desk_library_folder")
    op.create_table(
        "desk_library_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folder_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=False),
        sa.Column("category", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        *_scoped(), *_scoped_keys("desk_library_document"),
        sa.ForeignKeyConstraint(["folder_id"], ["desk_library_folder.id"], ondelete="CASCADE",
                                name=op.f("fk_desk_library_document_folder_id_desk_library_folder")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_library_document")),
    )
    _scoped_indexes("desk_library_document")
    op.create_index("ix_desk_library_document_folder_updated", "desk_library_document", ["folder_id", "updated_at"])
    op.create_index(op.f("ix_desk_library_document_updated_at"), "desk_library_document", ["updated_at"])
    op.create_table(
        "desk_library_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("mimetype", sa.String(length=120), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("preview_key", sa.String(length=200), nullable=True),
        sa.Column("preview_sha256", sa.String(length=64), nullable=True),
        sa.Column("preview_size", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["desk_library_document.id"], ondelete="CASCADE",
                                name=op.f("fk_desk_library_version_document_id_desk_library_document")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["user_account.id"], ondelete="SET NULL",
                                name=op.f("fk_desk_library_version_uploaded_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_library_version")),
        sa.UniqueConstraint("document_id", "number", name=op.f("uq_desk_library_version_document_id")),
    )
    op.create_index(op.f("ix_desk_library_version_document_id"), "desk_library_version", ["document_id"])
    op.create_table(
        "desk_sheet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("legal_refs", sa.Text(), nullable=False),
        sa.Column("updated_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        *_scoped(), *_scoped_keys("desk_sheet"),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"], ondelete="SET NULL",
                                name=op.f("fk_desk_sheet_author_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_sheet")),
    )
    _scoped_indexes("desk_sheet")
    op.create_index(op.f("ix_desk_sheet_theme"), "desk_sheet", ["theme"])
    op.create_table(
        "desk_sheet_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("legal_refs", sa.Text(), nullable=False),
        sa.Column("change_note", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["sheet_id"], ["desk_sheet.id"], ondelete="CASCADE",
                                name=op.f("fk_desk_sheet_version_sheet_id_desk_sheet")),
        sa.ForeignKeyConstraint(["author_id"], ["user_account.id"], ondelete="SET NULL",
                                name=op.f("fk_desk_sheet_version_author_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_sheet_version")),
        sa.UniqueConstraint("sheet_id", "number", name=op.f("uq_desk_sheet_version_sheet_id")),
    )
    op.create_index(op.f("ix_desk_sheet_version_sheet_id"), "desk_sheet_version", ["sheet_id"])
    op.create_table(
        "desk_sheet_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("mimetype", sa.String(length=120), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["sheet_id"], ["desk_sheet.id"], ondelete="CASCADE",
                                name=op.f("fk_desk_sheet_model_sheet_id_desk_sheet")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_sheet_model")),
    )
    op.create_index(op.f("ix_desk_sheet_model_sheet_id"), "desk_sheet_model", ["sheet_id"])


def downgrade():
    op.drop_index(op.f("ix_desk_sheet_model_sheet_id"), table_name="desk_sheet_model")
    op.drop_table("desk_sheet_model")
    op.drop_index(op.f("ix_desk_sheet_version_sheet_id"), table_name="desk_sheet_version")
    op.drop_table("desk_sheet_version")
    for name in ("theme", "publisher_id", "audience_id"):
        op.drop_index(op.f(f"ix_desk_sheet_{name}"), table_name="desk_sheet")
    op.drop_table("desk_sheet")
    op.drop_index(op.f("ix_desk_library_version_document_id"), table_name="desk_library_version")
    op.drop_table("desk_library_version")
    op.drop_index(op.f("ix_desk_library_document_updated_at"), table_name="desk_library_document")
    op.drop_index("ix_desk_library_document_folder_updated", table_name="desk_library_document")
    for name in ("publisher_id", "audience_id"):
        op.drop_index(op.f(f"ix_desk_library_document_{name}"), table_name="desk_library_document")
    op.drop_table("desk_library_document")
    for name in ("publisher_id", "audience_id"):
        op.drop_index(op.f(f"ix_desk_library_folder_{name}"), table_name="desk_library_folder")
    op.drop_table("desk_library_folder")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_desk_search_tsv_fulltext")
        op.execute("ALTER TABLE desk_search DROP COLUMN tsv")
        op.execute("CREATE INDEX ix_desk_search_fulltext ON desk_search USING gin "
                   "(to_tsvector('desk_french'::regconfig, title || ' ' || body))")
