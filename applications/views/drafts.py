"""The applicant's dashboard, starting an application, the draft form with autosave, attachments."""

import copy

import rules
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from calls.models import AreaRule, Call, CallState
from kodoku_portal.jp import format_datetime, format_yen, join_list
from kodoku_portal.paging import paginate
from kodoku_portal.views_support import refusals_to_messages

from .. import selectors, services
from ..attachment_files import attachment_response
from ..checks import amount_over_cap
from ..filetypes import validate_attachment
from ..forms import ApplicationForm, AttachmentForm, BudgetFormSet
from ..models import ApplicationStatus, BudgetCategory, ScanStatus


@role_required(Role.APPLICANT)
def dashboard(request):
    now = timezone.now()
    paging = paginate(request, selectors.applications_for_dashboard(request.user))
    organisations = paginate(request, selectors.organisations_of(request.user).order_by("name", "id"), param="opage")
    return render(
        request,
        "applications/dashboard.html",
        {
            "applications": [(a, a.call.state_at(now)) for a in paging.rows],
            "paging": paging,
            "organisations": organisations.rows,
            "organisations_paging": organisations,
            "CallState": CallState,
            "Status": ApplicationStatus,
        },
    )


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages("calls:call_detail")
def application_start(request, slug):
    call = get_object_or_404(Call.objects.filter(published=True), slug=slug)
    organisations = list(selectors.organisations_of(request.user))
    if not organisations:
        messages.info(request, _("First register your organisation."))
        return redirect(reverse("applications:organisation_create") + f"?next={call.get_absolute_url()}")
    chosen = request.POST.get("organisation")
    organisation = next((o for o in organisations if str(o.pk) == chosen), organisations[0])
    application = services.application_start(call=call, organisation=organisation, user=request.user)
    return redirect("applications:detail", pk=application.pk)


def _budget_formset(application, data=None):
    if data is not None:  # a posted formset: the stored lines are not read here
        return BudgetFormSet(data, prefix="budget")
    initial = [
        {
            "category": line.category,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
        }
        for line in application.budget_lines.all()
    ]
    return BudgetFormSet(initial=initial, prefix="budget")


def _page_context(application, **extra) -> dict:
    now = timezone.now()
    return {
        "application": application,
        "call": application.call,
        "state": application.call.state_at(now),
        "CallState": CallState,
        "AreaRule": AreaRule,
        "Status": ApplicationStatus,
        "refused_saves": getattr(application, "open_refused_saves", []),
        **extra,
    }


def _form_context(application, form, budget) -> dict:
    return _page_context(
        application,
        form=form,
        budget=budget,
        attachment_form=AttachmentForm(),
        over_cap=amount_over_cap(application.call, application.requested_amount) > 0,
        max_attachment_mb=settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
    )


@role_required(Role.APPLICANT)
def application_detail(request, pk):
    application = selectors.application_for_member(request.user, pk)
    if not rules.test_rule("can_edit_draft", request.user, application):
        return render(request, "applications/application_readonly.html", _page_context(application))
    form = ApplicationForm(instance=application, initial={"version": application.version}, call=application.call)
    return render(
        request, "applications/application_form.html", _form_context(application, form, _budget_formset(application))
    )


def _raw(post) -> dict:
    return {key: post.getlist(key) for key in post if key != "csrfmiddlewaretoken"}


def _wants_json(request) -> bool:
    return request.headers.get("X-Autosave") == "1" or "application/json" in request.headers.get("Accept", "")


@require_POST
@role_required(Role.APPLICANT)
def application_save(request, pk):
    """Save the draft (autosave or the Save button): all of it, or none of it with the reason.
    Changing one field runs at most 8 queries (tests/applications/test_save_queries.py)."""
    application = selectors.application_to_save(request.user, pk)
    # The form validates on a copy: ``application`` stays as stored, so the service compares with it.
    form = ApplicationForm(request.POST, instance=copy.copy(application), call=application.call)
    budget = _budget_formset(application, request.POST)
    if not (form.is_valid() and budget.is_valid()):
        errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        for index, line_errors in enumerate(budget.errors):
            for name, errs in line_errors.items():
                errors[f"budget-{index}-{name}"] = [str(e) for e in errs]
        message = _("Not saved: please correct the highlighted fields. Your text is still on this page.")
        if _wants_json(request):
            return JsonResponse({"saved": False, "reason": "invalid", "message": message, "errors": errors}, status=400)
        messages.error(request, message)
        selectors.with_page_relations(application)
        return render(
            request, "applications/application_form.html", _form_context(application, form, budget), status=400
        )

    outcome = services.application_save_draft(
        application_id=application.pk,
        user=request.user,
        fields=form.draft_fields(),
        budget_lines=budget.lines(),
        base_version=form.cleaned_data["version"],
        raw=_raw(request.POST),
        current=application,
    )
    if outcome.saved:
        over = amount_over_cap(application.call, outcome.requested_amount) > 0
        payload = {
            "saved": True,
            "version": outcome.version,
            "saved_at": format_datetime(timezone.now()),
            "requested_amount": outcome.requested_amount,
            "requested_amount_display": format_yen(outcome.requested_amount),
            "over_cap": over,
            "message": _("Saved at %(time)s.") % {"time": timezone.localtime().strftime("%H:%M:%S")},
        }
        if _wants_json(request):
            return JsonResponse(payload)
        messages.success(request, payload["message"])
        return redirect("applications:detail", pk=application.pk)

    compare_url = reverse("applications:refused_save", args=[application.pk, outcome.refused.pk])
    if _wants_json(request):
        return JsonResponse(
            {
                "saved": False,
                "reason": outcome.reason,
                "message": outcome.message,
                "version": outcome.version,
                "compare_url": compare_url,
            },
            status=409,
        )
    messages.error(request, outcome.message)
    return redirect(compare_url)


@role_required(Role.APPLICANT)
def refused_save(request, pk, refused_pk):
    """Both versions side by side: what is saved now, and what this member typed."""
    refused = selectors.refused_save_for_member(request.user, pk, refused_pk)
    application = selectors.application_for_member(request.user, pk)
    if request.method == "POST":
        services.refused_save_dismiss(refused=refused)
        messages.info(request, _("The unsaved text was removed from the list."))
        return redirect("applications:detail", pk=pk)
    form = ApplicationForm(instance=application, call=application.call)
    rows = []
    for name, field in form.fields.items():
        if name == "version":
            continue
        current, typed = _display(field, form[name].value()), _display(field, refused.data.get(name, []))
        rows.append({"label": field.label, "current": current, "typed": typed, "differs": current != typed})
    return render(
        request,
        "applications/refused_save.html",
        {
            "application": application,
            "refused": refused,
            "rows": rows,
            "saved_lines": list(application.budget_lines.all()),
            "typed_lines": _typed_budget_lines(refused.data),
            "editable": rules.test_rule("can_edit_draft", request.user, application),
        },
    )


def _typed_budget_lines(data: dict) -> list[dict]:
    """The budget lines of a refused save, as typed (category shown by its label)."""
    labels = dict(BudgetCategory.choices)
    fields = ("category", "description", "quantity", "unit_price")
    lines = []
    total = (data.get("budget-TOTAL_FORMS") or ["0"])[-1]
    for index in range(min(int(total) if total.isdigit() else 0, 200)):
        line = {name: (data.get(f"budget-{index}-{name}") or [""])[-1] for name in (*fields, "DELETE")}
        if line.pop("DELETE") or not any(line.values()):
            continue
        line["category"] = labels.get(line["category"], line["category"])
        lines.append(line)
    return lines


def _display(field, value) -> str:
    """A field's value as text for the comparison page: choices by their label, lists joined."""
    values = value if isinstance(value, list) else [value]
    values = [v for v in values if v not in (None, "")]
    if isinstance(field, forms.MultipleChoiceField):
        labels = dict(field.choices)
        return join_list(labels.get(str(v), v) for v in values)
    if isinstance(field, forms.ModelChoiceField):
        labels = {str(k): v for k, v in field.choices}
        return join_list(labels.get(str(v), v) for v in values)
    if isinstance(field, forms.BooleanField):
        return _("Yes") if values and values[-1] not in (False, "False", "false", "off") else ""
    return str(values[-1]) if values else ""


def _attachments_section(request, pk, **_ids) -> str:
    return reverse("applications:detail", args=[pk]) + "#attachments"


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages(_attachments_section)
def attachment_upload(request, pk):
    application = selectors.application_for_member(request.user, pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose the document type and a file."))
        return redirect(_attachments_section(request, pk))
    upload = form.cleaned_data["file"]
    try:
        file_type = validate_attachment(upload, max_bytes=settings.ATTACHMENT_MAX_BYTES)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_attachments_section(request, pk))
    attachment = services.attachment_add(
        application=application,
        kind=form.cleaned_data["kind"],
        upload=upload,
        file_type=file_type,
        user=request.user,
    )
    messages.success(request, _("%(name)s was attached.") % {"name": upload.name})
    if attachment.scan_status == ScanStatus.PENDING:
        messages.info(
            request, _("It is being checked for viruses; it can be opened once the check has found no problem.")
        )
    return redirect(_attachments_section(request, pk))


@role_required(Role.APPLICANT)
def attachment_download(request, pk, attachment_pk):
    attachment = selectors.attachment_for_member(request.user, pk, attachment_pk)
    if not attachment.may_be_opened:
        return render(request, "applications/attachment_unavailable.html", {"attachment": attachment}, status=403)
    return attachment_response(attachment)


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages(_attachments_section)
def attachment_delete(request, pk, attachment_pk):
    attachment = selectors.attachment_for_member(request.user, pk, attachment_pk)
    services.attachment_remove(attachment=attachment)
    messages.success(request, _("%(name)s was removed.") % {"name": attachment.original_name})
    return redirect(_attachments_section(request, pk))
