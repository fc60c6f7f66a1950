"""Code lists of the 一标三实 registry (DOMAIN.md); codes follow the national lists where there is one."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class PersonCategory(models.TextChoices):
    RESIDENT = "01", _("常住人口")
    LODGER = "02", _("寄住人口")
    FLOATING = "03", _("流动人口")
    FOREIGN = "04", _("境外人员")
    UNSETTLED = "05", _("未落常住人口")


class Gender(models.TextChoices):
    """GB/T 2261.1."""

    UNKNOWN = "0", _("未知")
    MALE = "1", _("男")
    FEMALE = "2", _("女")
    UNSPECIFIED = "9", _("未说明")


# GB 3304 ethnicity codes (the most common here; the full list is open to extension by data migration).
ETHNICITIES = [
    ("01", "汉族"),
    ("02", "蒙古族"),
    ("03", "回族"),
    ("04", "藏族"),
    ("05", "维吾尔族"),
    ("06", "苗族"),
    ("07", "彝族"),
    ("08", "壮族"),
    ("09", "布依族"),
    ("10", "朝鲜族"),
    ("11", "满族"),
    ("12", "侗族"),
    ("13", "瑶族"),
    ("14", "白族"),
    ("15", "土家族"),
    ("16", "哈尼族"),
    ("17", "哈萨克族"),
    ("18", "傣族"),
    ("19", "黎族"),
    ("20", "傈僳族"),
    ("21", "佤族"),
    ("22", "畲族"),
    ("23", "高山族"),
    ("24", "拉祜族"),
    ("25", "水族"),
    ("26", "东乡族"),
    ("27", "纳西族"),
    ("28", "景颇族"),
    ("29", "柯尔克孜族"),
    ("30", "土族"),
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
]


class HouseStructure(models.TextChoices):
    BRICK_CONCRETE = "brick_concrete", _("砖混")
    FRAME = "frame", _("框架")
    REINFORCED = "reinforced", _("钢混")
    WOOD = "wood", _("木结构")
    OTHER = "other", _("其他")


class HouseUse(models.TextChoices):
    RESIDENTIAL = "residential", _("住宅")
    COMMERCIAL = "commercial", _("商业")
    MIXED = "mixed", _("商住两用")
    FACTORY = "factory", _("厂房")
    DORMITORY = "dormitory", _("宿舍")
    OTHER = "other", _("其他")


class PropertyType(models.TextChoices):
    COMMODITY = "commodity", _("商品房")
    SELF_BUILT = "self_built", _("自建房")
    PUBLIC = "public", _("公房")
    RESETTLEMENT = "resettlement", _("安置房")
    OTHER = "other", _("其他")


class Occupancy(models.TextChoices):
    OWNER = "owner", _("自住")
    RENTED = "rented", _("出租")
    VACANT = "vacant", _("空置")
    GROUP_RENTAL = "group_rental", _("群租")


class ReviewStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("审核通过")
    REJECTED = "rejected", _("审核不通过")


class Colour(models.TextChoices):
    RED = "red", _("红色（重点户）")
    YELLOW = "yellow", _("黄色（关注户）")
    GREEN = "green", _("绿色（放心户）")


class PermitType(models.TextChoices):
    RESIDENCE_PERMIT = "permit", _("居住证")
    TEMPORARY = "temporary", _("暂住证")
    NONE = "none", _("未办理")


class ConcernType(models.TextChoices):
    STABILITY = "stability", _("涉稳")
    DRUGS = "drugs", _("涉毒")
    FUGITIVE = "fugitive", _("在逃")
    PRIOR_RECORD = "prior_record", _("前科")
    MENTAL = "mental", _("肇事肇祸精神障碍")
    PETITION = "petition", _("重点上访")
    CORRECTION = "correction", _("社区矫正")
    RESETTLEMENT = "resettlement", _("安置帮教")


class ConcernStatus(models.TextChoices):
    """Management status codes of DOMAIN.md."""

    LISTING_REQUESTED = "1", _("列管申请中")
    LISTED = "2", _("已列管")
    DELISTING_REQUESTED = "3", _("撤管申请中")
    DELISTED = "4", _("已撤管")
    TRANSFER_REQUESTED = "5", _("转递申请中")
    RECLASS_REQUESTED = "7", _("转类申请中")


class UnitType(models.TextChoices):
    GOVERNMENT = "government", _("党政机关")
    FINANCE = "finance", _("金融")
    SCHOOL = "school", _("学校")
    HOSPITAL = "hospital", _("医院")
    UTILITY = "utility", _("水电气热")
    TRANSPORT = "transport", _("交通枢纽")
    BROADCAST = "broadcast", _("广电")
    HAZARDOUS = "hazardous", _("危险物品单位")
    ENTERPRISE = "enterprise", _("企业")
    SHOP = "shop", _("商铺")
    OTHER = "other", _("其他")


KEY_UNIT_TYPES = {
    UnitType.GOVERNMENT,
    UnitType.FINANCE,
    UnitType.SCHOOL,
    UnitType.HOSPITAL,
    UnitType.UTILITY,
    UnitType.TRANSPORT,
    UnitType.BROADCAST,
    UnitType.HAZARDOUS,
}


class KeyLevel(models.TextChoices):
    LEVEL_1 = "1", _("一级")
    LEVEL_2 = "2", _("二级")
    LEVEL_3 = "3", _("三级")


class RiskLevel(models.TextChoices):
    HIGH = "high", _("高")
    MEDIUM = "medium", _("中")
    LOW = "low", _("低")


class CoordinateSystem(models.TextChoices):
    """坐标系 of an imported file's longitudes and latitudes; they are stored as WGS-84 (DOMAIN.md)."""

    WGS84 = "wgs84", _("WGS-84")
    GCJ02 = "gcj02", _("GCJ-02（高德、腾讯）")
    BD09 = "bd09", _("BD-09（百度）")
