"""The count of the people SCIM serves, per block of 1,024 ids (people.ScimTally), which
GET /Users without a filter uses for totalResults and to find where a page starts. It must
answer exactly as counting and skipping rows does, whatever wrote the rows, and no writer
may wait for another to keep it."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone
from scim2_models import Context, SearchRequest

from people.models import Employee, ScimRecord, ScimTally, ScimTallyDelta
from people.scim import query, store

BASE = "http://testserver/scim/v2"
# Far above any id the test database's sequence hands out, and on a block boundary.
FIRST = 1 << 30
IDS = [FIRST - 3, FIRST - 2, FIRST - 1, FIRST, FIRST + 1, FIRST + 1023, FIRST + 1024]
IDS += [FIRST + 1025, FIRST + 2047, FIRST + 5000, FIRST + 5001, FIRST + 9000]


def _people(ids):
    users = get_user_model().objects.bulk_create(
        get_user_model()(username=f"tally-{pk}", email=f"tally-{pk}@example.com") for pk in ids
    )
    return Employee.objects.bulk_create(
        Employee(pk=pk, user=user, name=f"Tally {pk}", email=user.email)
        for pk, user in zip(ids, users, strict=True)
    )


def _search(start: int, count: int):
    request = SearchRequest[store.UserResource].model_validate(
        {"startIndex": start, "count": count}, scim_ctx=Context.SEARCH_REQUEST
    )
    return query.search("Users", request, BASE)


def _counted_and_skipped(monkeypatch, start: int, count: int):
    with monkeypatch.context() as patched:
        patched.setattr(query, "_tallied", lambda: False)  # COUNT(*) and OFFSET, as before
        return _search(start, count)


def assert_same_as_counting_rows(monkeypatch):
    total = store.people().count()
    assert _search(1, 0).total == total
    for count in (1, 3, 100):
        for start in range(1, total + 3):
            fast, slow = _search(start, count), _counted_and_skipped(monkeypatch, start, count)
            assert (fast.total, fast.documents) == (slow.total, slow.documents), (start, count)


@pytest.mark.django_db
def test_every_page_is_the_one_counting_and_skipping_rows_gives(monkeypatch, employee):
    people = _people(IDS)
    assert_same_as_counting_rows(monkeypatch)
    # SCIM DELETE (a record that hides its person), inserted or updated into hiding.
    now = timezone.now()
    ScimRecord.objects.create(employee=people[2], deleted_at=now)
    ScimRecord.objects.create(employee=people[6])
    ScimRecord.objects.filter(employee=people[6]).update(deleted_at=now)
    ScimRecord.objects.bulk_create(
        [ScimRecord(employee=people[n], deleted_at=now) for n in (3, 9)]
        + [ScimRecord(employee=people[10])]
    )
    assert_same_as_counting_rows(monkeypatch)
    # Un-hidden again (the record cleared, or deleted), and a record moved to someone else.
    ScimRecord.objects.filter(employee=people[3]).update(deleted_at=None)
    ScimRecord.objects.filter(employee=people[9]).delete()
    ScimRecord.objects.filter(employee=people[2]).update(employee=people[11])
    # People deleted outright (no history yet), one of them hidden.
    ScimRecord.objects.filter(employee=people[6]).delete()
    Employee.objects.filter(pk__in=[people[6].pk, people[7].pk]).delete()
    assert_same_as_counting_rows(monkeypatch)
    # Two deleted, one hidden; and the fixtures, Eve and Morgan.
    assert _search(1, 1000).total == len(IDS) - 2 - 1 + 2


@pytest.mark.django_db
def test_a_truncated_table_is_counted_again(employee):
    _people(IDS[:4])
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {ScimTally._meta.db_table}")
    assert _search(1, 0).total == store.people().count() == 4 + 2  # and Eve, Morgan


@pytest.mark.django_db(transaction=True)
def test_writers_never_wait_for_each_other_and_the_count_stays_exact():
    """A holds the tally's lock until it commits; B writes meanwhile without waiting (a
    delta row); the next writer folds B's delta in. Every snapshot counts exactly."""
    holding, written, done = threading.Event(), threading.Event(), threading.Event()
    failures = []

    def first_writer():
        try:
            with transaction.atomic():
                _people([FIRST + 100])  # takes the tally's lock until this commits
                holding.set()
                assert written.wait(10), "the second writer waited for the first"
        except Exception as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)
        finally:
            done.set()
            connection.close()

    def second_writer():
        try:
            holding.wait(10)
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")  # a wait fails the test
                _people([FIRST + 101, FIRST + 5000])
            assert ScimTallyDelta.objects.count() == 2  # one per block, not folded yet
            assert _search(1, 0).total == store.people().count() == 2  # A's not committed
        except Exception as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            written.set()
            connection.close()

    threads = [threading.Thread(target=first_writer), threading.Thread(target=second_writer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert done.is_set() and not failures, failures
    assert _search(1, 0).total == store.people().count() == 3
    _people([FIRST + 102])  # a writer that gets the lock folds every committed delta in
    assert not ScimTallyDelta.objects.exists()
    assert _search(1, 0).total == store.people().count() == 4
    assert [d["id"] for d in _search(2, 2).documents] == [str(FIRST + 101), str(FIRST + 102)]
