"""rv-stages: what the review adds to lower floors' pages — the interview slot on the
organisation's application page (the page itself checks that the viewer may see the application)."""

from django import template

from ..models import InterviewSlot

register = template.Library()


@register.inclusion_tag("reviews/_applicant_slot.html")
def interview_slot(application):
    """The application's interview slot, when one has been scheduled (one query)."""
    return {"slot": InterviewSlot.objects.filter(application_id=application.pk).first()}


@register.inclusion_tag("reviews/staff/_stages_body.html")
def review_stages(application):
    """The shortlist, slot and interview scores of an application, for staff (two-stage calls)."""
    from ..selectors import stage_summary

    return {"application": application, **stage_summary(application)}
