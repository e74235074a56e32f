"""The authorization matrix: every URL pattern the resolver knows, each method its view serves
(and GET and POST whether it serves them or not), as every role, against objects that belong
to the caller and objects that do not. The expected answer of each cell is in
tests/security/authz_table.py; a URL without an entry there fails, by name.

A cell is "allowed" when the request reached the view (2xx, a redirect that is not the sign-in
page, or a 400/409/422 about the empty body); "refused" when it was turned away (the sign-in
page, 401, 403, 404, 405). A refused caller that reaches the view is a leak; an allowed one
that is turned away is wrongly refused. Every cell runs in a savepoint rolled back afterwards.
"""

import copy
import json
import re
from collections import defaultdict
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern

from api.throttling import PerClientRateThrottle
from tests.assignments.helpers import ROLE
from tests.security import authz_table
from tests.security.world import ANON, ROLES, SELF, built_world, isolated

# about ten thousand requests; the world is built once, in a transaction rolled back at the end
pytestmark = [pytest.mark.slow, pytest.mark.django_db]

REFUSED = frozenset({"login", "401", "403", "404", "405", "501"})
SIGN_IN_PAGES = ("/accounts/login/", "/admin/login/")
ALLOWED = frozenset({"200", "201", "202", "204", "redirect", "400", "409", "422"})


def patterns(resolver=None, prefix="", namespace=None, params=()):
    """(key, route, pattern, its path parameters) for every endpoint: key is the URL's name
    (with its namespace), or its route when it has none."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        found = (*params, *entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from patterns(entry, prefix + str(entry.pattern), inner, found)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            name = entry.name and (f"{namespace}:{entry.name}" if namespace else entry.name)
            yield name or route, route, entry, found


def served_methods(entry: URLPattern) -> set[str]:
    """The methods a view declares (DRF actions, class-based handlers); GET and POST always."""
    callback = entry.callback
    methods = {"GET", "POST"}
    actions = getattr(callback, "actions", None)
    if actions:
        methods |= {m.upper() for m in actions}
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is not None and not actions:
        for method in ("put", "patch", "delete"):
            if hasattr(view_class, method):
                methods.add(method.upper())
    return methods


def family(response) -> str:
    status = response.status_code
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        return "login" if urlsplit(location).path.startswith(SIGN_IN_PAGES) else "redirect"
    return str(status)


def body_of(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


def path_values(world, entry_rule) -> dict:
    """What each path parameter is filled with: the object the table says the URL is about."""
    objects = world.objects
    target = entry_rule.obj
    if isinstance(target, str):
        target = objects[target]
    employee = objects["employee"]
    return {
        "pk": getattr(target, "pk", None),
        "record_id": getattr(target, "pk", None),
        "object_id": getattr(target, "pk", None),
        "id": getattr(target, "pk", None),
        "resource_id": str(getattr(target, "pk", "")),
        "slug": objects["purpose"].slug,
        "version": objects["purpose"].version,
        "sha256": objects["terms"],
        "content_type_id": ContentType.objects.get_for_model(employee).pk,
        "app_label": "people",
        "provider_id": "oidc",
        "uidb36": "2",
        "key": "2-not-a-key",
        "rest": "v1/nothing-here/",
        "url": "people/nothing-here/",
    }


def admin_object(world, key, route):
    """For an admin URL, the object of its model this world has (Eve's where she has one)."""
    from django.apps import apps  # noqa: PLC0415

    match = re.match(r"admin:([a-z]+)_([a-z]+)_(password_change|change|delete|history)$", key)
    match = match or re.match(r"admin/([a-z]+)/([a-z]+)/<path:object_id>/$", route)
    if not match:
        return None
    model = apps.get_model(*match.groups()[:2])
    preferred = {
        "employee": world.objects["employee"],
        "user": world.users[SELF],
        "team": world.objects["team"],
        "proposal": world.objects["proposal"],
        "consentrecord": world.objects["record"],
        "campaign": world.objects["campaign"],
        "move": world.objects["move"],
        "placementrequest": world.objects["placement"],
        "notification": world.objects["notification"],
        "webhookendpoint": world.objects["endpoint"],
        "datausepurpose": world.objects["purpose"],
    }.get(model._meta.model_name)
    return preferred or model.objects.order_by("pk").first()


def build_path(world, key, route, entry, params, rule) -> str:
    if rule.path:
        return rule.path
    values = path_values(world, rule)
    target = admin_object(world, key, route)
    if target is not None:
        values["object_id"] = values["id"] = target.pk
    if isinstance(entry.pattern, RegexPattern) and ":" not in key and key == route:
        raise AssertionError(f"{key}: an unnamed regex URL needs a `path` in authz_table")
    if key != route:
        return reverse(key, kwargs={p: values[p] for p in params})
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)
    return "/" + path


def clients(world) -> dict:
    made = {ANON: Client(raise_request_exception=False)}
    for role, user in world.users.items():
        made[role] = Client(raise_request_exception=False)
        made[role].force_login(user)
    for role, secret in world.secrets.items():
        made[role] = Client(
            raise_request_exception=False, headers={"Authorization": f"Bearer {secret}"}
        )
    return made


def api_bodies(world) -> dict:
    """Well-formed bodies for the API's writes, so a refusal is about the caller, not the body."""
    deadline = world.objects["proposal"].response_deadline
    new = {
        "employee": "E-EVE",
        "to_team": "ai-labs",
        "role_description": ROLE,
        "start_date": (deadline + timedelta(days=30)).date().isoformat(),
        "response_deadline": (deadline + timedelta(days=2)).isoformat(),
    }
    return {
        ("proposal-list", "POST"): new,
        ("proposal-bulk", "POST"): {"proposals": [new]},
        ("proposal-withdraw", "POST"): {"reason": "The team was not funded after all."},
        ("proposal-extend", "POST"): {
            "reason": "More time to read the terms.",
            "response_deadline": (deadline + timedelta(days=3)).isoformat(),
        },
    }


def expected(rule, method, path) -> tuple[frozenset, frozenset]:
    """(roles allowed, roles for whom either answer is fine). A Django form view answers PUT as
    POST (ProcessFormView.put), so there PUT expects what POST does."""
    if method == "PUT" and method not in rule.methods and not path.startswith(("/api/", "/scim/")):
        method = "POST"
    if method == "HEAD" and method not in rule.methods:  # HEAD is GET without the body
        method = "GET"
    return rule.methods.get(method, frozenset()), rule.either.get(method, frozenset())


def call(client, method, path, is_api, body=None):
    """One request, in a savepoint rolled back afterwards; the client keeps its cookies (a
    sign-out in one cell must not sign the role out of the next)."""
    kwargs = {}
    if is_api and method not in ("GET", "HEAD", "DELETE"):
        kwargs = {"content_type": "application/json", "data": json.dumps(body or {})}
    cookies = copy.deepcopy(client.cookies)
    try:
        with isolated():
            return getattr(client, method.lower())(path, **kwargs)
    finally:
        client.cookies = cookies


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with built_world(django_db_blocker) as made:
        yield made


@pytest.fixture(scope="module", autouse=True)
def _no_rate_limits():
    """Thousands of requests from one key in a minute: the throttle is tested elsewhere."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PerClientRateThrottle, "allow_request", lambda self, request, view: True)
        yield


def test_every_url_has_an_entry():
    missing = [key for key, *_rest in patterns() if key not in authz_table.TABLE]
    assert not missing, "URLs with no entry in tests/security/authz_table.py: " + ", ".join(missing)


def test_matrix(world, capsys):
    made = clients(world)
    bodies = api_bodies(world)
    leaks, refused_wrongly, errors = [], [], []
    observed = defaultdict(dict)
    cells = 0
    for key, route, entry, params in patterns():
        rule = authz_table.TABLE.get(key)
        if rule is None:
            continue  # test_every_url_has_an_entry names it
        path = build_path(world, key, route, entry, params, rule)
        is_api = path.startswith(("/api/", "/scim/"))
        for method in sorted(served_methods(entry) | set(rule.methods)):
            allowed, either = expected(rule, method, path)
            for role in ROLES:
                response = call(made[role], method, path, is_api, bodies.get((key, method)))
                cells += 1
                got = family(response)
                observed[f"{key} {method}"].setdefault(got, []).append(role)
                cell = f"{method} {path} as {role}: {got} {body_of(response)[:100]!r}"
                if got not in ALLOWED | REFUSED:
                    errors.append(cell)
                elif role in either:
                    continue
                elif role in allowed and got in REFUSED:
                    refused_wrongly.append(cell)
                elif role not in allowed and got in ALLOWED:
                    leaks.append(cell)
    with capsys.disabled():
        print(
            f"\nauthorization matrix: {cells} cells, {len(leaks)} leaks, "
            f"{len(refused_wrongly)} wrongly refused, {len(errors)} errors"
        )
    with open("/tmp/h10_observed.json", "w") as out:
        json.dump(observed, out, indent=0, sort_keys=True)
    report = [("errors", errors), ("leaks", leaks), ("wrongly refused", refused_wrongly)]
    assert not (errors or leaks or refused_wrongly), "\n".join(
        f"{title}:\n  " + "\n  ".join(cells) for title, cells in report if cells
    )


# Each list, and the detail URL of what it lists: what a caller sees in the list is exactly what
# they can open (API lists compare the ids in `results`; pages, the ids in their links).
API_LISTS = {
    "team-list": ("team-detail", "people.Team"),
    "employee-list": ("employee-detail", "people.Employee"),
    "proposal-list": ("proposal-detail", "assignments.Proposal"),
    "campaign-list": ("campaign-detail", "assignments.Campaign"),
    "move-list": ("move-detail", "assignments.Move"),
    "placement-request-list": ("placement-request-detail", "assignments.PlacementRequest"),
    "consent-record-list": ("consent-record-detail", "consent.ConsentRecord"),
    "webhook-endpoint-list": ("webhook-endpoint-detail", "webhooks.WebhookEndpoint"),
}
PAGE_LISTS = {
    "assignments:inbox": (
        "assignments:proposal",
        r'href="/proposals/(\d+)/"',
        "assignments.Proposal",
    ),
    "privacy:proposals": (
        "assignments:proposal",
        r'href="/proposals/(\d+)/"',
        "assignments.Proposal",
    ),
    "privacy:receipts": ("consent:receipt", r'href="/receipts/(\d+)/"', "consent.ConsentRecord"),
    "privacy:decisions": ("consent:receipt", r'href="/receipts/(\d+)/"', "consent.ConsentRecord"),
}


def _listed_ids(client, url) -> set[int]:
    ids, page = set(), url
    while page:
        body = client.get(page).json()
        ids |= {item["id"] for item in body["results"]}
        page = body.get("next")
    return ids


def _openable(client, detail_name, model) -> set[int]:
    from django.apps import apps  # noqa: PLC0415

    every = apps.get_model(model).objects.values_list("pk", flat=True)
    return {pk for pk in every if client.get(reverse(detail_name, args=[pk])).status_code == 200}


def test_lists_show_exactly_what_details_open(world, capsys):
    compared, mismatches = 0, []
    for role, client in clients(world).items():
        for list_name, (detail_name, model) in API_LISTS.items():
            with isolated():
                refused = client.get(reverse(list_name)).status_code != 200
                listed = set() if refused else _listed_ids(client, reverse(list_name))
                openable = _openable(client, detail_name, model)
            compared += 1
            if listed != openable:
                mismatches.append(
                    f"{list_name} as {role}: lists {sorted(listed)}, opens {sorted(openable)}"
                )
        for list_name, (detail_name, link, model) in PAGE_LISTS.items():
            with isolated():
                response = client.get(reverse(list_name))
                listed = {int(i) for i in re.findall(link, response.content.decode())}
                openable = _openable(client, detail_name, model)
            if response.status_code != 200:
                continue  # refused: the matrix checks that
            compared += 1
            if listed != openable:
                mismatches.append(
                    f"{list_name} as {role}: links {sorted(listed)}, opens {sorted(openable)}"
                )
    with capsys.disabled():
        print(f"\nlists against details: {compared} compared, {len(mismatches)} differ")
    assert compared > 100
    assert not mismatches, "\n".join(mismatches)
