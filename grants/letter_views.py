"""Staff: reissue or withdraw a letter after 採択 (grants/letters.py ``letter_reissue`` /
``letter_withdraw``), from the letters section of the staff award page
(templates/grants/award/_letters.html). The public verification page then says the earlier
letter was replaced (by which number) or withdrawn."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.permissions import STAFF_ROLES, role_required
from kodoku_portal.views_support import refusals_to_messages

from . import letters
from .award_support import award_page_url, staff_award_or_404
from .models import Letter

staff_only = role_required(*STAFF_ROLES)


class LetterActionForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason (kept in the audit trail)"), max_length=500)


def _staff_page(request, pk, **kwargs) -> str:
    return award_page_url(staff_award_or_404(pk), staff=True)


def _letter(award, letter_pk: int) -> Letter:
    return get_object_or_404(Letter.objects.filter(award=award), pk=letter_pk)


def _act(request: HttpRequest, pk: int, letter: int, action) -> Letter | None:
    award = staff_award_or_404(pk)
    item = _letter(award, letter)
    form = LetterActionForm(request.POST, prefix=f"l{item.pk}")
    if not form.is_valid():
        messages.error(request, _("Give the reason."))
        return None
    return action(letter=item, by=request.user, reason=form.cleaned_data["reason"])


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def letter_reissue(request: HttpRequest, pk: int, letter: int) -> HttpResponse:
    new = _act(request, pk, letter, letters.letter_reissue)
    if new is not None:
        messages.success(
            request, _("The letter was reissued as %(number)s and will be mailed.") % {"number": new.document_number}
        )
    return HttpResponseRedirect(_staff_page(request, pk))


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def letter_withdraw(request: HttpRequest, pk: int, letter: int) -> HttpResponse:
    if _act(request, pk, letter, letters.letter_withdraw) is not None:
        messages.success(request, _("The letter was withdrawn."))
    return HttpResponseRedirect(_staff_page(request, pk))


def letters_section(award) -> list[dict]:
    """The award's letters for the staff page: each with its state and a form for the actions."""
    rows = []
    for letter in award.letters.select_related("replaced_by").order_by("issued_on", "id"):
        rows.append({"letter": letter, "form": LetterActionForm(prefix=f"l{letter.pk}")})
    return rows


urlpatterns: list = [
    path("staff/awards/<int:pk>/letters/<int:letter>/reissue/", letter_reissue, name="letter_reissue"),
    path("staff/awards/<int:pk>/letters/<int:letter>/withdraw/", letter_withdraw, name="letter_withdraw"),
]
