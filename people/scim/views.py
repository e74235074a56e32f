"""SCIM 2.0 endpoints (RFC 7644) for the HRIS: Users, Groups, discovery, search.

Each view translates: it reads the request with scim2-models (which validates it in the
context of its operation), fetches and locks through `store`, lets scim2-models apply PUT or
PATCH semantics to the current resource, and hands the new state to `store`, which changes
the portal through its services. Only an API key with the `scim` scope gets in; every error
is a SCIM error body (`people.scim.errors`).
"""

import functools
import json
from typing import Any

import orjson
from django.db import transaction
from django.urls import reverse
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView
from scim2_models import (
    Context,
    InvalidSyntaxException,
    InvalidValueException,
    NotFoundException,
    NotImplementedException,
    PatchOp,
    PreconditionFailedException,
    ResponseParameters,
    SearchRequest,
)

from api.authentication import BearerKeyAuthentication
from api.parsers import has_bad_text
from api.permissions import HasScope
from api.throttling import PerClientRateThrottle
from people.scim import errors, query, store
from people.scim.resources import CONFIG, CONTENT_TYPE, PROVIDER, GroupResource, UserResource

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
JSON_TYPES = ("application/json", "application/scim+json")
SEARCH_PARAMETERS = (
    "filter",
    "sortBy",
    "sortOrder",
    "startIndex",
    "count",
    "attributes",
    "excludedAttributes",
)
DEFAULT_RATE = "20000/min"  # a full HRIS sync is a burst of one request per person


class ScimRenderer(JSONRenderer):
    media_type = CONTENT_TYPE
    format = "scim"
    charset = None

    # JSON types only; anything DRF's encoder writes its own way (dates, lazy text, str
    # subclasses, Decimals, ...) makes orjson refuse, and DRF writes the body as ever.
    ORJSON = (
        orjson.OPT_PASSTHROUGH_DATETIME
        | orjson.OPT_PASSTHROUGH_DATACLASS
        | orjson.OPT_PASSTHROUGH_SUBCLASS
    )

    def render(self, data, accepted_media_type=None, renderer_context=None):
        """What DRF's JSONRenderer writes (compact, UTF-8, U+2028/9 escaped), by orjson: a
        page of a hundred Users took ~1 ms to write."""
        plain = data is not None and not self.ensure_ascii and self.compact
        if plain and self.get_indent(accepted_media_type, renderer_context or {}) is None:
            try:
                body = orjson.dumps(data, option=self.ORJSON)
            except TypeError:  # orjson.JSONEncodeError
                pass
            else:
                return body.replace(b"\xe2\x80\xa8", b"\\u2028").replace(
                    b"\xe2\x80\xa9", b"\\u2029"
                )
        return super().render(data, accepted_media_type, renderer_context)


class AlwaysScimJson(BaseContentNegotiation):
    """Answer in application/scim+json whatever the Accept header says (RFC 7644 §3.8
    lets a client ask for application/json too; the body is the same JSON)."""

    def select_parser(self, request, parsers):
        return None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ScimRateThrottle(PerClientRateThrottle):
    """Per key, like the REST API, with its own budget: settings.REST_FRAMEWORK
    DEFAULT_THROTTLE_RATES["scim"], else DEFAULT_RATE."""

    scope = "scim"

    def get_rate(self):
        return self.THROTTLE_RATES.get(self.scope) or DEFAULT_RATE


class ScimView(APIView):
    authentication_classes = [BearerKeyAuthentication]  # API keys only, never a session
    permission_classes = [HasScope]
    required_scopes = {"GET": "scim", "WRITE": "scim"}
    throttle_classes = [ScimRateThrottle]
    renderer_classes = [ScimRenderer]
    parser_classes: list = []
    content_negotiation_class = AlwaysScimJson
    schema = None  # not part of the REST API's OpenAPI document
    http_method_names = ["get", "head"]

    def get_exception_handler(self):
        return errors.exception_handler

    # --- helpers ---------------------------------------------------------------------------

    def base(self) -> str:
        root = reverse("scim:service-provider-config").removesuffix("ServiceProviderConfig")
        return self.request.build_absolute_uri(root).rstrip("/")

    def client(self) -> store.Client:
        user = self.request.user
        return store.Client(name=user.name, key_id=user.key_id, user_id=user.user_id)

    def parameters(self) -> dict[str, Any]:
        """The query string's SCIM parameters; their names are matched case-insensitively."""
        wanted = {name.casefold(): name for name in SEARCH_PARAMETERS}
        return {
            wanted[key.casefold()]: value
            for key, value in self.request.query_params.items()
            if key.casefold() in wanted
        }

    def response_parameters(self, model) -> ResponseParameters:
        params = {
            k: v for k, v in self.parameters().items() if k in ("attributes", "excludedAttributes")
        }
        return parameterised(ResponseParameters, model).model_validate(params)

    def body(self, model, context: Context):
        content_type = (self.request.content_type or "").split(";")[0].strip().lower()
        if content_type and content_type not in JSON_TYPES and not content_type.endswith("+json"):
            raise UnsupportedMediaType(content_type)
        try:
            payload = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise InvalidSyntaxException(detail=f"The body is not JSON: {exc}") from None
        except RecursionError:
            raise InvalidSyntaxException(
                detail="The body is not JSON: nested too deeply."
            ) from None
        if has_bad_text(payload):  # else a database error deep inside a save: a 500
            raise InvalidValueException(
                detail="The body contains a NUL character or text that is not valid Unicode "
                "(a lone surrogate); remove it and send the request again."
            )
        if context == Context.RESOURCE_PATCH_REQUEST:
            payload = _entra_manager(payload)
        return model.model_validate(payload, scim_ctx=context, scim_provider=PROVIDER)

    def resource_response(self, resource, context: Context, model, status=200) -> Response:
        body = resource.model_dump(
            scim_ctx=context, response_parameters=self.response_parameters(model)
        )
        headers = {"ETag": resource.meta.version, "Content-Location": resource.meta.location}
        if status == 201:
            headers["Location"] = resource.meta.location
        return Response(body, status=status, headers=headers, content_type=CONTENT_TYPE)

    def document_response(self, document: dict, status=200) -> Response:
        """A resource's payload as it is (what scim2-models writes for it whole)."""
        meta = document["meta"]
        headers = {"ETag": meta["version"], "Content-Location": meta["location"]}
        if status == 201:
            headers["Location"] = meta["location"]
        return Response(document, status=status, headers=headers, content_type=CONTENT_TYPE)

    def check_if_match(self, resource) -> None:
        wanted = self.request.headers.get("If-Match")
        if wanted is not None and not _etag_matches(wanted, resource.meta.version):
            raise PreconditionFailedException(
                detail="The resource changed since you read it (If-Match): read it again."
            )


MANAGER_PATH = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:manager"


def _entra_manager(payload: Any) -> Any:
    """Microsoft Entra sets a manager with the bare id as value; RFC 7643 wants
    {"value": id}. Accept both."""
    operations = payload.get("Operations") if isinstance(payload, dict) else None
    # Operations that are not a list (`true`, `5`) are scim2-models' to refuse, in words.
    for operation in operations if isinstance(operations, list) else []:
        if not isinstance(operation, dict):
            continue
        path, value = str(operation.get("path") or "").casefold(), operation.get("value")
        if path == MANAGER_PATH and isinstance(value, str):
            operation["value"] = {"value": value}
        elif not path and isinstance(value, dict):
            for key in [k for k in value if k.casefold() == MANAGER_PATH]:
                if isinstance(value[key], str):
                    value[key] = {"value": value[key]}
    return payload


def _etag_matches(header: str, version: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2), as SCIM versions are weak ETags."""
    tags = [tag.strip() for tag in header.split(",")]
    return "*" in tags or version.removeprefix("W/") in [t.removeprefix("W/") for t in tags]


@functools.cache
def parameterised(generic, model):
    """`generic[model]` (SearchRequest[UserResource], ...), made once. pydantic keeps such
    classes only while something refers to them: after a garbage collection a request built
    its own again (2-4 ms; a third of the POST /Users measured paid it)."""
    return generic[model]


def list_response(page: query.Page, start: int) -> Response:
    body = {
        "schemas": [LIST_RESPONSE],
        "totalResults": page.total,
        "itemsPerPage": len(page.documents),
        "startIndex": start,
        "Resources": page.documents,
    }
    return Response(body, content_type=CONTENT_TYPE)


# --- Resources -----------------------------------------------------------------------------


class _Kind:
    """What differs between Users and Groups."""

    def __init__(self, name, model, build, payload, create, update, delete, find, lock):
        self.name, self.model, self.build, self.payload = name, model, build, payload
        self.create, self.update, self.delete = create, update, delete
        self.find, self.lock = find, lock


USERS = _Kind(
    "Users",
    UserResource,
    store.as_user,
    store.user_payload,
    store.create_user,
    store.update_user,
    store.delete_user,
    store.find_person,
    store.lock_person,
)
GROUPS = _Kind(
    "Groups",
    GroupResource,
    store.as_group,
    store.group_payload,
    store.create_group,
    store.update_group,
    store.delete_group,
    store.find_team,
    store.lock_team,
)


class CollectionView(ScimView):
    """GET lists with filter, sortBy/sortOrder, startIndex/count; POST creates."""

    kind: _Kind = USERS
    http_method_names = ["get", "head", "post"]

    def search(self, payload: dict) -> Response:
        request = parameterised(SearchRequest, self.kind.model).model_validate(
            payload, scim_ctx=Context.SEARCH_REQUEST
        )
        page = query.search(self.kind.name, request, self.base())
        return list_response(page, request.start_index or 1)

    def get(self, request):
        return self.search(self.parameters())

    def post(self, request):
        resource = self.body(self.kind.model, Context.RESOURCE_CREATION_REQUEST)
        # store.create_user and create_group are atomic themselves (a second block around
        # them only added a savepoint's two round trips). They return the rows just written,
        # complete (account, team, SCIM record): the answer is built from them, where reading
        # them back cost a query and ~5 ms.
        created = self.kind.create(resource, self.client())
        wanted = self.response_parameters(self.kind.model)
        if not wanted.attributes and not wanted.excluded_attributes:
            # Every attribute: the payload is what scim2-models would write, as on a list page
            # (tests/scim/test_list_rendering.py), without building and dumping a model.
            return self.document_response(self.kind.payload(created, self.base()), status=201)
        fresh = self.kind.build(created, self.base())
        return self.resource_response(
            fresh, Context.RESOURCE_CREATION_RESPONSE, self.kind.model, status=201
        )


class SearchView(CollectionView):
    """POST /Users/.search, /Groups/.search (RFC 7644 §3.4.3)."""

    http_method_names = ["post"]
    required_scopes = {"GET": "scim", "POST": "scim"}

    def post(self, request):
        payload = self.body(parameterised(SearchRequest, self.kind.model), Context.SEARCH_REQUEST)
        page = query.search(self.kind.name, payload, self.base())
        return list_response(page, payload.start_index or 1)


class RootSearchView(ScimView):
    """POST /.search: Users and Groups at once."""

    http_method_names = ["post"]

    def post(self, request):
        payload = self.body(
            parameterised(SearchRequest, UserResource | GroupResource), Context.SEARCH_REQUEST
        )
        page = query.search_everything(payload, self.base())
        return list_response(page, payload.start_index or 1)


class ResourceView(ScimView):
    """GET, PUT, PATCH, DELETE one resource; ETags in meta.version, If-Match, If-None-Match."""

    kind: _Kind = USERS
    http_method_names = ["get", "head", "put", "patch", "delete"]

    def get(self, request, resource_id):
        resource = self.kind.build(self.kind.find(resource_id), self.base())
        unchanged = request.headers.get("If-None-Match")
        if unchanged is not None and _etag_matches(unchanged, resource.meta.version):
            return Response(status=304, headers={"ETag": resource.meta.version})
        return self.resource_response(resource, Context.RESOURCE_QUERY_RESPONSE, self.kind.model)

    def put(self, request, resource_id):
        replacement = self.body(self.kind.model, Context.RESOURCE_REPLACEMENT_REQUEST)
        with transaction.atomic():
            target = self.kind.lock(resource_id)
            current = self.kind.build(target, self.base())
            self.check_if_match(current)
            replacement.replace(current)  # read-only kept, immutable checked (scim2-models)
            self.kind.update(target, replacement, self.client())
        return self.resource_response(
            self.kind.build(self.kind.find(resource_id), self.base()),
            Context.RESOURCE_REPLACEMENT_RESPONSE,
            self.kind.model,
        )

    def patch(self, request, resource_id):
        operations = self.body(
            parameterised(PatchOp, self.kind.model), Context.RESOURCE_PATCH_REQUEST
        )
        with transaction.atomic():
            target = self.kind.lock(resource_id)
            current = self.kind.build(target, self.base())
            self.check_if_match(current)
            if operations.patch(current, PROVIDER.policy):
                self.kind.update(target, current, self.client())
        return self.resource_response(
            self.kind.build(self.kind.find(resource_id), self.base()),
            Context.RESOURCE_PATCH_RESPONSE,
            self.kind.model,
        )

    def delete(self, request, resource_id):
        with transaction.atomic():
            target = self.kind.lock(resource_id)
            self.check_if_match(self.kind.build(target, self.base()))
            self.kind.delete(target, self.client())
        return Response(status=204)


# --- Discovery (RFC 7644 §4) ---------------------------------------------------------------


def _located(resource, location: str) -> dict:
    body = resource.model_dump()
    body["meta"] = {"resourceType": type(resource).__name__, "location": location}
    return body


class ServiceProviderConfigView(ScimView):
    def get(self, request):
        return Response(
            _located(CONFIG, f"{self.base()}/ServiceProviderConfig"), content_type=CONTENT_TYPE
        )


def _listing(items: list[dict]) -> Response:
    body = {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "itemsPerPage": len(items),
        "startIndex": 1,
        "Resources": items,
    }
    return Response(body, content_type=CONTENT_TYPE)


class ResourceTypesView(ScimView):
    def get(self, request, resource_id=None):
        located = {
            rt.id: _located(rt, f"{self.base()}/ResourceTypes/{rt.id}")
            for rt in PROVIDER.resource_types
        }
        if resource_id is None:
            return _listing(list(located.values()))
        if resource_id not in located:
            raise NotFoundException(detail=f"No resource type {resource_id!r}.")
        return Response(located[resource_id], content_type=CONTENT_TYPE)


class SchemasView(ScimView):
    def get(self, request, resource_id=None):
        located = {
            str(s.id): _located(s, f"{self.base()}/Schemas/{s.id}") for s in PROVIDER.schemas
        }
        if resource_id is None:
            return _listing(list(located.values()))
        if resource_id not in located:
            raise NotFoundException(detail=f"No schema {resource_id!r}.")
        return Response(located[resource_id], content_type=CONTENT_TYPE)


class NotSupportedView(ScimView):
    """/Bulk and /Me: announced as unsupported; 501 as RFC 7644 §3.12 says."""

    http_method_names = ["get", "post", "put", "patch", "delete"]

    def dispatch_any(self, request, *args, **kwargs):
        raise NotImplementedException(detail=f"{request.path} is not supported by this service.")

    get = post = put = patch = delete = dispatch_any


class UnknownView(ScimView):
    """Anything else under /scim/v2/: a SCIM 404, whatever the method."""

    http_method_names = ["get", "head", "post", "put", "patch", "delete", "options"]

    def dispatch_any(self, request, *args, **kwargs):
        raise NotFoundException(detail=f"There is no SCIM endpoint at {request.path}.")

    get = post = put = patch = delete = options = dispatch_any
