"""``{% staff_receipt_link application %}``: a receipt number on a staff list, as a link to the
staff page of the application (grants/application_views.py). One tag, so every list (call
applications, assignments, ranking, decisions, notices, reserve list, awards, payments) writes it
in one line; lower floors' templates use it as the grants layer's offer (docs/ARCHITECTURE.md)."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def staff_receipt_link(application, receipt_number=None, application_id=None):
    """The link, or the bare number (or "—") when there is no application to link to. A list whose
    rows are values rather than applications passes ``receipt_number=`` and ``application_id=``."""
    number = receipt_number if receipt_number is not None else getattr(application, "receipt_number", None)
    pk = application_id if application_id is not None else getattr(application, "pk", None)
    if not number:
        return "—"
    if pk is None:
        return number
    url = reverse("grants:staff_application", args=[pk])
    return format_html('<a href="{}" data-testid="staff-application-link">{}</a>', url, number)
