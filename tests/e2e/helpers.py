"""Helpers shared by the browser tests."""

import datetime as dt

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import decrypt
from django.contrib.auth import get_user_model

from applications.services import project_answers_save
from calls.models import FormVersion
from calls.standard_form import project_form_publish

# Answers to the project questions (事業の内容, calls/standard_form.py), key → text.
PROJECT_ANSWERS = {
    "purpose": "地域で孤立しがちな人が気軽に立ち寄れる居場所をつくる。",
    "target_people": "地域の住民",
    "activities": "週1回の食堂と、月1回の交流会を開く。",
    "structure": "理事3名、ボランティア10名",
    "partners": "社会福祉協議会",
    "expected_results": "参加者 延べ1,000人",
    "schedule": "7月開始、2月報告",
}


def totp_secret(email: str) -> str:
    user = get_user_model().objects.get(email=email)
    return decrypt(Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"])


def ask_project_questions(call) -> FormVersion:
    """Publish a version of ``call``'s form that asks the project questions (事業の内容)."""
    return project_form_publish(call)


def answer_project_questions(application, *, now: dt.datetime | None = None, **texts) -> None:
    """Answer the project questions of a draft through the service (``texts`` replace the
    answers of ``PROJECT_ANSWERS``); ``now``: a moment the call is open, for a call closed since."""
    outcome = project_answers_save(application, {**PROJECT_ANSWERS, **texts}, by=None, now=now)
    assert outcome.saved, outcome.form.errors if outcome.form is not None else outcome.message


def fill_budget_line(row, category: str, details: str, unit_price: str, quantity: str) -> None:
    """Fill one row of the budget section (``row``: a ``#budget-rows .budget-row`` locator) as typed."""
    row.get_by_label("費目").select_option(label=category)
    row.get_by_label("内容", exact=True).fill(details)
    row.get_by_label("単価（円）").fill(unit_price)
    row.get_by_label("数量").fill(quantity)
