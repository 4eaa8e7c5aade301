"""The gauges /metrics computes at scrape time from the database.

Leads due, the webhook outbox and the loops' last runs are states of the shared database,
not events in one process: read at scrape time they are the same on every node, cost
nothing between scrapes, and cannot go stale with a dead process (a gauge kept by a worker
loop would need that loop to be alive to say it is not). Each read is an indexed query;
the due count is capped per campaign (LEADLINE_METRICS_DUE_CAP) so a scrape stays cheap
whatever a campaign's size.
"""

import logging
from collections.abc import Iterator

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Min, Q
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from leadline.campaigns.models import Campaign
from leadline.core.loops import registered
from leadline.leads.models import Lead
from leadline.webhooks.models import Delivery

from .heartbeats import loop_lags

logger = logging.getLogger(__name__)


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        try:
            # Read all before yielding any: a scrape shows all of these or none.
            families = [self._leads_due(now), *self._outbox(now), *self._loops(now)]
        except DatabaseError:
            # The process metrics are still worth serving while the database is away; the
            # absent gauges (and /readyz) tell the rest.
            logger.warning("metrics: database gauges unreadable", exc_info=True)
            return
        yield from families

    def _leads_due(self, now) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "leadline_leads_due",
            "Leads of each active campaign a rep could be given now (capped at "
            "LEADLINE_METRICS_DUE_CAP).",
            labels=["campaign"],
        )
        cap = settings.LEADLINE_METRICS_DUE_CAP
        campaigns = Campaign.objects.filter(
            status=Campaign.Status.ACTIVE, business__is_active=True
        ).values_list("pk", "public_id")
        for pk, public_id in campaigns:
            due = (
                Lead.objects.filter(
                    campaign_id=pk,
                    status=Lead.Status.QUEUED,
                    due_at__lte=now,
                    disabled_at__isnull=True,
                    erased_at__isnull=True,
                )
                .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
                .values("pk")[:cap]
                .count()
            )
            family.add_metric([public_id], due)
        return family

    def _outbox(self, now) -> Iterator[GaugeMetricFamily]:
        # Due now, not retries scheduled for later: the partial index delivery_due_idx
        # (pending, by next_attempt_at) serves both reads.
        due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        backlog = due.values("pk")[: settings.LEADLINE_METRICS_DUE_CAP].count()
        oldest = due.aggregate(oldest=Min("next_attempt_at"))["oldest"]
        yield GaugeMetricFamily(
            "leadline_webhook_outbox_backlog",
            "Webhook deliveries due now and not yet delivered (capped at "
            "LEADLINE_METRICS_DUE_CAP).",
            value=backlog,
        )
        yield GaugeMetricFamily(
            "leadline_webhook_outbox_oldest_age_seconds",
            "How long the longest-waiting due webhook delivery has been due (0: none).",
            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        )

    def _loops(self, now) -> Iterator[GaugeMetricFamily]:
        last = GaugeMetricFamily(
            "leadline_worker_loop_last_success_timestamp_seconds",
            "Unix time of each worker loop's last successful run (any worker).",
            labels=["loop"],
        )
        lag = GaugeMetricFamily(
            "leadline_worker_loop_lag_seconds",
            "Seconds since each worker loop's last successful run (any worker).",
            labels=["loop"],
        )
        for loop in loop_lags({loop.name for loop in registered()}, now):
            last.add_metric([loop.name], loop.last_success_at.timestamp())
            lag.add_metric([loop.name], loop.lag_seconds)
        yield last
        yield lag
