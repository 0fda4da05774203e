"""The service skeleton's table (a real service's first revision; its down_revision is the current head).

Revision ID: template_0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from portal.tenancy import rls_policy_sql

revision = "template_0001"
down_revision = None  # the skeleton stands alone; a real service writes the current head here
branch_labels = ("template",)
depends_on = None


def upgrade():
    op.create_table(
        "template_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_template_note")),
    )
    op.create_index(op.f("ix_template_note_commune_insee"), "template_note", ["commune_insee"])
    if op.get_bind().dialect.name == "postgresql":
        for statement in rls_policy_sql("template_note"):
            op.execute(statement)


def downgrade():
    op.drop_index(op.f("ix_template_note_commune_insee"), table_name="template_note")
    op.drop_table("template_note")
