"""Pages of 額の確定 and its letter, 概算払 and 精算払, 返還命令, 加算金 and 延滞金, the payments list.

``award_section(request, award, *, staff) -> dict`` is what the award page (award_views) shows
of this part: the context of templates/grants/award/_money.html. ``urlpatterns`` are included
by grants/urls.py; every POST redirects to ``award_support.award_page_url(award, staff=…)``.
"""

import datetime as dt
import tempfile
from collections.abc import Callable

import rules
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import STAFF_ROLES, role_required
from applications.models import BudgetCategory
from kodoku_portal.jp import format_yen
from kodoku_portal.paging import paginate
from kodoku_portal.views_support import refusals_to_messages

from . import exports, money_steps
from .award_support import award_page_url, member_award_or_404, staff_award_or_404
from .models import Award, AwardStatus, Payment, PaymentKind, PaymentStatus, Refund, RefundCause
from .money_forms import (
    AdvanceApproveForm,
    AdvanceRefuseForm,
    AdvanceRequestForm,
    ConfirmForm,
    GrantCancelForm,
    PaidForm,
    PaymentFilterForm,
    RefundOrderForm,
    RefundPreviewForm,
    RefundReceiptForm,
)

staff_only = role_required(*STAFF_ROLES)

# The steps at which the money section has something to show.
MONEY_STEPS = frozenset(
    {
        AwardStatus.GRANTED,
        AwardStatus.REPORTED,
        AwardStatus.REPORT_ACCEPTED,
        AwardStatus.CONFIRMED,
        AwardStatus.REFUND_ORDERED,
        AwardStatus.CLOSED,
    }
)


def _staff_page(request, pk, **kwargs) -> str:
    return reverse("grants:award", args=[pk])


def _member_page(request, pk, **kwargs) -> str:
    return reverse("grants:applicant_award", args=[pk])


def _form_errors(request: HttpRequest, form) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else error)


def _category_label(category: str) -> str:
    return str(BudgetCategory(category).label) if category in BudgetCategory.values else category


def _payment_of(award: Award, payment_pk: int) -> Payment:
    return get_object_or_404(Payment, pk=payment_pk, award=award)


# --- the section on the award page --------------------------------------------------------------


def award_section(request: HttpRequest, award: Award, *, staff: bool) -> dict:
    if award.status not in MONEY_STEPS:
        return {"visible": False}
    call = award.application.call
    today = money_steps.today()
    payments = list(award.payments.select_related("decided_by").order_by("created_at", "id"))
    paid = sum(payment.amount for payment in payments if payment.status == PaymentStatus.PAID)
    section: dict = {
        "visible": True,
        "call": call,
        "today": today,
        "paid_so_far": paid,
        "Kind": PaymentKind,
        "PaymentStatus": PaymentStatus,
    }
    rows = []
    for payment in payments:
        forms_of = {}
        if staff and payment.status == PaymentStatus.REQUESTED:
            prefix = f"p{payment.pk}"
            forms_of["approve"] = AdvanceApproveForm(prefix=prefix, initial={"scheduled_on": today})
            forms_of["refuse"] = AdvanceRefuseForm(prefix=prefix)
        if staff and payment.status == PaymentStatus.APPROVED:
            forms_of["paid"] = PaidForm(prefix=f"p{payment.pk}", initial={"paid_on": today})
        rows.append((payment, forms_of))
    section["payments"] = rows

    # 概算払: what the organisation may still request.
    advances_open = call.advance_payments and award.status in money_steps.ADVANCE_STEPS
    section["advances_open"] = advances_open
    if advances_open:
        room = money_steps.advance_room(award)
        section["advance_room"] = room
        if not staff and room > 0 and rules.test_rule("can_act_for_award", request.user, award):
            section["advance_form"] = AdvanceRequestForm()

    # 額の確定: the proposal and its terms.
    if award.status == AwardStatus.REPORT_ACCEPTED:
        terms = money_steps.terms_for(award)
        section["terms"] = terms
        if terms is not None:
            order = {category: index for index, category in enumerate(BudgetCategory.values)}
            categories = sorted(
                terms.categories, key=lambda term: (order.get(term.category, len(order)), term.category)
            )
            section["term_rows"] = [
                (_category_label(term.category), term.eligible, term.budget, term.counted) for term in categories
            ]
            section["balance_if_proposed"] = terms.proposal - paid
        section["open_advances"] = [
            payment
            for payment in payments
            if payment.kind == PaymentKind.ADVANCE
            and payment.status in (PaymentStatus.REQUESTED, PaymentStatus.APPROVED)
        ]
        if staff and terms is not None:
            section["confirm_form"] = ConfirmForm(
                initial={
                    "amount": terms.proposal,
                    "scheduled_on": today + dt.timedelta(days=money_steps.SETTLEMENT_DAYS),
                }
            )

    # After 額の確定: the balance, and the refund where more was paid than confirmed.
    if award.confirmed_amount is not None:
        section["balance"] = award.confirmed_amount - paid
    if staff and award.status == AwardStatus.CONFIRMED and paid > (award.confirmed_amount or 0):
        section["refund_order_form"] = RefundOrderForm(
            initial={"due_on": today + dt.timedelta(days=money_steps.REFUND_DAYS)}
        )
        section["refund_to_order"] = paid - (award.confirmed_amount or 0)
    # 決定の取消 (article 17(1)): what was cancelled, and the staff form.
    section["granted_left"] = money_steps.granted_left(award)
    if staff and award.status in money_steps.CANCEL_STEPS and section["granted_left"] > 0:
        section["cancel_form"] = GrantCancelForm(
            initial={
                "cancelled_before": award.cancelled_amount,
                "due_on": today + dt.timedelta(days=money_steps.REFUND_DAYS),
            }
        )
    refund = Refund.objects.filter(award=award).first()
    section["refund"] = refund
    if refund is not None:
        section["charges_apply"] = call.is_subsidy
        section["additional_applies"] = money_steps.charges_additional(refund)
        section["after_cancellation"] = refund.cause == RefundCause.CANCELLATION
        if refund.received_on is None:
            section["refund_today"] = money_steps.refund_due(refund, on=today)
            if staff:
                preview = RefundPreviewForm(request.GET if "money_on" in request.GET else None)
                on = today
                if preview.is_valid() and preview.cleaned_data["money_on"] >= refund.ordered_on:
                    on = preview.cleaned_data["money_on"]
                due = money_steps.refund_due(refund, on=on)
                section["preview_form"] = preview if preview.is_bound else RefundPreviewForm(initial={"money_on": on})
                section["refund_preview"] = due
                section["receipt_form"] = RefundReceiptForm(initial={"received_on": on, "received_amount": due.total})
    return section


# --- the organisation: 概算払 requested -----------------------------------------------------------


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages(_member_page)
def advance_request(request: HttpRequest, pk: int) -> HttpResponse:
    award = member_award_or_404(request.user, pk)
    form = AdvanceRequestForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return HttpResponseRedirect(award_page_url(award, staff=False))
    payment = money_steps.advance_request(
        award=award, amount=form.cleaned_data["amount"], reason=form.cleaned_data["reason"], by=request.user
    )
    messages.success(
        request,
        _("Your request for an advance payment of %(amount)s was sent to the programme office.")
        % {"amount": format_yen(payment.amount)},
    )
    return HttpResponseRedirect(award_page_url(award, staff=False))


# --- staff ------------------------------------------------------------------------------------


def _staff_payment_step(
    request: HttpRequest, pk: int, payment: int, form_class: type, step: Callable, done: str
) -> HttpResponse:
    """One staff step on one payment of an award: the payment's own form (prefixed with its id, as
    the award page renders one per payment), then ``step(item, cleaned_data)``, then the award page."""
    award = staff_award_or_404(pk)
    item = _payment_of(award, payment)
    form = form_class(request.POST, prefix=f"p{item.pk}")
    if form.is_valid():
        step(item, form.cleaned_data)
        messages.success(request, done)
    else:
        _form_errors(request, form)
    return HttpResponseRedirect(award_page_url(award, staff=True))


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def advance_approve(request: HttpRequest, pk: int, payment: int) -> HttpResponse:
    return _staff_payment_step(
        request,
        pk,
        payment,
        AdvanceApproveForm,
        lambda item, data: money_steps.advance_approve(
            payment=item, scheduled_on=data["scheduled_on"], by=request.user
        ),
        _("The advance payment was approved."),
    )


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def advance_refuse(request: HttpRequest, pk: int, payment: int) -> HttpResponse:
    return _staff_payment_step(
        request,
        pk,
        payment,
        AdvanceRefuseForm,
        lambda item, data: money_steps.advance_refuse(payment=item, reason=data["reason"], by=request.user),
        _("The advance payment was refused."),
    )


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def payment_paid(request: HttpRequest, pk: int, payment: int) -> HttpResponse:
    return _staff_payment_step(
        request,
        pk,
        payment,
        PaidForm,
        lambda item, data: money_steps.payment_record_paid(payment=item, paid_on=data["paid_on"], by=request.user),
        _("The payment was recorded as paid."),
    )


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def amount_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return HttpResponseRedirect(award_page_url(award, staff=True))
    award = money_steps.amount_confirm(
        award=award,
        amount=form.cleaned_data["amount"],
        scheduled_on=form.cleaned_data["scheduled_on"],
        by=request.user,
    )
    messages.success(
        request,
        _("The amount was confirmed at %(amount)s and the notice of the confirmed amount was issued.")
        % {"amount": format_yen(award.confirmed_amount)},
    )
    return HttpResponseRedirect(award_page_url(award, staff=True))


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def refund_order(request: HttpRequest, pk: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    form = RefundOrderForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return HttpResponseRedirect(award_page_url(award, staff=True))
    refund = money_steps.refund_order(award=award, due_on=form.cleaned_data["due_on"], by=request.user)
    messages.success(request, _("A refund of %(amount)s was ordered.") % {"amount": format_yen(refund.amount)})
    return HttpResponseRedirect(award_page_url(award, staff=True))


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def refund_receive(request: HttpRequest, pk: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    form = RefundReceiptForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return HttpResponseRedirect(award_page_url(award, staff=True))
    money_steps.refund_receive(
        award=award,
        received_on=form.cleaned_data["received_on"],
        received_amount=form.cleaned_data["received_amount"],
        waived=form.cleaned_data["waived"],
        note=form.cleaned_data["note"],
        by=request.user,
    )
    award.refresh_from_db()
    if award.status == AwardStatus.CLOSED:
        messages.success(request, _("The money returned was recorded and the award is closed."))
    else:
        messages.success(request, _("The money returned was recorded."))
    return HttpResponseRedirect(award_page_url(award, staff=True))


@require_POST
@staff_only
@refusals_to_messages(_staff_page)
def grant_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    award = staff_award_or_404(pk)
    form = GrantCancelForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return HttpResponseRedirect(award_page_url(award, staff=True))
    award = money_steps.grant_cancel(
        award=award,
        amount=form.cleaned_data["amount"],
        reason=form.cleaned_data["reason"],
        due_on=form.cleaned_data["due_on"],
        cancelled_before=form.cleaned_data["cancelled_before"],
        by=request.user,
    )
    messages.success(
        request,
        _("The grant decision was cancelled for %(amount)s and the notice of cancellation was issued.")
        % {"amount": format_yen(form.cleaned_data["amount"])},
    )
    refund = Refund.objects.filter(award=award, cause=RefundCause.CANCELLATION).first()
    if refund is not None and refund.ordered_on == money_steps.today() and award.cancelled_on == refund.ordered_on:
        messages.success(
            request, _("A refund of %(amount)s was ordered (article 18(1)).") % {"amount": format_yen(refund.amount)}
        )
    return HttpResponseRedirect(award_page_url(award, staff=True))


# --- the payments list (finance office) ---------------------------------------------------------


def _filtered_rows(request: HttpRequest):
    form = PaymentFilterForm(request.GET or None)
    filters = {}
    if form.is_bound and form.is_valid():
        filters = {
            "call": form.cleaned_data["call"],
            "kind": form.cleaned_data["kind"],
            "status": form.cleaned_data["status"],
        }
    return form, exports.payment_rows(**filters)


def _labels() -> tuple[dict, dict]:
    kinds = {kind.value: kind.label for kind in PaymentKind}
    kinds[exports.REFUND_KIND] = _("Refund (返還)")
    statuses = {status.value: status.label for status in PaymentStatus}
    statuses[exports.REFUND_ORDERED] = _("Refund ordered")
    statuses[exports.REFUND_RECEIVED] = _("Refund received")
    return kinds, statuses


@staff_only
def payments_page(request: HttpRequest) -> HttpResponse:
    form, rows = _filtered_rows(request)
    kinds, statuses = _labels()
    query = request.GET.copy()
    query.pop("page", None)
    query = query.urlencode()
    paging = paginate(request, rows)
    return render(
        request,
        "grants/staff/payments.html",
        {
            "form": form,
            "rows": [(row, kinds.get(row.kind, row.kind), statuses.get(row.status, row.status)) for row in paging.rows],
            "paging": paging,
            "query": f"?{query}" if query else "",
        },
    )


@staff_only
def payments_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The payments list for the finance office: CSV (UTF-8 with BOM) or XLSX."""
    _form, rows = _filtered_rows(request)
    if fmt == "csv":
        response = StreamingHttpResponse(exports.payments_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="payments.csv"'
        return response
    if fmt == "xlsx":
        handle = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it after sending
        exports.payments_xlsx(rows, handle)
        handle.seek(0)
        return FileResponse(
            handle,
            as_attachment=True,
            filename="payments.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    raise Http404


urlpatterns: list = [
    path("applications/<int:pk>/award/advances/", advance_request, name="money_advance_request"),
    path("staff/awards/<int:pk>/payments/<int:payment>/approve/", advance_approve, name="money_advance_approve"),
    path("staff/awards/<int:pk>/payments/<int:payment>/refuse/", advance_refuse, name="money_advance_refuse"),
    path("staff/awards/<int:pk>/payments/<int:payment>/paid/", payment_paid, name="money_payment_paid"),
    path("staff/awards/<int:pk>/confirm/", amount_confirm, name="money_confirm"),
    path("staff/awards/<int:pk>/refund/", refund_order, name="money_refund_order"),
    path("staff/awards/<int:pk>/refund/receipt/", refund_receive, name="money_refund_receive"),
    path("staff/awards/<int:pk>/cancel/", grant_cancel, name="money_grant_cancel"),
    path("staff/payments/", payments_page, name="payments"),
    path("staff/payments.<str:fmt>", payments_export, name="payments_export"),
]
