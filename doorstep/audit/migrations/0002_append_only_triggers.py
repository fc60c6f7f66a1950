"""Make the audit tables append-only in the database itself, not only in the ORM.

PostgreSQL: row triggers refuse UPDATE and DELETE. SQLite: a trigger refuses UPDATE; DELETE is refused by
the ORM only, because Django's test flush empties tables with DELETE on SQLite (on PostgreSQL it uses
TRUNCATE, which row triggers do not see: truncation stays an act of the database owner).
"""

from django.db import migrations

TABLES = ["audit_auditentry", "audit_accessentry"]

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION doorstep_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)  # no placeholders: keep the literal '%'
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION doorstep_audit_append_only();"
            )
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;"
            )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS doorstep_audit_append_only();")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
