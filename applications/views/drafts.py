"""The applicant's dashboard, starting an application, the draft form with autosave, attachments."""

import copy
import re

import rules
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
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
from kodoku_portal.refusals import Refused
from kodoku_portal.views_support import refusals_to_messages

from .. import answers as answer_store
from .. import sections, selectors, services
from ..attachment_files import attachment_response
from ..checks import amount_over_cap, application_problems
from ..filetypes import validate_attachment
from ..forms import ApplicationForm, AttachmentForm, BudgetFormSet, OrganisationForm
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


def _section_context(application, section, form=None, budget=None, parts=None, entries=None, **extra) -> dict:
    """The page of one section: its form (a FORM section), its neighbours for 前へ / 次へ."""
    entries = entries or sections.sections_for(application)
    previous, following = sections.neighbours(section, entries)
    pages = sections.pages(entries)
    return _page_context(
        application,
        section=section,
        parts=parts or [section],
        step=pages.index(section) + 1,
        steps=len(pages),
        previous=previous,
        following=following,
        previous_url=previous.url(application) if previous else None,
        following_url=following.url(application) if following else None,
        # A later section of the call's form that is 対象外 now may be needed once this one is
        # saved: 次へ then names no title (the server chooses after the save).
        following_may_change=section.kind == sections.SCHEMA
        and any(s.not_needed for s in entries[entries.index(section) + 1 :]),
        form=form,
        budget=budget,
        attachment_form=AttachmentForm() if section.kind == sections.ATTACHMENTS else None,
        over_cap=amount_over_cap(application.call, application.requested_amount) > 0,
        form_requested_total=sections.form_status_of(application).requested_total if section.budget else None,
        max_attachment_mb=settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
        problems=[p for p in application_problems(application) if p.field in section.problems]
        if section.kind != sections.FORM
        else [],
        organisation_rows=_organisation_rows(application.organisation) if section.kind == sections.ORGANISATION else [],
        **extra,
    )


ORGANISATION_SUMMARY = (
    "name",
    "applicant_type",
    "corporate_number",
    "postal_code",
    "prefecture",
    "address",
    "representative_title",
    "representative_name",
    "contact_name",
    "phone",
    "email",
)


LOCAL_GOVERNMENT_SUMMARY = (
    "name",
    "applicant_type",
    "local_government_code",
    "corporate_number",
    "department",
    "postal_code",
    "prefecture",
    "address",
    "contact_name",
    "phone",
    "email",
)


def _organisation_rows(organisation) -> list[tuple[str, str]]:
    """The profile as the organisation's own form labels it (団体情報 summarises, never edits); a
    local government's names its 団体コード and department instead of a representative."""
    labels = OrganisationForm.base_fields
    rows = []
    local = organisation.applicant_type.is_local_government
    for name in LOCAL_GOVERNMENT_SUMMARY if local else ORGANISATION_SUMMARY:
        display = getattr(organisation, f"get_{name}_display", None)
        value = display() if display else getattr(organisation, name)
        rows.append((labels[name].label, "" if value is None else str(value)))
    return rows


def _section_form(application, section, data=None) -> tuple[ApplicationForm | None, object]:
    """The draft form and budget formset of a FORM section (each only if the section has it)."""
    form = ApplicationForm(
        data,
        instance=copy.copy(application) if data is not None else application,
        initial=None if data is not None else {"version": application.version},
        call=application.call,
        fields=section.fields,
    )
    budget = _budget_formset(application, data) if section.budget else None
    return form, budget


@role_required(Role.APPLICANT)
def application_detail(request, pk):
    """The application's home: the task list of a draft that may be edited, else the read-only page."""
    application = selectors.application_for_member(request.user, pk)
    if not rules.test_rule("can_edit_draft", request.user, application):
        return render(
            request,
            "applications/application_readonly.html",
            _page_context(application, schema_answers=answer_store.answers_for_display(application)),
        )
    tasks = sections.tasks(application, application_problems(application))
    return render(
        request,
        "applications/task_list.html",
        _page_context(
            application,
            tasks=tasks,
            completed=sum(1 for t in tasks if t.section.has_page and t.state == sections.COMPLETED),
            countable=sum(1 for t in tasks if t.section.has_page),
            SectionState=sections,
            form_move=_form_move_offer(application),
        ),
    )


def _form_move_offer(application):
    """What changed when the draft answers an older version of the call's form than the one in use."""
    status = sections.form_status_of(application)
    if status.version is None or application.form_version_id is None:
        return None
    newest = answer_store.published_version(application.call)
    if newest is None or newest.pk == application.form_version_id:
        return None
    return answer_store.version_changes(status.version, answer_store.version_with_fields(newest.pk))


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages("applications:detail")
def form_move(request, pk):
    """Move the draft to the newest version of the call's form (no answer is lost)."""
    application = selectors.application_for_member(request.user, pk)
    change = services.form_version_move(application, by=request.user)
    messages.success(
        request,
        _("Your application now uses version %(number)s of the form. No answer was lost.")
        % {"number": change.new_number},
    )
    return redirect("applications:detail", pk=pk)


@role_required(Role.APPLICANT)
def application_section(request, pk, key):
    """One section's page (団体情報, 申請内容, 予算, 添付書類 and the call's own form sections), with
    the same predicate as the task list; a draft that may no longer be edited goes to its read-only
    page. A section of the call's own form saves here (POST)."""
    application = selectors.application_for_member(request.user, pk)
    entries = sections.sections_for(application)
    section = sections.get(key, entries)
    if section is None:
        raise Http404
    if section.kind == sections.SCHEMA and section.not_needed:
        messages.info(request, _("This section is not needed with your current answers."))
        return redirect("applications:detail", pk=pk)
    if not section.has_page:
        return redirect(section.url(application))
    if section.kind == sections.SCHEMA and request.method == "POST":
        # The save itself judges the deadline and the status, and keeps what was typed when it refuses.
        return _schema_section(request, application, section, entries)
    if not rules.test_rule("can_edit_draft", request.user, application):
        return redirect("applications:detail", pk=pk)
    if section.kind == sections.SCHEMA:
        return _schema_section(request, application, section, entries)
    form, budget = _section_form(application, section) if section.saves else (None, None)
    return render(
        request, "applications/section.html", _section_context(application, section, form, budget, entries=entries)
    )


def _schema_section(request, application, section, entries):
    """A section of the call's own form: shown with its stored answers; a POST saves it through
    ``services.answers_save`` (autosave with ``X-Autosave``: JSON; else 前へ / 次へ / タスク一覧へ戻る),
    or, when it carries files uploaded into file slots (a submit, never the autosave), through
    ``services.answers_attach_file``, which stores them with the section's answers."""
    status = sections.form_status_of(application)
    form = None
    if request.method == "POST":
        base_version = _posted_version(request.POST)
        if base_version is None:
            return _stale_page(request, application, section)
        try:
            if request.FILES:  # files uploaded into the section's file slots (multipart; never the autosave)
                outcome = services.answers_attach_file(
                    application,
                    section.form_section,
                    request.POST,
                    request.FILES,
                    by=request.user,
                    base_version=base_version,
                    raw=_raw(request.POST),
                )
            else:
                outcome = services.answers_save(
                    application,
                    section.form_section,
                    request.POST,
                    by=request.user,
                    base_version=base_version,
                    raw=_raw(request.POST),
                )
        except Refused as refused:
            if _wants_json(request):
                return JsonResponse({"saved": False, "reason": refused.code, "message": refused.message}, status=409)
            for message in refused.messages:
                messages.error(request, message)
            return redirect("applications:detail", pk=application.pk)
        if outcome.saved:
            message = _("Saved at %(time)s.") % {"time": timezone.localtime().strftime("%H:%M:%S")}
            if _wants_json(request):
                return JsonResponse(
                    {
                        "saved": True,
                        "version": outcome.version,
                        "saved_at": format_datetime(timezone.now()),
                        "message": message,
                    }
                )
            messages.success(request, message)
            for attachment in outcome.attached:
                messages.success(request, _("%(name)s was attached.") % {"name": attachment.original_name})
            if any(attachment.scan_status == ScanStatus.PENDING for attachment in outcome.attached):
                messages.info(
                    request, _("It is being checked for viruses; it can be opened once the check has found no problem.")
                )
            application._form_status = None  # what is shown (and so 前へ / 次へ) may have changed
            target = _after_save(application, section, request.POST.get("go"))
            slot = request.POST.get("upload_slot", "")
            if target == section.url(application) and re.fullmatch(r"[\w-]{1,60}", slot, flags=re.ASCII):
                target += f"#schema-field-{slot}"  # the slot's own upload button: back to the slot
            return redirect(target)
        if outcome.refused is not None:
            return _refused_save_response(request, application, outcome)
        form = outcome.form
        errors = {form.add_prefix(name): [str(e) for e in errs] for name, errs in form.errors.items()}
        if request.FILES:
            message = _(
                "Not saved, and no file was stored: please correct the highlighted fields and choose the file "
                "again. Your text is still on this page."
            )
        else:
            message = _("Not saved: please correct the highlighted fields. Your text is still on this page.")
        if _wants_json(request):
            return JsonResponse({"saved": False, "reason": "invalid", "message": message, "errors": errors}, status=400)
        messages.error(request, message)
    if form is None:
        form = answer_store.section_form_for(application, status.version, section.form_section, answers=status.answers)
    return render(
        request,
        "applications/section.html",
        _section_context(
            application,
            section,
            entries=entries,
            schema_form=form,
            section_url=section.url(application),
            earlier=answer_store.earlier_answers(status.version, status.answers),
            # The files a file slot may show as its current one (templates/calls/_schema_section.html).
            slot_attachments=list(application.attachments.all()) if form.is_multipart() else [],
        ),
        status=400 if request.method == "POST" else 200,
    )


def _posted_version(post) -> int | None:
    """The application's version the page was opened on (its hidden ``version`` field)."""
    value = post.get("version", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _stale_page(request, application, section):
    """A save without the page's version (a page from elsewhere or tampered with): not saved, and
    the member is told to open the page again (nothing they typed is judged against a guess)."""
    message = _("Not saved: this page is out of date. Open the section again and re-enter your changes.")
    if _wants_json(request):
        return JsonResponse({"saved": False, "reason": "invalid", "message": message, "errors": {}}, status=400)
    messages.error(request, message)
    return redirect(section.url(application))


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
    # A save names its section: only that section's fields (and the budget lines only if it has
    # them) are read and written. A save that names none is the whole draft (pages made before
    # the task list, the bench).
    key = request.POST.get("section")
    section = sections.form_section(key) if key is not None else None
    if key is not None and section is None:
        message = _("Not saved: this part of the application is not known.")
        if _wants_json(request):
            return JsonResponse({"saved": False, "reason": "invalid", "message": message, "errors": {}}, status=400)
        messages.error(request, message)
        return redirect("applications:detail", pk=pk)
    # The form validates on a copy: ``application`` stays as stored, so the service compares with it.
    form = ApplicationForm(
        request.POST, instance=copy.copy(application), call=application.call, fields=section and section.fields
    )
    budget = _budget_formset(application, request.POST) if section is None or section.budget else None
    if not (form.is_valid() and (budget is None or budget.is_valid())):
        errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
        for index, line_errors in enumerate(budget.errors if budget is not None else []):
            for name, errs in line_errors.items():
                errors[f"budget-{index}-{name}"] = [str(e) for e in errs]
        message = _("Not saved: please correct the highlighted fields. Your text is still on this page.")
        if _wants_json(request):
            return JsonResponse({"saved": False, "reason": "invalid", "message": message, "errors": errors}, status=400)
        messages.error(request, message)
        selectors.with_page_relations(application)
        shown = section or sections.get("content")
        parts = None if section else [s for s in sections.SECTIONS if s.saves]
        return render(
            request,
            "applications/section.html",
            _section_context(application, shown, form, budget, parts=parts),
            status=400,
        )

    outcome = services.application_save_draft(
        application_id=application.pk,
        user=request.user,
        fields=form.draft_fields(),
        budget_lines=budget.lines() if budget is not None else None,
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
        return redirect(_after_save(application, section, request.POST.get("go")))

    return _refused_save_response(request, application, outcome)


def _refused_save_response(request, application, outcome):
    """A save refused (the application changed meanwhile, or it can no longer be edited): the text
    is kept as a RefusedSave; an autosave gets a 409 saying where to compare, a plain save goes there."""
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
    if request.FILES:
        messages.error(request, _("The file you chose was not stored."))
    return redirect(compare_url)


def _after_save(application, section, go) -> str:
    """Where a plain (no JavaScript) save goes: 前へ / 次へ / タスク一覧へ戻る, or back to its page."""
    if section is None or go == "list":
        return reverse("applications:detail", args=[application.pk])
    entries = sections.sections_for(application)
    section = sections.get(section.key, entries) or section
    if section not in entries:
        return reverse("applications:detail", args=[application.pk])
    previous, following = sections.neighbours(section, entries)
    target = {"previous": previous, "next": following}.get(go, section)
    if target is section and not section.has_page:  # became not needed (対象外) with this save
        return reverse("applications:detail", args=[application.pk])
    return (target or section).url(application)


@role_required(Role.APPLICANT)
def refused_save(request, pk, refused_pk):
    """Both versions side by side: what is saved now, and what this member typed."""
    refused = selectors.refused_save_for_member(request.user, pk, refused_pk)
    application = selectors.application_for_member(request.user, pk)
    if request.method == "POST":
        services.refused_save_dismiss(refused=refused)
        messages.info(request, _("The unsaved text was removed from the list."))
        return redirect("applications:detail", pk=pk)
    schema_key = (refused.data.get("schema_section") or [""])[-1]
    if schema_key:
        # A section of the call's own form: compare its fields, as the form names them.
        section, rows = None, _schema_rows(application, schema_key, refused.data)
    else:
        # A save of one section kept only that section's fields: compare those (and its budget lines).
        section = sections.form_section((refused.data.get("section") or [""])[-1])
        form = ApplicationForm(instance=application, call=application.call, fields=section and section.fields)
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
            "with_budget": not schema_key and (section is None or section.budget),
            "saved_lines": list(application.budget_lines.all()),
            "typed_lines": _typed_budget_lines(refused.data),
            "editable": rules.test_rule("can_edit_draft", request.user, application),
        },
    )


def _schema_rows(application, key: str, data: dict) -> list[dict]:
    """Field by field, the stored answer and what was typed, of one section of the call's form
    (its section in the application's version; none when the version no longer has it)."""
    status = sections.form_status_of(application)
    section = next((state.section for state in status.states if state.section.key == key), None)
    if section is None:  # the version moved on without it: what was typed, by its field's key
        return [
            {"label": name.removeprefix("schema-"), "current": "", "typed": "、".join(values), "differs": True}
            for name, values in data.items()
            if name.startswith("schema-") and any(values)
        ]
    form = answer_store.section_form_for(application, status.version, section, answers=status.answers)
    rows = []
    for name, field in form.fields.items():
        stored, posted = form[name].value(), data.get(form.add_prefix(name), [])
        current, typed = _display(field, stored), _display(field, posted)
        differs = _comparable(field, stored) != _comparable(field, posted)
        rows.append({"label": field.label, "current": current, "typed": typed, "differs": differs})
    return rows


def _given(value) -> list:
    """A bound or posted value as a list of what was given (a form's value or a POST list)."""
    values = value if isinstance(value, list) else [value]
    return [v for v in values if v not in (None, "")]


def _comparable(field, value):
    """A value as its field reads it (「800,000」 and 「800000」 are one amount), else as text."""
    values = _given(value)
    if isinstance(field, forms.MultipleChoiceField):
        return sorted(str(v) for v in values)
    try:
        return field.to_python(str(values[-1]) if values else "")
    except ValidationError:
        return str(values[-1])


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
    values = _given(value)
    if isinstance(field, forms.ChoiceField | forms.ModelChoiceField):  # single, multiple or a model's
        labels = {str(k): v for k, v in field.choices}
        return join_list(labels.get(str(v), v) for v in values)
    if isinstance(field, forms.BooleanField):
        return _("Yes") if values and values[-1] not in (False, "False", "false", "off") else ""
    return str(values[-1]) if values else ""


def _attachments_section(request, pk, **_ids) -> str:
    return reverse("applications:section", args=[pk, "attachments"]) + "#attachments"


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
    services.attachment_remove(attachment=attachment, by=request.user)
    messages.success(request, _("%(name)s was removed.") % {"name": attachment.original_name})
    return redirect(_attachments_section(request, pk))
