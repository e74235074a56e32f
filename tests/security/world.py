"""One small company, built once per module, for the authorization matrix and the canaries.

Eve is the employee concerned: every object a URL names belongs to her (her proposals, her
ledger records, her placement request, her notification) or to the company (a campaign, a
purpose, a team, a webhook endpoint). Morgan is her manager; Oscar (another employee) and Olga
(his manager, another manager) own nothing of hers; Harper is HR; Root is the superuser. API keys
hold one scope each, and one holds none.

Private reasons and a data-use choice's user agent carry canary strings, planted through the
normal services; Oscar has canaries of his own, which Eve must never see either.
"""

import contextlib
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from api.keys import create_key
from api.models import ApiKey
from api.scopes import SCOPES
from assignments.deadlines import minimum_deadline
from assignments.services import (
    apply_move,
    choose_audience,
    create_campaign,
    opt_in,
    opt_out,
    propose_transfer,
    send_campaign,
    undraft,
    withdraw_consent,
)
from consent.services import RequestContext
from datause import services as datause
from outbox.services import dispatch_pending
from people.models import Team
from people.roles import HR_GROUP
from tests.assignments.helpers import ROLE
from tests.conftest import WEB, make_person
from tests.datause.conftest import make_purpose
from webhooks.services import create_endpoint

# Roles, in the order the matrix prints them.
ANON = "anonymous"
SELF = "employee"  # the employee concerned (Eve)
PEER = "other employee"  # Oscar
MANAGER = "manager"  # Morgan, Eve's manager
OTHER_MANAGER = "other manager"  # Olga, Oscar's manager
HR = "hr"
ADMIN = "admin"
NO_SCOPE = "key:none"
KEYS = tuple(f"key:{scope}" for scope in SCOPES)
PEOPLE = (SELF, PEER, MANAGER, OTHER_MANAGER, HR, ADMIN)
ROLES = (ANON, *PEOPLE, *KEYS, NO_SCOPE)

TEST_MASTER_KEY = "c2VjdXJpdHktbWF0cml4LXRlc3QtbWFzdGVyLWtleSE="


def canary(owner: str, where: str) -> str:
    """A string nothing else on any page contains."""
    return f"CANARY-{owner}-{where}-7f3a9c"


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role -> user (people only)
    secrets: dict = field(default_factory=dict)  # role -> API key secret
    objects: dict = field(default_factory=dict)  # object name -> instance
    canaries: dict = field(default_factory=dict)  # canary -> the user who owns it


def _far(deadline):
    return timezone.localdate(deadline) + timedelta(days=14)


def _build() -> World:
    world = World()
    user_model = get_user_model()
    platform = Team.objects.create(name="Platform", slug="platform")
    payments = Team.objects.create(name="Payments", slug="payments")
    ai = Team.objects.create(name="Applied AI", slug="applied-ai", kind=Team.Kind.AI_INITIATIVE)
    labs = Team.objects.create(name="AI Labs", slug="ai-labs", kind=Team.Kind.AI_INITIATIVE)
    evals = Team.objects.create(name="AI Evals", slug="ai-evals", kind=Team.Kind.AI_INITIATIVE)
    morgan = make_person("morgan@example.test", "Morgan Manager", platform, external_id="E-MOR")
    eve = make_person(
        "eve@example.test", "Eve Employee", platform, manager=morgan, external_id="E-EVE"
    )
    olga = make_person("olga@example.test", "Olga Othermanager", payments, external_id="E-OLG")
    oscar = make_person(
        "oscar@example.test", "Oscar Outsider", payments, manager=olga, external_id="E-OSC"
    )
    harper = user_model.objects.create_user(
        username="harper@example.test", email="harper@example.test", password="pw"
    )
    harper.groups.add(Group.objects.get_or_create(name=HR_GROUP)[0])
    root = user_model.objects.create_superuser(
        username="root@example.test", email="root@example.test", password="pw"
    )
    world.users = {
        SELF: eve.user,
        PEER: oscar.user,
        MANAGER: morgan.user,
        OTHER_MANAGER: olga.user,
        HR: harper,
        ADMIN: root,
    }
    endpoint, _secret = create_endpoint(
        url="https://hooks.example.test/consent", events=list(_events()), created_by=root
    )

    deadline = minimum_deadline() + timedelta(hours=1)
    start = _far(deadline)

    def propose(person, team, proposer):
        return propose_transfer(
            employee=person,
            to_team=team,
            actor=proposer.user,
            role_description=ROLE,
            data_labelling_percent=40,
            start_date=start,
            response_deadline=deadline,
        )

    for person, tag in ((eve, "eve"), (oscar, "oscar")):
        proposer = morgan if person is eve else olga
        reason = canary(tag, "opt-out-reason")
        declined = propose(person, ai, proposer)
        record = opt_out(proposal=declined, actor=person.user, context=WEB, private_reason=reason)
        world.canaries[reason] = person.user
        changed_mind = propose(person, labs, proposer)
        opt_in(
            proposal=changed_mind,
            actor=person.user,
            terms_sha256=changed_mind.terms_sha256,
            context=WEB,
        )
        reason = canary(tag, "withdraw-reason")
        withdraw_consent(
            proposal=changed_mind, actor=person.user, context=WEB, private_reason=reason
        )
        world.canaries[reason] = person.user
        if person is eve:
            world.objects.update(declined=declined, record=record)

    # Eve is moved with her consent, then undrafts: a move and a placement request.
    moved = propose(eve, evals, morgan)
    opt_in(proposal=moved, actor=eve.user, terms_sha256=moved.terms_sha256, context=WEB)
    on_start = timezone.now() + (start - timezone.localdate()) + timedelta(hours=1)
    move = apply_move(proposal=moved, now=on_start)
    reason = canary("eve", "undraft-reason")
    placement = undraft(
        proposal=moved,
        actor=eve.user,
        context=WEB,
        team_preferences=[platform],
        private_reason=reason,
        now=on_start,
    )
    world.canaries[reason] = eve.user
    pending = propose(eve, ai, morgan)  # open: what opt-in, extend and withdraw act on

    purpose = make_purpose(morgan, slug="keystrokes")
    for person, tag in ((eve, "eve"), (oscar, "oscar")):
        agent = canary(tag, "user-agent")
        datause.opt_in(
            purpose=purpose,
            actor=person.user,
            terms_sha256=purpose.terms_sha256,
            context=RequestContext(ip_address="203.0.113.8", user_agent=agent),
        )
        world.canaries[agent] = person.user

    def campaign_to(team, name):
        return create_campaign(
            actor=harper,
            target_teams=[team],
            name=name,
            description="We staff an AI task force. Saying no costs nothing.",
            role_description=ROLE,
            data_labelling_percent=40,
            start_date=timezone.localdate() + timedelta(days=30),
            response_working_days=10,
            accountable_owner="Dana Director, VP Engineering",
            assessment_kind="works_council",
            assessment_reference="WC-2026-014",
        )

    campaign = campaign_to(ai, "Applied AI task force")  # a draft: editable
    sent = campaign_to(labs, "AI Labs drive")  # sent to Eve and Oscar: it has dashboards
    choose_audience(campaign=sent, employees=[eve, oscar], to_team=labs, label="Both", actor=harper)
    send_campaign(campaign=sent, actor=harper)
    dispatch_pending()  # outbox events -> webhook deliveries, as the worker would
    for role, scopes in [(f"key:{s}", [s]) for s in SCOPES] + [(NO_SCOPE, None)]:
        key, secret = create_key(name=f"Integration {role}", scopes=scopes or ["org:read"])
        if scopes is None:
            ApiKey.objects.filter(pk=key.pk).update(scopes=[])
        world.secrets[role] = secret

    from notifications.models import Notification  # noqa: PLC0415 (the delivery floor's model)

    world.objects.update(
        team=platform,
        employee=eve,
        proposal=pending,
        moved=moved,
        move=move,
        placement=placement,
        purpose=purpose,
        campaign=campaign,
        sent_campaign=sent,
        endpoint=endpoint,
        notification=Notification.objects.filter(recipient=eve.user).order_by("pk").first(),
        terms=pending.terms_sha256,
    )
    return world


def _events():
    from webhooks.models import EVENTS  # noqa: PLC0415

    return EVENTS


@contextlib.contextmanager
def built_world(django_db_blocker):
    """The world, inside one transaction rolled back when the module is done. Each request
    then runs in a savepoint of its own (see `isolated`), so a POST that succeeds changes
    nothing the next cell sees."""
    settings = override_settings(
        PORTAL_LEDGER_MASTER_KEY=TEST_MASTER_KEY,
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PORTAL_SESSION_IDLE_MINUTES=10**6,
        ACCOUNT_RATE_LIMITS=False,  # thousands of sign-in page requests from one address
    )
    # No cache.clear() here: on Redis it is a FLUSHDB, which would also drop api.coherence's
    # registry of live workers. Rate limits are off instead (settings above, and the matrix
    # lifts the API throttle).
    with django_db_blocker.unblock(), settings, transaction.atomic():
        yield _build()
        transaction.set_rollback(True)


@contextlib.contextmanager
def isolated():
    """One request's changes, undone afterwards."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)
