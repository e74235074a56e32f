"""The API's scopes: what a key may do. A key holds only the scopes it was created with."""

SCOPES = {
    "org:read": "Read teams and employees.",
    "org:write": "Create and change teams and employees.",
    "proposals:read": "Read campaigns, proposals, moves and placement requests.",
    "proposals:write": "Create, withdraw and extend proposals (never decide them).",
    "consent:read": "Read consent decisions (each read of a person's decisions is logged).",
    "consent:check": "Ask whether collecting a kind of data from a person is allowed.",
    "webhooks:manage": "Create, change and delete webhook endpoints.",
    "scim": "Provision people and teams over SCIM 2.0.",
}


def parse(text: str) -> list[str]:
    """Scopes from "a,b,c"; raises ValueError naming every unknown one."""
    scopes = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise ValueError(
            f"unknown scope(s): {', '.join(unknown)}; known scopes: {', '.join(SCOPES)}"
        )
    if not scopes:
        raise ValueError(f"give at least one scope; known scopes: {', '.join(SCOPES)}")
    return sorted(set(scopes))
