"""electoral: print jobs (émargement lists and voter cards of large communes, built by a Celery task)

Revision ID: electoral_0003
Revises: merge_0001
Create Date: 2026-12-02 04:40:00

"""
import sqlalchemy as sa
from alembic import op

from portal.tenancy import rls_policy_sql

revision = "electoral_0003"
down_revision = "merge_0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "electoral_print_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("bureau_id", sa.Integer(), nullable=True),
        sa.Column("election_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("done_parts", sa.Integer(), nullable=False),
        sa.Column("total_parts", sa.Integer(), nullable=False),
        sa.Column("voters", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["bureau_id"], ["electoral_polling_station.id"],
                                name=op.f("fk_electoral_print_job_bureau_id_electoral_polling_station"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["election_id"], ["electoral_election.id"],
                                name=op.f("fk_electoral_print_job_election_id_electoral_election"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], name=op.f("fk_electoral_print_job_user_id_user_account"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_electoral_print_job")),
    )
    with op.batch_alter_table("electoral_print_job", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_electoral_print_job_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_electoral_print_job_status"), ["status"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for stmt in rls_policy_sql("electoral_print_job"):
            op.execute(stmt)


def downgrade():
    with op.batch_alter_table("electoral_print_job", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_electoral_print_job_status"))
        batch_op.drop_index(batch_op.f("ix_electoral_print_job_commune_insee"))
    op.drop_table("electoral_print_job")
