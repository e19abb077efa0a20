"""The live preview of a draft form version's unsaved changes (issue 16).

The FormVersion admin's change page of a draft has a "Preview the changes" button
(``templates/admin/calls/formversion/change_form.html``): it posts the change form as it stands (the
version form and the inline formsets of sections and fields) to :func:`form_preview_edits`, into a
panel of the page (``static/js/admin-form-preview.js``) or, without JavaScript, another window.

The view binds the admin's own form and formsets to that data and validates them, which changes
nothing in the database: it never saves, so no row changes and nothing is audited. The sections and
fields the admin would save (rows with an error left out, rows marked for deletion dropped) are held
in a :class:`calls.form_builder.FormDefinition` and drawn as applicants see them, with the schema
validator's problems and the formsets' errors above them. The page carries the posted data in
hidden inputs, so "Check the entries" checks the applicant's entries against the same unsaved form.
"""

from csp.decorators import csp_replace
from django.contrib import admin
from django.forms.formsets import DELETION_FIELD_NAME
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin

from accounts.permissions import STAFF_ROLES, role_required

from .form_builder import FormDefinition, section_form
from .form_schema import schema_of, validate
from .models import FormField, FormSection, FormVersion

# The applicant's entries are named "answer<n>-<section key>-<field key>"; every other posted name
# (but the CSRF token, the buttons' "_…" and the admin's "__prefix__" templates) is the admin's.
ANSWER_PREFIX = "answer"


def _errors_of(form, row: str = "") -> list[str]:
    """One line per error of ``form``, saying which row (when given) and which field it is about."""
    lines = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = capfirst(field.label) if field is not None and field.label else ""
        for error in errors:
            if row and label:
                lines.append(_("%(row)s, %(field)s: %(error)s") % {"row": row, "field": label, "error": error})
            elif row or label:
                lines.append(_("%(field)s: %(error)s") % {"field": row or label, "error": error})
            else:
                lines.append(error)
    return lines


def bind_admin_edits(request: HttpRequest, version: FormVersion) -> tuple[FormDefinition, list[str]]:
    """The sections and fields the FormVersion admin would save from ``request.POST`` (rows with an
    error left out), and the errors it would show, one line each. Nothing is saved."""
    model_admin = admin.site.get_model_admin(FormVersion)
    form = model_admin.get_form(request, version, change=True)(request.POST, request.FILES, instance=version)
    errors = _errors_of(form)
    kept: dict[type, list] = {}
    for formset_class, inline in model_admin.get_formsets_with_inlines(request, version):
        prefix = formset_class.get_default_prefix()
        formset = formset_class(**model_admin.get_formset_kwargs(request, version, inline, prefix))
        formset.is_valid()
        opts = inline.model._meta
        errors += [
            _("%(field)s: %(error)s") % {"field": capfirst(opts.verbose_name_plural), "error": error}
            for error in formset.non_form_errors()
        ]
        rows = kept.setdefault(inline.model, [])
        for number, row in enumerate(formset.forms, start=1):
            if row.instance._state.adding and not row.has_changed():
                continue  # an empty extra row: the admin ignores it
            if formset.can_delete and getattr(row, "cleaned_data", {}).get(DELETION_FIELD_NAME):
                continue  # marked for deletion
            if row.errors:
                key = row.data.get(row.add_prefix("key"), "")
                where = _("%(kind)s %(number)s") % {"kind": capfirst(opts.verbose_name), "number": number}
                errors += _errors_of(row, f"{where} ({key})" if key else where)
                continue
            rows.append(row.instance)
    return FormDefinition(version, kept.get(FormSection, []), kept.get(FormField, [])), errors


def _carried(request: HttpRequest) -> list[tuple[str, str]]:
    """The admin's posted data, to post again with the applicant's entries."""
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name != "csrfmiddlewaretoken" and not name.startswith(("_", ANSWER_PREFIX)) and "__prefix__" not in name
        for value in values
    ]


@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
@role_required(*STAFF_ROLES)
def form_preview_edits(request: HttpRequest, pk: int) -> HttpResponse:
    """Staff see a draft version as applicants will, with the changes posted from its admin page
    (unsaved); shown in a panel of that page, hence framed by the same origin only. A published
    version cannot be changed: its saved preview is shown instead, as after a GET."""
    version = get_object_or_404(FormVersion.objects.select_related("call"), pk=pk)
    if request.method != "POST" or not version.is_draft:
        return redirect("calls:form_preview", pk=version.pk)
    definition, edit_errors = bind_admin_edits(request, version)
    checking = "_check" in request.POST
    data = request.POST if checking else None
    sections = definition.ordered_sections()
    forms = [
        section_form(definition, section, data=data, prefix=f"{ANSWER_PREFIX}{index}-{section.key}")
        for index, section in enumerate(sections)
    ]
    valid = [form.is_valid() for form in forms] if checking else [False]  # every form, for its errors
    return render(
        request,
        "calls/form_preview.html",
        {
            "version": version,
            "unsaved": True,
            "edit_errors": edit_errors,
            "carried": _carried(request),
            "sections": list(zip(sections, forms, strict=True)),
            "problems": validate(schema_of(definition)),
            "checked": all(valid),
        },
    )
