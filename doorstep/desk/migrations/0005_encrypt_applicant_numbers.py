"""Encrypt the applicants' ID numbers and phones at rest (core.crypto, issue #12): the columns become text
holding `e1:<key id>:…`, and the rows stored in clear are encrypted in place."""

from django.db import migrations

import doorstep.core.crypto


def encrypt_rows(apps, schema_editor):
    doorstep.core.crypto.reencrypt_model(apps.get_model("desk", "Intake"))


def decrypt_rows(apps, schema_editor):
    """Backwards: clear text again, before the columns turn back into plain text."""
    doorstep.core.crypto.decrypt_model_in_place(apps.get_model("desk", "Intake"), schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("desk", "0004_seed_checklist")]

    operations = [
        migrations.AlterField(
            model_name="intake",
            name="id_number",
            field=doorstep.core.crypto.EncryptedCharField(max_length=18, verbose_name="公民身份号码"),
        ),
        migrations.AlterField(
            model_name="intake",
            name="phone",
            field=doorstep.core.crypto.EncryptedCharField(blank=True, max_length=20, verbose_name="联系电话"),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
