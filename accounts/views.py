"""The user's own settings: e-mail language and which optional reminders to receive."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .forms import ReminderSettingsForm


@login_required
def reminder_settings(request):
    form = ReminderSettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your e-mail settings were saved."))
        return redirect("accounts_reminders")
    return render(request, "accounts/reminders.html", {"form": form})
