"""desk: sub-folders in the documents library (a folder's parent, in the same library)

Revision ID: desk_0014_library_subfolders
Revises: desk_0013_calendar_token
Create Date: 2026-12-07 08:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = "desk_0014_library_subfolders"
down_revision = "desk_0013_calendar_token"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("desk_library_folder") as batch:
        batch.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f("fk_desk_library_folder_parent_id_desk_library_folder"),
                                 "desk_library_folder", ["parent_id"], ["id"], ondelete="CASCADE")
        batch.create_index(batch.f("ix_desk_library_folder_parent_id"), ["parent_id"])


def downgrade():
    with op.batch_alter_table("desk_library_folder") as batch:
        batch.drop_index(batch.f("ix_desk_library_folder_parent_id"))
        batch.drop_constraint(batch.f("fk_desk_library_folder_parent_id_desk_library_folder"), type_="foreignkey")
        batch.drop_column("parent_id")
