"""Cemetery: the search by name (deceased, holders, ayants droit) answered by a trigram index on both backends.

- PostgreSQL: ``pg_trgm`` (a trusted extension: the database's owner creates it) and a GIN ``gin_trgm_ops`` index on
  the folded names. Under the row-level security of ``cemetery_deceased`` and ``cemetery_person`` the index could
  not serve ``LIKE`` (``textlike`` is not leakproof, so the policy is evaluated first, row by row), and those tables
  FORCE their policy on the owner too. So the names are copied, by triggers, into ``cemetery_name_index``, a table
  with the same territory policy that its owner is not forced by, and ``cemetery_named(kind, pattern)`` — a function
  of the owner — reads the matches there through the index with the policy's own rule written out (``app.territory``
  of the transaction). The application reads the rows again through the ORM, the choke point and the policies.
- SQLite (≥ 3.34): an FTS5 table with the ``trigram`` tokenizer per source table (external content: only the index
  is stored), kept in step by triggers; ``LIKE '%…%'`` on its column is answered by the index.

Revision ID: cemetery_0004_name_search
Revises: cemetery_0003_plan_version
Create Date: 2026-12-07 13:20:00

"""
from alembic import op

revision = 'cemetery_0004_name_search'
down_revision = 'cemetery_0003_plan_version'
branch_labels = None
depends_on = None

SOURCES = {"deceased": "cemetery_deceased", "person": "cemetery_person"}

# The rule of portal.tenancy.rls_policy_sql as of this revision (a migration keeps its own copy).
RULE = ("(coalesce(current_setting('app.territory', true), '') = '*' "
        "OR {t}commune_insee = ANY (string_to_array(coalesce(current_setting('app.territory', true), ''), ',')))")

PG = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE TABLE cemetery_name_index (
         kind varchar(8) NOT NULL,
         ref_id integer NOT NULL,
         commune_insee varchar(5) NOT NULL,
         search_name varchar(400) NOT NULL,
         CONSTRAINT pk_cemetery_name_index PRIMARY KEY (kind, ref_id))""",
    "CREATE INDEX ix_cemetery_name_index_trgm ON cemetery_name_index USING gin (search_name gin_trgm_ops)",
    # The application's role reads it under the same policy as the source tables; the owner is not forced, so that
    # the functions below (SECURITY DEFINER) can use the index.
    "ALTER TABLE cemetery_name_index ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE cemetery_name_index NO FORCE ROW LEVEL SECURITY",
    f"CREATE POLICY cemetery_name_index_territory ON cemetery_name_index USING {RULE.format(t='')} "
    f"WITH CHECK {RULE.format(t='')}",
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
    # The matches of the current territory, planned with the pattern each time (a generic plan would not know how
    # many names a pattern matches). ROWS 100: the caller's plan starts from the matches and reaches the rows by
    # their keys, instead of reading every concession of the commune to join them to the matches.
    f"""CREATE OR REPLACE FUNCTION cemetery_named(k text, pattern text) RETURNS TABLE (ref_id integer)
       LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 100
       SET plan_cache_mode = force_custom_plan AS $$
       #variable_conflict use_column
       BEGIN
         RETURN QUERY SELECT n.ref_id FROM cemetery_name_index n
           WHERE n.kind = k AND n.search_name LIKE pattern AND {RULE.format(t='n.')};
       END $$""",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for stmt in PG:
            op.execute(stmt)
        for kind, table in SOURCES.items():
            op.execute(f"INSERT INTO cemetery_name_index (kind, ref_id, commune_insee, search_name) "
                       f"SELECT '{kind}', id, commune_insee, coalesce(search_name, '') FROM {table}")
            op.execute(f"CREATE TRIGGER {table}_name_index AFTER INSERT OR DELETE OR UPDATE OF search_name, "
                       f"commune_insee ON {table} FOR EACH ROW EXECUTE FUNCTION cemetery_name_index_sync('{kind}')")
        return
    for table in SOURCES.values():
        fts = f"{table}_fts"
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5(search_name, content='{table}', content_rowid='id', "
                   f"tokenize='trigram')")
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
                   f"INSERT INTO {fts} (rowid, search_name) VALUES (new.id, new.search_name); END")
        op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
                   f"INSERT INTO {fts} ({fts}, rowid, search_name) VALUES ('delete', old.id, old.search_name); END")
        op.execute(f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_name ON {table} BEGIN "
                   f"INSERT INTO {fts} ({fts}, rowid, search_name) VALUES ('delete', old.id, old.search_name); "
                   f"INSERT INTO {fts} (rowid, search_name) VALUES (new.id, new.search_name); END")
        op.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in SOURCES.values():
            op.execute(f"DROP TRIGGER IF EXISTS {table}_name_index ON {table}")
        op.execute("DROP FUNCTION IF EXISTS cemetery_named(text, text)")
        op.execute("DROP FUNCTION IF EXISTS cemetery_name_index_sync()")
        op.execute("DROP TABLE IF EXISTS cemetery_name_index")
        return
    for table in SOURCES.values():
        for suffix in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{suffix}")
        op.execute(f"DROP TABLE IF EXISTS {table}_fts")
