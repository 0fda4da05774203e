"""Cemetery: the search by name on PostgreSQL returns only the first matches, in name order, from the index.

A name of three common letters (« mar ») matches a third of a cemetery's names: ``cemetery_named`` returned all of
them (thousands of ids), each read again by its key to keep those shown (a deceased resting in an emplacement, a
person of a concession in force), then sorted, for a page of 25 and a count that stops at 1 000.

- ``cemetery_name_index.listed``: whether the name is searched at all — the deceased rests in an emplacement
  (``plot_id``), the person belongs to a concession in force (``status = 'active'``) — kept by the triggers of the
  deceased, of the persons and of the concessions (a concession's status changes the listing of its people).
- A b-tree per kind on the listed names in search order ``(search_name, ref_id)``, and the trigram GIN index per
  kind on the listed names (partial indexes: the kind and the listing are constants of each query).
- ``cemetery_first_named(kind, pattern, lim)``: the first ``lim`` ids of the listed matches of the transaction's
  territory, in the order of the names. Planned with the pattern each time: for a pattern matching many names the
  plan walks the ordered b-tree and stops at the ``lim``-th match (no sort, a few thousand entries read at most);
  for a rarer one it collects the trigram index's few matches and sorts them. Same territory rule as
  ``cemetery_named`` (which stays, for the public search).

Revision ID: cemetery_0005_ordered_search
Revises: cemetery_0004_name_search
Create Date: 2026-12-07 16:30:00

"""
from alembic import op
from sqlalchemy import text

revision = 'cemetery_0005_ordered_search'
down_revision = 'cemetery_0004_name_search'
branch_labels = None
depends_on = None

# The rule of portal.tenancy.rls_policy_sql as of this revision (a migration keeps its own copy).
RULE = ("(coalesce(current_setting('app.territory', true), '') = '*' "
        "OR n.commune_insee = ANY (string_to_array(coalesce(current_setting('app.territory', true), ''), ',')))")

KINDS = ("deceased", "person")

UP = [
    "ALTER TABLE cemetery_name_index ADD COLUMN listed boolean NOT NULL DEFAULT true",
    """UPDATE cemetery_name_index n SET listed = (d.plot_id IS NOT NULL)
       FROM cemetery_deceased d WHERE n.kind = 'deceased' AND d.id = n.ref_id""",
    """UPDATE cemetery_name_index n SET listed = (c.status = 'active')
       FROM cemetery_person p JOIN cemetery_concession c ON c.id = p.concession_id
       WHERE n.kind = 'person' AND p.id = n.ref_id""",
    # A row per name as before; whether it is listed comes from the row (deceased) or its concession (person). The
    # owner reads the concession under its forced policy: every writer of a person has its commune in its territory.
    """CREATE OR REPLACE FUNCTION cemetery_name_index_sync() RETURNS trigger
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
       DECLARE
         shown boolean;
       BEGIN
         IF TG_OP IN ('DELETE', 'UPDATE') THEN
           DELETE FROM cemetery_name_index WHERE kind = TG_ARGV[0] AND ref_id = OLD.id;
         END IF;
         IF TG_OP IN ('INSERT', 'UPDATE') THEN
           IF TG_ARGV[0] = 'deceased' THEN
             shown := NEW.plot_id IS NOT NULL;
           ELSE
             shown := EXISTS (SELECT 1 FROM cemetery_concession c
                              WHERE c.id = NEW.concession_id AND c.status = 'active');
           END IF;
           INSERT INTO cemetery_name_index (kind, ref_id, commune_insee, search_name, listed)
           VALUES (TG_ARGV[0], NEW.id, NEW.commune_insee, coalesce(NEW.search_name, ''), shown);
         END IF;
         RETURN NULL;
       END $$""",
    "DROP TRIGGER IF EXISTS cemetery_deceased_name_index ON cemetery_deceased",
    """CREATE TRIGGER cemetery_deceased_name_index AFTER INSERT OR DELETE OR UPDATE OF search_name, commune_insee,
       plot_id ON cemetery_deceased FOR EACH ROW EXECUTE FUNCTION cemetery_name_index_sync('deceased')""",
    "DROP TRIGGER IF EXISTS cemetery_person_name_index ON cemetery_person",
    """CREATE TRIGGER cemetery_person_name_index AFTER INSERT OR DELETE OR UPDATE OF search_name, commune_insee,
       concession_id ON cemetery_person FOR EACH ROW EXECUTE FUNCTION cemetery_name_index_sync('person')""",
    """CREATE OR REPLACE FUNCTION cemetery_name_index_listing() RETURNS trigger
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
       BEGIN
         UPDATE cemetery_name_index n SET listed = (NEW.status = 'active')
           FROM cemetery_person p
           WHERE p.concession_id = NEW.id AND n.kind = 'person' AND n.ref_id = p.id
             AND n.listed IS DISTINCT FROM (NEW.status = 'active');
         RETURN NULL;
       END $$""",
    """CREATE TRIGGER cemetery_concession_name_index AFTER UPDATE OF status ON cemetery_concession
       FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
       EXECUTE FUNCTION cemetery_name_index_listing()""",
    *[f"""CREATE INDEX ix_cemetery_name_index_{kind}_order ON cemetery_name_index (search_name, ref_id)
          INCLUDE (commune_insee) WHERE kind = '{kind}' AND listed""" for kind in KINDS],
    *[f"""CREATE INDEX ix_cemetery_name_index_{kind}_trgm ON cemetery_name_index USING gin (search_name gin_trgm_ops)
          WHERE kind = '{kind}' AND listed""" for kind in KINDS],
    f"""CREATE OR REPLACE FUNCTION cemetery_first_named(k text, pattern text, lim integer)
       RETURNS TABLE (ref_id integer)
       LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1000
       SET plan_cache_mode = force_custom_plan AS $$
       #variable_conflict use_column
       BEGIN
         IF k = 'deceased' THEN  -- the kind written out, so that the plan may take its partial indexes
           RETURN QUERY SELECT n.ref_id FROM cemetery_name_index n
             WHERE n.kind = 'deceased' AND n.listed AND n.search_name LIKE pattern AND {RULE}
             ORDER BY n.search_name, n.ref_id LIMIT lim;
         ELSIF k = 'person' THEN
           RETURN QUERY SELECT n.ref_id FROM cemetery_name_index n
             WHERE n.kind = 'person' AND n.listed AND n.search_name LIKE pattern AND {RULE}
             ORDER BY n.search_name, n.ref_id LIMIT lim;
         END IF;
       END $$""",
    "ANALYZE cemetery_name_index",
]

DOWN = [
    "DROP FUNCTION IF EXISTS cemetery_first_named(text, text, integer)",
    *[f"DROP INDEX IF EXISTS ix_cemetery_name_index_{kind}_{what}" for kind in KINDS for what in ("order", "trgm")],
    "DROP TRIGGER IF EXISTS cemetery_concession_name_index ON cemetery_concession",
    "DROP FUNCTION IF EXISTS cemetery_name_index_listing()",
    """CREATE OR REPLACE FUNCTION cemetery_name_index_sync() RETURNS trigger
       LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
       BEGIN
         IF TG_OP IN ('DELETE', 'UPDATE') THEN
           DELETE FROM cemetery_name_index WHERE kind = TG_ARGV[0] AND ref_id = OLD.id;
         END IF;
         IF TG_OP IN ('INSERT', 'UPDATE') THEN
           INSERT INTO cemetery_name_index (kind, ref_id, commune_insee, search_name)
           VALUES (TG_ARGV[0], NEW.id, NEW.commune_insee, coalesce(NEW.search_name, ''));
         END IF;
         RETURN NULL;
       END $$""",
    *[f"DROP TRIGGER IF EXISTS cemetery_{kind}_name_index ON cemetery_{kind}" for kind in KINDS],
    *[f"CREATE TRIGGER cemetery_{kind}_name_index AFTER INSERT OR DELETE OR UPDATE OF search_name, commune_insee "
      f"ON cemetery_{kind} FOR EACH ROW EXECUTE FUNCTION cemetery_name_index_sync('{kind}')" for kind in KINDS],
    "ALTER TABLE cemetery_name_index DROP COLUMN listed",
]


def upgrade():
    # SQLite: nothing to change (its FTS5 tables answer the search within the target; see cemetery_0004).
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # The source tables force their policy on the owner too: the listing is read from every commune's rows.
        before = bind.scalar(text("SELECT current_setting('app.territory', true)")) or ""
        bind.execute(text("SELECT set_config('app.territory', '*', true)"))
        for stmt in UP:
            op.execute(stmt)
        bind.execute(text("SELECT set_config('app.territory', :before, true)"), {"before": before})


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for stmt in DOWN:
            op.execute(stmt)
