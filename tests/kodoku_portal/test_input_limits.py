"""Every text has a maximum length, in the form and in the database, and loses control characters
and bidi overrides on input (kodoku_portal/limits.py, kodoku_portal/formfields.py)."""

import importlib
import re
from pathlib import Path

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, models, transaction

from accounts.models import User
from kodoku_portal.formfields import CleanInputFormMixin
from kodoku_portal.limits import LONG_TEXT_MAX, LimitedTextField
from tests.factories import ApplicationFactory

OUR_APPS = ("kodoku_portal", "accounts", "calls", "applications", "reviews", "grants")

# Text columns without a database limit yet, each with its reason.
UNLIMITED = {
    # Written by the portal itself (a worker's error message), never typed by a person.
    "kodoku_portal.OutboxMessage.last_error",
    "kodoku_portal.Job.last_error",
    # The virus scanner's own report on a file (kodoku_portal/scanning.py bounds what it keeps).
    "applications.Attachment.scan_detail",
    "grants.Evidence.scan_detail",
    "grants.AwardDocument.scan_detail",
}

FORM_MODULES = [
    "accounts.forms",
    "applications.forms",
    "reviews.forms",
    "grants.forms",
    "grants.grant_forms",
    "grants.change_forms",
    "grants.report_forms",
    "grants.money_forms",
]


def test_every_text_column_has_a_limit_in_the_database():
    missing = []
    for config in apps.get_app_configs():
        if config.name not in OUR_APPS:
            continue
        for model in config.get_models():
            for field in model._meta.local_fields:
                name = f"{model._meta.label}.{field.name}"
                if isinstance(field, LimitedTextField):
                    checks = {constraint.name for constraint in model._meta.constraints}
                    if f"{model._meta.db_table}_{field.column}_max_length" not in checks:
                        missing.append(f"{name} (its model lacks @with_length_checks)")
                elif isinstance(field, models.TextField) and name not in UNLIMITED:
                    missing.append(name)
                elif isinstance(field, models.CharField):
                    assert field.max_length, name
    assert not missing, f"use kodoku_portal.limits.LimitedTextField (or say why not in UNLIMITED): {missing}"


@pytest.mark.django_db
def test_the_database_refuses_a_text_over_its_limit_whatever_path_writes_it():
    application = ApplicationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(application).objects.filter(pk=application.pk).update(area_reason="あ" * (LONG_TEXT_MAX + 1))
    type(application).objects.filter(pk=application.pk).update(area_reason="あ" * LONG_TEXT_MAX)
    application.refresh_from_db()
    assert len(application.area_reason) == LONG_TEXT_MAX


def _form_classes():
    for name in FORM_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, forms.BaseForm) and value.__module__ == name:
                yield value


def test_every_form_that_takes_text_bounds_and_strips_it():
    unguarded = [
        form.__name__
        for form in _form_classes()
        if any(isinstance(field, forms.CharField) for field in form.base_fields.values())
        and not issubclass(form, CleanInputFormMixin)
    ]
    assert not unguarded, f"mix in kodoku_portal.formfields.CleanInputFormMixin: {unguarded}"


class _Form(CleanInputFormMixin, forms.Form):
    text = forms.CharField(widget=forms.Textarea)
    name = forms.CharField(max_length=5, required=True)
    reviewers = forms.ModelMultipleChoiceField(queryset=User.objects.all(), required=False)
    reviewer = forms.ModelChoiceField(queryset=User.objects.all(), required=False)


def test_control_characters_and_bidi_overrides_are_removed_and_line_breaks_kept():
    form = _Form({"text": "見守り\u202e活動\x07です\r\n二行目\tタブ\u2066x\u2069\x00", "name": "名前"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["text"] == "見守り活動です\n二行目\tタブx"


def test_a_text_of_invisible_characters_only_is_empty():
    form = _Form({"text": "ok", "name": "\u202e\u202d\x1b"})
    assert not form.is_valid()
    assert form.errors["name"]


def test_a_field_without_a_limit_gets_the_default_on_the_server_and_the_widget():
    form = _Form({"text": "あ" * (LONG_TEXT_MAX + 1), "name": "x"})
    assert not form.is_valid()
    assert "text" in form.errors
    assert f'maxlength="{LONG_TEXT_MAX}"' in str(form["text"])
    assert 'maxlength="5"' in str(form["name"])
    assert _Form({"text": "あ" * LONG_TEXT_MAX, "name": "x"}).is_valid()


@pytest.mark.django_db
@pytest.mark.parametrize("pk", ["99999999999999999999", "-99999999999999999999", "9223372036854775808"])
def test_an_id_too_large_for_the_database_is_an_invalid_choice_not_an_error(pk):
    form = _Form({"text": "x", "name": "x", "reviewers": [pk], "reviewer": pk})
    assert not form.is_valid()
    assert set(form.errors) == {"reviewers", "reviewer"}


@pytest.mark.django_db
def test_every_page_loads_the_character_count_with_its_sentence_in_the_users_language(client):
    japanese = client.get("/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    english = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    [tag] = re.findall(r"<script[^>]*char-count\.js[^>]*>", japanese)
    assert 'data-remaining="残り {count} 文字"' in tag
    assert 'data-remaining="{count} characters left"' in english
    source = (Path(settings.BASE_DIR) / "static" / "js" / "char-count.js").read_text(encoding="utf-8")
    assert "残り" not in source and "aria-live" in source  # the sentence comes from the page, not the file


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["status=%00", "kind=a%00b", "%00=1"])
def test_a_nul_character_in_a_parameter_is_a_400_before_any_view_reads_it(client, query):
    from accounts.models import Role
    from tests.factories import UserFactory, enable_totp

    staff = UserFactory(role=Role.STAFF)
    enable_totp(staff)
    client.force_login(staff)
    assert client.get(f"/staff/outbox/?{query}").status_code == 400
    assert client.post("/staff/outbox/1/retry/", {"next": "/staff/outbox/\x00"}).status_code == 400
    assert client.get("/staff/outbox/?status=queued").status_code == 200
