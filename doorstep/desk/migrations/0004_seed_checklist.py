"""Seed version 1 of the 五统一 checklist (the sub-bureau may publish new versions afterwards)."""

from django.db import migrations
from django.utils import timezone

# category, item, points (Σ = 100); kept in step with desk.inspection_seed.DEFAULT_CHECKLIST
ITEMS = [
    ("统一标识", "门头标牌：“警务室”名称标牌规范、醒目、夜间亮灯", 10),
    ("统一标识", "警务室徽标（公安徽标）规范张贴", 5),
    ("统一布局", "接待区：设置接待台、群众等候座椅、办事指南", 8),
    ("统一布局", "办公区：办公设备齐全、信息系统可用", 6),
    ("统一布局", "值班休息区：值班床铺与生活设施满足24小时值守", 6),
    ("统一公示", "公示社区民警照片、姓名、警号", 8),
    ("统一公示", "公示工作电话", 5),
    ("统一公示", "公示服务项目与办事流程", 5),
    ("统一公示", "公示监督电话", 4),
    ("统一公开民警工作电话", "民警工作电话在社区公示栏、楼道等处公开", 8),
    ("统一公开民警工作电话", "抽测拨打公开电话能及时接通", 7),
    ("统一工作制度", "工作制度上墙（岗位职责、首问负责等）", 10),
    ("统一工作制度", "值班制度落实，值班表与实际在岗一致", 10),
    ("统一工作制度", "工作台账（走访、纠纷、受理登记）齐全规范", 8),
]


def seed(apps, schema_editor):
    Checklist = apps.get_model("desk", "Checklist")
    ChecklistItem = apps.get_model("desk", "ChecklistItem")
    if Checklist.objects.exists():
        return
    checklist = Checklist.objects.create(
        version=1, published_at=timezone.now(), note="五统一标准（初始版本）"
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(checklist=checklist, category=c, text=t, points=p, position=i * 10)
        for i, (c, t, p) in enumerate(ITEMS)
    )


class Migration(migrations.Migration):
    dependencies = [("desk", "0003_inspections")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
