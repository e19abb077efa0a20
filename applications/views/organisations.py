"""Organisation profile, members and invitations."""

import rules
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Role
from accounts.permissions import role_required
from kodoku_portal.views_support import refusals_to_messages
from kodoku_portal.workflow import Refused

from .. import selectors, services
from ..forms import InvitationForm, OrganisationForm
from ..models import MemberRole


@role_required(Role.APPLICANT)
def organisation_create(request):
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organisation = services.organisation_create(owner=request.user, **form.cleaned_data)
        messages.success(request, _("Your organisation has been registered."))
        next_url = request.GET.get("next", "")
        if url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return redirect(next_url)
        return redirect("applications:organisation", pk=organisation.pk)
    return render(request, "applications/organisation_form.html", {"form": form})


@role_required(Role.APPLICANT)
def organisation_detail(request, pk):
    organisation = selectors.organisation_for_member(request.user, pk)
    form = OrganisationForm(request.POST or None, instance=organisation)
    # Opened from an application's 団体情報 section: saving goes back there.
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST" and form.is_valid():
        services.organisation_update(organisation=organisation, **form.cleaned_data)
        messages.success(request, _("The organisation profile has been saved."))
        return redirect(next_url or reverse("applications:organisation", args=[organisation.pk]))
    return render(
        request,
        "applications/organisation_detail.html",
        {
            "organisation": organisation,
            "next_url": next_url,
            "form": form,
            "is_owner": rules.test_rule("can_manage_organisation", request.user, organisation),
            "members": organisation.memberships.select_related("user").order_by("created_at"),
            "invitations": organisation.invitations.filter(accepted_at__isnull=True),
            "invitation_form": InvitationForm(auto_id="invite_%s"),
        },
    )


@require_POST
@role_required(Role.APPLICANT)
@refusals_to_messages("applications:organisation")
def organisation_invite(request, pk):
    organisation = selectors.organisation_for_owner(request.user, pk)
    form = InvitationForm(request.POST)
    if form.is_valid():
        services.invitation_create(
            organisation=organisation,
            email=form.cleaned_data["email"],
            role=MemberRole(form.cleaned_data["role"]),
            invited_by=request.user,
        )
        messages.success(
            request, _("An invitation has been sent to %(email)s.") % {"email": form.cleaned_data["email"]}
        )
    else:
        messages.error(request, _("Enter a valid e-mail address."))
    return redirect("applications:organisation", pk=organisation.pk)


@role_required(Role.APPLICANT)
def invitation_accept(request, token):
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user)
        except Refused as refused:  # the page is shown again with the reason (status 400), not redirected
            messages.error(request, refused.message)
            return render(request, "applications/invitation.html", {"token": token, "refused": True}, status=400)
        messages.success(
            request, _("You are now a member of %(organisation)s.") % {"organisation": membership.organisation}
        )
        return redirect("applications:dashboard")
    return render(request, "applications/invitation.html", {"token": token})
