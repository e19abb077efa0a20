"""Template tags the applications layer's templates use to show what the reviews layer adds."""

from django import template

from reviews.selectors import disclosed_comments

register = template.Library()


@register.inclusion_tag("reviews/_disclosed_comments.html")
def disclosed_review_comments(application):
    """The reviewers' comments disclosed to the organisation (「申請者に開示可」), without names,
    once its decision is disclosed (its notice is out); nothing before."""
    comments = disclosed_comments(application) if application.decision_is_disclosed else []
    return {"comments": comments}
