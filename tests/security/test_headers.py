"""Every page and JSON answer carries the security headers; nothing personal is cached."""

import pytest
from django.urls import reverse

PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store, private",
}


@pytest.fixture
def eve_client(client, employee):
    client.force_login(employee.user)
    return client


def _assert_protected(response):
    for header, value in PAGE_HEADERS.items():
        assert response.headers.get(header) == value, (header, response.headers.get(header))
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in policy
    assert len(response.headers["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_the_sign_in_page_carries_csp_frame_denial_nosniff_and_referrer_policy(client):
    response = client.get(reverse("account_login"))
    assert response.status_code == 200
    _assert_protected(response)


@pytest.mark.django_db
def test_personal_pages_are_never_stored(eve_client, proposal):
    for url in ("/inbox/", f"/proposals/{proposal.pk}/", "/privacy/", "/notifications/"):
        response = eve_client.get(url)
        assert response.status_code == 200, url
        _assert_protected(response)


@pytest.mark.django_db
def test_json_answers_are_never_stored(client, eve_client):
    for response in (
        client.get("/healthz"),  # the view says never_cache; the rule is stricter still
        client.get("/api/v1/proposals/"),  # 401 problem details
        client.get("/scim/v2/Users"),
        eve_client.get("/api/v1/proposals/"),  # the person's own session
    ):
        assert response["Content-Type"].split(";")[0].endswith("json"), response["Content-Type"]
        assert response["Cache-Control"] == "no-store, private"
        assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_the_public_signing_keys_keep_their_public_cache(client):
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "public" in response["Cache-Control"]


@pytest.mark.django_db
def test_hsts_over_https(client, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True
    response = client.get(reverse("account_login"), secure=True)
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")


@pytest.mark.django_db
def test_a_request_id_from_the_proxy_is_kept_and_a_forged_one_replaced(client):
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.42"})
    assert kept["X-Request-ID"] == "lb-7f3a.42"
    replaced = client.get("/healthz", headers={"X-Request-ID": 'x" injected=1 ' + "a" * 200})
    assert replaced["X-Request-ID"] != "lb-7f3a.42" and len(replaced["X-Request-ID"]) == 32
