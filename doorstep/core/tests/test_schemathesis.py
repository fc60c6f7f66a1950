"""Property-based API testing with schemathesis, driven by the OpenAPI schema the app serves at /api/schema/.

Every operation is called in-process (WSGI) by a signed-in user, with generated valid and invalid input, and
every response must be no server error and, where the schema documents the status, match the documented
shape. The run is seeded (schemathesis seed + derandomized Hypothesis, no example database) and small: 10
random examples an operation; DOORSTEP_FUZZ_COVERAGE=1 adds schemathesis' deterministic coverage phase on
the writes (hundreds of calls each: a deeper run, not the everyday suite).

The schema is generated in-process at import (one test item per operation; the served /api/schema/ needs a
signed-in caller and a database, and is checked to be the same document). The world's ids are mapped into
generated path parameters and bodies, so the generated calls reach real objects and the services behind
them, not only 404s and 400s.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.urls import URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from doorstep.accounts.services import issue_token
from doorstep.conftest import TODAY, build_world, make_staff
from doorstep.org import services
from doorstep.org.choices import StaffKind
from doorstep.org.models import (
    Community,
    DepartureRequest,
    Grid,
    GridAssignment,
    PoliceRoom,
    Secondment,
    Staff,
    Station,
)

SEED = 20261128
MAX_EXAMPLES = 10
# The S1 director may call every write, so the generated calls reach the services. Who may call what is the
# permission matrix's job (test_permission_matrix.py); another user here costs ~20 s.
USERS = ["director"]

# Path prefix → the model whose ids the operation's `{id}` takes; body field → model of the referenced id.
PATH_MODELS = {
    "/api/v1/stations/": Station,
    "/api/v1/communities/": Community,
    "/api/v1/grids/": Grid,
    "/api/v1/police-rooms/": PoliceRoom,
    "/api/v1/staff/": Staff,
    "/api/v1/assignments/": GridAssignment,
    "/api/v1/departure-requests/": DepartureRequest,
    "/api/v1/secondments/": Secondment,
}
BODY_MODELS = {"grid": Grid, "staff": Staff, "assignment": GridAssignment}


# One application for the module: loading the middleware makes WhiteNoise index every static file (~0.1 s).
_APP = WSGIHandler()


@pytest.fixture
def wsgi_app():
    """The Django WSGI application, kept inside the test's transaction.

    Django closes the database connection when a request starts and finishes (`close_old_connections`); inside
    the test transaction that would drop it. Django's own test client disconnects the same two receivers.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield _APP
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def build_fuzz_world() -> tuple[dict[type, list[int]], Any]:
    """The conftest world plus pending requests, so approve/reject/end meet real, decidable objects."""
    w = build_world()
    leave_on = TODAY + dt.timedelta(days=30)
    services.request_departure(w.post_a, leave_on=leave_on, reason="家庭原因", by=w.users["officer_a"])
    officer = make_staff(w.sub_bureau, w.s1, StaffKind.POLICE, "郑涛")
    post = services.assign_to_grid(grid=w.grid_c, staff=officer, position="officer", started_on=TODAY)
    services.request_departure(post, leave_on=leave_on, reason="工作调动", by=w.users["director"])
    for staff in (w.officer_b_staff, officer):
        services.request_secondment(
            staff=staff, purpose="专项行动", destination="市局", starts_on=leave_on, ends_on=leave_on,
            by=w.users["director"],
        )  # fmt: skip
    make_staff(w.sub_bureau, w.s1, StaffKind.AUXILIARY, "陈静")  # free to be assigned
    models = {*PATH_MODELS.values(), *BODY_MODELS.values()}
    return {model: sorted(model.objects.values_list("pk", flat=True)) for model in models}, w


def _known(ids: list[int], value: Any) -> Any:
    """Small generated integers become ids of real objects; everything else is sent as generated."""
    if not ids or isinstance(value, bool):
        return value
    if isinstance(value, int) and 0 <= value < 1_000_000:
        return ids[value % len(ids)]
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < 1_000_000:
        return str(ids[int(value) % len(ids)])  # path parameters come as strings
    return value


@pytest.fixture(scope="module")
def fuzz_world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction rolled back at the end; each test runs in a savepoint."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            ids, world = build_fuzz_world()
            keys = {name: issue_token(world.users[name], name="schemathesis", by=None)[1] for name in USERS}
        except BaseException:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            raise
    yield ids, keys
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture(params=USERS)
def caller(request, fuzz_world, db, wsgi_app):
    """Who calls (see USERS), with the world's ids for mapping generated references onto real objects."""
    ids, keys = fuzz_world
    return {"app": wsgi_app, "headers": {"Authorization": f"Token {keys[request.param]}"}, "ids": ids}


def _openapi() -> dict:
    """The schema /api/schema/ serves, generated in-process (its view needs a signed-in caller and a database,
    which collection has not; `test_served_schema_is_the_fuzzed_schema_and_covers_every_api_route` checks
    the two are the same)."""
    generator = SchemaGenerator()
    return json.loads(OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True)))


OPENAPI = _openapi()
# schemathesis' coverage phase (deterministic boundary and wrong-type values for every field) finds what
# random draws miss, but costs hundreds of calls per write and builds its cases at collection: it runs on the
# writes when DOORSTEP_FUZZ_COVERAGE=1 (a deeper run before a release), not in the everyday suite.
DEEP = os.environ.get("DOORSTEP_FUZZ_COVERAGE") == "1"
CONFIG = {
    "seed": SEED,
    "generation": {"database": "none", "max-examples": MAX_EXAMPLES},
    "phases": {"coverage": {"enabled": False}},
    "operations": [
        {
            "include-method": ["POST", "PATCH", "PUT", "DELETE"],
            "phases": {"coverage": {"enabled": DEEP, "unexpected-methods": []}},
        }
    ],
}
schema = schemathesis.openapi.from_dict(OPENAPI, config=schemathesis.Config.from_dict(CONFIG))


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_answers_5xx_and_matches_its_schema(case, caller):
    # Mapped here rather than in generation hooks: the coverage phase builds its cases without them.
    model = next((m for prefix, m in PATH_MODELS.items() if case.path.startswith(prefix)), None)
    if model is not None and isinstance(case.path_parameters, dict) and "id" in case.path_parameters:
        case.path_parameters["id"] = _known(caller["ids"][model], case.path_parameters["id"])
    if isinstance(case.body, dict):
        for field, referenced in BODY_MODELS.items():
            if field in case.body:
                case.body[field] = _known(caller["ids"][referenced], case.body[field])
    case.call_and_validate(
        app=caller["app"],
        headers=caller["headers"],
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


def test_served_schema_is_the_fuzzed_schema_and_covers_every_api_route(fuzz_world, db, wsgi_app):
    """The fuzzing above is only as complete as the schema: every /api/v1/ route must be in it."""
    from werkzeug.test import Client

    _ids, keys = fuzz_world
    client = Client(wsgi_app)
    assert client.get("/api/schema/?format=json").status_code == 401
    response = client.get("/api/schema/?format=json", headers={"Authorization": f"Token {keys['director']}"})
    assert response.status_code == 200
    assert response.json == OPENAPI

    api = next(p for p in get_resolver().url_patterns if isinstance(p, URLResolver) and p.namespace == "api")
    routes = set()
    for pattern in api.url_patterns:
        route = str(pattern.pattern).removeprefix("^").removesuffix("$")
        if "(?P<format>" in route or "drf_format_suffix" in route or route == "":
            continue  # format-suffix twins and the browsable root
        route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route.replace("(?P<pk>[^/.]+)", "{id}"))
        routes.add("/api/v1/" + route)
    assert routes - set(OPENAPI["paths"]) == set()


def _integer_inputs() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """(method, path) → [(where, name)] of every integer input the schema documents: query, path and body."""
    inputs: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for path, operations in OPENAPI["paths"].items():
        for method, operation in operations.items():
            found = [
                (p["in"], p["name"])
                for p in operation.get("parameters", [])
                if p["schema"].get("type") == "integer"
            ]
            body = (
                operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            )
            if body:
                component = OPENAPI["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
                found += [
                    ("body", n)
                    for n, f in component.get("properties", {}).items()
                    if f.get("type") == "integer"
                ]
            if found:
                inputs[(method, path)] = found
    return inputs


INTEGER_INPUTS = _integer_inputs()


@pytest.mark.parametrize(
    ("method", "path"), list(INTEGER_INPUTS), ids=[f"{m.upper()} {p}" for m, p in INTEGER_INPUTS]
)
def test_integers_beyond_64_bits_are_4xx_or_nothing_found(caller, method, path):
    """Random fuzzing rarely draws a 20-digit id; SQLite raises OverflowError on one (a 500) unless the
    lookup guards it. Every documented integer input gets one; the answer is a 4xx or an empty result."""
    from werkzeug.test import Client

    client = Client(caller["app"])
    model = PATH_MODELS.get(path.split("{")[0])
    for where, name in INTEGER_INPUTS[(method, path)]:
        for value in (2**64, -(2**63) - 1):
            path_id = str(value) if where == "path" else str(caller["ids"][model][0] if model else 1)
            kwargs: dict[str, Any] = {"headers": caller["headers"]}
            if where == "query":
                kwargs["query_string"] = {name: str(value)}
            if method in ("post", "patch", "put"):
                kwargs["json"] = {name: value} if where == "body" else {}

            url = path.replace("{id}", path_id)
            for other in re.findall(
                r"{(\w+)}", url
            ):  # e.g. a tile's {z}/{x}/{y}: a valid value unless tested
                url = url.replace(f"{{{other}}}", str(value) if (where, name) == ("path", other) else "16")
            response = client.open(url, method=method.upper(), **kwargs)

            label = (where, name, value)
            assert response.status_code < 500, (label, response.get_data(as_text=True)[:300])
            body = response.json if response.is_json else None
            if body is None:  # a map tile, or a path the URL's int converter does not match (negative)
                assert response.status_code == 200 or (where == "path" and response.status_code == 404), label
            elif response.status_code >= 400:
                assert isinstance(body.get("detail"), str), label
            elif where == "query" and name not in ("page", "page_size", "limit"):
                rows = body if isinstance(body, list) else body.get("results", body.get("features"))
                assert rows == [], label
