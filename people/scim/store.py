"""People and teams as SCIM resources, and SCIM writes turned into portal changes.

Reading: a resource is built from the portal's own columns (the truth for what the portal
uses) plus what the client wrote that the portal keeps verbatim (`ScimRecord.attributes`).

| SCIM | portal |
|---|---|
| User `id` | `Employee.pk` |
| `userName` (unique, case-insensitively) | the account's `username` |
| `displayName`, else `name.formatted`, else given + family name | `Employee.name` |
| primary (else first) `emails` value, else an email-like `userName` | `Employee.email` |
| `title` | `Employee.title` |
| `preferredLanguage` (if the portal has it), `timezone` (if valid) | `language`, `time_zone` |
| `active` (absent means active) | `Employee.is_active`; false deactivates |
| enterprise `employeeNumber` | `Employee.external_id` |
| enterprise `manager.value` | `Employee.manager` |
| enterprise `department`: a team's externalId, slug or name | the team (an audited change) |
| `groups` (read-only) | the person's team |
| Group `id`, `displayName`, `externalId` | `Team.pk`, `name`, `external_id` |
| Group `members` | the people whose team it is (each change audited) |
| team extension `headcountTarget`, `description`; `aiInitiative` (read-only) | `Team` |

Writing: the new state of a resource is computed by scim2-models (PUT and PATCH semantics,
mutability, validation), then compared with the old one, and each difference becomes a
change of the portal through its services. Team changes go through
`people.services.change_team_administratively`, which refuses any that would put someone
into an AI-initiative team or take them out of one (409): that only happens by their own
decision. Deactivation goes through `people.services.deactivate_employee`.
"""

import functools
import hashlib
import json
import re
import unicodedata
import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, NoReturn

import email_validator
import orjson
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone
from django.utils.text import slugify
from pydantic import EmailStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from scim2_models import (
    InvalidValueException,
    NotFoundException,
    UniquenessException,
)

from api import prepared
from people import services
from people.models import Employee, ScimRecord, Team
from people.scim.resources import (
    TEAM_SCHEMA,
    EnterpriseUser,
    GroupResource,
    TeamExtension,
    UserResource,
)
from portal.numbers import as_id

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
NO_EMAIL_DOMAIN = "no-email.invalid"  # RFC 2606: mail to it can never be delivered

# What the portal holds in its own columns; everything else is kept verbatim.
USER_COLUMNS = ("schemas", "id", "meta", "userName", "title", "groups", "password")
ENTERPRISE_COLUMNS = ("employeeNumber", "manager")


@dataclass(frozen=True)
class Client:
    """Who is writing: the API key's name and id, and its service account (the actor)."""

    name: str
    key_id: int | None
    user_id: int | None

    @cached_property
    def actor(self):
        if self.user_id is None:
            return None
        return get_user_model().objects.filter(pk=self.user_id).first()


# --- Reading -------------------------------------------------------------------------------


def record_of(obj) -> ScimRecord | None:
    try:
        return obj.scim
    except ScimRecord.DoesNotExist:
        return None


def people():
    """Every person SCIM serves: all but those a SCIM DELETE removed."""
    # NOT EXISTS rather than a filter on the joined record: an anti-join the planner
    # estimates well, so a late page does not sort every person first.
    deleted = ScimRecord.objects.filter(employee=OuterRef("pk"), deleted_at__isnull=False)
    return (
        Employee.objects.select_related("user", "team", "scim")
        .exclude(Exists(deleted))
        .order_by("pk")
    )


def members_of_teams():
    return Prefetch(
        "members",
        queryset=Employee.objects.exclude(scim__deleted_at__isnull=False).order_by("pk"),
        to_attr="scim_members",
    )


def teams():
    """Every team SCIM serves, members prefetched."""
    return (
        Team.objects.select_related("scim")
        .exclude(scim__deleted_at__isnull=False)
        .prefetch_related(members_of_teams())
        .order_by("pk")
    )


def _version(payload: dict) -> str:
    return 'W/"' + hashlib.sha256(_canonical(payload)).hexdigest()[:32] + '"'


_ORJSON = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _canonical(payload: dict) -> bytes:
    """The payload as json.dumps(sort_keys=True, separators=(",", ":"), default=str) writes
    it, so every version given out before stays valid. orjson writes those very bytes for
    JSON types holding printable ASCII with nothing to escape (payloads hold no floats) at a
    tenth of the cost, most of a list page's: anything else (an escape, non-ASCII text, a
    type orjson would write its own way) goes through json."""
    try:
        body = orjson.dumps(payload, option=_ORJSON)
    except TypeError:  # orjson.JSONEncodeError: a type passed through, a key not a str, ...
        body = None
    if body is None or b"\\" in body or not body.isascii():
        body = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    return body


_MOMENT = TypeAdapter(datetime)


def _moment(value: datetime) -> str:
    # In pydantic's JSON form (…Z for UTC), so a payload reads as scim2-models writes it.
    return _MOMENT.dump_python(value, mode="json")


def _meta(payload: dict, *, kind: str, location: str, created, modified) -> dict:
    meta = {"resourceType": kind, "location": location, "version": _version(payload)}
    if created is not None:
        meta["created"] = _moment(created)
        meta["lastModified"] = _moment(modified or created)
    return meta


_EMAIL = TypeAdapter(EmailStr)


_ASCII_DOMAIN = re.compile(r"[A-Za-z0-9.-]+")


def _special_use_domain(email: str) -> bool:
    """Whether the address's domain is plain ASCII and a special-use name or under one
    (.test, .invalid, .local, ...): email-validator, behind pydantic's EmailStr, refuses
    every such address (its ASCII domain is the domain in lower case, checked against this
    very list), whatever the rest of it holds. A walk over every person validates each
    address once, so the cache below never helps it; this answers in a microsecond."""
    domain = email.rpartition("@")[2]
    if not _ASCII_DOMAIN.fullmatch(domain):
        return False
    names, suffixes = _special_use_names(
        tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES), email_validator.TEST_ENVIRONMENT
    )
    domain = domain.lower()
    return domain in names or domain.endswith(suffixes)


@functools.cache
def _special_use_names(names: tuple, test_environment: bool) -> tuple[frozenset, tuple]:
    names = tuple(name for name in names if not (name == "test" and test_environment))
    return frozenset(names), tuple("." + name for name in names)


@functools.lru_cache(maxsize=65_536)  # a pure check, and the slowest part of a list page
def _publishable_email(email: str) -> bool:
    """Whether SCIM's email type accepts an address the portal holds (it refuses reserved
    domains such as .test or .invalid, which placeholder addresses use)."""
    if _special_use_domain(email):
        return False
    try:
        _EMAIL.validate_python(email)
    except PydanticValidationError:
        return False
    return True


@dataclass(frozen=True)
class PersonRow:
    """What a User resource is built from: the person's own columns and their SCIM record's
    (`has_record` false: the portal knew them before any SCIM write). The list of every
    person (people/scim/query.py) reads these straight from one SQL row; one resource, from
    the Employee with its account, team and record (`person_row`)."""

    pk: int
    user_name: str
    name: str
    email: str
    title: str
    is_active: bool
    time_zone: str
    language: str
    external_id: str | None
    manager_id: int | None
    team_id: int | None
    team_name: str | None
    has_record: bool
    attributes: dict
    created: datetime  # meta.created: the record's, else when the account was made
    modified: datetime | None  # meta.lastModified: the record's (else `created`)


def person_row(employee: Employee) -> PersonRow:
    record, team, user = record_of(employee), employee.team, employee.user
    return PersonRow(
        pk=employee.pk,
        user_name=user.username,
        name=employee.name,
        email=employee.email,
        title=employee.title,
        is_active=employee.is_active,
        time_zone=employee.time_zone,
        language=employee.language,
        external_id=employee.external_id,
        manager_id=employee.manager_id,
        team_id=team.pk if team is not None else None,
        team_name=team.name if team is not None else None,
        has_record=record is not None,
        attributes=record.attributes if record is not None else {},
        created=record.created_at if record is not None else user.date_joined,
        modified=record.updated_at if record is not None else None,
    )


def user_payload(employee: Employee, base: str) -> dict:
    return person_payload(person_row(employee), base)


def person_payload(person: PersonRow, base: str) -> dict:
    has_record = person.has_record
    stored = dict(person.attributes) if has_record else {}
    enterprise = dict(stored.pop(ENTERPRISE, None) or {})
    payload: dict[str, Any] = {**stored, "schemas": [USER_SCHEMA], "id": str(person.pk)}
    payload["userName"] = person.user_name
    if not has_record:  # a person the portal knew before any SCIM write: what it has
        payload["displayName"] = person.name
        if _publishable_email(person.email):
            payload["emails"] = [{"value": person.email, "type": "work", "primary": True}]
        payload["timezone"] = person.time_zone
        if person.language:
            payload["preferredLanguage"] = person.language
    if person.title:
        payload["title"] = person.title
    if not has_record or "active" in stored or not person.is_active:
        payload["active"] = person.is_active
    else:
        payload.pop("active", None)
    if person.team_id is not None:
        payload["groups"] = [
            {
                "value": str(person.team_id),
                "$ref": f"{base}/Groups/{person.team_id}",
                "display": person.team_name,
                "type": "direct",
            }
        ]
    enterprise["employeeNumber"] = person.external_id
    enterprise["manager"] = (
        {"value": str(person.manager_id), "$ref": f"{base}/Users/{person.manager_id}"}
        if person.manager_id
        else None
    )
    if person.team_id is not None:
        enterprise["department"] = person.team_name
    enterprise = {k: v for k, v in enterprise.items() if v is not None}
    if enterprise:
        payload[ENTERPRISE] = enterprise
        payload["schemas"].append(ENTERPRISE)
    payload["meta"] = _meta(
        payload,
        kind="User",
        location=f"{base}/Users/{person.pk}",
        created=person.created,
        modified=person.modified,
    )
    return payload


def group_payload(team: Team, base: str) -> dict:
    record = record_of(team)
    stored = record.attributes if record else {}
    displays = {m["value"]: m["display"] for m in stored.get("members", []) if "display" in m}
    payload: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": str(team.pk)}
    payload["displayName"] = team.name
    if team.external_id:
        payload["externalId"] = team.external_id
    members = getattr(team, "scim_members", None)
    if members is None:
        members = list(members_of_teams().queryset.filter(team=team))
    if members:
        payload["members"] = [
            {"value": str(m.pk), "$ref": f"{base}/Users/{m.pk}", "type": "User"}
            | ({"display": displays[str(m.pk)]} if str(m.pk) in displays else {})
            for m in members
        ]
    extension: dict[str, Any] = {}
    if team.kind == Team.Kind.AI_INITIATIVE:
        extension["aiInitiative"] = True
    if team.headcount_target:
        extension["headcountTarget"] = team.headcount_target
    if team.description:
        extension["description"] = team.description
    if extension:
        payload[TEAM_SCHEMA] = extension
        payload["schemas"].append(TEAM_SCHEMA)
    payload["meta"] = _meta(
        payload,
        kind="Group",
        location=f"{base}/Groups/{team.pk}",
        created=record.created_at if record else None,
        modified=record.updated_at if record else None,
    )
    return payload


def as_user(employee: Employee, base: str) -> UserResource:
    return UserResource.model_validate(user_payload(employee, base))


def as_group(team: Team, base: str) -> GroupResource:
    return GroupResource.model_validate(group_payload(team, base))


def _digits(value: str) -> bool:
    """An id that int() reads and a bigint holds ("²" and "٣" are digits to isdigit() too)."""
    return as_id(value) is not None


def _pk(resource_id: str, kind: str) -> int:
    if not _digits(resource_id):
        raise NotFoundException(detail=f"No {kind} has the id {resource_id!r}.")
    return int(resource_id)


def find_person(resource_id: str) -> Employee:
    found = people().filter(pk=_pk(resource_id, "User")).first()
    if found is None:
        raise NotFoundException(detail=f"No User has the id {resource_id!r}.")
    return found


def find_team(resource_id: str) -> Team:
    found = teams().filter(pk=_pk(resource_id, "Group")).first()
    if found is None:
        raise NotFoundException(detail=f"No Group has the id {resource_id!r}.")
    return found


def lock_person(resource_id: str) -> Employee:
    """The person, row locked for the rest of the transaction (a write reads, then writes)."""
    found = people().select_for_update(of=("self",)).filter(pk=_pk(resource_id, "User")).first()
    if found is None:
        raise NotFoundException(detail=f"No User has the id {resource_id!r}.")
    return found


def lock_team(resource_id: str) -> Team:
    found = teams().select_for_update(of=("self",)).filter(pk=_pk(resource_id, "Group")).first()
    if found is None:
        raise NotFoundException(detail=f"No Group has the id {resource_id!r}.")
    return found


# --- Writing people ------------------------------------------------------------------------


def fold(user_name: str) -> str:
    return unicodedata.normalize("NFC", user_name).lower()


def _limit(value: str | None, limit: int, attribute: str) -> str | None:
    if value is not None and len(value) > limit:
        raise InvalidValueException(detail=f"{attribute} is longer than {limit} characters.")
    return value


def _clean_user_name(user_name: str) -> str:
    user_name = (user_name or "").strip()
    if not user_name:
        raise InvalidValueException(detail="userName must not be empty.")
    return _limit(user_name, 150, "userName")


def _check_user_name(user_name: str, *, own_user_id: int | None = None) -> str:
    user_name = _clean_user_name(user_name)
    taken = get_user_model().objects.filter(username__iexact=user_name)
    if own_user_id is not None:
        taken = taken.exclude(pk=own_user_id)
    _refuse_taken_user_name(user_name, taken.values_list("pk", flat=True).first())
    return user_name


def _refuse_taken_user_name(user_name: str, clash: int | None) -> None:
    """Refuse a userName the account `clash` (its id) holds, if one does."""
    if clash is None:
        return
    if ScimRecord.objects.filter(employee__user_id=clash, deleted_at__isnull=False).exists():
        raise UniquenessException(
            detail=f"userName {user_name!r} belonged to a person who was deprovisioned; "
            "the portal keeps their history under it. Use another userName."
        )
    raise UniquenessException(detail=f"userName {user_name!r} is already taken.")


def _display_name(resource: UserResource, user_name: str) -> str:
    name = resource.name
    given = " ".join(p for p in (name and name.given_name, name and name.family_name) if p)
    chosen = resource.display_name or (name and name.formatted) or given or user_name
    return _limit(chosen.strip() or user_name, 200, "displayName")


def _valid_email(value: str | None) -> str | None:
    if not value:
        return None
    try:
        validate_email(value)
    except ValidationError:
        return None
    return value


def _email(resource: UserResource, user_name: str) -> str | None:
    return _limit(_chosen_email(resource, user_name), 254, "emails")


def _chosen_email(resource: UserResource, user_name: str) -> str | None:
    emails = resource.emails or []
    chosen = next((e for e in emails if e.primary), emails[0] if emails else None)
    return _valid_email(chosen.value if chosen else None) or _valid_email(user_name)


def _check_email(email: str, *, own_employee_id: int | None = None) -> None:
    taken = Employee.objects.filter(email__iexact=email)
    if own_employee_id is not None:
        taken = taken.exclude(pk=own_employee_id)
    if taken.exists():
        _refuse_taken_email(email)


def _refuse_taken_email(email: str) -> NoReturn:
    raise UniquenessException(detail=f"The email {email!r} belongs to another User.")


# A new person's two lookups, userName (the account holding it, any case) and email (taken or
# not), as Django's iexact writes them (UPPER on both sides, served by the UPPER() indexes of
# people/migrations/0007), in one prepared statement: planning the two ORM queries cost more
# than running them, a fifth of a POST /Users.
_NEW_PERSON_CLASHES = """
SELECT (SELECT u.id FROM {user} u WHERE UPPER(u.username::text) = UPPER(%(user_name)s::text)
        ORDER BY u.id LIMIT 1),
       EXISTS (SELECT 1 FROM {employee} e WHERE UPPER(e.email::text) = UPPER(%(email)s::text))
"""


def _new_person_clashes(user_name: str, email: str | None) -> tuple[int | None, bool]:
    """(id of the account holding this userName, whether a person has this email)."""
    if connection.vendor != "postgresql":  # the embedded SQLite: iexact is its own LIKE there
        users = get_user_model().objects.filter(username__iexact=user_name)
        clash = users.values_list("pk", flat=True).first()
        return clash, email is not None and Employee.objects.filter(email__iexact=email).exists()
    sql = _NEW_PERSON_CLASHES.format(
        user=get_user_model()._meta.db_table, employee=Employee._meta.db_table
    )
    clash, email_taken = prepared.fetchone(sql, {"user_name": user_name, "email": email})
    return clash, email_taken


def _language(value: str | None) -> str:
    if not value:
        return ""
    codes = {code for code, _ in settings.LANGUAGES}
    first = re.split(r"[,;]", value)[0].strip().replace("_", "-").lower()
    for candidate in (first, first.split("-")[0]):
        if candidate in codes:
            return candidate
    return ""


def _time_zone(value: str | None) -> str:
    if not value:
        return "UTC"
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return value


def _employee_number(resource: UserResource, *, own_employee_id: int | None = None) -> str | None:
    enterprise = resource[EnterpriseUser]
    number = enterprise.employee_number if enterprise else None
    number = _limit(number.strip() if number else None, 100, "employeeNumber") or None
    if number is not None:
        taken = Employee.objects.filter(external_id=number)
        if own_employee_id is not None:
            taken = taken.exclude(pk=own_employee_id)
        if taken.exists():
            raise UniquenessException(detail=f"employeeNumber {number!r} belongs to another User.")
    return number


def _manager(resource: UserResource, *, own_employee_id: int | None = None) -> Employee | None:
    enterprise = resource[EnterpriseUser]
    manager = enterprise.manager if enterprise else None
    if manager is None:
        return None
    value = manager.value or _last_segment(manager.ref)
    if own_employee_id is not None and value == str(own_employee_id):
        raise InvalidValueException(detail="A person cannot be their own manager.")
    found = people().filter(pk=int(value)).first() if _digits(value) else None
    if found is None:
        raise InvalidValueException(detail=f"manager {value!r} is not a User of this service.")
    return found


def _last_segment(ref) -> str:
    return str(ref).rstrip("/").rsplit("/", 1)[-1] if ref else ""


def _department(resource: UserResource) -> str | None:
    enterprise = resource[EnterpriseUser]
    return enterprise.department if enterprise else None


def team_named(label: str) -> Team | None:
    """The team a department names: by externalId, then slug, then name (any case)."""
    candidates = Team.objects.exclude(scim__deleted_at__isnull=False)
    for lookup in ({"external_id": label}, {"slug": label}):
        found = candidates.filter(**lookup).first()
        if found is not None:
            return found
    named = list(candidates.filter(name__iexact=label)[:2])
    if len(named) > 1:
        raise InvalidValueException(
            detail=f"Several teams are called {label!r}: name the department by the team's "
            "externalId or slug."
        )
    return named[0] if named else None


def _stored_user_attributes(resource: UserResource) -> dict:
    data = resource.model_dump(mode="json")
    for key in USER_COLUMNS:
        data.pop(key, None)
    enterprise = data.pop(ENTERPRISE, None) or {}
    for key in ENTERPRISE_COLUMNS:
        enterprise.pop(key, None)
    if enterprise:
        data[ENTERPRISE] = enterprise
    return data


def _place(
    employee: Employee, label: str | None, previous: str | None, client: Client
) -> Team | None:
    """Follow a changed department to the team it names (a label naming no team is kept).
    Returns the team the person was moved to, if they were."""
    if not label or (previous is not None and label.casefold() == previous.casefold()):
        return None
    team = team_named(label)
    if team is None:
        return None
    change = services.change_team_administratively(
        employee=employee,
        to_team=team,
        actor=client.actor,
        client_name=client.name,
        api_key_id=client.key_id,
    )
    return team if change is not None else None


@transaction.atomic
def create_user(resource: UserResource, client: Client) -> Employee:
    user_name = _clean_user_name(resource.user_name)
    email = _chosen_email(resource, user_name)
    clash, email_taken = _new_person_clashes(user_name, email)
    # Refused in the order they always were: a taken userName, a too long email, a taken one.
    _refuse_taken_user_name(user_name, clash)
    _limit(email, 254, "emails")
    if email_taken:
        _refuse_taken_email(email)
    number = _employee_number(resource)
    manager = _manager(resource)
    name = _display_name(resource, user_name)
    title = _limit(resource.title, 200, "title") or ""
    active = resource.active is not False
    user = get_user_model().objects.create_user(
        username=user_name,
        email=email or "",
        password=resource.password or None,  # None: an unusable password (sign in by SSO)
        first_name=((resource.name and resource.name.given_name) or "")[:150],
        last_name=((resource.name and resource.name.family_name) or "")[:150],
        is_active=active,
    )
    employee = Employee.objects.create(
        user=user,
        name=name,
        email=email or f"{uuid.uuid4().hex}@{NO_EMAIL_DOMAIN}",
        title=title,
        external_id=number,
        manager=manager,
        is_active=active,
        time_zone=_time_zone(resource.timezone),
        language=_language(resource.preferred_language),
    )
    attributes = _stored_user_attributes(resource)
    attributes.setdefault("active", active)
    ScimRecord.objects.create(
        employee=employee, attributes=attributes, user_name_key=fold(user_name)
    )
    moved_to = _place(employee, _department(resource), None, client)
    if moved_to is not None:
        employee.team = moved_to  # the service moved its own copy of the row
    # What was written, with the account, team and record attached (the record's reverse
    # cache is set by create()): the response is built from it, not read back.
    return employee


@transaction.atomic
def update_user(employee: Employee, after: UserResource, client: Client) -> Employee:
    """Make the person what `after` (the new state of their resource) describes."""
    record = record_of(employee)
    previous_department = (
        (record.attributes.get(ENTERPRISE) or {}).get("department")
        if record is not None
        else (employee.team.name if employee.team else None)
    )
    if record is None:
        record = ScimRecord(employee=employee, created_at=employee.user.date_joined)
    user = employee.user
    user_name = after.user_name
    if user_name != user.username:
        user_name = _check_user_name(user_name, own_user_id=user.pk)
    email = _email(after, user_name)
    if email is not None and email.lower() != employee.email.lower():
        _check_email(email, own_employee_id=employee.pk)
    number = _employee_number(after, own_employee_id=employee.pk)
    manager = _manager(after, own_employee_id=employee.pk)

    user.username = user_name
    user.first_name = ((after.name and after.name.given_name) or "")[:150]
    user.last_name = ((after.name and after.name.family_name) or "")[:150]
    if email is not None:
        user.email = email
    if after.password:
        user.set_password(after.password)
    user.save(update_fields=["username", "first_name", "last_name", "email", "password"])

    employee.name = _display_name(after, user_name)
    if email is not None:
        employee.email = email
    employee.title = _limit(after.title, 200, "title") or ""
    employee.external_id = number
    employee.manager = manager
    employee.time_zone = _time_zone(after.timezone)
    employee.language = _language(after.preferred_language)
    employee.save(
        update_fields=["name", "email", "title", "external_id", "manager", "time_zone", "language"]
    )

    record.attributes = _stored_user_attributes(after)
    record.user_name_key = fold(user_name)
    record.updated_at = timezone.now()
    record.save()

    # Absent means active, as at creation; false deactivates (sessions, open proposals).
    if after.active is False:
        services.deactivate_employee(employee=employee, actor=client.actor)
    elif not employee.is_active:
        services.reactivate_employee(employee=employee, actor=client.actor)
    _place(employee, _department(after), previous_department, client)
    return employee


@transaction.atomic
def delete_user(employee: Employee, client: Client) -> None:
    """SCIM DELETE: deactivate the person and stop serving them. Nothing is deleted: their
    decisions, moves and ledger records stay, and so do they (404 over SCIM from now on)."""
    services.deactivate_employee(employee=employee, actor=client.actor)
    record = record_of(employee) or ScimRecord(
        employee=employee, created_at=employee.user.date_joined
    )
    record.deleted_at = record.updated_at = timezone.now()
    record.save()


# --- Writing teams -------------------------------------------------------------------------


def _check_external_id(value: str | None, *, own_team_id: int | None = None) -> str | None:
    value = _limit(value, 100, "externalId") or None
    if value is not None:
        taken = Team.objects.filter(external_id=value)
        if own_team_id is not None:
            taken = taken.exclude(pk=own_team_id)
        if taken.exists():
            raise UniquenessException(detail=f"externalId {value!r} belongs to another Group.")
    return value


def _unique_slug(name: str) -> str:
    base = (slugify(name) or "team")[:80]
    slug, n = base, 1
    while Team.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def _extension(resource: GroupResource) -> TeamExtension:
    return resource[TeamExtension] or TeamExtension()


def _headcount(extension: TeamExtension) -> int:
    value = extension.headcount_target or 0
    if value < 0 or value > 2**31 - 1:
        raise InvalidValueException(detail="headcountTarget must be between 0 and 2147483647.")
    return value


def _wanted_members(resource: GroupResource) -> list[Employee]:
    """The people the resource lists as members; unknown ids are refused (400)."""
    ids, unknown = [], []
    for member in resource.members or []:
        if member.type and member.type.casefold() == "group":
            raise InvalidValueException(
                detail="A team's members are people: a Group cannot be a member of a Group."
            )
        value = member.value or _last_segment(member.ref)
        (ids if _digits(value) else unknown).append(value)
    found = {e.pk: e for e in people().filter(pk__in=[int(v) for v in ids])}
    unknown += [v for v in ids if int(v) not in found]
    if unknown:
        raise InvalidValueException(
            detail="These member ids are not Users of this service: " + ", ".join(unknown)
        )
    return [found[int(v)] for v in dict.fromkeys(ids)]


def _member_displays(resource: GroupResource) -> dict:
    shown = [
        {"value": m.value, "display": m.display}
        for m in resource.members or []
        if m.value and m.display is not None
    ]
    return {"members": shown} if shown else {}


def _set_members(team: Team, wanted: list[Employee], client: Client) -> None:
    current = {e.pk: e for e in members_of_teams().queryset.filter(team=team)}
    wanted_ids = {e.pk for e in wanted}
    for employee in wanted:
        if employee.pk not in current:
            services.change_team_administratively(
                employee=employee,
                to_team=team,
                actor=client.actor,
                client_name=client.name,
                api_key_id=client.key_id,
            )
    for pk, employee in current.items():
        if pk not in wanted_ids:
            services.change_team_administratively(
                employee=employee,
                to_team=None,
                actor=client.actor,
                client_name=client.name,
                api_key_id=client.key_id,
            )


@transaction.atomic
def create_group(resource: GroupResource, client: Client) -> Team:
    name = _limit(resource.display_name.strip(), 200, "displayName")
    if not name:
        raise InvalidValueException(detail="displayName must not be empty.")
    extension = _extension(resource)
    members = _wanted_members(resource)
    team = Team.objects.create(
        name=name,
        slug=_unique_slug(name),
        external_id=_check_external_id(resource.external_id),
        headcount_target=_headcount(extension),
        description=extension.description or "",
    )
    ScimRecord.objects.create(team=team, attributes=_member_displays(resource))
    _set_members(team, members, client)
    return team


@transaction.atomic
def update_group(team: Team, after: GroupResource, client: Client) -> Team:
    record = record_of(team) or ScimRecord(team=team)
    name = _limit((after.display_name or "").strip(), 200, "displayName")
    if not name:
        raise InvalidValueException(detail="displayName must not be empty.")
    extension = _extension(after)
    members = _wanted_members(after)
    team.name = name
    team.external_id = _check_external_id(after.external_id, own_team_id=team.pk)
    team.headcount_target = _headcount(extension)
    team.description = extension.description or ""
    team.save(update_fields=["name", "external_id", "headcount_target", "description"])
    record.attributes = _member_displays(after)
    record.updated_at = timezone.now()
    record.save()
    _set_members(team, members, client)
    return team


@transaction.atomic
def delete_group(team: Team, client: Client) -> None:
    """SCIM DELETE of a team: its members leave it (each an audited change; refused for an
    AI-initiative team, whose members are there by their own decision) and it is no longer
    served. The row stays: proposals, moves and changes name it."""
    _set_members(team, [], client)
    record = record_of(team) or ScimRecord(team=team)
    record.deleted_at = record.updated_at = timezone.now()
    record.save()
