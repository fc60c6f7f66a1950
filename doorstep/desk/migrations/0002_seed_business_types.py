"""Seed the common household-registration business types (an administrator may change them afterwards)."""

from django.db import migrations

# name, documents, time limit, unit, 即办
TYPES = [
    ("居住证申领", ["身份证", "居住地址证明（租赁合同或房产证）", "近期一寸照片"], 15, "working_days", False),
    ("居住证签注", ["身份证", "居住证", "居住地址证明（租赁合同或房产证）"], 0, "working_days", True),
    ("户籍证明开具", ["身份证", "户口簿"], 0, "working_days", True),
    ("户口迁移咨询", ["身份证", "户口簿"], 0, "working_days", True),
    (
        "身份证申领/换领",
        ["户口簿", "原身份证（换领时）", "近期免冠照片（或现场采集）"],
        20,
        "working_days",
        False,
    ),
    ("临时身份证明", ["户口簿", "近期一寸照片"], 0, "working_days", True),
    ("无犯罪记录证明", ["身份证", "户口簿", "用途说明或单位介绍信"], 5, "working_days", False),
    ("其他咨询", [], 0, "working_days", True),
]


def seed(apps, schema_editor):
    BusinessType = apps.get_model("desk", "BusinessType")
    for position, (name, documents, limit, unit, instant) in enumerate(TYPES):
        BusinessType.objects.get_or_create(
            name=name,
            defaults={
                "documents": documents,
                "time_limit": limit,
                "limit_unit": unit,
                "instant": instant,
                "position": position * 10,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("desk", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
