"""Who may do what, URL by URL: the one table the authorization matrix checks every cell
against (tests/security/test_authz_matrix.py). Keyed by URL name (an unnamed URL by its route).

Each entry says which object its path parameters name (`obj`, from tests/security/world.py:
everything of Eve's, or the company's) and, per method, the roles allowed. Everyone else, and
every method not listed, is refused: sent to sign in, or 401, 403, 404 or 405. Roles:

    anonymous, employee (Eve, whose objects these are), other employee (Oscar), manager (Eve's),
    other manager (Oscar's), hr, admin (a superuser), key:<scope> (an API key with only that
    scope), key:none (an API key with no scope).

"Allowed" means the request reached the view: 2xx, a redirect that is not the sign-in page, or a
400/409/422 about the body. A Django form view answers PUT as it answers POST. `either` names
cells where both answers are fine (a read-only page that also answers POST, a sign-out).

A new URL needs an entry here before the suite passes: decide who may use it, then add it.
"""

from dataclasses import dataclass, field

from tests.security.world import (
    ADMIN,
    ANON,
    HR,
    KEYS,
    MANAGER,
    NO_SCOPE,
    OTHER_MANAGER,
    PEER,
    PEOPLE,
    SELF,
)


def roles(*names) -> frozenset:
    return frozenset(names)


EVERYONE = roles(ANON, *PEOPLE, *KEYS, NO_SCOPE)
SIGNED_IN = roles(*PEOPLE)  # a person with a session (an API key is not one)
NOBODY = roles()
ONLY_SELF = roles(SELF)
HR_ONLY = roles(HR, ADMIN)  # HR partners; a superuser counts as HR (people.roles.is_hr)
MANAGERS = roles(MANAGER, OTHER_MANAGER, HR, ADMIN)  # anyone with reports, and HR
ADMIN_ONLY = roles(ADMIN)


def key(scope: str) -> str:
    return f"key:{scope}"


@dataclass(frozen=True)
class Entry:
    obj: str | None = None  # the world object the path names
    path: str | None = None  # an unnamed regex URL: the path to request
    methods: dict = field(default_factory=dict)  # method -> roles allowed
    either: dict = field(default_factory=dict)  # method -> roles for whom both answers are fine


def allow(obj=None, path=None, either=None, **methods) -> Entry:
    return Entry(
        obj=obj,
        path=path,
        methods={m: frozenset(r) for m, r in methods.items()},
        either={m: frozenset(r) for m, r in (either or {}).items()},
    )


def refuse_all(obj=None, path=None) -> Entry:
    return Entry(obj=obj, path=path)


TABLE: dict[str, Entry] = {}

# --- Public: no session needed ----------------------------------------------------------------
TABLE |= {
    "home": allow(GET=EVERYONE),
    "healthz": allow(GET=EVERYONE),
    "metrics": refuse_all(),  # a bearer token of its own (PORTAL_METRICS_TOKEN), unset here
    "wellknown:jwks": allow(GET=EVERYONE),
    "api-schema": allow(GET=EVERYONE),
    "api-docs": allow(GET=EVERYONE),
    "api/^(?P<rest>.*)$": refuse_all(path="/api/v2/nothing/"),
}

# --- Signing in (allauth) -----------------------------------------------------------------------
_SIGN_IN_FORMS = roles(ANON, *KEYS, NO_SCOPE)  # an API key is not a session: it is anonymous here
TABLE |= {
    "account_login": allow(GET=EVERYONE, POST=EVERYONE),
    "account_logout": allow(GET=EVERYONE, POST=EVERYONE),
    "account_inactive": allow(GET=EVERYONE),
    # Nobody signs up (people come from the HRIS): the page says so; a signed-in person is sent on.
    "account_signup": allow(GET=EVERYONE, POST=EVERYONE),
    "account_reauthenticate": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    # Steps of a flow nobody is in: a signed-in person is sent on, anyone else to sign in.
    "account_request_reauthentication_code": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    "account_confirm_reauthentication_code": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    "account_email": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    "account_email_verification_sent": allow(GET=EVERYONE),
    "account_change_password": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    "account_set_password": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    "account_reset_password": allow(GET=EVERYONE, POST=EVERYONE),
    "account_confirm_login_code": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    "account_confirm_email": allow(GET=EVERYONE),  # POST with a made-up key: 404
    "account_reset_password_from_key_done": allow(GET=EVERYONE),
    "account_reset_password_from_key": allow(GET=EVERYONE, POST=EVERYONE),
    "account_reset_password_done": allow(GET=EVERYONE),
    "mfa_index": allow(GET=SIGNED_IN),
    "mfa_authenticate": allow(GET=SIGNED_IN, POST=SIGNED_IN),  # signed in already: sent on
    "mfa_reauthenticate": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    "mfa_activate_totp": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    "mfa_deactivate_totp": refuse_all(),  # nobody here has TOTP on
    "mfa_view_recovery_codes": refuse_all(),
    "mfa_generate_recovery_codes": allow(GET=SIGNED_IN, POST=SIGNED_IN),  # sent to set up TOTP
    "mfa_download_recovery_codes": refuse_all(),
    "socialaccount_login_cancelled": allow(GET=EVERYONE),
    "socialaccount_login_error": refuse_all(),  # 401: "the sign-in failed"
    "socialaccount_signup": refuse_all(),
    "socialaccount_connections": allow(GET=SIGNED_IN, POST=SIGNED_IN),
    # allauth's old addresses: redirects to the new ones, whatever the method
    **{
        f"accounts/social/{old}/": allow(
            GET=EVERYONE, POST=EVERYONE, PUT=EVERYONE, PATCH=EVERYONE, DELETE=EVERYONE
        )
        for old in ("login/cancelled", "login/error", "signup", "connections")
    },
    "openid_connect_login": refuse_all(),  # no provider configured in tests
    "openid_connect_callback": refuse_all(),
    "people:set_language": allow(POST=EVERYONE),
}

_EMPLOYEES = roles(SELF, PEER, MANAGER, OTHER_MANAGER)

# --- The employee's own pages ---------------------------------------------------------------------
TABLE |= {
    "notifications:list": allow(GET=SIGNED_IN),
    "notifications:mark_read": allow(obj="notification", POST=ONLY_SELF),
    "notifications:mark_all_read": allow(POST=SIGNED_IN),
    "assignments:inbox": allow(GET=SIGNED_IN),
    "assignments:proposal": allow(obj="proposal", GET=ONLY_SELF),
    "assignments:opt_in": allow(obj="proposal", GET=ONLY_SELF, POST=ONLY_SELF),
    "assignments:opt_out": allow(obj="proposal", GET=ONLY_SELF, POST=ONLY_SELF),
    "assignments:withdraw_consent": allow(obj="proposal", GET=ONLY_SELF, POST=ONLY_SELF),
    "assignments:undraft": allow(obj="moved", GET=ONLY_SELF, POST=ONLY_SELF),
    "consent:receipt": allow(obj="record", GET=ONLY_SELF),
    "consent:receipt_json": allow(obj="record", GET=ONLY_SELF),
    "consent:receipt_jws": allow(obj="record", GET=ONLY_SELF),
    # The person the terms were issued to, and HR (assignments.terms.may_read); not managers.
    "consent:terms": allow(GET=roles(SELF, HR, ADMIN)),
    "privacy:centre": allow(GET=SIGNED_IN),
    "privacy:proposals": allow(GET=SIGNED_IN),
    "privacy:decisions": allow(GET=SIGNED_IN),
    "privacy:receipts": allow(GET=SIGNED_IN),
    "privacy:notifications": allow(GET=SIGNED_IN),
    "privacy:access_log": allow(GET=SIGNED_IN),
    "privacy:export": allow(GET=SIGNED_IN),
    "datause:privacy": allow(GET=SIGNED_IN),
    # Each employee decides for themself (HR and the admin are no employee here: 404).
    "datause:opt_in": allow(GET=_EMPLOYEES, POST=_EMPLOYEES),
    "datause:opt_out": allow(GET=_EMPLOYEES, POST=_EMPLOYEES),
}

# --- Managers ------------------------------------------------------------------------------------
TABLE |= {
    "assignments:team_proposals": allow(GET=MANAGERS),
    "assignments:propose": allow(GET=MANAGERS, POST=MANAGERS),
    "assignments:extend": allow(
        obj="proposal", GET=roles(MANAGER, HR, ADMIN), POST=roles(MANAGER, HR, ADMIN)
    ),
    "assignments:withdraw": allow(
        obj="proposal", GET=roles(MANAGER, HR, ADMIN), POST=roles(MANAGER, HR, ADMIN)
    ),
}

# --- HR ------------------------------------------------------------------------------------------
TABLE |= {
    "hr:start": allow(GET=SIGNED_IN),
    "hr:workspace": allow(GET=HR_ONLY),
    "hr:campaigns": allow(GET=HR_ONLY),
    "hr:campaign_new": allow(GET=HR_ONLY, POST=HR_ONLY),
    "hr:campaign": allow(obj="campaign", GET=HR_ONLY),
    "hr:campaign_edit": allow(obj="campaign", GET=HR_ONLY, POST=HR_ONLY),
    "hr:campaign_audience": allow(obj="campaign", GET=HR_ONLY, POST=HR_ONLY),
    "hr:campaign_preview": allow(obj="campaign", GET=HR_ONLY),
    "hr:campaign_send": allow(obj="campaign", POST=HR_ONLY),
    "hr:campaign_progress": allow(obj="campaign", GET=HR_ONLY),
    "hr:retroactive_import": allow(GET=HR_ONLY, POST=HR_ONLY),
    "hr:placements": allow(GET=HR_ONLY),
    "hr:offer_placement": allow(obj="placement", GET=HR_ONLY, POST=HR_ONLY),
    "hr:leave": allow(GET=HR_ONLY, POST=HR_ONLY),
    "hr:manager_suggestions": allow(GET=HR_ONLY),
    "hr_purposes:purposes": allow(GET=HR_ONLY),
    "hr_purposes:purpose_new": allow(GET=HR_ONLY, POST=HR_ONLY),
    "hr_purposes:purpose": allow(GET=HR_ONLY),
    "hr_purposes:purpose_next_version": allow(POST=HR_ONLY),
    "hr_purposes:purpose_edit": allow(GET=HR_ONLY, POST=HR_ONLY),
    "hr_purposes:purpose_publish": allow(POST=HR_ONLY),
}

# --- Dashboards: HR sees all, managers their own team (both suppressed under 5) ------------------
for _ns, _who, _campaign_readers in (
    ("hr_dashboards", HR_ONLY, HR_ONLY),
    ("team_dashboards", MANAGERS, roles(MANAGER, OTHER_MANAGER)),
):
    TABLE |= {
        f"{_ns}:overview": allow(GET=_who),
        f"{_ns}:overview_export": allow(GET=_who),
        # A team's view of a campaign: managers whose reports it reached (HR has no team: 404).
        f"{_ns}:campaign": allow(obj="sent_campaign", GET=_who & _campaign_readers),
        f"{_ns}:campaign_export": allow(obj="sent_campaign", GET=_who & _campaign_readers),
        # Who decided what, by name: HR's page only (403 under /team/).
        f"{_ns}:people": allow(obj="sent_campaign", GET=_who if _ns == "hr_dashboards" else NOBODY),
        f"{_ns}:no_adverse": allow(GET=_who),
        f"{_ns}:purposes": allow(GET=_who),
        f"{_ns}:purposes_export": allow(GET=_who),
        f"{_ns}:purpose": allow(GET=_who),
    }

# --- REST API: a key needs its scope; a signed-in person needs none and sees only their share -----
_ORG_READERS = roles(*PEOPLE, key("org:read"))
_PROPOSAL_READERS = roles(*PEOPLE, key("proposals:read"))
_EVES_PROPOSAL = roles(SELF, MANAGER, HR, ADMIN, key("proposals:read"))
_PROPOSERS = roles(MANAGER, HR, ADMIN, key("proposals:write"))  # for Eve: her manager, HR
_ORG_WRITERS = roles(HR, ADMIN, key("org:write"))
TABLE |= {
    "team-list": allow(GET=_ORG_READERS, POST=_ORG_WRITERS),
    # Changes only (PATCH); PUT and DELETE answer 405: people and teams leave through SCIM.
    "team-detail": allow(obj="team", GET=_ORG_READERS, PATCH=_ORG_WRITERS),
    "employee-list": allow(GET=_ORG_READERS),  # people arrive through SCIM
    "employee-detail": allow(
        obj="employee", GET=roles(SELF, MANAGER, HR, ADMIN, key("org:read")), PATCH=_ORG_WRITERS
    ),
    "employee-team-changes": allow(
        obj="employee", GET=roles(SELF, MANAGER, HR, ADMIN, key("org:read"))
    ),
    # The bodies propose a move for Eve (tests/security/test_authz_matrix.py, api_bodies).
    "proposal-bulk": allow(POST=_PROPOSERS),
    # Decisions are the person's own and made in the browser: 405 for everyone on the API.
    "api/v1/proposals/<int:pk>/opt-in/": refuse_all(obj="proposal"),
    "api/v1/proposals/<int:pk>/opt-out/": refuse_all(obj="proposal"),
    "api/v1/proposals/<int:pk>/withdraw-consent/": refuse_all(obj="proposal"),
    "api/v1/proposals/<int:pk>/undraft/": refuse_all(obj="proposal"),
    "api/v1/proposals/<int:pk>/decide/": refuse_all(obj="proposal"),
    "proposal-list": allow(GET=_PROPOSAL_READERS, POST=_PROPOSERS),
    "proposal-detail": allow(obj="proposal", GET=_EVES_PROPOSAL),
    "proposal-extend": allow(obj="proposal", POST=_PROPOSERS),
    "proposal-withdraw": allow(obj="proposal", POST=_PROPOSERS),
    "campaign-list": allow(GET=_PROPOSAL_READERS),
    "campaign-detail": allow(obj="campaign", GET=roles(HR, ADMIN, key("proposals:read"))),
    "move-list": allow(GET=_PROPOSAL_READERS),
    "move-detail": allow(obj="move", GET=_EVES_PROPOSAL),
    "placement-request-list": allow(GET=_PROPOSAL_READERS),
    "placement-request-detail": allow(
        obj="placement", GET=roles(SELF, HR, ADMIN, key("proposals:read"))
    ),
    "consent-record-list": allow(GET=roles(*PEOPLE, key("consent:read"))),
    # HR reads decisions on its (logged) dashboards, not through the API with a session.
    "consent-record-detail": allow(obj="record", GET=roles(SELF, ADMIN, key("consent:read"))),
    # A key manages the endpoints it made (this one is the admin's: 404 to the key); anyone
    # else signed in gets an empty list.
    "webhook-endpoint-list": allow(
        GET=roles(*PEOPLE, key("webhooks:manage")), POST=roles(ADMIN, key("webhooks:manage"))
    ),
    "webhook-endpoint-detail": allow(
        obj="endpoint", GET=ADMIN_ONLY, PATCH=ADMIN_ONLY, DELETE=ADMIN_ONLY
    ),
    "webhook-endpoint-rotate-secret": allow(obj="endpoint", POST=ADMIN_ONLY),
    "webhook-endpoint-test": allow(obj="endpoint", POST=ADMIN_ONLY),
    "datause-purposes": allow(GET=roles(*PEOPLE, key("consent:check"))),
    "consent-check": allow(GET=roles(key("consent:check")), POST=roles(key("consent:check"))),
}

# --- SCIM 2.0: the HRIS's key (scope scim) and nobody else ----------------------------------------
_SCIM = roles(key("scim"))
TABLE |= {
    "scim:service-provider-config": allow(GET=_SCIM),
    "scim:resource-types": allow(GET=_SCIM),
    "scim/v2/ResourceTypes/<str:resource_id>": allow(path="/scim/v2/ResourceTypes/User", GET=_SCIM),
    "scim:schemas": allow(GET=_SCIM),
    "scim/v2/Schemas/<str:resource_id>": allow(
        path="/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", GET=_SCIM
    ),
    "scim:users": allow(GET=_SCIM, POST=_SCIM),
    "scim/v2/Users/.search": allow(POST=_SCIM),
    "scim:user": allow(obj="employee", GET=_SCIM, PUT=_SCIM, PATCH=_SCIM, DELETE=_SCIM),
    "scim:groups": allow(GET=_SCIM, POST=_SCIM),
    "scim/v2/Groups/.search": allow(POST=_SCIM),
    "scim:group": allow(obj="team", GET=_SCIM, PUT=_SCIM, PATCH=_SCIM, DELETE=_SCIM),
    "scim/v2/.search": allow(POST=_SCIM),
    "scim/v2/^(Bulk|Me)(/.*)?$": refuse_all(path="/scim/v2/Bulk"),
    "scim/v2/^.*$": refuse_all(path="/scim/v2/Nothing"),
}

# --- The admin: superusers only; the ledger and the outbox are read-only even to them -------------
ADMIN_MODELS = {
    # model: what a superuser may do besides viewing (add / change / delete)
    "auth_group": "add change delete",
    # People and accounts with history are kept (deactivated, never deleted): the world's all
    # have some, so their delete pages refuse (tests/security/test_visible_access.py).
    "auth_user": "add change",
    "mfa_authenticator": "delete",  # each person sets up their own second factor
    "socialaccount_socialapp": "add change delete",
    "socialaccount_socialtoken": "add change delete",
    "socialaccount_socialaccount": "delete",  # accounts are linked by signing in, never by hand
    "account_emailaddress": "delete",  # addresses come from the HRIS
    "people_team": "add change delete",
    "people_teamchange": "",
    "people_employee": "add change",
    "consent_consentrecord": "",
    "consent_ledgerepoch": "",
    "assignments_campaign": "add change delete",
    "assignments_proposal": "",
    "assignments_move": "",
    "assignments_placementrequest": "",
    "notifications_notification": "change",  # every field read-only: a save changes nothing
    "outbox_outboxevent": "",
    "api_apikey": "add change",
    "webhooks_webhookendpoint": "add change delete",
    "webhooks_webhookdelivery": "delete",
    "datause_datausepurpose": "add change delete",
}
_ANY_METHOD = ("GET", "POST", "PUT", "PATCH", "DELETE")
_NOT_ADMIN = EVERYONE - ADMIN_ONLY
TABLE |= {
    "admin:index": allow(GET=ADMIN_ONLY, either={"POST": ADMIN_ONLY}),
    # Forwards to allauth's sign-in (with its two-factor step); a signed-in non-admin: 403.
    "admin:login": allow(GET=ADMIN_ONLY, POST=ADMIN_ONLY),
    # Anyone else is sent away (to the sign-in or the home page): harmless either way.
    "admin:logout": allow(POST=ADMIN_ONLY, either={"GET": _NOT_ADMIN, "POST": _NOT_ADMIN}),
    # The superuser's own password; nobody sets another's (auth_user_password_change).
    "admin:password_change": allow(GET=ADMIN_ONLY, POST=ADMIN_ONLY),
    "admin:password_change_done": allow(GET=ADMIN_ONLY, either={"POST": ADMIN_ONLY}),
    "admin:autocomplete": refuse_all(),  # 403 without a field to complete
    "admin:jsi18n": allow(GET=ADMIN_ONLY, either={"POST": ADMIN_ONLY}),
    "admin:view_on_site": refuse_all(),  # an Employee has no public page: 404
    "admin:app_list": allow(GET=ADMIN_ONLY, either={"POST": ADMIN_ONLY}),
    "admin/(?P<url>.*)$": refuse_all(path="/admin/nothing/here/"),
    "admin:auth_user_password_change": refuse_all(obj="employee"),  # nobody sets another's
}
for _model, _may in ADMIN_MODELS.items():
    _app, _name = _model.split("_", 1)
    _may = _may.split()
    _both = {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY}
    TABLE |= {
        f"admin:{_model}_changelist": allow(**_both),  # POST: the list's actions
        f"admin:{_model}_add": allow(**(_both if "add" in _may else {})),
        f"admin:{_model}_history": allow(GET=ADMIN_ONLY, either={"POST": ADMIN_ONLY}),
        f"admin:{_model}_delete": allow(**(_both if "delete" in _may else {})),
        f"admin:{_model}_change": allow(
            GET=ADMIN_ONLY, POST=ADMIN_ONLY if "change" in _may else NOBODY
        ),
        # The old address of the change page: a redirect, whatever the method.
        f"admin/{_app}/{_name}/<path:object_id>/": allow(**dict.fromkeys(_ANY_METHOD, ADMIN_ONLY)),
    }
# No authenticator exists in this world: its change page sends the admin back to the list.
TABLE["admin:mfa_authenticator_change"] = allow(GET=ADMIN_ONLY, either={"POST": ADMIN_ONLY})
