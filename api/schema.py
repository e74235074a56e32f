"""OpenAPI for the API: Bearer keys with the scope each operation needs, the problem-details
errors every operation can answer with, and the Idempotency-Key header on every POST."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from api.errors import PROBLEM, TITLES
from api.permissions import required_scope

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"description": "Per-field errors, when the request had invalid fields."},
        "items": {
            "type": "array",
            "description": "Per-item errors of a bulk request.",
            "items": {"type": "object"},
        },
    },
    "required": ["type", "title", "status", "detail"],
}
COMMON_ERRORS = (400, 401, 403, 404, 429)
WRITE_ERRORS = (409, 422)


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.BearerKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py create_api_key` or the admin.",
        }


class ScopedAutoSchema(AutoSchema):
    def get_auth(self):
        scope = required_scope(self.view, self.method)
        requirements = super().get_auth()
        return [
            {name: [scope] if scope and name == "apiKey" else []}
            for requirement in requirements
            for name in requirement
        ]

    def get_description(self):
        text = super().get_description() or ""
        scope = required_scope(self.view, self.method)
        if scope:
            text = f"{text}\n\nScope: `{scope}`.".strip()
        return text


def _untyped(schema: dict) -> bool:
    """No schema, or OpenApiTypes.OBJECT: nothing a view said about the body's shape."""
    return not schema or (
        schema.get("type") == "object" and "properties" not in schema and "$ref" not in schema
    )


def add_errors_and_idempotency(result, generator, request, public):
    """Postprocessing hook: document the error shape and the POST header everywhere."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            codes = COMMON_ERRORS + {"post": WRITE_ERRORS, "patch": (409,)}.get(method, ())
            for code in codes:
                responses.setdefault(
                    str(code), {"description": TITLES[code], "content": {PROBLEM: {"schema": ref}}}
                )
            for code, response in responses.items():
                # An error a view documents without a schema of its own (a description, an
                # example) is a problem body too; one with its own schema is left as it is.
                content = response.get("content") or {}
                untyped = all(_untyped(c.get("schema") or {}) for c in content.values())
                if code.isdigit() and int(code) >= 400 and PROBLEM not in content and untyped:
                    examples = next(
                        (c["examples"] for c in content.values() if "examples" in c), None
                    )
                    problem_content = {"schema": ref}
                    if examples:
                        problem_content["examples"] = examples
                    response["content"] = {PROBLEM: problem_content}
            if method == "post":
                operation.setdefault("parameters", []).append(
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 255},
                        "description": "Same key and body: the first response again, nothing "
                        "new created. Same key, other body: 422. While the first still runs: 409.",
                    }
                )
    return result
