from django import forms

from .models import User


class ReminderSettingsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("language", "wants_deadline_reminders", "wants_review_reminders")
