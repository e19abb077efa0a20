"""The public verification page, /verify/ (no login; URL namespace "verify"): a document number and
its verification code (typed, or from the letter's QR code), or an uploaded PDF. Answers come from
grants/verification.py; every lookup counts against a per-address limit (429 past it)."""

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from kodoku_portal.middleware import client_ip

from . import verification

app_name = "verify"


class CodeForm(forms.Form):
    no = forms.CharField(label=_("Document number"), max_length=40, help_text=_("For example 府孤第12号"))
    code = forms.CharField(
        label=_("Verification code"), max_length=40, help_text=_("16 letters and digits, printed beside the QR code")
    )

    def clean_code(self):
        code = verification.normalise_code(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError(_("The verification code has 16 characters (0–9 and A–F)."))
        return code


class FileForm(forms.Form):
    file = forms.FileField(label=_("The letter as a PDF file"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.VERIFY_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB: the portal's letters are much smaller.")
                % {"size": limit // (1024 * 1024)}
            )
        head = upload.read(5)
        upload.seek(0)
        if head != b"%PDF-":
            raise forms.ValidationError(_("Only PDF files can be checked."))
        return upload


@require_http_methods(["GET", "POST"])
def verify(request):
    """GET: the forms (with ?no=&code= — the QR code's link — the answer too). POST: an upload."""
    code_form, file_form, answer = CodeForm(), FileForm(), None
    asked = request.method == "POST" or "no" in request.GET or "code" in request.GET
    if asked and verification.rate_limited(client_ip(request)):
        return render(request, "grants/verify_limited.html", status=429)
    if request.method == "POST":
        file_form = FileForm(request.POST, request.FILES)
        if file_form.is_valid():
            answer = verification.check_file(file_form.cleaned_data["file"].read())
    elif asked:
        code_form = CodeForm(request.GET)
        if code_form.is_valid():
            answer = verification.lookup(code_form.cleaned_data["no"], code_form.cleaned_data["code"])
    status = 400 if asked and answer is None else 200
    return render(
        request,
        "grants/verify.html",
        {"code_form": code_form, "file_form": file_form, "answer": answer, "outcome": verification.Outcome},
        status=status,
    )


urlpatterns = [path("", verify, name="verify")]
