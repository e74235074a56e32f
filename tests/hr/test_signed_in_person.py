"""The signed-in person, their roles and their zone are read once per request (one query in
people.middleware), not once by each of the middleware, the view and the header: the inbox
an employee opens all day costs six queries, and HR's pages one fewer than before."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext

from people.roles import HR_GROUP, is_hr, is_manager
from people.selectors import employee_for, signed_in_employee
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


def test_one_query_answers_who_they_are_and_what_roles_they_have(employee, manager, platform):
    harper = make_person("harper.hr@example.test", "Harper Partner", platform)
    harper.user.groups.add(Group.objects.get_or_create(name=HR_GROUP)[0])
    cases = [(employee, False, False), (manager, False, True), (harper, True, True)]
    for person, hr, manages in cases:
        user = type(person.user).objects.get(pk=person.user_id)  # a fresh request's user
        with CaptureQueriesContext(connection) as queries:
            loaded = signed_in_employee(user)
            answers = (employee_for(user), is_hr(user), is_manager(user))
        assert len(queries) == 1, person.name
        assert answers == (loaded, hr, manages)
        assert loaded == person and loaded.team == platform


def test_someone_without_an_employee_record_still_gets_correct_answers(hr_user):
    assert signed_in_employee(hr_user) is None
    assert employee_for(hr_user) is None
    assert is_hr(hr_user) and is_manager(hr_user)


def test_the_inbox_costs_six_queries(client, employee, manager):
    client.force_login(employee.user)
    client.get("/inbox/")
    # session; user; the person with their team, manager and roles; their proposals (with
    # the team each would join); the HRIS's changes of their team; the bell's unread count
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/inbox/").status_code == 200
    assert len(queries) == 6, [q["sql"][:80] for q in queries.captured_queries]
