"""Encrypt the residents' phones on submissions at rest (core.crypto, issue #12): the column becomes text
holding `e1:<key id>:…`, a keyed-hash column answers "has this phone booked this slot", and the rows stored
in clear are encrypted (and hashed) in place."""

from django.db import migrations

import doorstep.core.crypto


def encrypt_rows(apps, schema_editor):
    doorstep.core.crypto.reencrypt_model(apps.get_model("portal", "Submission"))


def decrypt_rows(apps, schema_editor):
    """Backwards: clear text again, before the columns turn back into plain text."""
    doorstep.core.crypto.decrypt_model_in_place(
        apps.get_model("portal", "Submission"), schema_editor.connection
    )


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_submission_other_party")]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="phone_search",
            field=doorstep.core.crypto.SearchHashField(
                blank=True, kind="phone", null=True, source="phone", verbose_name="手机号检索摘要"
            ),
        ),
        migrations.AlterField(
            model_name="submission",
            name="phone",
            field=doorstep.core.crypto.EncryptedCharField(blank=True, max_length=20, verbose_name="联系电话"),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
