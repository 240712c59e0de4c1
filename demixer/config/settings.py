"""demixer's Django settings: one file, every value from the environment with a safe default.

Read with the tiny typed readers below; nothing here needs editing to deploy. DEBUG is off unless
``DEMIXER_DEBUG=1``. Runtime data (database, media, secret key, mail) lives under
``DEMIXER_DATA_DIR`` (default ``var/`` in the checkout).
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP


def envbool(name: str, default: bool) -> bool:
    value = os.getenv(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def envint(name: str, default: int) -> int:
    value = os.getenv(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None


def envfloat(name: str, default: float) -> float:
    value = os.getenv(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.getenv(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent.parent  # demixer/
BASE_DIR = PACKAGE_DIR.parent
DATA_DIR = Path(os.getenv("DEMIXER_DATA_DIR") or BASE_DIR / "var").resolve()

DEBUG = envbool("DEMIXER_DEBUG", False)


def _secret_key() -> str:
    """The environment's key; in DEBUG a fixed one; otherwise one generated once under var/."""
    if key := os.getenv("DEMIXER_SECRET_KEY"):
        return key
    if DEBUG:
        return "demixer-insecure-development-key-do-not-use-in-production"
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".secret_key.{os.getpid()}.part")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
        try:
            # a link fails where the name exists: when processes start together on a fresh
            # data folder, the first key written is the one every process reads
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = envlist("DEMIXER_ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("DEMIXER_CSRF_TRUSTED_ORIGINS", "")
# the address people use (https://music.example.org): its host is allowed and its origin trusted
# for CSRF, which a TLS-terminating proxy in front needs (the browser's Origin is https://...)
if SITE_URL := os.getenv("DEMIXER_SITE_URL", "").rstrip("/"):
    _site = urlsplit(SITE_URL)
    if _site.scheme not in ("http", "https") or not _site.hostname:
        raise ImproperlyConfigured(f"DEMIXER_SITE_URL must be http(s)://host, got {SITE_URL!r}")
    ALLOWED_HOSTS.append(_site.hostname)
    CSRF_TRUSTED_ORIGINS.append(f"{_site.scheme}://{_site.netloc}")
SITE_NAME = os.getenv("DEMIXER_SITE_NAME", "demixer")

INSTALLED_APPS = [
    "demixer.accounts",
    "demixer.ops",
    "demixer.tracks",
    "demixer.separation",
    "demixer.exports",
    "demixer.player",
    "demixer.sharing",
    "demixer.api",
    "ninja",  # the API docs page from its bundled Swagger UI files, not a CDN (the CSP)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
]

MIDDLEWARE = [
    # first: it times (and logs) everything below it
    "demixer.ops.request_log.RequestLogMiddleware",
    # before the host check and the HTTPS redirect: probes and scrapers address hosts by IP
    "demixer.ops.endpoints.OperationsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # a view that found the disk full: a 507 page that says so, not a 500
    "demixer.ops.disk.StorageFullMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # last, as django-axes asks: it turns a lockout into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "demixer.config.urls"
WSGI_APPLICATION = "demixer.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # project templates first, so our registration/ pages win over the admin's
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "demixer.accounts.context_processors.site",
                "django.template.context_processors.csp",  # the admin's nonces
            ],
        },
    },
]

# Database: SQLite under var/ unless DATABASE_URL says otherwise (postgres://... works).
DATABASES = {
    "default": dj_database_url.parse(
        os.getenv("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=envint("DEMIXER_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # the web process and the worker write concurrently: WAL, and wait instead of failing
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Job queue. "db" (default): the job rows are the queue; every worker's own loop claims them with
# a conditional update (demixer.jobs), so nothing is delivered and django.tasks gets the dummy
# backend. "rq": separations are delivered through Redis (RQ) to workers on any number of hosts.
# Either way the rows stay the source of truth; renders and webhooks always use the rows.
QUEUE = os.getenv("DEMIXER_QUEUE", "db")
TASK_QUEUES = ["default", "separation"]
REDIS_URL = os.getenv("DEMIXER_REDIS_URL", "redis://127.0.0.1:6379/0")
# RQ stops a job after its default 180 s; separations have their own heartbeat and recovery,
# so RQ's limit only has to be longer than the longest allowed track takes
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": envint("DEMIXER_RQ_JOB_TIMEOUT", 3 * 3600)}
    for name in TASK_QUEUES
}
if QUEUE == "db":
    TASKS = {
        "default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": TASK_QUEUES}
    }
elif QUEUE == "rq":
    INSTALLED_APPS.append("django_rq")
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": TASK_QUEUES}}
else:
    raise ImproperlyConfigured(f"DEMIXER_QUEUE must be db or rq, not {QUEUE!r}")

# Webhook deliveries have a lane of their own (demixer.jobs.loop): this many threads of every
# worker, which never render or separate, so a slow receiver never holds up a download.
WEBHOOK_THREADS = envint("DEMIXER_WEBHOOK_THREADS", 2)
# Webhooks go to public addresses only; these host names and CIDRs are let through besides
# (e.g. "hooks.internal,10.20.0.0/16"): internal receivers the operator vouches for.
WEBHOOK_ALLOW = envlist("DEMIXER_WEBHOOK_ALLOW", "")

# The throttles count in the database (shared by every process and kept over restarts), or in
# Redis when one is configured (DEMIXER_CACHE_URL, or the queue's Redis with DEMIXER_QUEUE=rq).
CACHE_URL = os.getenv("DEMIXER_CACHE_URL") or (REDIS_URL if QUEUE == "rq" else "")
THROTTLES_IN_CACHE = bool(CACHE_URL)
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "demixer",
            # a Redis that stops answering must not hold requests up (throttles then let through)
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "demixer.accounts.backends.UsernameOrEmailBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "library"
LOGOUT_REDIRECT_URL = "landing"

# Failed-login throttling: 5 failures for one username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = envint("DEMIXER_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("DEMIXER_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# the backend accepts any case and the email too: count them all against the one account
AXES_USERNAME_CALLABLE = "demixer.accounts.backends.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Behind this many reverse proxies that append to X-Forwarded-For, the client's address is read
# from there (counted from the right); 0: REMOTE_ADDR, and the header is ignored.
TRUSTED_PROXIES = envint("DEMIXER_TRUSTED_PROXIES", 0)
AXES_CLIENT_IP_CALLABLE = "demixer.ops.client_ip.client_ip"
# Throttles (demixer/ops/throttles.py: the database, or Redis as above); 0 turns one off.
SIGNUPS_PER_IP_HOUR = envint("DEMIXER_SIGNUPS_PER_IP_HOUR", 5)
PASSWORD_RESETS_PER_EMAIL_HOUR = envint("DEMIXER_PASSWORD_RESETS_PER_EMAIL_HOUR", 3)
PASSWORD_RESETS_PER_IP_HOUR = envint("DEMIXER_PASSWORD_RESETS_PER_IP_HOUR", 10)
API_REQUESTS_PER_MINUTE = envint("DEMIXER_API_REQUESTS_PER_MINUTE", 120)
# requests a minute one client address may make under share links (page, previews, files)
SHARE_REQUESTS_PER_MINUTE = envint("DEMIXER_SHARE_REQUESTS_PER_MINUTE", 120)
# /metrics answers only "Authorization: Bearer <this>"; unset: 404
METRICS_TOKEN = os.getenv("DEMIXER_METRICS_TOKEN", "")

# Cookies and headers. Secure cookies and HSTS only when served over HTTPS.
HTTPS = envbool("DEMIXER_HTTPS", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy: scripts and styles only from our own static files, never inline
# (no inline <script>, style="" or on* handler); the player fetches stem previews from this
# origin (default-src). The nonce only lets the admin's few inline blocks run, which Django marks.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# The result page only: the player's tempo/pitch runs Signalsmith Stretch as WebAssembly in an
# AudioWorklet loaded from our static files. 'wasm-unsafe-eval' lets WebAssembly compile, and
# nothing else: JavaScript eval stays refused ('unsafe-eval' is not given).
PLAYER_CSP = {**SECURE_CSP, "script-src": [*SECURE_CSP["script-src"], CSP.WASM_UNSAFE_EVAL]}
if HTTPS:
    # behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("DEMIXER_HTTPS_REDIRECT", True)
    # a day by default, so a mistaken switch is not pinned into browsers for long
    SECURE_HSTS_SECONDS = envint("DEMIXER_HSTS_SECONDS", 86400)

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.getenv("DEMIXER_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# Static files: served by whitenoise from the app (no CDN). Finders are used as a fallback so
# test servers work without collectstatic.
STATIC_URL = "/static/"
# an image collects them once at build time, beside its code (DEMIXER_STATIC_DIR)
STATIC_ROOT = Path(os.getenv("DEMIXER_STATIC_DIR") or DATA_DIR / "static")
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.getenv("DEMIXER_MEDIA_DIR") or DATA_DIR / "media")
MEDIA_URL = "/media/"  # never routed: audio is served by authenticated views only
STORAGES: dict[str, dict[str, object]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Uploads and stems live under MEDIA_ROOT (a shared mount serves several hosts), or, with
# DEMIXER_S3_BUCKET, in an S3-compatible object store (django-storages). Files are only ever
# served through the app's own access-checked views, never by bucket URLs.
if S3_BUCKET := os.getenv("DEMIXER_S3_BUCKET"):
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "location": os.getenv("DEMIXER_S3_PREFIX", ""),
            "endpoint_url": os.getenv("DEMIXER_S3_ENDPOINT_URL") or None,
            "region_name": os.getenv("DEMIXER_S3_REGION") or None,
            # unset: boto3's own chain (AWS_* variables, instance roles, ~/.aws)
            "access_key": os.getenv("DEMIXER_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.getenv("DEMIXER_S3_SECRET_ACCESS_KEY") or None,
            "default_acl": "private",
            "file_overwrite": True,
        },
    }

# Uploads always stream to a temporary file on disk (never the whole file in memory) and stop
# as soon as one file passes the size limit.
MAX_UPLOAD_MB = envint("DEMIXER_MAX_UPLOAD_MB", 200)
MAX_MINUTES = envfloat("DEMIXER_MAX_MINUTES", 20)
# Checked on the header before decoding, then on every frame: the CPU time of decoding grows
# with both (memory does not), and a tiny file can declare hours at 384 kHz in 7.1.
MAX_SAMPLE_RATE = envint("DEMIXER_MAX_SAMPLE_RATE", 192_000)
MAX_CHANNELS = envint("DEMIXER_MAX_CHANNELS", 8)
MAX_FILES_PER_UPLOAD = envint("DEMIXER_MAX_FILES_PER_UPLOAD", 10)
FILE_UPLOAD_HANDLERS = [
    "demixer.tracks.uploads.SizeLimitedUploadHandler",
    "demixer.tracks.uploads.HashingUploadHandler",  # to a temporary file, hashed as it arrives
]
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
FILE_UPLOAD_TEMP_DIR = os.getenv("DEMIXER_UPLOAD_TEMP_DIR") or None
FILE_UPLOAD_PERMISSIONS = 0o640
DATA_UPLOAD_MAX_NUMBER_FILES = MAX_FILES_PER_UPLOAD

# Per-user quotas, checked whenever a new job would be created (0 = unlimited): separations
# waiting or running at once, storage of originals and stems, minutes of audio per rolling 24 h.
MAX_QUEUED_PER_USER = envint("DEMIXER_MAX_QUEUED_PER_USER", 10)
STORAGE_MB_PER_USER = envint("DEMIXER_STORAGE_MB_PER_USER", 2000)
MINUTES_PER_DAY = envfloat("DEMIXER_MINUTES_PER_DAY", 120)
# The disk guard (demixer.ops.disk): uploads, jobs and renders that would leave less than this
# free (MB) on any file system they write to are refused; below it a warning is logged.
MIN_FREE_MB = envint("DEMIXER_MIN_FREE_MB", 500)

# Worker: a running job whose heartbeat is older than this is taken to be orphaned.
SEPARATION_STALE_SECONDS = envint("DEMIXER_STALE_SECONDS", 90)
SEPARATION_MAX_ATTEMPTS = envint("DEMIXER_MAX_ATTEMPTS", 2)
SEPARATION_THREADS = envint("DEMIXER_THREADS", 0)
SEPARATION_DEVICE = os.getenv("DEMIXER_DEVICE", "cpu")
# tracks longer than this are separated into a temporary file rather than memory
SEPARATION_LOW_MEMORY_MINUTES = envfloat("DEMIXER_LOW_MEMORY_MINUTES", 6)
# the weights (and the fast mode's verdict per host); the engine is told at start-up
MODELS_DIR = Path(os.getenv("DEMIXER_MODELS_DIR") or DATA_DIR / "models").resolve()

# Email: printed to the console by default, written to files or sent over SMTP when asked.
# Console and file mail are for people to read: plain text, lines whole (links copyable).
DEFAULT_FROM_EMAIL = os.getenv("DEMIXER_FROM_EMAIL", "demixer@localhost")
_email = os.getenv("DEMIXER_EMAIL_BACKEND", "smtp" if os.getenv("EMAIL_HOST") else "console")
if _email == "console":
    _mailer: dict[str, object] = {"BACKEND": "demixer.accounts.mail.ConsoleBackend"}
elif _email == "file":
    _mailer = {
        "BACKEND": "demixer.accounts.mail.FileBackend",
        "OPTIONS": {"file_path": str(DATA_DIR / "mail")},
    }
elif _email == "smtp":
    _mailer = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.getenv("EMAIL_HOST", "localhost"),
            "port": envint("EMAIL_PORT", 587),
            "username": os.getenv("EMAIL_HOST_USER", ""),
            "password": os.getenv("EMAIL_HOST_PASSWORD", ""),
            "use_tls": envbool("EMAIL_USE_TLS", True),
        },
    }
else:
    raise ImproperlyConfigured("DEMIXER_EMAIL_BACKEND must be console, file or smtp")
MAILERS = {"default": _mailer}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "demixer": {"handlers": ["console"], "level": os.getenv("DEMIXER_LOG_LEVEL", "INFO")},
    },
}
