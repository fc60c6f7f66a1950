"""一标三实: standard addresses, actual houses, actual population (with households) and actual units."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Case, Q, Value, When
from django.db.models.functions import Length, StrIndex, Substr
from django.utils.translation import gettext_lazy as _

from doorstep.core import crypto
from doorstep.core.models import TimeStampedModel
from doorstep.registry.choices import (
    ETHNICITIES,
    Colour,
    ConcernStatus,
    ConcernType,
    Gender,
    HouseStructure,
    HouseUse,
    KeyLevel,
    Occupancy,
    PermitType,
    PersonCategory,
    PropertyType,
    ReviewStatus,
    RiskLevel,
    UnitType,
)


def _search_key(expression, max_length: int) -> models.GeneratedField:
    """A column the database computes from others (stored), for search; indexed in Meta by `_key_index`."""
    return models.GeneratedField(
        expression=expression,
        output_field=models.CharField(max_length=max_length, null=True),
        db_persist=True,
    )


def _hash_key(source: str, kind: str, last: int | None = None) -> crypto.SearchHashField:
    """A keyed hash of an encrypted field (or of its last digits), kept by the ORM; indexed by `_key_index`."""
    return crypto.SearchHashField(source=source, kind=kind, last=last)


def _key_index(field: str, name: str, *, prefix: bool = False) -> models.Index:
    """One index per search key: exact keys need a plain b-tree; prefix keys on PostgreSQL need
    `varchar_pattern_ops` for LIKE 'x%' (SQLite ignores opclasses and searches by range)."""
    return models.Index(fields=[field], name=name, opclasses=["varchar_pattern_ops"] if prefix else [])


class Address(TimeStampedModel):
    """标准地址: a standard address from division code down to the room, with its review."""

    TERRITORY = ("grid", "grid_id")

    code = models.CharField(_("地址编码"), max_length=40, unique=True)
    division_code = models.CharField(_("行政区划代码"), max_length=6)
    street_town = models.CharField(_("乡镇街道"), max_length=50)
    road = models.CharField(_("街路巷"), max_length=50)
    door_number = models.CharField(_("门楼牌号"), max_length=30)
    estate = models.CharField(_("小区"), max_length=50, blank=True)
    building = models.CharField(_("楼栋"), max_length=20, blank=True)
    unit_no = models.CharField(_("单元"), max_length=10, blank=True)
    floor = models.CharField(_("楼层"), max_length=10, blank=True)
    room = models.CharField(_("房间"), max_length=20, blank=True)
    full_text = models.CharField(_("完整地址"), max_length=300, db_index=True, editable=False)
    # Search keys (registry.search), computed by the database: the full text from the road on and from the
    # estate on, so that an address fragment starting at the road or the estate is a prefix lookup.
    road_text = _search_key(Substr("full_text", Length("street_town") + 1), 300)
    estate_text = _search_key(
        Case(When(estate="", then=Value("")), default=Substr("full_text", StrIndex("full_text", "estate"))),
        300,
    )
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    grid = models.ForeignKey(
        "org.Grid", models.PROTECT, related_name="addresses", verbose_name=_("网格/警务区")
    )
    review_status = models.CharField(
        _("审核结果"), max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.PENDING
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审核人"),
    )
    reviewed_at = models.DateTimeField(_("审核时间"), null=True, blank=True)
    review_note = models.CharField(_("审核意见"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("标准地址")
        verbose_name_plural = _("标准地址")
        ordering = ["code"]
        indexes = [
            _key_index("road_text", "address_road_text", prefix=True),
            _key_index("estate_text", "address_estate_text", prefix=True),
        ]

    def __str__(self) -> str:
        return self.full_text

    def compose(self) -> str:
        parts = [self.street_town, self.road, self.door_number, self.estate]
        if self.building:
            parts.append(f"{self.building}栋")
        if self.unit_no:
            parts.append(f"{self.unit_no}单元")
        if self.room:
            parts.append(f"{self.room}室")
        return "".join(p for p in parts if p)


class House(crypto.EncryptedModel, TimeStampedModel):
    """实有房屋: a house with its structure, use, occupancy, rental block, owner and footprint."""

    TERRITORY = ("grid", "grid_id")

    code = models.CharField(_("房屋编码"), max_length=40, unique=True)
    address = models.OneToOneField(Address, models.PROTECT, related_name="house", verbose_name=_("地址"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="houses", verbose_name=_("网格"))
    property_type = models.CharField(_("房屋性质"), max_length=15, choices=PropertyType.choices)
    use = models.CharField(
        _("房屋用途"), max_length=15, choices=HouseUse.choices, default=HouseUse.RESIDENTIAL
    )
    structure = models.CharField(_("建筑结构"), max_length=15, choices=HouseStructure.choices)
    floors = models.PositiveSmallIntegerField(_("层数"), default=1)
    area = models.DecimalField(_("建筑面积（㎡）"), max_digits=9, decimal_places=2, null=True, blank=True)
    occupancy = models.CharField(
        _("居住类型"), max_length=15, choices=Occupancy.choices, default=Occupancy.OWNER
    )
    # Rental block (出租信息)
    rooms_let = models.PositiveSmallIntegerField(_("出租间数"), null=True, blank=True)
    tenants = models.PositiveSmallIntegerField(_("承租人数"), null=True, blank=True)
    monthly_rent = models.DecimalField(
        _("月租金（元）"), max_digits=9, decimal_places=2, null=True, blank=True
    )
    rental_since = models.DateField(_("出租起始日期"), null=True, blank=True)
    responsibility_signed_on = models.DateField(_("治安责任书签订日期"), null=True, blank=True)
    refused_rectification = models.BooleanField(_("拒不整改"), default=False)
    # People responsible for the house
    owner_name = models.CharField(_("产权人"), max_length=50, blank=True)
    # Encrypted at rest (core.crypto); nothing searches them, so they have no hash columns.
    owner_id_number = crypto.EncryptedCharField(_("产权人身份号码"), max_length=18, blank=True)
    owner_phone = crypto.EncryptedCharField(_("产权人电话"), max_length=20, blank=True)
    landlord_name = models.CharField(_("出租人"), max_length=50, blank=True)
    landlord_phone = crypto.EncryptedCharField(_("出租人电话"), max_length=20, blank=True)
    manager_name = models.CharField(_("托管人"), max_length=50, blank=True)
    manager_phone = crypto.EncryptedCharField(_("托管人电话"), max_length=20, blank=True)
    # Map: GeoJSON footprint polygon (WGS-84) and its centre.
    footprint = models.JSONField(_("占地轮廓"), null=True, blank=True)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)
    # Derived by the colour rules; kept with the reasons so that every colour explains itself.
    colour = models.CharField(
        _("分色"), max_length=6, choices=Colour.choices, default=Colour.GREEN, db_index=True
    )
    colour_reasons = models.JSONField(_("分色原因"), default=list, blank=True)
    last_visit_at = models.DateTimeField(_("最近走访"), null=True, blank=True)
    next_visit_due = models.DateField(_("下次走访期限"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("实有房屋")
        verbose_name_plural = _("实有房屋")
        ordering = ["code"]
        indexes = [
            models.Index(fields=["grid", "colour"]),
            models.Index(fields=["grid", "next_visit_due"]),
            # Map tiles find houses by their point; with grid and colour the zoomed-out cells (grouped by
            # colour, scoped by grid) are read from the index alone.
            models.Index(fields=["lng", "lat", "grid", "colour"], name="house_point"),
        ]

    def __str__(self) -> str:
        return self.address.full_text if self.address_id else self.code


class Household(TimeStampedModel):
    """户: the people living together in a house (a registered 户 or a rented household), coloured too."""

    TERRITORY = ("grid", "grid_id")

    house = models.ForeignKey(House, models.PROTECT, related_name="households", verbose_name=_("房屋"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="households", verbose_name=_("网格"))
    household_no = models.CharField(_("户号"), max_length=20, blank=True, db_index=True)
    head = models.ForeignKey(
        "Person", models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("户主")
    )
    colour = models.CharField(
        _("分色"), max_length=6, choices=Colour.choices, default=Colour.GREEN, db_index=True
    )
    colour_reasons = models.JSONField(_("分色原因"), default=list, blank=True)
    last_visit_at = models.DateTimeField(_("最近走访"), null=True, blank=True)
    next_visit_due = models.DateField(_("下次走访期限"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["house__code", "id"]

    def __str__(self) -> str:
        return f"{self.house} · {self.household_no or self.pk}"


class Person(crypto.EncryptedModel, TimeStampedModel):
    """实有人口: a person living in the territory, in exactly one of the five categories."""

    TERRITORY = ("grid", "grid_id")

    # ID and phone numbers are encrypted at rest (core.crypto): unique and searchable through their hashes.
    id_number = crypto.EncryptedCharField(_("公民身份号码"), max_length=18, null=True, blank=True)
    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    name_initials = models.CharField(_("姓名拼音首字母"), max_length=20, db_index=True, editable=False)
    gender = models.CharField(_("性别"), max_length=1, choices=Gender.choices)
    ethnicity = models.CharField(_("民族"), max_length=2, choices=ETHNICITIES, default="01")
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    phone = crypto.EncryptedCharField(_("联系电话"), max_length=20, blank=True)
    # Search keys (registry.search). Keyed hashes of the whole ID number and phone and of their last
    # digits, computed by the ORM on every save and bulk_create (`crypto.SearchHashField.pre_save`); the
    # importer's and seed's raw writers compute them too (`importers.insert_rows`). The name without its
    # first character (given names: "建国" finds 陈建国) is computed by the database.
    id_hash = _hash_key("id_number", "id")
    id_last4 = _hash_key("id_number", "id", 4)
    id_last5 = _hash_key("id_number", "id", 5)
    id_last6 = _hash_key("id_number", "id", 6)
    phone_hash = _hash_key("phone", "phone")
    phone_last4 = _hash_key("phone", "phone", 4)
    given_name = _search_key(Substr("name", 2), 50)
    register_address = models.CharField(_("户籍地址"), max_length=200, blank=True)
    house = models.ForeignKey(
        House, models.PROTECT, null=True, blank=True, related_name="residents", verbose_name=_("现住房屋")
    )
    household = models.ForeignKey(
        Household, models.SET_NULL, null=True, blank=True, related_name="members", verbose_name=_("所在户")
    )
    relation_to_head = models.CharField(_("与户主关系"), max_length=10, blank=True)
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="persons", verbose_name=_("网格"))
    registered_here = models.BooleanField(_("人户一致"), default=True)
    category = models.CharField(_("人员类别"), max_length=2, choices=PersonCategory.choices)
    # 流动人口 block
    inflow_reason = models.CharField(_("流入原因"), max_length=50, blank=True)
    permit_type = models.CharField(_("居住证件类型"), max_length=10, choices=PermitType.choices, blank=True)
    permit_number = models.CharField(_("居住证号"), max_length=30, blank=True)
    permit_expires_on = models.DateField(_("居住证有效期至"), null=True, blank=True)
    registered_on = models.DateField(_("登记日期"), null=True, blank=True)
    residence_type = models.CharField(_("住所类型"), max_length=20, blank=True)
    # 境外人员 block
    foreign_name = models.CharField(_("外文姓名"), max_length=100, blank=True)
    nationality = models.CharField(_("国籍（地区）"), max_length=3, blank=True)
    document_type = models.CharField(_("证件种类"), max_length=20, blank=True)
    document_number = models.CharField(_("证件号码"), max_length=30, blank=True)
    stay_purpose = models.CharField(_("来华目的"), max_length=50, blank=True)
    arrived_on = models.DateField(_("入境日期"), null=True, blank=True)
    expected_departure_on = models.DateField(_("拟离开日期"), null=True, blank=True)
    # 未落常住 block
    unsettled_reason = models.CharField(_("未落户原因"), max_length=100, blank=True)
    unsettled_since = models.DateField(_("未落户起始日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("实有人口")
        verbose_name_plural = _("实有人口")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["nationality", "document_type", "document_number"],
                condition=Q(category="04"),
                name="one_foreigner_per_document",
            ),
            models.CheckConstraint(
                condition=Q(category="04") | Q(id_number__isnull=False), name="citizens_have_an_id_number"
            ),
            # One person per ID number: the ciphertexts all differ, so uniqueness is on the keyed hash
            # (NULL for foreigners without one). It also indexes the exact ID search.
            models.UniqueConstraint(fields=["id_hash"], name="one_person_per_id_number"),
        ]
        indexes = [
            models.Index(fields=["grid", "category"]),
            _key_index("id_last4", "person_id_last4"),
            _key_index("id_last5", "person_id_last5"),
            _key_index("id_last6", "person_id_last6"),
            _key_index("phone_hash", "person_phone_hash"),
            _key_index("phone_last4", "person_phone_last4"),
            _key_index("given_name", "person_given_name", prefix=True),
        ]

    def __str__(self) -> str:
        return self.name


class PersonOfConcern(TimeStampedModel):
    """重点人员: a person under special management; sensitive (PIPL art. 28), every read audited."""

    TERRITORY = ("grid", "person__grid_id")

    person = models.ForeignKey(Person, models.PROTECT, related_name="concerns", verbose_name=_("人员"))
    concern_type = models.CharField(_("重点人员类别"), max_length=15, choices=ConcernType.choices)
    status = models.CharField(_("管控状态"), max_length=1, choices=ConcernStatus.choices)
    reason = models.CharField(_("列管事由"), max_length=300)
    listed_on = models.DateField(_("列管日期"), null=True, blank=True)
    delisted_on = models.DateField(_("撤管日期"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("申请人")
    )
    request_note = models.CharField(_("申请说明"), max_length=300, blank=True)
    transfer_to = models.ForeignKey(
        "org.Grid",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("转递至网格"),
        help_text=_("转递申请中：接收管控的网格，由其所属派出所所长审批接收"),
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    decided_at = models.DateTimeField(_("审批时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("重点人员")
        verbose_name_plural = _("重点人员")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "concern_type"], condition=~Q(status="4"), name="one_open_concern_per_type"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_concern_type_display()} · {self.get_status_display()}"

    @property
    def is_listed(self) -> bool:
        """Counts as listed (列管中) for the colour rules while listed or while a delisting is pending."""
        return self.status in {
            ConcernStatus.LISTED,
            ConcernStatus.DELISTING_REQUESTED,
            ConcernStatus.TRANSFER_REQUESTED,
            ConcernStatus.RECLASS_REQUESTED,
        }


class Unit(crypto.EncryptedModel, TimeStampedModel):
    """实有单位: an organisation or business at an address; key units (重点单位) carry a level."""

    TERRITORY = ("grid", "grid_id")

    name = models.CharField(_("单位名称"), max_length=100, db_index=True)
    credit_code = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    unit_type = models.CharField(_("单位类型"), max_length=15, choices=UnitType.choices)
    industry = models.CharField(_("行业"), max_length=50, blank=True)
    address = models.ForeignKey(Address, models.PROTECT, related_name="units", verbose_name=_("地址"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="units", verbose_name=_("网格"))
    legal_representative = models.CharField(_("法定代表人"), max_length=50, blank=True)
    security_lead = models.CharField(_("治保负责人"), max_length=50, blank=True)
    security_phone = crypto.EncryptedCharField(_("治保负责人电话"), max_length=20, blank=True)
    is_key = models.BooleanField(_("重点单位"), default=False, db_index=True)
    key_level = models.CharField(_("重点单位等级"), max_length=1, choices=KeyLevel.choices, blank=True)
    risk_level = models.CharField(
        _("风险等级"), max_length=6, choices=RiskLevel.choices, default=RiskLevel.LOW
    )
    camera_count = models.PositiveIntegerField(_("监控探头数"), default=0)
    lng = models.FloatField(_("经度"), null=True, blank=True)
    lat = models.FloatField(_("纬度"), null=True, blank=True)

    class Meta:
        verbose_name = _("实有单位")
        verbose_name_plural = _("实有单位")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_key=False) | ~Q(key_level=""), name="key_units_have_a_level"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ColourRuleSet(models.Model):
    """红黄绿分色规则: the administrator-editable factors and thresholds (one active row)."""

    name = models.CharField(_("名称"), max_length=50, default="默认规则")
    params = models.JSONField(_("参数"))
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("更新人"),
    )

    class Meta:
        verbose_name = _("分色规则")
        verbose_name_plural = _("分色规则")

    def __str__(self) -> str:
        return self.name


class ColourChange(models.Model):
    """分色变更记录: one colour change of a house or household, with the reasons at that moment."""

    TERRITORY = ("grid", "grid_id")

    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    house = models.ForeignKey(House, models.CASCADE, null=True, blank=True, related_name="colour_history")
    household = models.ForeignKey(
        Household, models.CASCADE, null=True, blank=True, related_name="colour_history"
    )
    old_colour = models.CharField(_("原分色"), max_length=6, choices=Colour.choices, blank=True)
    new_colour = models.CharField(_("新分色"), max_length=6, choices=Colour.choices)
    reasons = models.JSONField(_("原因"), default=list)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)
    trigger = models.CharField(_("触发"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("分色变更")
        verbose_name_plural = _("分色变更")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.old_colour} → {self.new_colour}"


class Visit(TimeStampedModel):
    """入户走访: an officer's visit to a household; resets the visit clock set by its colour."""

    TERRITORY = ("grid", "grid_id")

    household = models.ForeignKey(Household, models.PROTECT, related_name="visits", verbose_name=_("户"))
    grid = models.ForeignKey("org.Grid", models.PROTECT, related_name="+", verbose_name=_("网格"))
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("走访人")
    )
    visited_at = models.DateTimeField(_("走访时间"))
    findings = models.TextField(_("走访情况"))
    photo = models.ImageField(_("照片"), upload_to="visits/", blank=True)
    colour_at_visit = models.CharField(_("走访时分色"), max_length=6, choices=Colour.choices)
    next_due = models.DateField(_("下次走访期限"))

    class Meta:
        verbose_name = _("入户走访")
        verbose_name_plural = _("入户走访")
        ordering = ["-visited_at"]

    def __str__(self) -> str:
        return f"{self.household} · {self.visited_at:%Y-%m-%d}"
