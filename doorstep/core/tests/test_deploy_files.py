"""The deployment guide and files stay true to the code: every `doorstep <command>` (and `manage.py <command>`)
named in docs/operations/*.md and deploy/ is a real management command, every variable of
deploy/doorstep.env.example is read by Doorstep (and every production variable of settings.py is listed
there), each systemd unit starts a real command with arguments its parser accepts, and the nginx site
proxies WebSockets with the upgrade headers, serves no uploaded file and accepts the uploads the app does.
The operations guide holds together: every `make` target it names is in the Makefile, its index (README.md)
links every file of docs/operations/, every link between its files reaches a file and a heading, every
metric it names is one Doorstep exports, and failures.md has a section for each service that can fail.

No database, no network: the files are read and parsed, nothing is started. (`nginx -t` and
`systemd-analyze verify` are for the operator's shell, not for the test run.)
"""

from __future__ import annotations

import importlib
import re
import shlex
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
DOCS = sorted((ROOT / "docs" / "operations").glob("*.md"))
DEPLOY_FILES = sorted(p for p in DEPLOY.rglob("*") if p.is_file())
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
TIMERS = sorted((DEPLOY / "systemd").glob("*.timer"))
ENV_EXAMPLE = DEPLOY / "doorstep.env.example"
NGINX_SITE = DEPLOY / "nginx" / "doorstep.conf"
NGINX_PROXY = DEPLOY / "nginx" / "doorstep-proxy.conf"
SETTINGS = ROOT / "doorstep" / "settings.py"
MAKEFILE = ROOT / "Makefile"
OPERATIONS = ROOT / "docs" / "operations"
METRICS = ROOT / "doorstep" / "core" / "metrics.py"
VENV_BIN = "/srv/doorstep/.venv/bin/"
ENV_FILE = "/etc/doorstep/doorstep.env"

# `doorstep X`, `bin/doorstep X`, `manage.py X`, and deploy.md's shell function `ds X`. The word before must not
# be part of a path or a user name (`root:doorstep`, `/var/lib/doorstep /run/...` is a list of paths).
INVOCATION = re.compile(r"(?<![\w.:@-])(doorstep|manage\.py|ds)(?=[ \t]+([a-z][a-z0-9_-]*))")
# Words after which `doorstep` is a user, group or database name, not the program (`sudo -u doorstep doorstep
# migrate`; pg_hba.conf's `hostssl doorstep doorstep_app ...`).
NOT_THE_PROGRAM = re.compile(r"(?:-u|--user|-g|--group|hostssl|host|local)[ \t]+$")

# Read by settings.py but not for a production installation: tests, `make demo`, the first releases' names.
NOT_FOR_PRODUCTION = {
    "TEST_DATABASE_NAME",
    "DOORSTEP_VIDEO_DEMO_SPEAKER_PORT",
    "MAP_TILE_URL",
    "MAP_STYLE_URL",
}


def code_text(path: Path) -> str:
    """What in a file can be a command: in Markdown the fenced blocks and `inline code`; elsewhere all of it."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".md":
        return text
    fenced = re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.M | re.S)
    prose = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.M | re.S)
    return "\n".join(fenced + re.findall(r"`([^`\n]+)`", prose))


def invocations(path: Path) -> list[tuple[str, str]]:
    text = code_text(path)
    found = []
    for match in INVOCATION.finditer(text):
        program, word = match.groups()
        if program == "ds" and path.name != "deploy.md":
            continue
        before = text[max(0, match.start() - 12) : match.start()]
        if word == "doorstep" or NOT_THE_PROGRAM.search(before):
            continue
        if before.endswith("/") and not before.endswith("bin/"):
            continue  # a path: `.../5432/doorstep exec ...`, `/var/lib/doorstep /run/doorstep/live`
        found.append((program, word))
    return found


def command_name(program: str, word: str) -> str:
    # cli.py turns `doorstep check-production` into check_production; manage.py takes names as they are.
    return word if program == "manage.py" else word.replace("-", "_")


def unit_lines(path: Path) -> list[tuple[str, str]]:
    """(key, value) of a unit file, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip()))
    return pairs


def exec_start(path: Path) -> list[str]:
    starts = [value for key, value in unit_lines(path) if key == "ExecStart"]
    assert len(starts) == 1, f"{path.name}: one ExecStart expected, found {len(starts)}"
    return shlex.split(starts[0].lstrip("-@:+!"))


def env_example_names() -> list[str]:
    return re.findall(r"^#?\s?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(encoding="utf-8"), flags=re.M)


def source_text() -> str:
    files = [
        p for p in (ROOT / "doorstep").rglob("*.py") if "tests" not in p.parts and "migrations" not in p.parts
    ]
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def nginx_location(text: str, pattern: str) -> str:
    """The body of the first `location <pattern> {...}` block (no nested braces in this file)."""
    match = re.search(r"location\s+" + pattern + r"\s*\{(.*?)\}", text, flags=re.S)
    assert match, f"no `location {pattern}` block in {NGINX_SITE.name}"
    return match.group(1)


def megabytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()
    return int(number) << {"": 0, "k": 10, "m": 20, "g": 30}[unit.lower()]


# --- commands -------------------------------------------------------------------------------------------------
def test_the_files_the_guide_names_exist():
    assert (ROOT / "docs" / "operations" / "deploy.md").is_file()
    for name in ["doorstep-web.service", "doorstep-alarmd.service", "doorstep-videod.service"]:
        assert (DEPLOY / "systemd" / name).is_file()
    for path in [ENV_EXAMPLE, NGINX_SITE, NGINX_PROXY]:
        assert path.is_file()
    guide = (ROOT / "docs" / "operations" / "deploy.md").read_text(encoding="utf-8")
    for path in DEPLOY_FILES:  # every deploy file is explained in the guide
        assert path.name in guide, f"deploy/{path.relative_to(DEPLOY)} is not mentioned in deploy.md"


@pytest.mark.parametrize("path", DOCS + DEPLOY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_named_is_a_management_command(path):
    commands = get_commands()
    unknown = sorted(
        {
            f"{program} {word}"
            for program, word in invocations(path)
            if command_name(program, word) not in commands
        }
    )
    assert not unknown, f"{path.relative_to(ROOT)} names commands that do not exist: {unknown}"


def test_the_guide_names_the_commands_it_relies_on():
    named = {command_name(p, w) for p, w in invocations(ROOT / "docs" / "operations" / "deploy.md")}
    expected = {"migrate", "collectstatic", "check_production", "alarmd", "videod", "tick", "backup"}
    assert expected <= named, f"deploy.md does not show: {sorted(expected - named)}"
    assert {"data_keys", "rotate_data_keys", "create_admin"} <= named


# --- environment ----------------------------------------------------------------------------------------------
def test_every_variable_of_the_env_example_is_read_by_doorstep():
    source = source_text()
    names = env_example_names()
    assert len(names) == len(set(names)), "a variable is listed twice in deploy/doorstep.env.example"
    unread = [name for name in names if f'"{name}"' not in source and f"'{name}'" not in source]
    assert not unread, f"deploy/doorstep.env.example lists variables nothing reads: {unread}"


def test_every_production_variable_of_settings_is_in_the_env_example():
    settings_text = SETTINGS.read_text(encoding="utf-8")
    read = set(re.findall(r"env_\w+\(\s*\"([A-Z][A-Z0-9_]*)\"", settings_text))
    read |= set(re.findall(r"os\.environ(?:\.get\(|\[)\"([A-Z][A-Z0-9_]*)\"", settings_text))
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DOORSTEP_MQTT_URL"} <= read  # the regexes still work
    missing = sorted(read - set(env_example_names()) - NOT_FOR_PRODUCTION)
    assert not missing, f"settings.py reads variables deploy/doorstep.env.example does not list: {missing}"


def test_the_env_example_is_for_production():
    values = dict(
        re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(encoding="utf-8"), flags=re.M)
    )
    assert values["DOORSTEP_ENV"] == "production"
    assert values["DOORSTEP_LOG_FORMAT"] == "json"
    assert values["DOORSTEP_TWO_FACTOR"] == "true"
    assert values["DOORSTEP_SMS_GATEWAY"] == "http"
    assert values["DATABASE_URL"].startswith("postgres://")
    assert values["DEBUG"] == "false"
    # Set by doorstep-web.service only: in the env file it would override the unit and reach alarmd/videod.
    assert "PROMETHEUS_MULTIPROC_DIR" not in values


# --- systemd ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_each_unit_starts_a_real_command(unit):
    argv = exec_start(unit)
    assert argv[0].startswith(VENV_BIN), f"{unit.name}: ExecStart should run {VENV_BIN}…, not {argv[0]}"
    program = Path(argv[0]).name
    assert (Path(sys.executable).parent / program).exists(), f"{program} is not installed in the venv"
    pairs = dict(unit_lines(unit))
    assert pairs.get("EnvironmentFile") == ENV_FILE
    assert pairs.get("User") == "doorstep"
    assert pairs.get("NoNewPrivileges") == "yes"
    if program == "doorstep":
        name = argv[1].replace("-", "_")
        commands = get_commands()
        assert name in commands, f"{unit.name}: `doorstep {argv[1]}` is not a management command"
        # The arguments are ones the command accepts (argparse exits on an unknown option).
        command = load_command_class(commands[name], name)
        command.create_parser("doorstep", name).parse_args(argv[2:])
    elif program == "uvicorn":
        from uvicorn.main import main as uvicorn_cli

        uvicorn_cli.make_context("uvicorn", argv[1:])  # click rejects unknown options and bad values
        module, _, attribute = argv[1].partition(":")
        assert getattr(importlib.import_module(module), attribute)
    else:
        pytest.fail(f"{unit.name}: unexpected program {program}")


def test_the_web_unit_runs_two_workers_with_a_fresh_metrics_directory():
    unit = DEPLOY / "systemd" / "doorstep-web.service"
    argv = exec_start(unit)
    assert argv[1] == "doorstep.asgi:application"
    assert int(argv[argv.index("--workers") + 1]) >= 2
    assert argv[argv.index("--host") + 1] == "127.0.0.1"
    pairs = unit_lines(unit)
    environment = [value for key, value in pairs if key == "Environment"]
    directory = next(v.partition("=")[2] for v in environment if v.startswith("PROMETHEUS_MULTIPROC_DIR="))
    runtime = dict(pairs)["RuntimeDirectory"]
    assert directory.startswith(f"/run/{runtime}/")
    assert any(key == "ExecStartPre" and f"rm -rf {directory}" in value for key, value in pairs)


def test_alarmd_always_comes_back():
    pairs = dict(unit_lines(DEPLOY / "systemd" / "doorstep-alarmd.service"))
    assert pairs["Restart"] == "always"
    assert pairs["StartLimitIntervalSec"] == "0"
    assert exec_start(DEPLOY / "systemd" / "doorstep-alarmd.service")[1:] == ["alarmd"]


@pytest.mark.parametrize("timer", TIMERS, ids=lambda p: p.name)
def test_each_timer_starts_a_service_of_the_same_name(timer):
    assert timer.with_suffix(".service").is_file()
    assert "OnCalendar" in dict(unit_lines(timer))


# --- nginx ------------------------------------------------------------------------------------------------------
def test_nginx_proxies_websockets_with_the_upgrade_headers():
    site = NGINX_SITE.read_text(encoding="utf-8")
    proxy = NGINX_PROXY.read_text(encoding="utf-8")
    ws = nginx_location(site, "/ws/")
    assert "proxy_pass http://doorstep_web;" in ws
    assert "proxy_set_header Upgrade $http_upgrade;" in ws
    assert "include snippets/doorstep-proxy.conf;" in ws
    assert "proxy_set_header Connection $doorstep_connection;" in proxy
    assert re.search(r"map \$http_upgrade \$doorstep_connection \{\s*default upgrade;", site)
    assert "proxy_http_version 1.1;" in proxy
    for header in ["Host $host", "X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme"]:
        assert f"proxy_set_header {header};" in proxy
    read_timeout = re.search(r"proxy_read_timeout (\d+)h;", ws)
    assert read_timeout and int(read_timeout.group(1)) >= 1  # a console stays connected for a shift


def test_nginx_never_serves_uploaded_files_and_serves_collected_static_files():
    site = NGINX_SITE.read_text(encoding="utf-8")
    assert nginx_location(site, "/media/").strip() == "return 404;"
    assert "/media" not in re.sub(r"location /media/ \{[^}]*\}", "", site).split("#")[0]
    for line in site.splitlines():  # no alias or root anywhere points into MEDIA_ROOT
        if re.match(r"\s*(alias|root)\s", line):
            assert "media" not in line
    var_dir = re.search(
        r"^DOORSTEP_VAR_DIR=(.*)$", ENV_EXAMPLE.read_text(encoding="utf-8"), flags=re.M
    ).group(1)
    assert f"alias {var_dir}/static/;" in nginx_location(site, "/static/")


def test_nginx_accepts_the_largest_uploads_the_app_accepts():
    from doorstep.core import photos
    from doorstep.evaluation import incidents
    from doorstep.portal import services as portal_services
    from doorstep.registry import import_views

    site = NGINX_SITE.read_text(encoding="utf-8")
    default = megabytes(re.search(r"^\s{4}client_max_body_size (\w+);", site, flags=re.M).group(1))
    for limit in [photos.MAX_PHOTO_BYTES, portal_services.MAX_PHOTO_BYTES, incidents.MAX_IMPORT_BYTES]:
        assert default > limit
    registry_import = nginx_location(site, "/registry/import/")
    assert (
        megabytes(re.search(r"client_max_body_size (\w+);", registry_import).group(1))
        > import_views.MAX_UPLOAD
    )


def test_nginx_limits_login_and_portal_posts_and_closes_metrics():
    site = NGINX_SITE.read_text(encoding="utf-8")
    assert re.search(r"map \$request_method \$doorstep_post_client \{\s*POST\s+\$binary_remote_addr;", site)
    assert "limit_req zone=doorstep_login" in nginx_location(site, "/accounts/")
    assert "limit_req zone=doorstep_portal" in nginx_location(site, "/portal/")
    metrics = nginx_location(site, "= /metrics")
    assert "deny all;" in metrics
    # The login page is where accounts:login is.
    from django.urls import reverse

    assert reverse("accounts:login").startswith("/accounts/")


# --- the operations guide ---------------------------------------------------------------------------------------
FENCED = re.compile(r"^```[^\n]*\n.*?^```", flags=re.M | re.S)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(path: Path) -> str:
    """A Markdown file without its fenced blocks (a `# comment` in a shell block is no heading, no link)."""
    return FENCED.sub("", path.read_text(encoding="utf-8"))


def github_anchor(heading: str) -> str:
    """The id GitHub (and most renderers) give a heading: lower case, punctuation (ASCII and full-width) dropped,
    spaces to hyphens: `## 9. 第二台 alarmd 与切换演练` → `9-第二台-alarmd-与切换演练`."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}[ \t]+(.+?)[ \t]*#*$", prose(path), flags=re.M):
        anchor = github_anchor(heading)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def local_links(path: Path) -> list[str]:
    return [t for t in LINK.findall(prose(path)) if not t.startswith(("http://", "https://", "mailto:"))]


def makefile_targets() -> set[str]:
    text = MAKEFILE.read_text(encoding="utf-8")
    return {
        name
        for names in re.findall(r"^([A-Za-z0-9_.%/ -]+?)[ \t]*::?(?!=)", text, flags=re.M)
        for name in names.split()
    }


def test_every_make_target_the_guide_names_is_in_the_makefile():
    targets = makefile_targets()
    assert {"demo", "test", "lint"} <= targets  # the parser still reads this Makefile
    named = {
        (path.name, target)
        for path in DOCS
        for target in re.findall(r"(?<![\w./-])make[ \t]+([a-z][a-z0-9_-]*)", code_text(path))
    }
    unknown = sorted(f"{name}: make {target}" for name, target in named if target not in targets)
    assert not unknown, f"the operations guide names make targets the Makefile lacks: {unknown}"


def test_the_index_links_every_file_of_the_guide():
    index = OPERATIONS / "README.md"
    assert index.is_file(), "docs/operations/README.md (the index of the operations guide) is missing"
    assert not (ROOT / "docs" / "operations.md").exists(), "docs/operations.md was folded into README.md"
    linked = {link.partition("#")[0] for link in local_links(index)}
    files = {p.name for p in OPERATIONS.iterdir() if p.is_file() and p.name != "README.md"}
    assert files <= linked, f"README.md does not link: {sorted(files - linked)}"
    for topic in [
        "deploy.md#3-",
        "deploy.md#7-",
        "deploy.md#12-",
        "backup.md#恢复",
        "scale-out.md",
        "failures.md",
    ]:
        assert any(link.startswith(topic) for link in local_links(index)), f"README.md does not link {topic}"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_of_the_guide_reaches_a_file_and_a_heading(path):
    broken = []
    for link in local_links(path):
        target, _, anchor = link.partition("#")
        resolved = (path.parent / target).resolve() if target else path
        if not resolved.exists():
            broken.append(f"{link} (no such file)")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{link} (no such heading in {resolved.name})")
    assert not broken, f"{path.relative_to(ROOT)} has broken links: {broken}"


def test_every_metric_the_guide_names_is_exported():
    source = METRICS.read_text(encoding="utf-8")
    exported = set(re.findall(r'"(doorstep_[a-z_]+)"', source))
    assert "doorstep_alarmd_active" in exported  # the regex still reads metrics.py
    suffixes = ("_bucket", "_count", "_sum", "_total")
    unknown = set()
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for name in re.findall(r"\b(doorstep_(?:http|alarm|alarms|alarmd|domain)_[a-z_]+)", text):
            base = next((name[: -len(s)] for s in suffixes if name.endswith(s)), name)
            if name not in exported and base not in exported:
                unknown.add(f"{path.name}: {name}")
    assert not unknown, f"the operations guide names metrics Doorstep does not export: {sorted(unknown)}"


def test_failures_covers_each_service_that_can_fail():
    headings = " ".join(
        re.findall(r"^#{2,3}[ \t]+(.+)$", prose(OPERATIONS / "failures.md"), flags=re.M)
    ).lower()
    for service in ["alarmd", "postgresql", "redis", "mosquitto", "短信网关", "videod"]:
        assert service in headings, f"failures.md has no section on {service}"
