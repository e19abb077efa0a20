"""Template tags the lower floors' templates use to show what the applications layer adds."""

from django import template

from applications.selectors import organisations_of

register = template.Library()


@register.inclusion_tag("applications/_start_form.html", takes_context=True)
def start_application_form(context, call):
    """The form that starts a draft on a call's page, with the organisations the user belongs to."""
    request = context["request"]
    user = request.user
    organisations = list(organisations_of(user)) if user.is_authenticated else []
    return {
        "call": call,
        "organisations": organisations,
        "request": request,
        "user": user,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def organisation_nav_url(user) -> str:
    """The header's 団体情報 link: the applicant's organisation (the first, by name, when several;
    the registration form when none)."""
    from django.urls import reverse

    organisation = organisations_of(user).order_by("name", "pk").first() if user.is_authenticated else None
    if organisation is None:
        return reverse("applications:organisation_create")
    return reverse("applications:organisation", args=[organisation.pk])
