"""electoral: registration deadline fixed by an election's decree (early elections), with its legal reference

Revision ID: electoral_0004
Revises: cadastre_0005
Create Date: 2026-12-07 02:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = "electoral_0004"
down_revision = "cadastre_0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("electoral_election", schema=None) as batch_op:
        batch_op.add_column(sa.Column("registration_deadline", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("registration_deadline_reference", sa.String(length=300), nullable=False,
                                      server_default=""))


def downgrade():
    with op.batch_alter_table("electoral_election", schema=None) as batch_op:
        batch_op.drop_column("registration_deadline_reference")
        batch_op.drop_column("registration_deadline")
