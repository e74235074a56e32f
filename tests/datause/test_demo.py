import pytest

from datause.demo import seed_purposes
from datause.models import DataUsePurpose

pytestmark = pytest.mark.django_db


def test_seeding_the_demo_purposes_twice_publishes_one(manager):
    [first] = seed_purposes(owner=manager)
    [again] = seed_purposes(owner=manager)
    assert first.pk == again.pk and first.is_published
    assert DataUsePurpose.objects.count() == 1
    assert set(first.categories) >= {"keystrokes", "screenshots"}
