"""What the SCIM service publishes: its resource models, schemas, resource types and
configuration, described with scim2-models (the python-scim authors' pydantic models).

Users are people (`Employee` and their account) with the enterprise extension; Groups are
teams, with a small extension of our own for what a team is in the portal. The schemas are
generated from the same models that validate requests and serialise responses, so what
`/Schemas` says is what the service does.
"""

from typing import Annotated, Any

from pydantic import Field
from scim2_models import (
    URN,
    AuthenticationScheme,
    Bulk,
    CaseExact,
    ChangePassword,
    ComplexAttribute,
    ETag,
    Extension,
    External,
    Filter,
    Group,
    Mutability,
    Pagination,
    Patch,
    Reference,
    ResourceType,
    ScimPolicy,
    ScimProvider,
    ServiceProviderConfig,
    Sort,
    User,
)
from scim2_models import EnterpriseUser as StandardEnterpriseUser

CONTENT_TYPE = "application/scim+json"
MAX_RESULTS = 1000
DEFAULT_PAGE_SIZE = 100
TEAM_SCHEMA = "urn:consent-portal:scim:schemas:extension:team:2.0:Group"


class Manager(ComplexAttribute):
    """The enterprise extension's manager, as RFC 7643's schema representation has it."""

    # scim2-models marks value and $ref required; RFC 7643 §8.7.1 does not, and identity
    # providers (Microsoft Entra among them) send the manager's id alone.
    value: Annotated[str | None, CaseExact.true] = None
    """The id of the SCIM resource representing the User's manager."""

    ref: Annotated[Reference["User"] | None, CaseExact.true] = Field(  # noqa: F821
        None, serialization_alias="$ref", validation_alias="$ref"
    )
    """The URI of the SCIM resource representing the User's manager."""

    display_name: Annotated[str | None, Mutability.read_only] = None
    """The displayName of the User's manager."""


class EnterpriseUser(StandardEnterpriseUser):
    """The enterprise User extension (RFC 7643 §4.3)."""

    manager: Manager | None = None
    """The User's manager: the id of another User of this service."""


class TeamExtension(Extension):
    """What a team is in the Consent Portal."""

    __schema__ = URN(TEAM_SCHEMA)

    ai_initiative: Annotated[bool | None, Mutability.read_only] = None
    """True for an AI-initiative team, which nobody joins or leaves except through their own
    decision; absent for a regular team. A team becomes one in the portal, only while empty."""

    headcount_target: int | None = None
    """How many people the team is meant to have; its open seats are derived from it."""

    description: str | None = None
    """What the team does, in plain words, shown to people choosing where to go."""


UserResource = User[EnterpriseUser]
GroupResource = Group[TeamExtension]

# What we tolerate from identity providers beyond the letter of RFC 7644: Microsoft Entra
# removes a member with {"op": "Remove", "path": "members", "value": [{"value": id}]}, and
# adds values through filters that match nothing yet. Unknown attributes are refused.
POLICY = ScimPolicy(
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

CONFIG = ServiceProviderConfig(
    documentation_uri=None,
    patch=Patch(supported=True),
    bulk=Bulk(supported=False, max_operations=0, max_payload_size=0),
    filter=Filter(supported=True, max_results=MAX_RESULTS),
    change_password=ChangePassword(supported=True),
    sort=Sort(supported=True),
    etag=ETag(supported=True),
    pagination=Pagination(
        cursor=False,
        index=True,
        default_pagination_method=Pagination.DefaultPaginationMethod.index,
        default_page_size=DEFAULT_PAGE_SIZE,
        max_page_size=MAX_RESULTS,
    ),
    authentication_schemes=[
        AuthenticationScheme(
            type=AuthenticationScheme.Type.oauthbearertoken,
            name="API key",
            description=(
                "Authorization: Bearer <key>, a key with the `scim` scope from "
                "`manage.py create_api_key --scopes scim` or the admin."
            ),
            spec_uri=Reference[External]("https://www.rfc-editor.org/rfc/rfc6750"),
            primary=True,
        )
    ],
)

USER_TYPE = ResourceType.from_resource(UserResource).model_copy(
    update={"description": "People: employees and their accounts"}
)
GROUP_TYPE = ResourceType.from_resource(GroupResource).model_copy(
    update={"description": "Teams: a person is a member of at most one"}
)

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, Group, TeamExtension],
    resource_types=[USER_TYPE, GROUP_TYPE],
    config=CONFIG,
    policy=POLICY,
)

ENDPOINTS: dict[str, Any] = {"Users": UserResource, "Groups": GroupResource}
