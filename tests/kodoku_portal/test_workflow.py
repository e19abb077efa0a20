"""The workflow function: transition table, save, audit entry and mails in one transaction;
Refused; and the view decorator that turns refusals into messages."""

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core import mail
from django.db import transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import path
from django.utils import timezone, translation

from accounts.models import Role
from applications.models import APPLICATION_TRANSITIONS, Application, ApplicationStatus
from kodoku_portal import outbox
from kodoku_portal.models import AuditEntry, OutboxMessage, OutboxStatus
from kodoku_portal.outbox import Mail
from kodoku_portal.views_support import refusals_to_messages
from kodoku_portal.workflow import Refused, change_state, record
from tests.factories import ApplicationFactory, CallFactory, UserFactory
from tests.support.outbox import KIND, build_test_mail


@pytest.fixture
def staff(db):
    return UserFactory(role=Role.STAFF, email="staff@example.jp")


@pytest.fixture
def draft(db):
    return ApplicationFactory(title="テスト事業")


@pytest.fixture(autouse=True)
def _test_builder(monkeypatch):
    monkeypatch.setitem(outbox._BUILDERS, KIND, build_test_mail)


# --- Refused ------------------------------------------------------------------------------------


def test_refused_carries_a_code_and_messages():
    refused = Refused("一つ目", "二つ目", code="incomplete")
    assert refused.messages == ["一つ目", "二つ目"] and refused.message == "一つ目"
    assert refused.code == "incomplete" and str(refused) == "一つ目 二つ目"
    assert Refused("x").code == "refused"
    with translation.override("en"):
        assert Refused().messages == ["This request cannot be carried out."]


# --- change_state ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_change_state_needs_the_callers_transaction(draft, staff):
    with pytest.raises(RuntimeError, match="transaction"):
        change_state(
            draft, ApplicationStatus.SUBMITTED, by=staff, action="submitted", transitions=APPLICATION_TRANSITIONS
        )
    with pytest.raises(RuntimeError, match="transaction"):
        record(draft, by=staff, action="edited")


def test_change_state_sets_saves_audits_and_returns_the_previous_state(draft, staff):
    before_update = Application.objects.get(pk=draft.pk).updated_at
    draft.summary = "改めた概要"  # not in update_fields: not saved
    draft.requested_amount = 1_500_000
    with transaction.atomic():
        previous = change_state(
            draft,
            ApplicationStatus.SUBMITTED,
            by=staff,
            action="submitted",
            transitions=APPLICATION_TRANSITIONS,
            update_fields=["requested_amount"],
            before={"requested_amount": 0},
            after={"requested_amount": 1_500_000},
        )
    assert previous == "draft"
    stored = Application.objects.get(pk=draft.pk)
    assert stored.status == "submitted" and stored.requested_amount == 1_500_000
    assert stored.summary != "改めた概要"
    assert stored.updated_at > before_update  # updated_at added to update_fields automatically
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.object_type, entry.object_id) == (
        staff,
        "submitted",
        "applications.Application",
        str(draft.pk),
    )
    assert entry.before == {"status": "draft", "requested_amount": 0}
    assert entry.after == {"status": "submitted", "requested_amount": 1_500_000}
    assert entry.call_id == draft.call_id and entry.object_repr == "テスト事業"


def test_a_transition_outside_the_table_is_refused_with_the_labels(draft, staff):
    with translation.override("ja"), pytest.raises(Refused) as refused, transaction.atomic():
        change_state(draft, ApplicationStatus.ADOPTED, by=staff, action="decision", transitions=APPLICATION_TRANSITIONS)
    assert refused.value.code == "transition"
    assert refused.value.messages == ["下書きから採択には変更できません。"]
    with translation.override("en"), pytest.raises(Refused) as refused, transaction.atomic():
        change_state(draft, ApplicationStatus.ADOPTED, by=staff, action="decision", transitions=APPLICATION_TRANSITIONS)
    assert refused.value.message == "This cannot change from Draft to Adopted."
    assert Application.objects.get(pk=draft.pk).status == "draft"
    assert not AuditEntry.objects.exists()


def test_a_self_transition_only_where_the_table_lists_it(draft, staff):
    with pytest.raises(Refused), transaction.atomic():
        change_state(draft, "draft", by=staff, action="x", transitions=APPLICATION_TRANSITIONS)
    with transaction.atomic():
        assert change_state(draft, "draft", by=staff, action="x", transitions={"draft": {"draft"}}) == "draft"
    assert AuditEntry.objects.count() == 1


def test_the_table_defaults_to_the_models_transitions(staff):
    message = OutboxMessage(kind="k", subject_type="x.Y", subject_id=1, to_email="a@example.jp")
    with transaction.atomic():
        assert change_state(message, OutboxStatus.CANCELLED, by=staff, action="cancelled") == "queued"
    assert message.pk is not None  # a new object is saved whole
    assert OutboxMessage.objects.get().status == "cancelled"
    with pytest.raises(Refused), transaction.atomic():
        change_state(message, OutboxStatus.QUEUED, by=staff, action="x")
    with pytest.raises(TypeError, match="TRANSITIONS"), transaction.atomic():
        change_state(CallFactory(), "x", by=staff, action="x", field="title")


def test_mails_are_queued_in_the_same_transaction_and_sent_after_commit(
    draft, staff, django_capture_on_commit_callbacks
):
    mails = [Mail(KIND, draft, "Member@Example.jp", recipient=staff), Mail(KIND, draft, "other@example.jp")]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        change_state(
            draft,
            ApplicationStatus.SUBMITTED,
            by=staff,
            action="submitted",
            transitions=APPLICATION_TRANSITIONS,
            mails=mails,
        )
    rows = OutboxMessage.objects.order_by("to_email")
    assert [(row.to_email, row.status, row.call_id) for row in rows] == [
        ("member@example.jp", "sent", draft.call_id),
        ("other@example.jp", "sent", draft.call_id),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == ["member@example.jp", "other@example.jp"]


def test_a_refused_or_rolled_back_change_queues_no_mail(draft, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Refused), transaction.atomic():
            change_state(
                draft,
                ApplicationStatus.ADOPTED,
                by=staff,
                action="x",
                transitions=APPLICATION_TRANSITIONS,
                mails=[Mail(KIND, draft, "a@example.jp")],
            )
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            change_state(
                draft,
                ApplicationStatus.SUBMITTED,
                by=staff,
                action="x",
                transitions=APPLICATION_TRANSITIONS,
                mails=[Mail(KIND, draft, "a@example.jp")],
            )
            1 / 0  # noqa: B018 - the caller's transaction fails after the change
    assert callbacks == [] and not OutboxMessage.objects.exists() and not AuditEntry.objects.exists()
    assert Application.objects.get(pk=draft.pk).status == "draft"


def test_record_audits_a_change_that_is_not_a_state_change(draft, staff):
    with transaction.atomic():
        entry = record(
            draft, by=staff, action="amount_edited", before={"requested_amount": 1}, after={"requested_amount": 2}
        )
    assert (entry.action, entry.before, entry.after, entry.call_id) == (
        "amount_edited",
        {"requested_amount": 1},
        {"requested_amount": 2},
        draft.call_id,
    )
    with transaction.atomic():
        assert record(draft, by=None, action="x", call_id=99).call_id == 99


def test_dates_in_before_and_after_are_stored_as_text(draft, staff):
    now = timezone.now()
    with transaction.atomic():
        entry = record(draft, by=staff, action="dated", after={"on": now.date(), "at": now})
    entry.refresh_from_db()
    assert entry.after["on"] == now.date().isoformat()
    assert isinstance(entry.after["at"], str) and entry.after["at"].startswith(now.date().isoformat()[:4])


# --- refusals_to_messages -------------------------------------------------------------------------


def _refuse(request, **kwargs):
    raise Refused("一つ目", "二つ目", code="x")


@refusals_to_messages("item")
def item_view(request, pk):
    return _refuse(request)


@refusals_to_messages("item")
def part_view(request, pk, part):
    return _refuse(request)


@refusals_to_messages(lambda request, pk: f"/elsewhere/{pk}/?from={request.path}")
def callable_view(request, pk):
    return _refuse(request)


@refusals_to_messages()
def own_view(request):
    if request.method == "POST":
        return _refuse(request)
    return HttpResponse("ok")


@refusals_to_messages()
def refusing_get_view(request):
    return _refuse(request)


urlpatterns = [
    path("item/<int:pk>/", item_view, name="item"),
    path("item/<int:pk>/part/<int:part>/", part_view, name="part"),
    path("callable/<int:pk>/", callable_view, name="callable"),
    path("own/", own_view, name="own"),
    path("refusing-get/", refusing_get_view, name="refusing_get"),
]


def _request(method: str, url: str):
    request = getattr(RequestFactory(), method)(url)
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


@override_settings(ROOT_URLCONF=__name__)
def test_a_refusal_becomes_messages_and_a_redirect_to_the_named_url():
    request = _request("post", "/item/3/")
    response = item_view(request, pk=3)
    assert (response.status_code, response["Location"]) == (302, "/item/3/")
    assert [str(m) for m in get_messages(request)] == ["一つ目", "二つ目"]
    # The item's page redirects to its parent's: the URL takes only some of the view's kwargs.
    request = _request("post", "/item/3/part/4/")
    assert part_view(request, pk=3, part=4)["Location"] == "/item/3/"


@override_settings(ROOT_URLCONF=__name__)
def test_a_refusal_redirects_where_a_callable_says_or_to_the_same_page():
    request = _request("post", "/callable/5/")
    assert callable_view(request, pk=5)["Location"] == "/elsewhere/5/?from=/callable/5/"
    request = _request("post", "/own/?tab=2")
    response = own_view(request)
    assert (response.status_code, response["Location"]) == (302, "/own/?tab=2")
    assert len(list(get_messages(request))) == 2
    assert own_view(_request("get", "/own/")).content == b"ok"


@override_settings(ROOT_URLCONF=__name__)
def test_a_refused_get_to_the_same_page_is_not_turned_into_a_redirect_loop():
    with pytest.raises(Refused):
        refusing_get_view(_request("get", "/refusing-get/"))


@override_settings(ROOT_URLCONF=__name__)
def test_through_the_client_the_messages_reach_the_next_page(client, db):
    response = client.post("/item/7/", follow=False)
    assert response.status_code == 302 and response["Location"] == "/item/7/"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["一つ目", "二つ目"]


def test_the_decorator_keeps_the_views_name():
    assert item_view.__name__ == "item_view"


def test_models_need_no_import_of_the_apps():
    """kodoku_portal is the ground floor: no module in it imports an app (except the wiring)."""
    import ast
    from pathlib import Path

    import kodoku_portal

    root = Path(kodoku_portal.__file__).parent
    apps = {"accounts", "calls", "applications", "reviews", "grants"}
    offenders = []
    for module in root.rglob("*.py"):
        if module.name in {"urls.py", "settings.py", "celery.py"} and module.parent == root:
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{module.relative_to(root)}: {name}" for name in names if name.split(".")[0] in apps]
    assert offenders == []
