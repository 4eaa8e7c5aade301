"""The Prometheus metrics every layer records (docs/operations.md lists them).

Defined once here, in core, so services, loops and middleware of any app can import them
without pointing an import upwards. Counters and histograms only: those add up across
processes. Under gunicorn (and `leadline serve`'s worker) PROMETHEUS_MULTIPROC_DIR is set
before anything imports prometheus_client, so each process writes its values to files there
and /metrics sums them (see `registry_for_scrape`); without it (runserver, tests) the values
live in this process's default registry.

Values that are a state of the database rather than an event in one process (leads due,
the outbox backlog, each loop's last run) are not kept here: /metrics reads them at scrape
time (leadline.worker.metrics), so every node reports the same truth and nothing goes stale
when a process dies.

Labels never carry a lead id, a phone number or a raw path: routes are URL patterns, and
campaigns appear only in the scrape-time gauges, by public id.
"""

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.registry import REGISTRY

# Latency buckets (seconds): API calls are milliseconds; an export or a big batch is seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
# Event created -> delivered: immediate deliveries take milliseconds, retries hours.
DELAY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 36000, 86400)

HTTP_REQUESTS = Counter(
    "leadline_http_requests",
    "HTTP requests answered, by route (URL pattern), method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "leadline_http_request_duration_seconds",
    "Time to answer an HTTP request, by route (URL pattern) and method.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
LEADS_CREATED = Counter("leadline_leads_created", "Leads created (API and dashboard imports).")
RATE_LIMIT_REJECTIONS = Counter(
    "leadline_rate_limit_rejections",
    "API requests refused with 429, by limiter policy (business, auth-failures).",
    ["policy"],
)
DIALER_CLAIMS = Counter(
    "leadline_dialer_claims",
    "Next-lead claims by reps (console and simulator), by result (lead, empty).",
    ["result"],
)
DIALER_CLAIM_DURATION = Histogram(
    "leadline_dialer_claim_duration_seconds",
    "Time a next-lead claim took, compliance checks included.",
    buckets=LATENCY_BUCKETS,
)
CALLS = Counter(
    "leadline_calls",
    "Calls by provider and status: placed, not_placed, then each final telephony status.",
    ["provider", "status"],
)
WEBHOOK_DELIVERIES = Counter(
    "leadline_webhook_deliveries",
    "Webhook delivery tries recorded, by result (succeeded, retrying, gave_up, settled).",
    ["result"],
)
WEBHOOK_DELIVERY_DELAY = Histogram(
    "leadline_webhook_delivery_delay_seconds",
    "From the event's creation to its successful delivery (retries included).",
    buckets=DELAY_BUCKETS,
)
WORKER_LOOP_RUNS = Counter(
    "leadline_worker_loop_runs", "Successful runs of each worker loop.", ["loop"]
)
WORKER_LOOP_ERRORS = Counter(
    "leadline_worker_loop_errors", "Failed runs of each worker loop (an exception).", ["loop"]
)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def registry_for_scrape() -> CollectorRegistry:
    """What /metrics exposes of the process metrics: every process's files under gunicorn,
    this process's own registry otherwise."""
    if not multiprocess_dir():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
