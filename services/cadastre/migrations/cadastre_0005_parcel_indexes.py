"""cadastre: fewer indexes on parcels — (commune, current) replaces (current, commune) and the commune index; the
vintage index was the unique (vintage, idu)'s leading column. Every bulk import maintained two B-trees for nothing.

Revision ID: cadastre_0005
Revises: merge_0002
Create Date: 2026-12-02 14:00:00

"""
from alembic import op

revision = "cadastre_0005"
down_revision = "merge_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_cadastre_parcel_commune_current", "cadastre_parcel", ["commune_insee", "current"])
    op.drop_index("ix_cadastre_parcel_current_commune", table_name="cadastre_parcel")
    op.drop_index("ix_cadastre_parcel_commune_insee", table_name="cadastre_parcel")
    op.drop_index("ix_cadastre_parcel_vintage_id", table_name="cadastre_parcel")


def downgrade():
    op.create_index("ix_cadastre_parcel_vintage_id", "cadastre_parcel", ["vintage_id"])
    op.create_index("ix_cadastre_parcel_commune_insee", "cadastre_parcel", ["commune_insee"])
    op.create_index("ix_cadastre_parcel_current_commune", "cadastre_parcel", ["current", "commune_insee"])
    op.drop_index("ix_cadastre_parcel_commune_current", table_name="cadastre_parcel")
