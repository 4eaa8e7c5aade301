"""Helpers shared by the operator console's admin classes."""

from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce


def count_of(queryset, fk: str):
    """COUNT of `queryset` rows whose `fk` is the outer row, as a correlated subquery.

    Changelists annotate with it instead of Count() joins: several joins multiply each other's
    rows (campaigns x users x tokens per business) and force a GROUP BY over every selected
    column; a subquery per column keeps the page one query whatever the row count.
    """
    counted = queryset.filter(**{fk: OuterRef("pk")}).order_by().values(fk).annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n"), output_field=IntegerField()), 0)


class ReadOnlyAdmin:
    """Mixin for a ModelAdmin of rows only the services write (attempts, deliveries, events,
    imports): operators look, never add, change or delete from the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
