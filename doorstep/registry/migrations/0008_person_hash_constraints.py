"""Personal data encrypted at rest, step 3 of 3: one person per ID number, and the search indexes."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_encrypt_existing_rows"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(fields=["id_hash"], name="one_person_per_id_number"),
        ),
        *[
            migrations.AddIndex(model_name="person", index=models.Index(fields=[name], name=f"person_{name}"))
            for name in ("id_last4", "id_last5", "id_last6", "phone_hash", "phone_last4")
        ],
    ]
