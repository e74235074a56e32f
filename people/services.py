"""Changes to people records that are not about any workflow."""

from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from people.models import Employee, Team, TeamChange
from portal.errors import TransitionError


@transaction.atomic
def start_leave(*, employee: Employee, actor, now: datetime | None = None) -> Employee | None:
    """Mark someone on leave from now. Returns the locked row, or None if already on leave."""
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    if employee.on_leave_since is not None:
        return None
    employee.on_leave_since = now or timezone.now()
    employee.save(update_fields=["on_leave_since"])
    return employee


@transaction.atomic
def end_leave(*, employee: Employee, actor, now: datetime | None = None) -> datetime | None:
    """Mark someone back. Returns when the leave began, or None if they were not on leave."""
    employee = Employee.objects.select_for_update().get(pk=employee.pk)
    since = employee.on_leave_since
    if since is None:
        return None
    employee.on_leave_since = None
    employee.save(update_fields=["on_leave_since"])
    return since


# --- Team changes from the HRIS -------------------------------------------------------------

PROPOSAL_API = "POST /api/v1/proposals/"


class TeamChangeRefused(TransitionError):
    """An administrative change would put someone into (or take them out of) an AI-initiative
    team. Only the person's own opt-in does that: the caller should send a proposal."""


class TeamKindRefused(TransitionError):
    """A team with people in it cannot become an AI initiative: they never opted in."""


def latest_move_id(employee_id: int) -> int | None:
    # Moves belong to the workflows (assignments.Move, related_name "moves"); the records
    # floor only reads their ids, which the database guard compares with TeamChange rows.
    return Employee.objects.filter(pk=employee_id).aggregate(latest=Max("moves__id"))["latest"]


@transaction.atomic
def change_team_administratively(
    *,
    employee: Employee,
    to_team: Team | None,
    actor,
    client_name: str,
    api_key_id: int | None = None,
    now: datetime | None = None,
) -> TeamChange | None:
    """Move someone between regular teams (or into or out of no team) for the HRIS.

    1. Lock the person; if they are already in `to_team`, change nothing and return None.
    2. Refuse (TeamChangeRefused, nothing written) when either team is an AI initiative:
       nobody enters one except through their own opt-in to a proposal, and nobody is
       taken out of one except through their own undraft or an accepted placement offer.
    3. Record the TeamChange (who, when, from which client, the person's latest Move), then
       change the team. The database accepts the change only with that row behind it.
    """
    employee = (
        Employee.objects.select_for_update(of=("self",)).select_related("team").get(pk=employee.pk)
    )
    if employee.team_id == (to_team.pk if to_team else None):
        return None
    if to_team is not None and to_team.kind == Team.Kind.AI_INITIATIVE:
        raise TeamChangeRefused(
            _(
                "%(team)s is an AI initiative: nobody joins it except through their own "
                "opt-in. Propose the move with %(api)s and %(person)s decides."
            )
            % {"team": to_team.name, "api": PROPOSAL_API, "person": employee.name}
        )
    if employee.team is not None and employee.team.kind == Team.Kind.AI_INITIATIVE:
        raise TeamChangeRefused(
            _(
                "%(person)s joined %(team)s, an AI initiative, by their own opt-in; they leave "
                "it through their own undraft or a placement offer they accept, never by an "
                "administrative change. Offer them a move with %(api)s."
            )
            % {"team": employee.team.name, "api": PROPOSAL_API, "person": employee.name}
        )
    change = TeamChange.objects.create(
        employee=employee,
        from_team_id=employee.team_id,
        to_team=to_team,
        at=now or timezone.now(),
        actor=actor,
        client_name=client_name[:200],
        api_key_id=api_key_id,
        latest_move_id=latest_move_id(employee.pk),
    )
    employee.team = to_team
    employee.save(update_fields=["team"])
    return change


def check_team_kind(team: Team, kind: str) -> None:
    """Raise TeamKindRefused if `team` may not become `kind` now (the rule, for forms too)."""
    becomes_ai = kind == Team.Kind.AI_INITIATIVE and team.kind != Team.Kind.AI_INITIATIVE
    if becomes_ai and team.pk is not None and team.members.exists():
        raise TeamKindRefused(
            _(
                "%(team)s has people in it, and they never opted in to an AI initiative. A "
                "team becomes one only while it is empty: send its members retroactive "
                "confirmations (HR workspace, retroactive import) so that each decides, or "
                "create the AI initiative as a new team and propose moves with %(api)s."
            )
            % {"team": team.name, "api": PROPOSAL_API}
        )


@transaction.atomic
def change_team_kind(*, team: Team, kind: str, actor) -> Team:
    """Make a team an AI initiative (only while nobody is in it), or a regular team again."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    if team.kind == kind:
        return team
    check_team_kind(team, kind)
    team.kind = kind
    team.save(update_fields=["kind"])
    return team


# --- Deactivation ---------------------------------------------------------------------------


def end_sessions(user) -> int:
    """Delete the person's stored sessions; returns how many.

    With a database-backed session engine every live session is decoded (the table has no
    user column) and the person's are deleted, cache copies included. With any engine, the
    person is also locked out because their account is inactive: both authentication
    backends refuse an inactive user on the next request.
    """
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    if not hasattr(store_class, "get_model_class"):
        return 0
    decoder, user_id = store_class(), str(user.pk)
    live = (
        store_class.get_model_class()
        .objects.filter(expire_date__gt=timezone.now())
        .only("session_key", "session_data")
    )
    keys = [
        s.session_key
        for s in live.iterator(chunk_size=2000)
        if str(decoder.decode(s.session_data).get(SESSION_KEY)) == user_id
    ]
    for key in keys:
        store_class(session_key=key).delete()
    return len(keys)


@transaction.atomic
def deactivate_employee(*, employee: Employee, actor, now: datetime | None = None) -> bool:
    """Deactivate someone (they left, or the HRIS suspended them). Returns False if they
    already were inactive.

    1. Lock the person; mark them and their account inactive.
    2. End their sessions at once, and with them their use of the API from a browser (API
       keys belong to integrations, not to people, and stay as they are).
    3. Call every hook in settings.PEOPLE_DEACTIVATION_HOOKS (dotted paths, called with
       employee, actor and now inside this transaction): the workflows withdraw what is
       still open for the person. Nothing is deleted: their history stays.
    """
    employee = (
        Employee.objects.select_for_update(of=("self",)).select_related("user").get(pk=employee.pk)
    )
    if not employee.is_active:
        return False
    now = now or timezone.now()
    employee.is_active = False
    employee.save(update_fields=["is_active"])
    user = employee.user
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    end_sessions(user)
    for path in getattr(settings, "PEOPLE_DEACTIVATION_HOOKS", []):
        import_string(path)(employee=employee, actor=actor, now=now)
    return True


@transaction.atomic
def reactivate_employee(*, employee: Employee, actor) -> bool:
    """Let someone back in (the HRIS re-enabled them). Returns False if they were active."""
    employee = (
        Employee.objects.select_for_update(of=("self",)).select_related("user").get(pk=employee.pk)
    )
    if employee.is_active:
        return False
    employee.is_active = True
    employee.save(update_fields=["is_active"])
    if not employee.user.is_active:
        employee.user.is_active = True
        employee.user.save(update_fields=["is_active"])
    return True
