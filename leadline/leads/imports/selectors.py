"""Reads of a business's imports and their problem reports."""

from collections.abc import Iterator

from leadline.accounts.models import Business
from leadline.campaigns.models import Campaign
from leadline.core.errors import NotFound
from leadline.leads.models import LeadImport, LeadImportProblem

Status = LeadImport.Status


def import_get(*, business: Business, campaign: Campaign, pk: int) -> LeadImport:
    lead_import = (
        LeadImport.objects.filter(business=business, campaign=campaign, pk=pk)
        .select_related("campaign")
        .first()
    )
    if lead_import is None:
        raise NotFound("Import not found.")
    return lead_import


def imports_recent(*, business: Business, campaign: Campaign, limit: int = 10) -> list[LeadImport]:
    return list(
        LeadImport.objects.filter(business=business, campaign=campaign).order_by("-id")[:limit]
    )


def imports_unfinished_count(*, business: Business) -> int:
    """Imports still holding their file: being worked on, or waiting for the user."""
    return LeadImport.objects.filter(
        business=business,
        status__in=[Status.VALIDATING, Status.IMPORTING, Status.NEEDS_DECISION],
    ).count()


def problems_iter(*, lead_import: LeadImport) -> Iterator[LeadImportProblem]:
    return (
        LeadImportProblem.objects.filter(lead_import=lead_import)
        .order_by("row", "id")
        .iterator(chunk_size=2000)
    )


def problems_sample(*, lead_import: LeadImport, limit: int = 20) -> list[LeadImportProblem]:
    return list(
        LeadImportProblem.objects.filter(lead_import=lead_import).order_by("row", "id")[:limit]
    )


def problem_row_numbers(*, lead_import: LeadImport) -> set[int]:
    return set(
        LeadImportProblem.objects.filter(lead_import=lead_import).values_list("row", flat=True)
    )
