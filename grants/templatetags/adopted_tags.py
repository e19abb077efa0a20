"""``{% adopted_projects_section call %}``: the call's adopted projects on its public page
(templates/calls/call_detail.html), once staff have published the list — the grants layer's offer
to the calls page (the calls floor knows nothing of applications). One query for the list."""

from django import template

from grants import selectors

register = template.Library()


@register.inclusion_tag("grants/_adopted_projects.html")
def adopted_projects_section(call):
    if call.adoptions_published_at is None:
        return {"call": call, "applications": []}
    return {"call": call, "applications": list(selectors.adopted_for_public(call))}
