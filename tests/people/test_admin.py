"""The admin keeps the same rules: kind changes and deactivation go through the services."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session

from people.models import Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, settings):
    settings.PORTAL_REQUIRE_MFA = False
    admin = get_user_model().objects.create_superuser(
        "alex@example.test", "alex@example.test", "pw"
    )
    client.force_login(admin)
    return client


def team_form(team, **changes):
    data = {
        "name": team.name,
        "slug": team.slug,
        "kind": team.kind,
        "headcount_target": team.headcount_target,
        "description": team.description,
        "external_id": team.external_id or "",
    }
    return data | changes


def test_a_populated_team_cannot_be_made_an_ai_initiative_in_the_admin(
    admin_client, employee, platform
):
    url = f"/admin/people/team/{platform.pk}/change/"
    page = admin_client.post(url, team_form(platform, kind="ai_initiative"))
    assert page.status_code == 200
    assert "retroactive confirmations" in page.content.decode()
    assert Team.objects.get(pk=platform.pk).kind == Team.Kind.REGULAR
    empty = Team.objects.create(name="Fresh", slug="fresh")
    done = admin_client.post(
        f"/admin/people/team/{empty.pk}/change/", team_form(empty, kind="ai_initiative")
    )
    assert done.status_code == 302
    assert Team.objects.get(pk=empty.pk).kind == Team.Kind.AI_INITIATIVE


def test_the_deactivate_action_ends_sessions(admin_client, employee, client):
    from django.test import Client

    eve = Client()
    eve.force_login(employee.user)
    sessions = Session.objects.count()
    response = admin_client.post(
        "/admin/people/employee/",
        {"action": "deactivate_people", "_selected_action": [employee.pk]},
    )
    assert response.status_code == 302
    employee.refresh_from_db()
    assert not employee.is_active
    assert Session.objects.count() == sessions - 1
