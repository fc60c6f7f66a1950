"""Personal data encrypted at rest, step 2 of 3: encrypt the rows stored in clear and fill the hashes.

`crypto.reencrypt_model` reads each row (clear text reads as it is), writes it back encrypted under the
active key and computes its hashes; nothing to do on an empty database. Backwards, the values are written
back in clear so that 0006 can turn the columns into plain text again.
"""

from django.db import migrations

from doorstep.core import crypto

MODELS = ("Person", "House", "Unit")


def encrypt_rows(apps, schema_editor):
    for name in MODELS:
        crypto.reencrypt_model(apps.get_model("registry", name))


def decrypt_rows(apps, schema_editor):
    connection = schema_editor.connection
    qn = connection.ops.quote_name
    for name in MODELS:
        model = apps.get_model("registry", name)
        fields = crypto.encrypted_fields(model)
        table = qn(model._meta.db_table)
        sets = ", ".join(f"{qn(f.column)} = %s" for f in fields)
        rows = model._base_manager.order_by("pk").values_list("pk", *(f.name for f in fields))
        params = [[*values, pk] for pk, *values in rows.iterator()]
        if not params:
            continue
        with connection.cursor() as cursor:  # raw SQL: the field itself would encrypt the values again
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", params)  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_encrypt_personal_data"),
    ]

    operations = [
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
