"""Reads of programmes and calls that the public pages share, with their joins."""

from django.db.models import Prefetch, QuerySet

from .models import Call, CallQuestion, FormVersion, Theme


def calls_for_public_list() -> QuerySet[Call]:
    return Call.objects.filter(published=True).select_related("programme").order_by("is_practice", "-closes_at", "id")


def call_for_public_page(slug: str) -> QuerySet[Call]:
    return (
        Call.objects.filter(published=True, slug=slug)
        .select_related("programme")
        .prefetch_related(
            "eligible_types",
            Prefetch("themes", queryset=Theme.objects.order_by("number")),
            Prefetch("questions", queryset=CallQuestion.objects.order_by("order", "id")),
        )
    )


def form_version_for_preview(pk: int) -> QuerySet[FormVersion]:
    """A form version with its call, sections and fields (four queries)."""
    return FormVersion.objects.filter(pk=pk).select_related("call").prefetch_related("sections", "fields")
