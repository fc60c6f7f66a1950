"""The guides: one per role of the demo district, and the residents' guide to the portal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDES = ROOT / "docs" / "user"


@dataclass(frozen=True)
class Role:
    slug: str  # docs/user/<slug>.md, doorstep/manual/tours/<slug>.py, img/<slug>/...
    title: str  # the role's name in the guide's title and the site's index
    user: str | None  # the demo login the tour signs in as (password Doorstep@2026); None: not signed in
    summary: str  # one line on the index: what this person does with Doorstep

    @property
    def guide(self) -> Path:
        return GUIDES / f"{self.slug}.md"


ROLES: tuple[Role, ...] = (
    Role("leader", "分局领导", "leader", "全局态势、考评结果、重大警情，一屏掌握"),
    Role("kaoping", "考评办", "kaoping", "按月考评、抽查核实、通报与评星"),
    Role("director", "所长", "director", "本所网格编制、排班值守、审批与考评"),
    Role("dispatcher", "调度员", "dispatcher", "一键报警接警派警、视频巡查与远程喊话"),
    Role("officer", "社区民警", "officer", "网格走访、实有人口房屋、手机工作台"),
    Role("auxiliary", "协勤员", "auxiliary", "走访采集、警务室值守与受理"),
    Role("mediator", "调解员", "mediator", "矛盾纠纷受理、调解与协议"),
    Role("patrol", "巡防队员", "patrol", "巡逻签到、轨迹与发现上报、宣传活动"),
    Role("admin", "系统管理员", "admin", "用户与权限、两步验证、审计与组织架构"),
    Role("resident", "居民（网上警务室）", None, "找到自己的社区民警、网上办事、举报与评议"),
)

BY_SLUG = {role.slug: role for role in ROLES}

# The tours: one per guide, and `common` for the pictures of docs/user/README.md (signing in, the account menu),
# taken before anyone signs in.
TOURS: tuple[str, ...] = ("common", *(role.slug for role in ROLES))
TOUR_USERS: dict[str, str | None] = {"common": None, **{role.slug: role.user for role in ROLES}}
