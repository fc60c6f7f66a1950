"""A 五统一 inspection filled in on a phone in real Debian Chromium (Playwright, sync API).

The station director signs in on a 390×844 viewport, opens 西福警务室's inspection history, starts an
inspection, marks every item 合格 except the door sign, explains it and attaches a photo (a small PNG
generated here), submits, and sees the score and the rectification task assigned to the grid officer. No
request may leave the server, no console or page error may occur, and nothing may scroll sideways;
screenshots go to var/screenshots/.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
from PIL import Image

from doorstep.core.tests.browser import (  # noqa: F401 - fixtures
    SCREENSHOTS,
    TIMEOUT_MS,
    Watch,
    _async_unsafe_allowed,
    chromium,
    sign_in,
    world,
)
from doorstep.desk.choices import InspectionStatus, TaskStatus
from doorstep.desk.inspection_seed import ensure_checklist
from doorstep.desk.models import Inspection, InspectionPhoto

pytestmark = pytest.mark.browser


def test_director_inspects_a_police_room_on_a_phone(world, live_server, chromium, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path / "media"
    ensure_checklist()  # the live-server database is flushed between tests: put version 1 back
    photo = tmp_path / "door-sign.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 90), (180, 40, 40)).save(buffer, format="PNG")
    photo.write_bytes(buffer.getvalue())

    origin = live_server.url
    server = urlsplit(origin).netloc
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    watch = Watch()
    context = chromium.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = sign_in(context, origin, watch, "director")

    page.goto(f"{origin}/desk/inspections/rooms/{world.room_c1.pk}/")
    assert "西福警务室" in page.inner_text("h2")
    page.click("[data-testid=start-inspection]")
    page.wait_for_selector("[data-testid=inspection-form]")
    rows = page.locator("[data-testid=row]")
    assert rows.count() == 14
    first = rows.nth(0)
    first.locator("[data-testid=fail]").click()
    first.locator("input[name^=note-]").fill("门头标牌破损，夜间不亮灯")
    first.locator("input[type=file]").set_input_files(str(photo))
    for i in range(1, rows.count()):
        rows.nth(i).locator("[data-testid=pass]").click()
    # The grid officer of the community is proposed as the owner; the due date defaults to a week.
    assert "刘芳" in page.locator("#id_owner option:checked").inner_text()
    assert page.input_value("#id_due_on")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "desk-inspection-phone.png"), full_page=True)
    page.click("[data-testid=submit]")

    page.wait_for_selector("[data-testid=score]")
    assert page.inner_text("[data-testid=score]").strip() == "90.0"
    task_row = page.locator("[data-testid=task-row]")
    assert task_row.count() == 1
    assert "门头标牌" in task_row.inner_text() and "刘芳" in task_row.inner_text()
    inspection = Inspection.objects.get()
    assert inspection.status == InspectionStatus.SUBMITTED
    task = inspection.tasks.get()
    assert task.status == TaskStatus.OPEN and task.owner == world.officer_a_staff
    assert InspectionPhoto.objects.filter(row=task.row).count() == 1
    # The photo shows as a thumbnail, loaded through the scoped view.
    assert page.locator("img[alt=检查照片]").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "desk-inspection-result-phone.png"), full_page=True)
    watch.check(server)
    context.close()
