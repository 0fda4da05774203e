"""cadastre: import jobs of the department's import page (outbox of the Celery task), row-level security

Revision ID: cadastre_0004
Revises: merge_0001
Create Date: 2026-12-02 04:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = "cadastre_0004"
down_revision = "merge_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "cadastre_import_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("vintage", sa.String(length=7), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_cadastre_import_job_user_id_user_account"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadastre_import_job")),
    )
    with op.batch_alter_table("cadastre_import_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cadastre_import_job_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_import_job_status"), ["status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        from portal.tenancy import rls_policy_sql

        for stmt in rls_policy_sql("cadastre_import_job"):
            op.execute(stmt)


def downgrade():
    op.drop_table("cadastre_import_job")
