"""Seed the "三懂四会" assessment items (an administrator may rename, reorder or retire them later)."""

from django.db import migrations

ITEMS = [
    ("know", "懂社情", 10),
    ("know", "懂法律", 20),
    ("know", "懂业务", 30),
    ("can", "会群众工作", 40),
    ("can", "会信息采集", 50),
    ("can", "会矛盾调解", 60),
    ("can", "会应急处置", 70),
]


def seed_items(apps, schema_editor):
    Item = apps.get_model("duty", "AssessmentItem")
    for group, name, order in ITEMS:
        Item.objects.get_or_create(name=name, defaults={"group": group, "order": order})


class Migration(migrations.Migration):
    dependencies = [("duty", "0002_training")]

    operations = [migrations.RunPython(seed_items, migrations.RunPython.noop)]
