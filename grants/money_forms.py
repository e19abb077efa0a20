"""Forms of 概算払, 額の確定, 精算払, 返還命令 and the money returned, and the payments list's filters."""

from django import forms
from django.utils.translation import gettext_lazy as _

from calls.models import Call
from kodoku_portal.formfields import CleanInputFormMixin, YenAmountField

from .exports import REFUND_KIND, REFUND_ORDERED, REFUND_RECEIVED
from .models import PaymentKind, PaymentStatus


def _date_field(label, *, required: bool = True, help_text: str = "") -> forms.DateField:
    return forms.DateField(
        label=label, required=required, help_text=help_text, widget=forms.DateInput(attrs={"type": "date"})
    )


class AdvanceRequestForm(CleanInputFormMixin, forms.Form):
    amount = YenAmountField(label=_("Amount requested (yen)"), min_value=1)
    reason = forms.CharField(
        label=_("Reason for the advance payment"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("For example: the costs to be paid before the project ends, and when."),
    )


class AdvanceApproveForm(forms.Form):
    scheduled_on = _date_field(_("Scheduled payment date"))


class AdvanceRefuseForm(CleanInputFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason for refusing"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class PaidForm(forms.Form):
    paid_on = _date_field(_("Paid on"))


class ConfirmForm(CleanInputFormMixin, forms.Form):
    amount = YenAmountField(
        label=_("Confirmed amount (yen)"),
        required=False,
        min_value=0,
        help_text=_("The proposal, or a lower amount. Leave empty to confirm the proposal."),
    )
    scheduled_on = _date_field(
        _("Settlement payment date (精算払)"),
        required=False,
        help_text=_("Used when a balance is still to be paid. Empty: in 30 days."),
    )
    confirm = forms.BooleanField(
        label=_(
            "I understand: the amount is confirmed and the notice of the confirmed amount (額の確定通知書) "
            "is issued with an official number and mailed to the organisation at once; it cannot be undone."
        ),
        required=True,
    )


class RefundOrderForm(forms.Form):
    due_on = _date_field(_("Due date of the refund"), required=False, help_text=_("Empty: in 20 days."))


class RefundPreviewForm(forms.Form):
    """GET: the charges as they would be on another day (the page recomputes them)."""

    money_on = _date_field(_("Paid back on"))


class RefundReceiptForm(CleanInputFormMixin, forms.Form):
    received_on = _date_field(_("Received on"))
    received_amount = YenAmountField(
        label=_("Amount received (yen)"),
        min_value=0,
        help_text=_(
            "The amount to return with its charges (加算金 after a cancellation, 延滞金 when late) as computed "
            "for the day received."
        ),
    )
    waived = forms.BooleanField(
        label=_("The 加算金 and 延滞金 are waived (article 19: unavoidable reasons)"), required=False
    )
    note = forms.CharField(
        label=_("Note (required when the charges are waived)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


KIND_CHOICES = [
    ("", _("All kinds")),
    (PaymentKind.ADVANCE.value, PaymentKind.ADVANCE.label),
    (PaymentKind.SETTLEMENT.value, PaymentKind.SETTLEMENT.label),
    (REFUND_KIND, _("Refund (返還)")),
]
STATUS_CHOICES = [
    ("", _("All states")),
    *[(status.value, status.label) for status in PaymentStatus],
    (REFUND_ORDERED, _("Refund ordered")),
    (REFUND_RECEIVED, _("Refund received")),
]


class PaymentFilterForm(forms.Form):
    call = forms.ModelChoiceField(
        label=_("Call"), required=False, queryset=Call.objects.none(), empty_label=_("All calls")
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=KIND_CHOICES)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = (
            Call.objects.filter(applications__award__isnull=False).distinct().order_by("-opens_at", "id")
        )


class GrantCancelForm(CleanInputFormMixin, forms.Form):
    """決定の取消 (article 17(1)) by staff: the amount cancelled, the reason, the refund's due date."""

    amount = YenAmountField(
        label=_("Amount cancelled (yen)"),
        min_value=1,
        help_text=_("The whole of what remains granted, or a part of it."),
    )
    reason = forms.CharField(
        label=_("Reason for the cancellation"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Printed in the notice. For example: use for another purpose, a condition of the grant violated."),
    )
    due_on = _date_field(
        _("Due date of the refund"),
        required=False,
        help_text=_("Used when money already paid is to be returned. Empty: in 20 days."),
    )
    cancelled_before = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=9_223_372_036_854_775_807)
    confirm = forms.BooleanField(
        label=_(
            "I confirm that this cancels the grant decision (決定の取消, article 17(1)); the notice is sent at once."
        ),
        required=True,
    )
