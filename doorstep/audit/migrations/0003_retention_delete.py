"""Let the retention command, and only it, delete audit rows older than one year (issue #12 item 6).

The append-only trigger function of migration 0002 is replaced: UPDATE is still always refused; DELETE is
allowed only when the transaction has set `doorstep.audit_retention` to 'on' (SET LOCAL, done by
`doorstep audit_retention --apply`) AND the row is older than 365 days by the database clock. Any other
DELETE — a plain one, a young row, a forgotten WHERE — is refused by the database as before.
SQLite has no DELETE trigger (see 0002): there the command's own guard is the only one.
"""

from django.db import migrations

PG_RETENTION_FUNCTION = """
CREATE OR REPLACE FUNCTION doorstep_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('doorstep.audit_retention', true) = 'on'
       AND OLD.at < now() - interval '365 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit rows are append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

PG_STRICT_FUNCTION = """
CREATE OR REPLACE FUNCTION doorstep_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_RETENTION_FUNCTION, params=None)  # no placeholders: keep the literal '%'


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_STRICT_FUNCTION, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_triggers")]
    operations = [migrations.RunPython(forwards, backwards)]
