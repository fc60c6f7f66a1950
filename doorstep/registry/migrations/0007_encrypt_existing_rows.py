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
    for name in MODELS:
        crypto.decrypt_model_in_place(apps.get_model("registry", name), schema_editor.connection)


class Migration(migrations.Migration):
    # each batch of 1,000 rows commits on its own (crypto.reencrypt_model): a district's 600,000 persons are
    # not one transaction, and a run that stopped half-way simply runs again
    atomic = False

    dependencies = [
        ("registry", "0006_encrypt_personal_data"),
    ]

    operations = [
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
