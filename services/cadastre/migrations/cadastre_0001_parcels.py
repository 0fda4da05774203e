"""cadastre: vintages, parcels, other layers of the plan; PostGIS geometry + GiST, SQLite R*Tree

Revision ID: cadastre_0001
Revises: b09fe6757c3f
Create Date: 2026-11-23 12:15:00

"""
from alembic import op
import sqlalchemy as sa

from services.cadastre.geometry import MultiPolygonType

revision = "cadastre_0001"
down_revision = "b09fe6757c3f"
branch_labels = ("cadastre",)
depends_on = None

SCOPED = ("cadastre_vintage", "cadastre_parcel", "cadastre_feature")
RTREES = {"cadastre_parcel_rtree": "cadastre_parcel", "cadastre_feature_rtree": "cadastre_feature"}


def _bbox_columns():
    return [sa.Column(c, sa.Float(), nullable=False) for c in ("minx", "miny", "maxx", "maxy")]


def upgrade():
    op.create_table(
        "cadastre_vintage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=7), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.String(length=254), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("parcel_count", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadastre_vintage")),
        sa.UniqueConstraint("commune_insee", "label", name="uq_cadastre_vintage_commune_label"),
    )
    with op.batch_alter_table("cadastre_vintage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cadastre_vintage_commune_insee"), ["commune_insee"], unique=False)

    op.create_table(
        "cadastre_parcel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vintage_id", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("idu", sa.String(length=14), nullable=False),
        sa.Column("prefixe", sa.String(length=3), nullable=False),
        sa.Column("section", sa.String(length=2), nullable=False),
        sa.Column("numero", sa.String(length=4), nullable=False),
        sa.Column("lieu_dit", sa.String(length=120), nullable=True),
        sa.Column("contenance", sa.Integer(), nullable=True),
        sa.Column("area", sa.Float(), nullable=False),
        sa.Column("repaired", sa.Boolean(), nullable=False),
        *_bbox_columns(),
        sa.Column("geom", MultiPolygonType(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["vintage_id"], ["cadastre_vintage.id"],
                                name=op.f("fk_cadastre_parcel_vintage_id_cadastre_vintage"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadastre_parcel")),
        sa.UniqueConstraint("vintage_id", "idu", name="uq_cadastre_parcel_vintage_idu"),
    )
    with op.batch_alter_table("cadastre_parcel", schema=None) as batch_op:
        batch_op.create_index("ix_cadastre_parcel_current_commune", ["current", "commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_parcel_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_parcel_idu"), ["idu"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_parcel_vintage_id"), ["vintage_id"], unique=False)
        # GiST on PostGIS; on SQLite an index over no row (the R*Tree below does the spatial search there).
        batch_op.create_index("cadastre_parcel_geom_gist", ["geom"], unique=False, postgresql_using="gist",
                              sqlite_where=sa.text("0"))

    op.create_table(
        "cadastre_feature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vintage_id", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("layer", sa.String(length=12), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("area", sa.Float(), nullable=False),
        *_bbox_columns(),
        sa.Column("geom", MultiPolygonType(), nullable=False),
        sa.Column("commune_insee", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["vintage_id"], ["cadastre_vintage.id"],
                                name=op.f("fk_cadastre_feature_vintage_id_cadastre_vintage"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cadastre_feature")),
    )
    with op.batch_alter_table("cadastre_feature", schema=None) as batch_op:
        batch_op.create_index("ix_cadastre_feature_current_layer", ["current", "layer", "commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_feature_commune_insee"), ["commune_insee"], unique=False)
        batch_op.create_index(batch_op.f("ix_cadastre_feature_vintage_id"), ["vintage_id"], unique=False)
        # GiST on PostGIS; on SQLite an index over no row (the R*Tree below does the spatial search there).
        batch_op.create_index("cadastre_feature_geom_gist", ["geom"], unique=False, postgresql_using="gist",
                              sqlite_where=sa.text("0"))

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from portal.tenancy import rls_policy_sql

        for table in SCOPED:
            for stmt in rls_policy_sql(table):
                op.execute(stmt)
    elif bind.dialect.name == "sqlite":
        for rtree in RTREES:
            op.execute(f"CREATE VIRTUAL TABLE {rtree} USING rtree(id, minx, maxx, miny, maxy)")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for rtree in RTREES:
            op.execute(f"DROP TABLE IF EXISTS {rtree}")
    op.drop_table("cadastre_feature")
    op.drop_table("cadastre_parcel")
    op.drop_table("cadastre_vintage")
