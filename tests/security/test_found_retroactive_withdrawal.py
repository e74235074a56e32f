"""Found: a manager could withdraw HR's retroactive confirmation, and the person, moved without
consent, then appeared nowhere as "no consent on record".

Fixed at the root: only HR withdraws a retroactive confirmation, with a reason (the service
refuses anyone else, so the pages and the API do too), and a withdrawn confirmation counts as
"no consent on record" until the person themselves confirms.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from assignments.models import Proposal
from assignments.selectors import employees_without_consent_on_record
from assignments.services import opt_in, propose_retroactive_confirmation, withdraw_proposal
from reports.permissions import HR_NAMESPACE, Scope
from reports.selectors import CATEGORIES, campaign_breakdowns
from tests.api.conftest import key_client
from tests.assignments.helpers import describe
from tests.conftest import WEB
from tests.reports.conftest import make_campaign

pytestmark = pytest.mark.django_db
NO_CONSENT = CATEGORIES.index("no_consent")
WITHDRAWN = CATEGORIES.index("withdrawn")


@pytest.fixture
def campaign(hr_user):
    return make_campaign(hr_user, name="Moved by memo")


@pytest.fixture
def confirmation(employee, payments, hr_user, deadline, campaign):
    """Eve was moved from Payments to Platform by memo; HR asks her to confirm it."""
    return _confirmation(employee, payments, hr_user, deadline, campaign)


def _confirmation(employee, payments, hr_user, deadline, campaign):
    return propose_retroactive_confirmation(
        employee=employee,
        previous_team=payments,
        actor=hr_user,
        role_description=describe("You were moved here by memo in March."),
        moved_on=timezone.localdate() - timedelta(days=200),
        response_deadline=deadline,
        campaign=campaign,
    )


def _state(proposal):
    proposal.refresh_from_db()
    return proposal.state


def test_the_manager_cannot_withdraw_it(confirmation, manager):
    with pytest.raises(PermissionDenied, match="Only HR"):
        withdraw_proposal(proposal=confirmation, actor=manager.user, reason="Not needed")
    assert _state(confirmation) == Proposal.State.PENDING


def test_the_manager_page_refuses_in_words_and_offers_no_withdraw_link(
    client, confirmation, manager
):
    client.force_login(manager.user)
    listing = client.get("/team/proposals/").content.decode()
    assert f"/team/proposals/{confirmation.pk}/withdraw/" not in listing
    page = f"/team/proposals/{confirmation.pk}/withdraw/"
    shown = client.get(page)
    assert shown.status_code == 403 and "Only HR can withdraw" in shown.content.decode()
    posted = client.post(page, {"reason": "Not needed any more"})
    assert posted.status_code == 403 and "Only HR can withdraw" in posted.content.decode()
    assert _state(confirmation) == Proposal.State.PENDING


def test_the_api_refuses_it_in_words(confirmation):
    api, _key, _secret = key_client("proposals:read", "proposals:write")
    refused = api.post(
        f"/api/v1/proposals/{confirmation.pk}/withdraw/", {"reason": "Cleanup"}, format="json"
    )
    assert refused.status_code == 403
    assert "Only HR can withdraw" in refused.content.decode()
    assert _state(confirmation) == Proposal.State.PENDING


def test_hr_withdraws_it_only_with_a_reason(confirmation, hr_user):
    with pytest.raises(ValidationError, match="Say why"):
        withdraw_proposal(proposal=confirmation, actor=hr_user, reason="  ")
    withdraw_proposal(proposal=confirmation, actor=hr_user, reason="Sent to the wrong team")
    assert _state(confirmation) == Proposal.State.WITHDRAWN


def test_withdrawn_it_still_lists_the_person_until_they_confirm(
    confirmation, employee, payments, hr_user, deadline, campaign
):
    withdraw_proposal(proposal=confirmation, actor=hr_user, reason="Sent with the wrong date")
    assert employee in employees_without_consent_on_record()
    counts = campaign_breakdowns(Scope(HR_NAMESPACE), campaign.pk).totals
    assert counts[NO_CONSENT] == 1 and counts[WITHDRAWN] == 0

    again = _confirmation(employee, payments, hr_user, deadline, campaign)
    opt_in(proposal=again, actor=employee.user, terms_sha256=again.terms_sha256, context=WEB)
    assert employee not in employees_without_consent_on_record()
    counts = campaign_breakdowns(Scope(HR_NAMESPACE), campaign.pk).totals
    assert counts[NO_CONSENT] == 0 and counts[WITHDRAWN] == 1
