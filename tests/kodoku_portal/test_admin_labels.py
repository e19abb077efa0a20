"""The admin in the user's language (issue 12, item 8): every section, model, column, form field
and fieldset title is Japanese when the language is ja — third-party apps included — and there is
exactly one section called アカウント."""

import re

import pytest
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.test import RequestFactory
from django.utils import translation

from accounts.models import Role
from tests.factories import UserFactory, enable_totp

pytestmark = pytest.mark.django_db

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
WORD = re.compile(r"[A-Za-z]{2,}")


def english_only(text) -> bool:
    """Words in Latin letters and nothing Japanese (an example such as 100-0001 is neither)."""
    return bool(text) and bool(WORD.search(str(text))) and not JAPANESE.search(str(text))


@pytest.fixture
def request_of_admin():
    administrator = UserFactory(role=Role.ADMINISTRATOR, email="admin@example.jp")
    enable_totp(administrator)
    request = RequestFactory().get("/admin/")
    request.user = administrator
    return request


def app_list(request, language):
    with translation.override(language):
        return [
            (str(app["name"]), [str(model["name"]) for model in app["models"]])
            for app in admin.site.get_app_list(request)
        ]


def test_every_admin_section_and_model_is_named_in_japanese(request_of_admin):
    sections = app_list(request_of_admin, "ja")
    assert {"django_celery_beat", "mfa", "account", "auth"} <= {
        app["app_label"] for app in admin.site.get_app_list(request_of_admin)
    }
    untranslated = [name for app, models in sections for name in (app, *models) if english_only(name)]
    assert untranslated == []
    assert [app for app, _models in sections].count("アカウント") == 1


def test_in_english_the_sections_are_english_and_still_one_accounts(request_of_admin):
    sections = app_list(request_of_admin, "en")
    names = [app for app, _models in sections]
    assert names.count("Accounts") == 1
    assert [name for app, models in sections for name in (app, *models) if JAPANESE.search(name)] == []


def test_every_column_form_field_and_fieldset_title_is_japanese(request_of_admin):
    untranslated = []
    with translation.override("ja"):
        for model, model_admin in admin.site._registry.items():
            where = model._meta.label
            for name in model_admin.get_list_display(request_of_admin):
                if name == "action_checkbox":
                    continue
                label = str(label_for_field(name, model, model_admin))
                if english_only(label):
                    untranslated.append((where, "column", name, label))
            for title, _options in model_admin.get_fieldsets(request_of_admin):
                if title is not None and english_only(title):
                    untranslated.append((where, "fieldset", str(title)))
            form = model_admin.get_form(request_of_admin)()
            for name, field in form.fields.items():
                for text in (field.label, field.help_text):
                    if english_only(text):
                        untranslated.append((where, "field", name, str(text)))
    assert untranslated == []


def test_a_split_date_time_field_labels_its_date_and_time_boxes(request_of_admin):
    from calls.models import Call

    with translation.override("ja"):
        form = admin.site._registry[Call].get_form(request_of_admin)()
        html = str(form["opens_at"])
        label = str(form.fields["opens_at"].label)
    assert JAPANESE.search(label)
    assert f'aria-label="{label}（日付）"' in html
    assert f'aria-label="{label}（時刻）"' in html
