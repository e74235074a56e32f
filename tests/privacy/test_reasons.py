"""Private reasons in the centre: opened for their subject alone, a whole ledger at once, and
gone for good once the person's key is erased."""

import pytest

from consent.selectors import private_reason_of, private_reasons_of
from consent.services import erase_private_reasons

pytestmark = pytest.mark.django_db


def test_a_whole_ledger_of_reasons_opens_for_its_subject_in_one_query(
    employee, make_data, django_assert_num_queries
):
    held = make_data(employee, 3)
    with django_assert_num_queries(1):  # every record's key at once
        reasons = private_reasons_of(held.records, employee.user)
    declined = held.records[:3]  # the three declined proposals carry the reasons
    assert [reasons[r.pk] for r in declined] == held.reasons
    # The same words as the ledger's one-at-a-time reader.
    assert all(reasons[r.pk] == private_reason_of(r, employee.user) for r in held.records)


def test_nobody_else_opens_them_whatever_their_role(employee, manager, hr_user, make_data):
    held = make_data(employee, 2)
    hr_user.is_superuser = True
    for reader in (manager.user, hr_user, None):
        assert set(private_reasons_of(held.records, reader).values()) == {""}


def test_after_erasure_the_decisions_page_shows_no_reason(client, employee, make_data):
    held = make_data(employee, 2)
    erase_private_reasons(subject=employee.user)
    client.force_login(employee.user)
    page = client.get("/privacy/decisions/").content.decode()
    assert not any(reason in page for reason in held.reasons)
    assert all(f'href="/receipts/{r.pk}/"' in page for r in held.records)  # decisions stay
