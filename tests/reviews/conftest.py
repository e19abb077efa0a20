import pytest

from accounts.models import Role
from applications.models import ApplicationStatus
from reviews import services
from reviews.models import ReviewPhase
from tests.factories import ApplicationFactory, CallFactory, OrganisationFactory, ThemeFactory, UserFactory, enable_totp


@pytest.fixture
def call(db):
    call = CallFactory()
    ThemeFactory(call=call, number=1)
    ThemeFactory(call=call, number=2)
    return call


@pytest.fixture
def review_round(call):
    return services.review_round_for(call=call)


def submitted(call, n, start=1, **kwargs):
    return [
        ApplicationFactory(
            call=call,
            organisation=OrganisationFactory(prefecture="13" if i % 2 else "27"),
            theme=call.themes.order_by("number")[i % 2],
            status=ApplicationStatus.SUBMITTED,
            receipt_number=f"{call.receipt_prefix}-{i:04d}",
            **kwargs,
        )
        for i in range(start, start + n)
    ]


@pytest.fixture
def applications(call):
    return submitted(call, 4)


def make_reviewer(**kwargs):
    user = UserFactory(role=Role.REVIEWER, **kwargs)
    enable_totp(user)
    return user


@pytest.fixture
def reviewers(db):
    return [make_reviewer() for _ in range(3)]


@pytest.fixture
def staff(db):
    user = UserFactory(role=Role.STAFF)
    enable_totp(user)
    return user


@pytest.fixture
def reviewing(call, review_round, staff):
    services.phase_set(call=call, phase=ReviewPhase.REVIEWING, by=staff)
    return call
