"""The preset warnings every deployment starts with (editable afterwards)."""

from django.db import migrations

PRESETS = [
    ("防盗", "您已进入视频监控区域，请保管好随身财物，谨防盗窃。"),
    ("防骗", "警方提示：不轻信陌生来电，不向陌生账户转账，谨防电信诈骗。"),
    ("禁止攀爬", "警告：禁止攀爬围墙和护栏，请立即下来，您的行为已被监控记录。"),
    ("禁止聚集", "请勿在此聚集逗留，请尽快有序离开，配合民警工作。"),
    ("防溺水", "前方水域危险，禁止下水游泳、戏水，请远离水边。"),
    ("驱离", "这里是派出所视频巡查，请立即离开该区域，否则民警将到场处置。"),
]


def add(apps, schema_editor):
    WarningPreset = apps.get_model("video", "WarningPreset")
    for position, (title, text) in enumerate(PRESETS):
        WarningPreset.objects.get_or_create(title=title, defaults={"text": text, "position": position})


class Migration(migrations.Migration):
    dependencies = [("video", "0001_initial")]
    operations = [migrations.RunPython(add, migrations.RunPython.noop)]
