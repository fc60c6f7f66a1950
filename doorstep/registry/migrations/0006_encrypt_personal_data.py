"""Personal data encrypted at rest (core.crypto, ADR 0021), step 1 of 3: the columns.

The generated search keys computed from the clear ID number and phone (and their indexes) go; the ID and
phone columns become encrypted text columns; the keyed-hash search columns are added, empty. 0007 encrypts
the rows and fills the hashes, 0008 adds the constraint and indexes on the hashes.
"""

from django.db import migrations

import doorstep.core.crypto

GENERATED_KEYS = ("id_last4", "id_last5", "id_last6", "phone_last4")


def _encrypted(verbose_name: str, max_length: int, **kwargs):
    return doorstep.core.crypto.EncryptedCharField(
        verbose_name=verbose_name, max_length=max_length, blank=True, **kwargs
    )


def _hash(source: str, kind: str, last: int | None = None):
    kwargs = {"last": last} if last else {}
    return doorstep.core.crypto.SearchHashField(blank=True, null=True, source=source, kind=kind, **kwargs)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_house_point_index"),
    ]

    operations = [
        *[migrations.RemoveIndex(model_name="person", name=f"person_{name}") for name in GENERATED_KEYS],
        # The generated columns read id_number and phone: they go before those columns change type.
        *[migrations.RemoveField(model_name="person", name=name) for name in GENERATED_KEYS],
        migrations.AlterField(
            model_name="person",
            name="id_number",
            field=_encrypted("公民身份号码", 18, null=True),
        ),
        migrations.AlterField(
            model_name="person",
            name="phone",
            field=_encrypted("联系电话", 20),
        ),
        migrations.AlterField(
            model_name="house",
            name="owner_id_number",
            field=_encrypted("产权人身份号码", 18),
        ),
        migrations.AlterField(
            model_name="house",
            name="owner_phone",
            field=_encrypted("产权人电话", 20),
        ),
        migrations.AlterField(
            model_name="house",
            name="landlord_phone",
            field=_encrypted("出租人电话", 20),
        ),
        migrations.AlterField(
            model_name="house",
            name="manager_phone",
            field=_encrypted("托管人电话", 20),
        ),
        migrations.AlterField(
            model_name="unit",
            name="security_phone",
            field=_encrypted("治保负责人电话", 20),
        ),
        migrations.AddField(model_name="person", name="id_hash", field=_hash("id_number", "id")),
        migrations.AddField(model_name="person", name="id_last4", field=_hash("id_number", "id", 4)),
        migrations.AddField(model_name="person", name="id_last5", field=_hash("id_number", "id", 5)),
        migrations.AddField(model_name="person", name="id_last6", field=_hash("id_number", "id", 6)),
        migrations.AddField(model_name="person", name="phone_hash", field=_hash("phone", "phone")),
        migrations.AddField(model_name="person", name="phone_last4", field=_hash("phone", "phone", 4)),
    ]
