"""Under the Content Security Policy every page still works: real Chromium visits each kind of
page (the employee's, HR's with its charts, the admin, the API docs, sign-in and TOTP setup)
and the browser reports no violation: no inline script, style or handler is left anywhere."""

from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from people.models import Employee
from tests.web.conftest import browser_type_launch_args, sign_in  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True)

# Collected in the page itself: the browser raises this event for every blocked resource.
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


@pytest.fixture
def demo(settings):
    settings.DEBUG = True  # seed_demo refuses otherwise
    call_command("seed_demo", stdout=StringIO())
    settings.DEBUG = False
    return {e.email: e for e in Employee.objects.select_related("user")}


def _visit(page, url, problems):
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security" in m.text else None)
    response = page.goto(url)
    assert response.status < 400, (url, response.status)
    page.wait_for_timeout(300)  # scripts that run after load (charts, Swagger UI) have run
    assert response.headers["content-security-policy"]
    problems += [f"{url}: {v}" for v in page.evaluate("window.__violations")]
    problems += [f"{url}: {c}" for c in console]


def test_no_page_breaks_the_content_security_policy(live_server, browser, sign_in, demo):  # noqa: F811
    from assignments.models import Campaign

    problems = []
    eve = demo["employee@demo.test"]
    proposal = eve.proposals.get(kind="transfer")
    campaign = Campaign.objects.order_by("pk").first()
    roles = {
        "employee@demo.test": [
            "/inbox/", f"/proposals/{proposal.pk}/", "/privacy/", "/privacy/purposes/",
            "/notifications/", "/accounts/2fa/", "/accounts/2fa/totp/activate/",
        ],
        "hr@demo.test": ["/hr/", f"/hr/dashboards/campaigns/{campaign.pk}/"],
        "admin@demo.test": ["/admin/", "/admin/people/employee/", "/admin/consent/consentrecord/"],
    }  # fmt: skip
    for email, paths in roles.items():
        page = sign_in(demo[email].user)
        page.add_init_script(LISTEN)
        for path in paths:
            _visit(page, live_server.url + path, problems)
        if email == "employee@demo.test":
            # htmx still swaps in the opt-in form (its own script file, no eval, no inline style).
            page.goto(f"{live_server.url}/proposals/{proposal.pk}/")
            page.get_by_role("button", name="Opt in").first.click()
            expect(page).to_have_url(f"{live_server.url}/proposals/{proposal.pk}/opt-in/")
            problems += [f"htmx swap: {v}" for v in page.evaluate("window.__violations")]
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(LISTEN)
    for path in ("/", "/accounts/login/", "/api/docs/"):
        _visit(page, live_server.url + path, problems)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Consent Portal API")
    context.close()
    assert not problems, "\n".join(problems)
