from django.db import migrations

MATERIALS = ("平安防范手册", "反恐防范手册", "防范电信网络诈骗宣传单", "消防安全知识手册")


def add_materials(apps, schema_editor):
    Material = apps.get_model("patrol", "Material")
    for name in MATERIALS:
        Material.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("patrol", "0001_initial")]
    operations = [migrations.RunPython(add_materials, migrations.RunPython.noop)]
