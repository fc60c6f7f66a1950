"""The pictures of docs/user/README.md: signing in (taken before anyone signs in), then the account menu (this
tour signs in through the login form itself, as the officer)."""

from __future__ import annotations

from doorstep.manual.shoot import sign_in
from doorstep.manual.tour import Shot


def _sign_in_and_open_the_account_menu(page, ctx) -> None:
    sign_in(page, "officer")
    page.get_by_label("账户", exact=True).click()
    page.get_by_text("我的账户与接口令牌", exact=True).wait_for()


SHOTS: list[Shot] = [
    Shot("common/login", "/accounts/login/", labels=("登录",), highlight="css=button[type=submit]"),
    Shot(
        "common/account-menu",
        "/accounts/login/",
        labels=("我的账户与接口令牌", "退出登录"),
        act=_sign_in_and_open_the_account_menu,
        highlight="我的账户与接口令牌",
    ),
]
