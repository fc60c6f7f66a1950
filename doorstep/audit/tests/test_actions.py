"""Action labels on the auditor's page: every action the source can write has a Chinese label, and the page
shows labels, object types and "字段：前 → 后" lines instead of codes and Python dict reprs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from doorstep.audit import actions, display
from doorstep.audit.models import AuditEntry
from doorstep.audit.services import record_event, record_login_failure

ROOT = Path(__file__).resolve().parents[2]  # the doorstep package
CODE_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
AUDIT_CALLS = {"record_change", "record_event"}
# Private helpers that pass their `action` argument on to record_change: (module, function) → (index of the
# action argument, how the code is built). A literal at their call sites is a code like any other.
WRAPPERS = {
    ("desk/services.py", "_save"): (2, "desk.{}"),
    ("mediation/services.py", "_save"): (2, "mediation.{}"),
    ("org/services.py", "_end"): (4, "{}"),
    ("mobile/sync.py", "_audit"): (1, "{}"),
}
# Audit calls whose code is built at run time; each family is checked in test_dynamic_families_are_labelled.
# A new call site of this kind fails test_every_code_in_the_source_has_a_label until it is listed here and its
# family is checked.
DYNAMIC = {
    ("desk/services.py", "_save"),  # f"desk.{action}": TRANSITIONS and the _save literals
    ("desk/services.py", "transition"),  # _save(intake, by, action): action is a TRANSITIONS key
    ("mediation/services.py", "_save"),  # f"mediation.{action}": ACTION_LABELS and the _save literals
    ("org/services.py", "_end"),
    ("mobile/sync.py", "_audit"),
    ("patrol/publicity.py", "set_post_status"),  # f"patrol.post_{action}": publicity.TRANSITIONS
    ("portal/notices.py", "set_notice_status"),  # f"portal.notice_{action}": notices.TRANSITIONS
    ("registry/importers.py", "audit"),  # f"registry.import_{entity}": importers.IMPORTERS
}


def _python_files():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if "tests" in rel.parts or "migrations" in rel.parts:
            continue
        yield rel.as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _action_arg(call: ast.Call, index: int) -> ast.expr | None:
    if len(call.args) > index:
        return call.args[index]
    return next((k.value for k in call.keywords if k.arg == "action"), None)


def _constants(arg: ast.expr, module_constants: dict[str, str]) -> list[str] | None:
    """The codes an argument can hold, or None when it is built at run time."""
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return [arg.value]
    if isinstance(arg, ast.Name) and arg.id in module_constants:
        return [module_constants[arg.id]]
    if isinstance(arg, ast.IfExp):
        body, orelse = _constants(arg.body, module_constants), _constants(arg.orelse, module_constants)
        return None if body is None or orelse is None else body + orelse
    return None


def scan() -> tuple[dict[str, list[str]], list[str]]:
    """Every action code written literally in the source, with where; and the unexplained dynamic call sites."""
    found: dict[str, list[str]] = {}
    unexplained: list[str] = []
    for rel, tree in _python_files():
        module_constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        owner = {
            id(c): f.name for f in functions for c in ast.walk(f)
        }  # innermost function wins (walk order)
        for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
            name = _name(call.func)
            where = f"{rel}:{call.lineno}"
            for keyword in call.keywords:  # action="x.y" (a query on the log, a helper's argument)
                value = keyword.value
                if (
                    keyword.arg == "action"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                    and CODE_RE.match(value.value)
                ):
                    found.setdefault(value.value, []).append(where)
            if name in AUDIT_CALLS:
                index, template = 1, "{}"
            elif (rel, name) in WRAPPERS:
                index, template = WRAPPERS[(rel, name)]
            else:
                continue
            arg = _action_arg(call, index)
            if (
                arg is None
            ):  # a function of the same name that takes no action (patrol.publicity.record_event)
                continue
            codes = _constants(arg, module_constants)
            if codes is None:
                if (rel, owner.get(id(call))) not in DYNAMIC:
                    unexplained.append(f"{where} {ast.unparse(arg)}")
                continue
            for code in codes:
                found.setdefault(template.format(code), []).append(where)
    return found, unexplained


def test_every_code_in_the_source_has_a_label():
    found, unexplained = scan()
    assert len(found) > 200, "the scan found too few codes: has the way services call record_change changed?"
    missing = {code: where for code, where in found.items() if code not in actions.LABELS}
    assert not missing, f"add these action codes to doorstep/audit/actions.py LABELS: {missing}"
    assert not unexplained, (
        f"audit calls with a code built at run time: label the family and list it in DYNAMIC: {unexplained}"
    )


def test_dynamic_families_are_labelled():
    from doorstep.audit import review
    from doorstep.desk import services as desk
    from doorstep.mediation import services as mediation
    from doorstep.patrol import publicity
    from doorstep.portal import notices
    from doorstep.registry import importers

    codes = [
        *(f"desk.{action}" for action in desk.TRANSITIONS),
        *(f"mediation.{action}" for action in mediation.ACTION_LABELS),
        *(f"patrol.post_{action}" for action in publicity.TRANSITIONS),
        *(f"portal.notice_{action}" for action in notices.TRANSITIONS),
        *(f"registry.import_{entity}" for entity in importers.IMPORTERS),
        *review.FAILED_LOGIN_ACTIONS,
        *review.NOT_PERMISSION_ACTIONS,
        *review.RETENTION_ACTIONS,
    ]
    assert [c for c in codes if c not in actions.LABELS] == []


def test_labels_are_short_chinese_and_distinct():
    texts = [str(t) for t in actions.LABELS.values()]
    assert all(re.search(r"[\u4e00-\u9fff]", t) and len(t) <= 20 for t in texts)
    assert len(set(texts)) == len(texts), "two actions read alike in the filter"
    assert all(CODE_RE.match(code) for code in actions.LABELS)


def test_unknown_code_falls_back_to_itself():
    assert actions.label("registry.update_person") == "修改人员信息"
    assert actions.label("someapp.brand_new_thing") == "someapp.brand_new_thing"
    assert actions.label("") == ""


def test_values_are_shown_plainly():
    assert display.plain(None) == display.plain("") == "—"
    assert (display.plain(True), display.plain(False)) == ("是", "否")
    assert display.plain(["身份证", "户口簿"]) == "身份证、户口簿"
    assert display.plain({"status": 403}) == "status：403"
    long = display.plain("长" * 200)
    assert len(long) == display.MAX_CHARS and long.endswith("…")
    assert display.plain("2026-11-18T02:00:00+00:00") == "2026-11-18 10:00:00"  # local time (Asia/Shanghai)
    assert display.plain("2026-11-18") == "2026-11-18"
    assert display.type_label("http.request") == "网页请求"  # an event type named in display.TYPE_NAMES
    assert display.type_label("someapp.thing") == "someapp.thing"  # anything else: as stored
    assert display.type_label("org.policeroom") == "警务室"


@pytest.mark.django_db
def test_page_shows_labels_and_changes_not_codes_and_reprs(world, client_for):
    from doorstep.org import services as org

    room = world.room_c1
    old_name = room.name
    org.update_police_room(room, by=world.director, name="城东新警务室", open_24h=False)
    record_login_failure("officer_a", user=world.officer_a)
    record_event(None, "someapp.brand_new_thing", "someapp.thing", after={"count": 3})

    r = client_for(world.admin).get("/audit/")

    assert r.status_code == 200
    html = r.content.decode()
    assert "修改警务室" in html and "org.update_police_room" in html  # label, and the code beneath it
    assert f"名称：</span>{old_name} → 城东新警务室" in html
    assert "24小时开放：</span>是 → 否" in html
    assert "登录失败" in html and "密码错误" in html
    assert "someapp.brand_new_thing" in html  # unknown: the code itself
    assert "数量：</span>3" in html  # an event's value by the name of its key (display.EVENT_FIELDS)
    assert "{&#x27;" not in html and "{'" not in html  # no Python dict repr


@pytest.mark.django_db
def test_a_creation_lists_at_most_eight_values_then_a_count(world, client_for):
    from doorstep.org import services as org
    from doorstep.org.choices import StaffKind

    staff = org.create_staff(
        sub_bureau=world.sub_bureau,
        station=world.s1,
        kind=StaffKind.POLICE,
        name="郑伟",
        badge_number="700001",
    )
    entry = AuditEntry.objects.get(action="org.create_staff", object_id=str(staff.pk))
    lines, more = display.changes(entry)
    assert len(lines) == display.MAX_FIELDS and more == len(entry.after) - 1 - display.MAX_FIELDS > 0  # no id
    assert all(line.before is None for line in lines)

    html = client_for(world.leader).get("/audit/", {"action": "org.create_staff"}).content.decode()

    assert "添加警务人员" in html and "警务人员 #" in html  # the object type as the model's verbose_name
    assert f"人员类别：</span>{StaffKind.POLICE.label}" in html  # a choice by its label
    assert "姓名：</span>郑伟" in html
    assert f"等{more}项" in html


@pytest.mark.django_db
def test_action_filter_is_a_select_of_labels_and_still_takes_old_links(world, client_for):
    record_login_failure("officer_a", user=world.officer_a)
    record_event(None, "accounts.lock", "accounts.user", object_id=world.officer_a.pk)
    c = client_for(world.evaluator)
    baseline = AuditEntry.objects.filter(action__startswith="accounts.").count()

    picked = c.get("/audit/", {"action": "accounts.lock"})
    assert picked.context["page"].paginator.count == 1
    assert '<option value="accounts.lock" selected>账户锁定</option>' in picked.content.decode()
    # Tabler's control, and "no choice" reads 全部, not "---------"
    assert '<select name="action" class="form-select"' in picked.content.decode()
    assert (
        '<option value="">全部</option>' in picked.content.decode()
        and "---------" not in picked.content.decode()
    )

    # a link saved from the old free-text box: part of a code, still a substring match, kept in the select
    saved = c.get("/audit/", {"action": "accounts."})
    assert saved.status_code == 200 and not saved.context["filter"].errors
    assert saved.context["page"].paginator.count == baseline
    assert 'value="accounts." selected' in saved.content.decode()

    # text of a label finds its codes too
    assert c.get("/audit/", {"action": "锁定"}).context["page"].paginator.count == 1


@pytest.mark.django_db
def test_access_log_names_types_and_fields_in_words(world, client_for):
    from doorstep.audit.models import AccessKind
    from doorstep.audit.services import record_access
    from doorstep.registry.models import Person

    record_access(world.officer_a, AccessKind.REVEAL, "registry.person", [7], fields=["id_number", "phone"])
    record_access(world.admin, AccessKind.EXPORT, "registry.person", range(1, 13), fields=["full"])
    record_access(world.admin, AccessKind.EXPORT, "audit.review", ["2026-W47"], fields=["failed_logins"])

    html = client_for(world.admin).get("/audit/", {"tab": "access"}).content.decode()

    person = str(Person._meta.verbose_name)
    names = [str(Person._meta.get_field(f).verbose_name) for f in ("id_number", "phone")]
    assert f"<td>{person}<div" in html and "#7</div>" in html
    assert f"<td>{'、'.join(names)}</td>" in html  # the fields by their names, not id_number/phone
    assert "#1、#2" in html and "等12条" in html and "<td>完整信息</td>" in html
    assert "<td>审计周报<div" in html and "<td>登录失败与锁定</td>" in html
    assert "registry.person" not in html and "id_number" not in html
