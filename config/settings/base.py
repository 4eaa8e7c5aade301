"""Settings shared by every environment; values come from the environment (12-factor)."""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("LEADLINE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


SECRET_KEY = os.environ.get("LEADLINE_SECRET_KEY", "")
# Previous secret keys, comma-separated, while rotating: sessions and signed recording links
# made with them stay valid; everything new is signed with SECRET_KEY.
SECRET_KEY_FALLBACKS = env_list("LEADLINE_SECRET_KEY_FALLBACKS", "")
DEBUG = env_bool("LEADLINE_DEBUG")
ALLOWED_HOSTS = env_list("LEADLINE_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
USE_X_FORWARDED_HOST = env_bool("LEADLINE_USE_X_FORWARDED_HOST")
if env_bool("LEADLINE_BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "leadline.core",
    "leadline.accounts",
    "leadline.campaigns",
    "leadline.compliance",
    "leadline.leads",
    "leadline.dialer",
    "leadline.webhooks",
    "leadline.worker",
    "leadline.console",
    "leadline.dashboard",
    # Throttles repeated failed logins (dashboard, console, admin) across processes.
    "axes",
]

MIDDLEWARE = [
    # The request id (X-Request-ID, bound to every log line) and the HTTP metrics: outside
    # everything else, so they see every answer and its whole duration.
    "leadline.core.middleware.RequestContextMiddleware",
    # Outermost, so every response (the API gateway's own 403/429 too) carries the policy.
    "leadline.core.middleware.ContentSecurityPolicyMiddleware",
    "leadline.accounts.middleware.ApiGatewayMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username/address is refused before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins (dashboard, console, admin) within the cool-off (15 minutes) lock:
# - a username from one address after 5 (a success resets this count);
# - one address, whatever the usernames, after 20 (credential stuffing from one address);
# - one username, whatever the addresses, after 10 (guessing one account from many).
# The lock lifts when enough failures are older than the cool-off. axes locks the pair; the
# two wider limits are LoginLimitsHandler's (accounts/lockout.py says why). Attempts live in
# the database, so every process shares them.
AXES_FAILURE_LIMIT = int(os.environ.get("LEADLINE_LOGIN_FAILURE_LIMIT", "5"))
LEADLINE_LOGIN_ADDRESS_FAILURE_LIMIT = int(
    os.environ.get("LEADLINE_LOGIN_ADDRESS_FAILURE_LIMIT", "20")
)
LEADLINE_LOGIN_USERNAME_FAILURE_LIMIT = int(
    os.environ.get("LEADLINE_LOGIN_USERNAME_FAILURE_LIMIT", "10")
)
AXES_COOLOFF_TIME = float(os.environ.get("LEADLINE_LOGIN_COOLOFF_MINUTES", "15")) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts refused during a lock are not counted: otherwise one address, locked out of the
# pair after 5, could keep posting until the username's own limit locks the account from
# every address, and each refused try would push the promised retry time further away.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HANDLER = "leadline.accounts.lockout.LoginLimitsHandler"
# Renders AXES_LOCKOUT_TEMPLATE saying which limit applied and when to retry.
AXES_LOCKOUT_CALLABLE = "leadline.accounts.lockout.lockout_response"
AXES_LOCKOUT_TEMPLATE = "dashboard/locked.html"
AXES_HTTP_RESPONSE_CODE = 429
# The client address as the API's limiter sees it (X-Forwarded-For only behind trusted proxies),
# so nobody escapes a lockout by sending their own X-Forwarded-For.
AXES_CLIENT_IP_CALLABLE = "leadline.accounts.middleware.login_client_ip"

# Every way a password is set (dashboard password change, the admin, createsuperuser,
# `leadline rep add`) is checked against these; generated passwords are long and random.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

ROOT_URLCONF = "config.urls"
# The console and the dashboard send people to their own login pages; this is Django's
# fallback for anything using plain login_required.
LOGIN_URL = "dashboard:login"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
# The API serves both ".../create/X/" and ".../create/X" itself; never redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "leadline.dashboard.context_processors.banners",
                "leadline.dashboard.context_processors.business_permissions",
            ],
        },
    },
]


def database_from_url(url: str) -> dj_database_url.DBConfig:
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # The embedded default: WAL lets readers run beside the single writer, IMMEDIATE
        # takes the write lock at BEGIN so two writers queue instead of failing mid-way,
        # and the busy timeout makes them wait rather than raise "database is locked".
        # Keep connections: reopening one per request costs ~0.5 ms, drops the page cache,
        # and on a quiet server checkpoints and deletes the WAL every time (measured in bench).
        config["CONN_MAX_AGE"] = 60
        config["CONN_HEALTH_CHECKS"] = False
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;PRAGMA cache_size=-65536;"
            ),
        }
    return config


DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'leadline.sqlite3'}"
DATABASES = {"default": database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
# Namespaces our Redis keys so deployments (or test runs) can share one Redis.
REDIS_KEY_PREFIX = os.environ.get("LEADLINE_REDIS_PREFIX", "leadline")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# WhiteNoise serves from here (after collectstatic) and from the app finders before that.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "media")},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Leads API v4 limits (docs/api.md explains each).
LEADLINE_MAX_LEADS_PER_REQUEST = 10_000
LEADLINE_MAX_BODY_BYTES = 10 * 1024 * 1024
LEADLINE_MAX_CUSTOM_BYTES = 16 * 1024
LEADLINE_DEFAULT_RATE_LIMIT = 100
# Failed authentications allowed per client address per minute before 429.
LEADLINE_AUTH_FAILURES_PER_MINUTE = int(os.environ.get("LEADLINE_AUTH_FAILURES_PER_MINUTE", "30"))
LEADLINE_IDEMPOTENCY_TTL_SECONDS = 24 * 3600
# Dashboard CSV uploads (leads.imports).
# Largest file one import takes; bigger uploads are refused with a 413 before being stored.
LEADLINE_IMPORT_MAX_BYTES = int(os.environ.get("LEADLINE_IMPORT_MAX_BYTES", 50 * 1024 * 1024))
# Most data rows one import takes; a longer file fails, asking for it to be split.
LEADLINE_IMPORT_MAX_ROWS = int(os.environ.get("LEADLINE_IMPORT_MAX_ROWS", "200000"))
# Rows per progress update and per lead_create_batch call, and so rows held in memory.
LEADLINE_IMPORT_CHUNK_ROWS = 2_000
# A worker that stops renewing its claim for this long is presumed dead; another takes over.
LEADLINE_IMPORT_LEASE_SECONDS = 120
# Undecided imports expire, and ended imports' problem reports go, after this long (privacy).
LEADLINE_IMPORT_RETENTION_SECONDS = 24 * 3600
# Unfinished imports per business: bounds the personal data waiting on disk.
LEADLINE_IMPORT_MAX_ACTIVE = 5
# The dashboard's do-not-call CSV upload, checked and added within the request (all or
# nothing), hence far smaller than a leads import, which the worker processes.
LEADLINE_SUPPRESSION_UPLOAD_MAX_BYTES = int(
    os.environ.get("LEADLINE_SUPPRESSION_UPLOAD_MAX_BYTES", 2 * 1024 * 1024)
)
LEADLINE_SUPPRESSION_UPLOAD_MAX_ROWS = int(
    os.environ.get("LEADLINE_SUPPRESSION_UPLOAD_MAX_ROWS", "10000")
)
# Django refuses a body over this before our view sees it; we answer 413 ourselves.
DATA_UPLOAD_MAX_MEMORY_SIZE = LEADLINE_MAX_BODY_BYTES

# LEADLINE_LOG_FORMAT=json: one JSON object per line (leadline.core.logs.JsonFormatter) with
# the request id; otherwise plain text.
LEADLINE_LOG_FORMAT = os.environ.get("LEADLINE_LOG_FORMAT", "plain").strip().lower()
if LEADLINE_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LEADLINE_LOG_FORMAT must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "leadline.core.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "leadline.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LEADLINE_LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LEADLINE_LOG_LEVEL", "INFO")},
    "loggers": {
        # Django logs the request line of every 4xx; paths carry no phone numbers, but
        # keep it at WARNING so query strings of failed requests are not echoed at INFO.
        "django.request": {"level": "ERROR"},
        # urllib3 logs each request's URL at DEBUG; Exotel's number lookup (DND) has the
        # number in its path, so those lines must not appear even at LEADLINE_LOG_LEVEL=DEBUG.
        "urllib3.connectionpool": {"level": "INFO"},
        # django-axes announces its configuration at INFO on every start, which would come
        # before each command's own output (and into piped --json); its lockouts are WARNING.
        "axes.apps": {"level": "WARNING"},
    },
}
# How many reverse proxies in front of us append to X-Forwarded-For (0: use REMOTE_ADDR).
LEADLINE_TRUSTED_PROXY_HOPS = int(os.environ.get("LEADLINE_TRUSTED_PROXY_HOPS", "0"))

# Telephony: the provider class, and the simulator's odds and time compression.
# The key of compliance's number hashes (do-not-call lists, DND answers, call counts). It
# cannot be rotated without losing every entry: production requires its own stable value.
LEADLINE_NUMBER_HASH_KEY = os.environ.get("LEADLINE_NUMBER_HASH_KEY", "")
LEADLINE_TELEPHONY_PROVIDER = os.environ.get(
    "LEADLINE_TELEPHONY_PROVIDER", "leadline.dialer.telephony.simulator.SimulatorProvider"
)
# Real providers (Exotel, Twilio; accounts per business): calls placed per account per minute
# at most (Exotel allows 200 a minute per account: we stay below it), when a call with no
# final status is read back from the provider, and how long recordings are waited for.
LEADLINE_TELEPHONY_CALLS_PER_MINUTE = int(
    os.environ.get("LEADLINE_TELEPHONY_CALLS_PER_MINUTE", "180")
)
LEADLINE_TELEPHONY_RECONCILE_AFTER_SECONDS = int(
    os.environ.get("LEADLINE_TELEPHONY_RECONCILE_AFTER_SECONDS", "120")
)
LEADLINE_RECORDING_FETCH_GIVE_UP_SECONDS = int(
    os.environ.get("LEADLINE_RECORDING_FETCH_GIVE_UP_SECONDS", "3600")
)
LEADLINE_SIMULATOR = {"speed": float(os.environ.get("LEADLINE_SIMULATOR_SPEED", "1"))}
if os.environ.get("LEADLINE_SIMULATOR_ANSWER"):
    # The share of simulated calls that are answered (0..1); the rest are busy or unanswered.
    LEADLINE_SIMULATOR["answer"] = float(os.environ["LEADLINE_SIMULATOR_ANSWER"])
# Absolute URLs in API results and webhook payloads (recordings) and the telephony providers'
# status callbacks start with this. Unset, it follows HOST and PORT (what `leadline serve`
# and `make run` listen on), so `PORT=9000 make run` hands out links that work. A wildcard
# listen address (0.0.0.0, ::) means "every interface", not an address anyone can connect
# to, so the URL names this machine's loopback instead; anything a provider must reach from
# outside has to be set explicitly (production requires an https:// one).
_listen_host = os.environ.get("HOST", "").strip() or "127.0.0.1"
if _listen_host in ("0.0.0.0", "::", "[::]"):
    _listen_host = "127.0.0.1"
elif ":" in _listen_host and not _listen_host.startswith("["):
    _listen_host = f"[{_listen_host}]"  # an IPv6 address is bracketed in a URL
LEADLINE_PUBLIC_URL = os.environ.get(
    "LEADLINE_PUBLIC_URL", f"http://{_listen_host}:{os.environ.get('PORT', '').strip() or '8000'}"
).rstrip("/")
# A recording URL stays valid for between this and twice this long after it is handed out.
LEADLINE_RECORDING_URL_TTL_SECONDS = 7 * 24 * 3600

# Content-Security-Policy (leadline.core.middleware): pages load scripts, styles, images and
# fonts from this origin only, with no inline script or style, are never framed, and post
# forms only here. Recordings play from LEADLINE_PUBLIC_URL, which may be another origin than
# the one a page was reached by.
_public_origin = "/".join(LEADLINE_PUBLIC_URL.split("/")[:3])
_CSP_COMMON = "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
LEADLINE_CSP = os.environ.get(
    "LEADLINE_CSP", f"default-src 'self'; media-src 'self' {_public_origin}; {_CSP_COMMON}"
)
# Swagger UI (Ninja's self-hosted copy) draws its icons from data: URIs.
LEADLINE_CSP_PATHS = {"/api/v4/docs": f"default-src 'self'; img-src 'self' data:; {_CSP_COMMON}"}

# Dashboard, console and admin sessions: a working day, not Django's two weeks, so a
# forgotten signed-in browser is not a standing door to personal data. The age counts from
# sign-in (not renewed by activity). The cookie is never readable by scripts nor sent on
# cross-site subrequests or posts.
SESSION_COOKIE_AGE = int(os.environ.get("LEADLINE_SESSION_SECONDS", 8 * 3600))
SESSION_EXPIRE_AT_BROWSER_CLOSE = env_bool("LEADLINE_SESSION_EXPIRE_AT_BROWSER_CLOSE")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Where the Django admin lives (config/urls.py); moving it off /admin/ spares it the bots
# that probe that path. Always one trailing slash, no leading one.
LEADLINE_ADMIN_PATH = os.environ.get("LEADLINE_ADMIN_PATH", "admin/").strip("/") + "/"
if LEADLINE_ADMIN_PATH == "/":
    raise ImproperlyConfigured("LEADLINE_ADMIN_PATH must name a path, such as ops-7f3k/")

# Webhooks: key for encrypting signing secrets at rest (SECRET_KEY outside production), whether
# endpoints may point at loopback/private addresses (unsafe in production: SSRF), timeout,
# and a factor compressing the retry schedule (tests).
LEADLINE_ENCRYPTION_KEY = os.environ.get("LEADLINE_ENCRYPTION_KEY", "")
# Previous encryption keys, comma-separated: they still decrypt (new secrets use the current
# key) until `leadline rotate_keys` has re-encrypted every stored secret.
LEADLINE_ENCRYPTION_KEY_FALLBACKS = env_list("LEADLINE_ENCRYPTION_KEY_FALLBACKS", "")
LEADLINE_WEBHOOK_ALLOW_PRIVATE = env_bool("LEADLINE_WEBHOOK_ALLOW_PRIVATE")
LEADLINE_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("LEADLINE_WEBHOOK_TIMEOUT", "15"))
LEADLINE_WEBHOOK_SCHEDULE_SCALE = float(os.environ.get("LEADLINE_WEBHOOK_SCHEDULE_SCALE", "1"))

# Idempotency-Key storage bounds (a request body may be 10 MB, and a record lives 24 h): a
# response larger than this many bytes keeps only its status (a retry with the key gets 422
# instead of a replay; the request never runs twice), and a business holding this many live
# keys gets 429 for a new one until its oldest expires.
LEADLINE_IDEMPOTENCY_MAX_RESPONSE_BYTES = int(
    os.environ.get("LEADLINE_IDEMPOTENCY_MAX_RESPONSE_BYTES", str(64 * 1024))
)
LEADLINE_IDEMPOTENCY_MAX_RECORDS = int(os.environ.get("LEADLINE_IDEMPOTENCY_MAX_RECORDS", "10000"))

# Dashboard CSV exports (leads.export_runs): one running export per business; exports started
# per business per minute (the shared rate limiter's one-minute windows); a run whose stream
# stops renewing it for this long (a crashed process) no longer blocks the next export.
LEADLINE_EXPORTS_PER_MINUTE = int(os.environ.get("LEADLINE_EXPORTS_PER_MINUTE", "3"))
LEADLINE_EXPORT_RUN_LEASE_SECONDS = int(os.environ.get("LEADLINE_EXPORT_RUN_LEASE_SECONDS", "120"))

# Observability (docs/operations.md). /metrics answers a bearer token equal to this when it is
# set (from any address); unset, only requests from loopback without a proxy's
# X-Forwarded-For or Forwarded header.
LEADLINE_METRICS_TOKEN = os.environ.get("LEADLINE_METRICS_TOKEN", "")
# /readyz answers 503 naming a worker loop whose last successful run (any worker's) is older
# than its interval x this factor + this grace.
LEADLINE_LOOP_LAG_FACTOR = float(os.environ.get("LEADLINE_LOOP_LAG_FACTOR", "3"))
LEADLINE_LOOP_LAG_GRACE_SECONDS = float(os.environ.get("LEADLINE_LOOP_LAG_GRACE_SECONDS", "60"))
# Leads due now are counted per active campaign at scrape time, up to this many each (the
# gauge then reads "at least"): a scrape stays cheap however large a campaign grows.
LEADLINE_METRICS_DUE_CAP = int(os.environ.get("LEADLINE_METRICS_DUE_CAP", "10000"))
