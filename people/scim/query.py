"""Searching Users and Groups: filters, sorting and paging (RFC 7644 §3.4.2).

A filter is parsed and checked by scim2-models. The parts that name an attribute the portal
holds in a column (userName, externalId, displayName, title, active, employeeNumber,
manager, the team, meta dates, ids, members) are translated into SQL; so are `and` and `or`
of such parts. Whatever cannot be translated (a value filter such as `emails[type eq
"work"]`, `not`, `ne`, an attribute kept only verbatim) is evaluated by scim2-models on the
resources the SQL part let through, so the answer is the same either way; only the cost
differs. Sorting works the same way: in SQL for the column attributes, otherwise on the
built resources. Attribute names are case-insensitive throughout (scim2-models resolves
them), string values too unless the attribute is case-exact.
"""

import functools
import json
import operator
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Case, DateTimeField, Exists, F, OuterRef, Q, TextField, Value, When
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Lower
from scim2_models import Context, InvalidFilterException, SearchRequest
from scim2_models.path import (
    CompareOperator,
    Comparison,
    LogicalExpr,
    LogicalOperator,
    Present,
    ValuePath,
)

from api import prepared
from people.models import Employee, ScimRecord, ScimTally, ScimTallyDelta, Team
from people.scim import store
from people.scim.resources import DEFAULT_PAGE_SIZE, MAX_RESULTS, EnterpriseUser, GroupResource
from portal.numbers import as_id


@dataclass(frozen=True)
class Column:
    """An attribute the portal holds in a column: the expression to compare, and its kind."""

    expression: Any
    kind: str = "text"  # text, int, bool, datetime


def _kept(*keys: str):
    """A text value the SCIM record keeps verbatim, e.g. _kept("name", "givenName")."""
    source = "scim__attributes"
    for key in keys[:-1]:
        source = KeyTransform(key, source)
    # Cast: compared as plain text (SQLite would otherwise compare it as JSON).
    return Cast(KeyTextTransform(keys[-1], source), TextField())


def _display_name():
    return Case(
        When(scim__isnull=True, then=F("name")),
        default=_kept("displayName"),
        output_field=TextField(),
    )


USER_COLUMNS = {
    ("core", "id", None): Column(F("pk"), "int"),
    ("core", "user_name", None): Column(F("user__username")),
    ("core", "external_id", None): Column(_kept("externalId")),
    ("core", "display_name", None): Column(_display_name()),
    ("core", "title", None): Column(F("title")),
    ("core", "active", None): Column(F("is_active"), "bool"),
    ("core", "name", "given_name"): Column(_kept("name", "givenName")),
    ("core", "name", "family_name"): Column(_kept("name", "familyName")),
    ("core", "groups", "value"): Column(F("team_id"), "int"),
    ("core", "meta", "created"): Column(
        Coalesce("scim__created_at", "user__date_joined", output_field=DateTimeField()),
        "datetime",
    ),
    ("core", "meta", "last_modified"): Column(
        Coalesce("scim__updated_at", "user__date_joined", output_field=DateTimeField()),
        "datetime",
    ),
    ("enterprise", "employee_number", None): Column(F("external_id")),
    ("enterprise", "manager", "value"): Column(F("manager_id"), "int"),
}

GROUP_COLUMNS = {
    ("core", "id", None): Column(F("pk"), "int"),
    ("core", "display_name", None): Column(F("name")),
    ("core", "external_id", None): Column(F("external_id")),
    ("core", "members", "value"): Column(None, "member"),
    ("core", "meta", "created"): Column(F("scim__created_at"), "datetime"),
    ("core", "meta", "last_modified"): Column(F("scim__updated_at"), "datetime"),
}

# User attributes kept verbatim in ScimRecord.attributes (or, for people with no record,
# read from name, email, time_zone and language): a value compared with them must appear
# in that stored text, which narrows in SQL what scim2-models then evaluates.
USER_KEPT = frozenset(
    [
        ("core", name)
        for name in (
            "name",
            "nick_name",
            "profile_url",
            "user_type",
            "preferred_language",
            "locale",
            "timezone",
            "emails",
            "phone_numbers",
            "ims",
            "photos",
            "addresses",
            "entitlements",
            "roles",
            "x509_certificates",
        )
    ]
    + [("enterprise", name) for name in ("cost_center", "organization", "division")]
)

TEXT_LOOKUPS = {
    CompareOperator.eq: "exact",
    CompareOperator.co: "contains",
    CompareOperator.sw: "startswith",
    CompareOperator.ew: "endswith",
}
ORDER_LOOKUPS = {
    CompareOperator.gt: "gt",
    CompareOperator.ge: "gte",
    CompareOperator.lt: "lt",
    CompareOperator.le: "lte",
}


class _Untranslatable(Exception):
    pass


def _user_columns_containing(value: str) -> Q:
    # People with no SCIM record read emails, timezone and language from these columns.
    return Q(scim__isnull=True) & (
        Q(email__icontains=value)
        | Q(name__icontains=value)
        | Q(time_zone__icontains=value)
        | Q(language__icontains=value)
    )


def _nothing(value: str) -> Q:
    return Q(pk__in=[])


def _searchable(value: Any) -> bool:
    """A value found as is in the stored JSON text: printable ASCII, nothing JSON escapes."""
    return isinstance(value, str) and bool(SEARCHABLE.fullmatch(value))


SEARCHABLE = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")  # printable ASCII but " and \


class _Translator:
    """Turns a parsed filter into a Q over annotated columns, or says it cannot."""

    def __init__(self, scim_filter, columns: dict, plain_columns, kept_verbatim=frozenset()):
        self.filter = scim_filter
        self.columns = columns
        self.plain_columns = plain_columns
        self.kept_verbatim = kept_verbatim
        self.annotations: dict[str, Any] = {}

    def kept(self, binding) -> bool:
        owner = "enterprise" if binding.model is EnterpriseUser else "core"
        return (owner, binding.field_name) in self.kept_verbatim

    def superset(self, node) -> Q | None:
        """A Q that every resource matching `node` satisfies (more may), for the parts of a
        filter left to scim2-models: the values it compares, searched in the stored text."""
        if isinstance(node, LogicalExpr):
            parts = [self.superset(term) for term in node.terms]
            known = [part for part in parts if part is not None]
            if node.op == LogicalOperator.and_ and known:
                return functools.reduce(operator.and_, known)
            if node.op == LogicalOperator.or_ and len(known) == len(parts):
                return functools.reduce(operator.or_, known)
            return None
        if isinstance(node, Comparison):
            binding = self.filter.resolve_comparison(node.attr_path, strict=False)
            if node.op not in TEXT_LOOKUPS or binding is None or not self.kept(binding):
                return None
            return self.containing(node.value)
        if isinstance(node, ValuePath):
            binding = self.filter.resolve(node.attr_path, strict=False)
            if binding is None or not self.kept(binding):
                return None
            inner = node.val_filter
            terms = inner.terms if isinstance(inner, LogicalExpr) else (inner,)
            if isinstance(inner, LogicalExpr) and inner.op != LogicalOperator.and_:
                return None
            known = [
                self.containing(term.value)
                for term in terms
                if isinstance(term, Comparison) and term.op in TEXT_LOOKUPS
            ]
            known = [q for q in known if q is not None]
            return functools.reduce(operator.and_, known) if known else None
        return None

    def containing(self, value) -> Q | None:
        if not _searchable(value):
            return None
        self.annotations["scim_document"] = Cast("scim__attributes", TextField())
        return Q(scim_document__icontains=value) | self.plain_columns(value)

    def column(self, attr_path, *, comparison: bool) -> tuple[str, Column, Any]:
        resolve = self.filter.resolve_comparison if comparison else self.filter.resolve
        binding = resolve(attr_path, strict=False)
        if binding is None:
            raise _Untranslatable
        owner = "enterprise" if binding.model is EnterpriseUser else "core"
        column = self.columns.get((owner, binding.field_name, binding.sub_field_name))
        if column is None:
            raise _Untranslatable
        name = "_".join(p for p in ("scim", owner, binding.field_name, binding.sub_field_name) if p)
        if column.expression is not None:
            self.annotations[name] = column.expression
        return name, column, binding

    def q(self, node) -> Q:
        if isinstance(node, LogicalExpr):
            parts = [self.q(term) for term in node.terms]
            combined = parts[0]
            for part in parts[1:]:
                combined = combined & part if node.op == LogicalOperator.and_ else combined | part
            return combined
        if isinstance(node, Present):
            name, column, _ = self.column(node.attr_path, comparison=False)
            if column.kind == "member":
                return self.member_q(None)
            if column.kind == "text":
                return Q(**{f"{name}__isnull": False}) & ~Q(**{name: ""})
            return Q(**{f"{name}__isnull": False})
        if isinstance(node, Comparison):
            return self.comparison(node)
        raise _Untranslatable  # not, value filters: evaluated on the resources

    def comparison(self, node: Comparison) -> Q:
        name, column, binding = self.column(node.attr_path, comparison=True)
        value = node.value
        if column.kind in ("int", "member"):
            if node.op != CompareOperator.eq or not isinstance(value, str):
                raise _Untranslatable
            if as_id(value) is None:
                return Q(pk__in=[])
            if column.kind == "member":
                return self.member_q(int(value))
            return Q(**{name: int(value)})
        if column.kind == "bool":
            if node.op != CompareOperator.eq or not isinstance(value, bool):
                raise _Untranslatable
            return Q(**{name: value})
        if column.kind == "datetime":
            lookup = ORDER_LOOKUPS.get(node.op) or ("exact" if node.op == "eq" else None)
            if lookup is None or not isinstance(value, str):
                raise _Untranslatable
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise _Untranslatable from None
            return Q(**{f"{name}__{lookup}": moment})
        lookup = TEXT_LOOKUPS.get(node.op)
        if lookup is None or not isinstance(value, str):
            raise _Untranslatable
        if not binding.case_exact:
            lookup = "i" + lookup
        return Q(**{f"{name}__{lookup}": value})

    def member_q(self, employee_id: int | None) -> Q:
        members = store.members_of_teams().queryset.filter(team=OuterRef("pk"))
        if employee_id is not None:
            members = members.filter(pk=employee_id)
        return Q(Exists(members))


def _sql_part(scim_filter, columns: dict, plain_columns, kept) -> tuple[dict, Q, bool]:
    """The annotations and Q the filter's translatable part needs, and whether that part is
    the whole filter. The conjuncts that cannot be translated are left to scim2-models, on
    the rows a superset test lets through (their values must appear in the stored text)."""
    if scim_filter is None:
        return {}, Q(), True
    translator = _Translator(scim_filter, columns, plain_columns, kept)
    node = scim_filter.ast
    terms = (
        node.terms if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_ else (node,)
    )
    combined, complete = Q(), True
    for term in terms:
        try:
            combined &= translator.q(term)
        except _Untranslatable:
            complete = False
            narrowing = translator.superset(term)
            if narrowing is not None:
                combined &= narrowing
    return translator.annotations, combined, complete


@dataclass
class Page:
    """One page of a search: the total, and the page's resources as the response's JSON."""

    total: int
    documents: list[dict]


def _rendered(resources: list, request: SearchRequest) -> list[dict]:
    return [
        r.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE, response_parameters=request)
        for r in resources
    ]


def _page_bounds(request: SearchRequest) -> tuple[int, int]:
    start = (request.start_index or 1) - 1
    count = DEFAULT_PAGE_SIZE if request.count is None else min(request.count, MAX_RESULTS)
    return start, count


# --- Every person, in id order: counted and positioned by people.ScimTally ----------------

TALLY_BLOCK_BITS = 10  # people/migrations/0008: a tally row counts ids [b << 10, (b + 1) << 10)

_BLOCKS = """
    SELECT block, sum(served) AS served
    FROM (SELECT block, served FROM {tally} UNION ALL SELECT block, served FROM {delta}) AS t
    GROUP BY block
"""

# The total, and the people at 0-based positions [start, start + count) in id order, in one
# statement (one snapshot, so the two agree): the block `start` falls in, from the running
# sum of the blocks' counts, then fewer than 1,024 rows skipped inside it; then what a User
# resource is built from (store.PersonRow), as store.people() joins it. One row per person,
# or one row of NULLs after the total when the page is empty. Prepared (api.prepared): the
# walk runs it once a page, and planning it cost as much as running it.
_PAGE = """
WITH blocks AS (
    {blocks}
), reached AS (
    SELECT block, served, sum(served) OVER (ORDER BY block) AS through FROM blocks
), here AS (
    SELECT block << {bits} AS first_id, (%(start)s::bigint - (through - served))::bigint AS skip
    FROM reached WHERE through > %(start)s::bigint ORDER BY block LIMIT 1
), page AS (
    SELECT e.id FROM {employee} e
    WHERE e.id >= (SELECT first_id FROM here)
      AND NOT EXISTS (
          SELECT 1 FROM {record} r WHERE r.employee_id = e.id AND r.deleted_at IS NOT NULL
      )
    ORDER BY e.id OFFSET (SELECT skip FROM here) LIMIT %(count)s::bigint
)
SELECT (SELECT COALESCE(sum(served), 0)::bigint FROM blocks), person.*
FROM (SELECT 1) AS always
LEFT JOIN (
    SELECT e.id, u.username, e.name, e.email, e.title, e.is_active, e.time_zone, e.language,
           e.external_id, e.manager_id, t.id AS team_id, t.name AS team_name,
           r.id IS NOT NULL AS has_record, r.attributes,
           (1000000 * extract(epoch FROM COALESCE(r.created_at, u.date_joined)))::bigint,
           (1000000 * extract(epoch FROM r.updated_at))::bigint
    FROM page
    JOIN {employee} e ON e.id = page.id
    JOIN {user} u ON u.id = e.user_id
    LEFT JOIN {team} t ON t.id = e.team_id
    LEFT JOIN {record} r ON r.employee_id = e.id
) AS person ON true
ORDER BY person.id
"""
# A startIndex past any count (a bigint holds the SQL's arithmetic): the same empty page.
_BEYOND = 2**62


@functools.cache
def _sql(template: str) -> str:
    tables = {
        "tally": ScimTally._meta.db_table,
        "delta": ScimTallyDelta._meta.db_table,
        "employee": Employee._meta.db_table,
        "record": ScimRecord._meta.db_table,
        "team": Team._meta.db_table,
        "user": get_user_model()._meta.db_table,
        "bits": TALLY_BLOCK_BITS,
    }
    return template.format(blocks=_BLOCKS.format(**tables), **tables)


def _tallied() -> bool:
    """Whether the database keeps the tally (PostgreSQL; not the embedded SQLite)."""
    return connection.vendor == "postgresql"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _moment(microseconds: int | None) -> datetime | None:
    # The page reads its moments as exact microseconds since 1970 (extract(epoch) is exact
    # numeric): loading timestamptz text through Django's time zone loader was most of the
    # cost of fetching a page.
    return None if microseconds is None else _EPOCH + timedelta(microseconds=microseconds)


def _person(row: tuple) -> store.PersonRow:
    *columns, attributes, created, modified = row
    if isinstance(attributes, str):  # Django has psycopg hand JSON over undecoded
        attributes = json.loads(attributes)
    return store.PersonRow(*columns, attributes or {}, _moment(created), _moment(modified))


def _every_person_in_id_order(kind: str, request: SearchRequest) -> bool:
    # No filter, and no sortBy or one naming an attribute Users lack: every resource in id
    # order, as the general path below sorts them.
    return (
        kind == "Users"
        and request.filter is None
        and _tallied()
        and _order(request, store.UserResource, USER_COLUMNS) == ({}, ["pk"])
    )


def _every_person(request: SearchRequest, base: str) -> Page:
    """Every person in id order (an HRIS's reconciling walk), from the tally: counting every
    person and skipping every earlier row cost more than the page itself at 110,000 people
    (25-35 ms, and up to ~20 ms more on a late page). The same answer as the general path
    below, which the tests compare (tests/scim/test_tally.py); and the total is the page's
    own, where COUNT(*) ran as a statement of its own."""
    start, count = _page_bounds(request)
    rows = prepared.fetchall(_sql(_PAGE), {"start": min(start, _BEYOND), "count": count})
    total = rows[0][0]
    documents = [store.person_payload(_person(row[1:]), base) for row in rows if row[1] is not None]
    if request.attributes or request.excluded_attributes:
        return Page(
            total, _rendered([store.UserResource.model_validate(d) for d in documents], request)
        )
    return Page(total, documents)


def search(kind: str, request: SearchRequest, base: str) -> Page:
    """One page of the Users or Groups matching a search request."""
    if _every_person_in_id_order(kind, request):
        return _every_person(request, base)  # before building a queryset it would not use
    if kind == "Users":
        queryset, columns, build = store.people(), USER_COLUMNS, store.as_user
        model, plain_columns, kept = store.UserResource, _user_columns_containing, USER_KEPT
        payload = store.user_payload
    else:
        queryset, columns, build = store.teams(), GROUP_COLUMNS, store.as_group
        model, plain_columns, kept = GroupResource, _nothing, frozenset()
        payload = store.group_payload
    annotations, where, complete = _sql_part(request.filter, columns, plain_columns, kept)
    queryset = queryset.annotate(**annotations).filter(where)
    start, count = _page_bounds(request)
    order = _order(request, model, columns)
    if complete and order is not None:
        extra, ordering = order
        queryset = queryset.annotate(**extra).order_by(*ordering)
        total = queryset.count()
        # The page's ids in a subquery, and only their rows joined: joining every row
        # before skipping `start` of them made late pages several times slower.
        page_ids = queryset.values("pk")[start : start + count]
        rows = list(queryset.filter(pk__in=page_ids)) if count else []
        if not request.attributes and not request.excluded_attributes:
            # Every attribute: a payload is already what scim2-models would write for it
            # (tests/scim/test_list_rendering.py), so skip building and dumping a model
            # per resource, most of a page's cost.
            return Page(total, [payload(row, base) for row in rows])
        return Page(total, _rendered([build(row, base) for row in rows], request))
    # Evaluate the rest of the filter, and sort, on the resources themselves.
    resources = [build(row, base) for row in queryset]
    if request.filter is not None and not complete:
        resources = [r for r in resources if request.filter.match(r)]
    resources = request.sort(resources) if request.sort_by is not None else resources
    page = resources[start : start + count] if count else []
    return Page(len(resources), _rendered(page, request))


def search_everything(request: SearchRequest, base: str) -> Page:
    """POST /.search at the root: Users, then Groups (RFC 7644 §3.4.3), evaluated on the
    resources (a filter naming an attribute a type lacks is false for that type)."""
    resources = [store.as_user(e, base) for e in store.people()]
    resources += [store.as_group(t, base) for t in store.teams()]
    if request.filter is not None:
        resources = [r for r in resources if _matches(request.filter, r)]
    if request.sort_by is not None:
        resources = request.sort(resources)
    start, count = _page_bounds(request)
    page = resources[start : start + count] if count else []
    return Page(len(resources), _rendered(page, request))


def _matches(scim_filter, resource) -> bool:
    try:
        return scim_filter.match(resource)
    except InvalidFilterException:
        return False


def _order(request: SearchRequest, model, columns: dict):
    """ORDER BY expressions for sortBy when it names a column attribute; None otherwise."""
    if request.sort_by is None:
        return {}, ["pk"]
    binding = request.sort_binding(model)
    if binding is None:
        return {}, ["pk"]  # the type lacks the attribute: every resource "has no value"
    owner = "enterprise" if binding.model is EnterpriseUser else "core"
    column = columns.get((owner, binding.field_name, binding.sub_field_name))
    if column is None or column.expression is None or column.kind == "member":
        return None
    key = column.expression
    if column.kind == "text":
        # An empty string is no value (it sorts with the absent ones); case-insensitive
        # unless the attribute is case-exact, as RFC 7644 §3.4.2.3 asks.
        key = Case(When(Q(scim_sort_raw=""), then=Value(None)), default=F("scim_sort_raw"))
        if not binding.case_exact:
            key = Lower(key)
        extra = {"scim_sort_raw": column.expression, "scim_sort_key": key}
    else:
        extra = {"scim_sort_key": key}
    descending = request.sort_order == SearchRequest.SortOrder.descending
    order = (
        F("scim_sort_key").desc(nulls_first=True)
        if descending
        else F("scim_sort_key").asc(nulls_last=True)
    )
    return extra, [order, "pk"]
