"""Every page of the privacy centre, and the export, reads in a fixed number of queries: the
same with one of everything as with five (proposals, decisions with private reasons, receipts,
purposes, notifications, reads by others, days of a collector's checks, earlier exports)."""

import pytest

pytestmark = pytest.mark.django_db

# Every page starts with the same three (the session, the signed-in user, their employee record)
# and ends with one (the unread count of the notification bell in the header): 4 in each figure.
QUERIES = {
    # + the current purposes, the person's newest choice per purpose, the purposes' terms
    #   documents, the five newest reads with each viewer's role joined, and five counts
    #   (proposals, decisions, notifications, reads, exports)
    "/privacy/": 4 + 3 + 1 + 5,
    # + the proposals, with their teams, proposers and campaigns joined
    "/privacy/proposals/": 4 + 1,
    # + the count and a page of decisions, every reason's key at once, their terms documents
    "/privacy/decisions/": 4 + 4,
    "/privacy/receipts/": 4 + 4,
    # + the count and a page of notifications
    "/privacy/notifications/": 4 + 2,
    # + the count and a page of reads with the viewers' roles, the collectors' checks with
    #   their keys, the person's exports
    "/privacy/access-log/": 4 + 4,
    # the first three; two savepoints (the view's transaction, the logging service's), the
    # INSERT of the export's log row and their two releases; then the decisions, their
    # reasons' keys and terms documents, the employee record again (for the choices), the
    # proposals, the purposes, the choices and their terms documents, the team changes, the
    # notifications, the reads, the collectors' checks and the exports; no bell (a download
    # has no page)
    "/privacy/export.json": 3 + 2 + 1 + 2 + 3 + 1 + 1 + 3 + 1 + 1 + 1 + 1 + 1,
}


@pytest.mark.parametrize("url", list(QUERIES))
@pytest.mark.parametrize("n", [1, 5])
def test_each_page_reads_in_a_fixed_number_of_queries(
    client, employee, make_data, django_assert_num_queries, url, n
):
    make_data(employee, n)
    client.force_login(employee.user)
    client.get("/privacy/")  # the first page view of a session may store translations once
    with django_assert_num_queries(QUERIES[url]):
        assert client.get(url).status_code == 200
