"""The label check of the tour (shoot.FIND_LABEL_JS) in Chromium on a page made for it: a label counts only where a
user sees it — in the page's own visible content, as a whole menu item, or as a visible control's caption —
so a button removed from a page fails the tour even when the navbar happens to contain the same characters."""

from __future__ import annotations

import pytest

from doorstep.manual import shoot
from doorstep.manual.tests import require_chromium

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html><head><title>报警调度台 · Doorstep</title></head><body>
<header class="navbar"><a href="/map/">电子地图</a><div class="dropdown-menu" style="display:none">
<a class="dropdown-item" href="/a/">我的账户与接口令牌</a></div></header>
<main><h2>报警调度台</h2><p>已受理，纠纷编号<b>城东所调2026第00013号</b></p>
<button type="submit">派警</button><input type="submit" value="保存评分">
<input placeholder="搜索人员、房屋、单位"><a href="/x/" title="历史考核"><i></i></a>
<select><option>真实警情</option><option>误报</option></select>
<div style="display:none"><button>结案</button>只在隐藏处</div>
<input type="hidden" value="提交考核"><select style="display:none"><option>测试</option></select>
</main><footer>仅供内部使用</footer></body></html>"""


@pytest.fixture(scope="module")
def page():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shoot.CHROMIUM, args=shoot.CHROMIUM_ARGS)
        tab = browser.new_page()
        tab.set_content(PAGE)
        yield tab
        browser.close()


@pytest.mark.parametrize(
    "label",
    [
        "派警",
        "保存评分",
        "已受理，纠纷编号",
        "报警调度台",
        "电子地图",
        "我的账户与接口令牌",
        "搜索人员",
        "历史考核",
        "误报",
    ],
)
def test_a_label_the_user_sees_is_found(page, label):
    assert page.evaluate(shoot.FIND_LABEL_JS, label) is True


@pytest.mark.parametrize(
    "label",
    [
        "地图",  # only part of a menu item: every page's navbar would "have" it
        "结案",  # only in a hidden block
        "只在隐藏处",
        "提交考核",  # a hidden input's value
        "测试",  # an option of a hidden list
        "内部",  # part of the footer
        "删除",  # nowhere
    ],
)
def test_a_label_the_user_does_not_see_is_not_found(page, label):
    assert page.evaluate(shoot.FIND_LABEL_JS, label) is False
