"""Drive the demo in Debian's Chromium through every role's tour: open each page, do what the step says, check
that every text the guide quotes is on the page, outline what to click, and take the picture.

It is also the test of the guides' pages: a page that errors, asks for anything outside the server, logs a
console error, or lacks a quoted label is a problem reported with the shot's name (`run` returns them all;
the tests and `make docs` fail on any)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from doorstep.manual.roles import TOUR_USERS, TOURS
from doorstep.manual.tour import DESKTOP, PHONE, TIME_ZONE, Ctx, Shot, shots_of

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
# The browser's own widgets (date boxes, file pickers) in Chinese, as on the users' machines: the flag and the
# environment together, with Debian's chromium-l10n (scripts/ensure-system-deps).
CHINESE = {"args": [*CHROMIUM_ARGS, "--lang=zh-CN"], "env": {"LANGUAGE": "zh_CN:zh", "LANG": "zh_CN.UTF-8"}}
PASSWORD = "Doorstep@2026"  # the demo users' password (doorstep/core/seed)
TIMEOUT_MS = 45_000
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Mobile Safari/537.36"
)

# Where a label counts as shown on a page, strictly enough that a removed button fails:
# - visible text of the page's own content (not its navbar, tab bar or footer, which every page repeats);
# - in the navbar, tab bar or footer: the whole text of one element (a menu item, even in a closed menu);
# - the placeholder (or part of it), aria-label, title or alt of a visible control, or the caption of a visible
#   button; an option of a visible list; the page title's first part.
FIND_LABEL_JS = """
(label) => {
  const norm = (s) => (s || '').replace(/\\s+/g, ' ').trim();
  const want = norm(label);
  const CHROME = 'header, nav, footer, .navbar, .m-tabs, .portal-tabbar';
  const shown = (el) => el && el.checkVisibility({opacityProperty: true, visibilityProperty: true});
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => {
      const el = n.parentElement;
      if (!el || ['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT', 'OPTION'].includes(el.tagName)) return NodeFilter.FILTER_REJECT;
      return !el.closest(CHROME) && shown(el) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT;
    },
  });
  for (let n = walker.nextNode(); n; n = walker.nextNode()) parts.push(n.nodeValue);
  const spaced = norm(parts.join(' '));
  if (spaced.includes(want) || norm(parts.join('')).replace(/ /g, '').includes(want.replace(/ /g, ''))) return true;
  for (const el of document.querySelectorAll(CHROME)) {
    for (const item of el.querySelectorAll('*')) if (norm(item.textContent) === want) return true;
  }
  for (const el of document.querySelectorAll('input, textarea, select, button, a, img, [aria-label], [title]')) {
    if (!shown(el)) continue;
    if (norm(el.getAttribute('placeholder')).includes(want)) return true;
    for (const a of ['aria-label', 'title', 'alt']) if (norm(el.getAttribute(a)) === want) return true;
    if ((el.tagName === 'BUTTON' || ['submit', 'button'].includes(el.type)) && norm(el.value || el.textContent) === want) return true;
    if (el.tagName === 'SELECT' && [...el.options].some((o) => norm(o.textContent) === want)) return true;
  }
  return norm(document.title.split('·')[0]) === want;
}
"""

OUTLINE_JS = """
(el) => {
  el.scrollIntoView({block: 'center', inline: 'nearest'});
  el.setAttribute('data-manual-outline', '');
  el.style.setProperty('outline', '3px solid #e8590c', 'important');
  el.style.setProperty('outline-offset', '2px', 'important');
}
"""


class Problems(list):
    def add(self, shot: Shot | str, message: str) -> None:
        name = shot.name if isinstance(shot, Shot) else shot
        self.append(f"{name}: {message}")


class Watch:
    """What a page did wrong while one shot was taken."""

    def __init__(self, origin: str) -> None:
        self.origin = urlsplit(origin).netloc
        self.reset()

    def reset(self) -> None:
        self.outside: list[str] = []
        self.errors: list[str] = []
        self.statuses: list[tuple[int, str]] = []

    def attach(self, page) -> None:
        page.on("request", self._request)
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"script error: {e}"))
        page.on("response", lambda r: self.statuses.append((r.status, r.url)) if r.status >= 400 else None)
        page.on(
            "requestfailed",
            lambda r: (
                self.errors.append(f"request failed: {r.url} {r.failure}")
                if "ERR_ABORTED" not in (r.failure or "")
                else None
            ),
        )

    def _request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme not in {"data", "blob"} and parts.netloc != self.origin:
            self.outside.append(request.url)


def locate(page, what: str):
    """The element a step means: "css=<selector>", or the control or text showing `what`."""
    if what.startswith("css="):
        return page.locator(what[4:]).first
    for candidate in (
        page.get_by_role("button", name=what, exact=True),
        page.get_by_role("link", name=what, exact=True),
        page.get_by_role("tab", name=what, exact=True),
        page.get_by_label(what, exact=True),
        page.get_by_text(what, exact=True),
        page.get_by_text(what),
    ):
        visible = candidate.locator("visible=true")
        if visible.count():
            return visible.first
    return None


def sign_in(page, user: str) -> None:
    """Through the login form the page shows, as the demo user `user`."""
    page.fill("#id_username", user)
    page.fill("#id_password", PASSWORD)
    page.locator("form:has(#id_password) button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


class Tab:
    """One signed-in browser context (desktop or phone) of a role, with its page and watch."""

    def __init__(self, browser, base: str, user: str | None, phone: bool) -> None:
        options = {"locale": "zh-CN", "timezone_id": TIME_ZONE, "viewport": PHONE if phone else DESKTOP}
        if phone:
            options.update(is_mobile=True, has_touch=True, user_agent=PHONE_UA, device_scale_factor=2)
        self.context = browser.new_context(**options)
        try:
            self.context.set_default_timeout(TIMEOUT_MS)
            self.page = self.context.new_page()
            self.watch = Watch(base)
            self.watch.attach(self.page)
            if user:
                self.page.goto(f"{base}/accounts/login/")
                sign_in(self.page, user)
        except Exception:
            self.context.close()
            raise

    def close(self) -> None:
        self.context.close()


def take(tab: Tab, shot: Shot, ctx: Ctx, images: Path, problems: Problems) -> None:
    page, watch = tab.page, tab.watch
    watch.reset()
    if shot.before:
        shot.before(ctx)
    if shot.path:
        answer = page.goto(ctx.url(shot.path))
        if answer is None or (answer.status >= 400 and answer.status not in shot.allow_status):
            problems.add(shot, f"{shot.path} answered {answer.status if answer else 'nothing'}")
    page.wait_for_load_state("networkidle")
    if shot.act:
        shot.act(page, ctx)
        page.wait_for_load_state("networkidle")
    if shot.wait_for:
        page.locator(shot.wait_for).first.wait_for(state="visible")
    missing = [label for label in shot.labels if not page.evaluate(FIND_LABEL_JS, label)]
    for label in missing:
        problems.add(shot, f"「{label}」 is not on {urlsplit(page.url).path}")
    if shot.highlight:
        element = locate(page, shot.highlight)
        if element is None:
            problems.add(
                shot, f"nothing to outline: 「{shot.highlight}」 is not shown on {urlsplit(page.url).path}"
            )
        else:
            element.evaluate(OUTLINE_JS)
    page.wait_for_timeout(shot.settle_ms)
    target = images / f"{shot.name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    if shot.clip:
        element = locate(page, shot.clip)
        if element is None:
            problems.add(shot, f"nothing to picture: 「{shot.clip}」 is not shown")
        else:
            element.screenshot(path=str(target))
    else:
        page.screenshot(path=str(target), full_page=shot.full_page)
    page.evaluate(
        "() => document.querySelectorAll('[data-manual-outline]').forEach((el) => {"
        " el.style.removeProperty('outline'); el.style.removeProperty('outline-offset');"
        " el.removeAttribute('data-manual-outline'); })"
    )
    for url in watch.outside:
        problems.add(shot, f"asked outside the server: {url}")
    for error in watch.errors:
        problems.add(shot, error)
    for status, url in watch.statuses:
        if status not in shot.allow_status:
            problems.add(shot, f"HTTP {status} for {url}")


def _first_line(error: BaseException) -> str:
    lines = (str(error) or repr(error)).splitlines()
    return lines[0][:300] if lines else repr(error)


def run(base: str, out: Path, env: dict[str, str], roles: list[str] | None = None) -> Problems:
    """Take every picture of the given tours (all when None) into out/img/<tour>/ (emptied first);
    return the problems found (empty when every page and label is as the guides say)."""
    from playwright.sync_api import sync_playwright

    problems = Problems()
    images = Path(out) / "img"
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=CHINESE["args"], env={**os.environ, **CHINESE["env"]}
        )
        try:
            for slug in roles or list(TOURS):
                ctx = Ctx(base=base, env=env)
                shutil.rmtree(
                    images / slug, ignore_errors=True
                )  # no picture of an earlier run passes for new
                tabs: dict[bool, Tab] = {}
                try:
                    for shot in shots_of(slug):
                        try:
                            if shot.phone not in tabs:
                                tabs[shot.phone] = Tab(browser, base, TOUR_USERS[slug], shot.phone)
                        except Exception as error:  # cannot sign in: the rest of this tour cannot run
                            problems.add(shot, f"cannot sign in as {TOUR_USERS[slug]}: {_first_line(error)}")
                            break
                        try:
                            take(tabs[shot.phone], shot, ctx, images, problems)
                        except Exception as error:  # a broken step is reported, and the role's tour goes on
                            problems.add(shot, f"{type(error).__name__}: {_first_line(error)}")
                finally:
                    for tab in tabs.values():
                        tab.close()
        finally:
            browser.close()
    return problems
