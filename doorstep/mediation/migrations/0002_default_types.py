from django.db import migrations

TYPES = ("邻里纠纷", "家庭纠纷", "婚恋纠纷", "物业纠纷", "劳资纠纷", "消费纠纷", "交通纠纷", "其他纠纷")


def add_types(apps, schema_editor):
    DisputeType = apps.get_model("mediation", "DisputeType")
    for position, name in enumerate(TYPES):
        DisputeType.objects.get_or_create(name=name, defaults={"position": position * 10})


class Migration(migrations.Migration):
    dependencies = [("mediation", "0001_initial")]
    operations = [migrations.RunPython(add_types, migrations.RunPython.noop)]
