"""The one settings module. Every deploy option comes from a SOPORTE_* variable.

Safe development defaults: SQLite under ./var/, debug off unless asked for, a secret
key generated once into ./var/secret_key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from soporte.lib.dburl import parse_database_url
from soporte.lib.env import EnvError, envbool, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(envstr("SOPORTE_VAR_DIR", str(Path.cwd() / "var"))).resolve()


def _secret_key() -> str:
    key = envstr("SOPORTE_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("SOPORTE_DEBUG", False)
ALLOWED_HOSTS = envlist("SOPORTE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("SOPORTE_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "soporte.accounts",
    "soporte.tickets",
    "soporte.jobs",
    "soporte.mail",
    "soporte.sla",
    "soporte.search",
    "soporte.kb",
    "soporte.assets",
    "soporte.problems",
    "soporte.playbooks",
    "soporte.flows",
    "soporte.reports",
    "soporte.triage",
    "soporte.training",
    "soporte.evaluations",
    "soporte.ops",
    "soporte.web",
]

MIDDLEWARE = [
    "soporte.ops.requestid.RequestIdMiddleware",
    "soporte.ops.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "soporte.accounts.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "soporte.web.middleware.RequestSizeLimitMiddleware",
    "soporte.web.middleware.ApiJsonErrorsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "soporte.urls"
WSGI_APPLICATION = "soporte.wsgi.application"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": parse_database_url(
        envstr("SOPORTE_DATABASE_URL") or f"sqlite:///{VAR_DIR / 'soporte.sqlite3'}"
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_MAX_FAILURES = envint("SOPORTE_LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_MAX_FAILURES_PER_IP = envint("SOPORTE_LOGIN_MAX_FAILURES_PER_IP", 30, minimum=1)
LOGIN_LOCK_SECONDS = envint("SOPORTE_LOGIN_LOCK_SECONDS", 900, minimum=1)
SIGN_IN_LINK_SECONDS = envint("SOPORTE_SIGN_IN_LINK_SECONDS", 900, minimum=60)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = envstr("SOPORTE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = Path(envstr("SOPORTE_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "media/"  # never served directly: downloads go through permission-checked views
# Stored files (attachments, reports) live in MEDIA_ROOT, or in an S3-compatible bucket
# (AWS, MinIO, Ceph...) when SOPORTE_S3_BUCKET is set: needs `pip install soporte[s3]`.
S3_BUCKET = envstr("SOPORTE_S3_BUCKET", "")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": envstr("SOPORTE_S3_ENDPOINT_URL") or None,
            "region_name": envstr("SOPORTE_S3_REGION") or None,
            "access_key": envstr("SOPORTE_S3_ACCESS_KEY") or None,
            "secret_key": envstr("SOPORTE_S3_SECRET_KEY") or None,
            "location": envstr("SOPORTE_S3_PREFIX", ""),
            # Private objects, never overwritten; downloads go through our views.
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
        },
    }
# Until `collectstatic` has run (production), whitenoise serves from the app folders.
WHITENOISE_USE_FINDERS = True

# Uploads: the limit is enforced by the attachment service; Django's own limits keep a
# request body from being read into memory whole.
MAX_ATTACHMENT_BYTES = envint("SOPORTE_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Security headers and cookies.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
HTTPS = envbool("SOPORTE_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and envbool("SOPORTE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
if envbool("SOPORTE_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Background jobs (soporte/jobs/queue.py): recorded with the change that calls for them.
# With SOPORTE_BROKER_URL Celery workers run them; without one, `soporte worker` (which
# `soporte run` starts) does; "eager" runs them right after the commit, in-process (tests).
CELERY_BROKER_URL = envstr("SOPORTE_BROKER_URL", "")
JOBS_MODE = envstr("SOPORTE_JOBS_MODE", "celery" if CELERY_BROKER_URL else "worker")
if JOBS_MODE not in ("worker", "celery", "eager"):
    raise EnvError("SOPORTE_JOBS_MODE must be worker, celery or eager")
if JOBS_MODE == "celery" and not CELERY_BROKER_URL:
    raise EnvError("SOPORTE_JOBS_MODE=celery needs SOPORTE_BROKER_URL")
JOBS_KEEP_DAYS = envint("SOPORTE_JOBS_KEEP_DAYS", 7, minimum=1)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# Inbound mail: the largest message taken, who may open tickets by mail (accept_all,
# known_domains: senders of an organization's domain, known_users: existing accounts),
# how many messages one sender may send in an hour, and the raw-MIME API's token.
MAIL_MAX_BYTES = envint("SOPORTE_MAIL_MAX_BYTES", 30 * 1024 * 1024, minimum=1024)
MAIL_UNKNOWN_SENDERS = envstr("SOPORTE_MAIL_UNKNOWN_SENDERS", "accept_all")
if MAIL_UNKNOWN_SENDERS not in ("accept_all", "known_domains", "known_users"):
    raise EnvError("SOPORTE_MAIL_UNKNOWN_SENDERS must be accept_all, known_domains or known_users")
MAIL_SENDER_LIMIT_PER_HOUR = envint("SOPORTE_MAIL_SENDER_LIMIT_PER_HOUR", 60, minimum=1)
MAIL_INGEST_TOKEN = envstr("SOPORTE_MAIL_INGEST_TOKEN")
# The authserv-ids of the mail servers whose Authentication-Results headers are believed
# (ours, which remove such headers claiming to be them from what they receive). Empty:
# senders are taken as the From says, as before.
MAIL_TRUSTED_AUTHSERV_IDS = [
    server.lower() for server in envlist("SOPORTE_MAIL_TRUSTED_AUTHSERV_IDS", [])
]
MAIL_DOMAIN = envstr("SOPORTE_MAIL_DOMAIN", "soporte.localhost")
SITE_URL = envstr("SOPORTE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# Assets: a machine the inventory agent has not reported for this many days is stale;
# a cable link's certification is due again after this many days.
ASSETS_STALE_DAYS = envint("SOPORTE_ASSETS_STALE_DAYS", 14, minimum=1)
CABLE_RECERTIFY_DAYS = envint("SOPORTE_CABLE_RECERTIFY_DAYS", 5 * 365, minimum=1)

EMAIL_BACKEND = envstr("SOPORTE_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = envstr("SOPORTE_FROM_EMAIL", "support@localhost")
# The SMTP server mail is sent through (a local relay on port 25 unless told otherwise).
EMAIL_HOST = envstr("SOPORTE_EMAIL_HOST", "localhost")
EMAIL_PORT = envint("SOPORTE_EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("SOPORTE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = envstr("SOPORTE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = envbool("SOPORTE_EMAIL_STARTTLS", False)
EMAIL_USE_SSL = envbool("SOPORTE_EMAIL_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise EnvError("SOPORTE_EMAIL_STARTTLS and SOPORTE_EMAIL_SSL exclude each other")
EMAIL_TIMEOUT = envint("SOPORTE_EMAIL_TIMEOUT", 60, minimum=1)

# Satisfaction surveys: how long the rating link in the resolution mail works (0: no
# surveys), what counts as a low rating, and what one does (alert, reopen or none).
SATISFACTION_LINK_DAYS = envint("SOPORTE_SATISFACTION_LINK_DAYS", 14, minimum=0)
SATISFACTION_LOW_RATING = envint("SOPORTE_SATISFACTION_LOW_RATING", 2, minimum=1)
SATISFACTION_LOW_RATING_ACTION = envstr("SOPORTE_SATISFACTION_LOW_RATING_ACTION", "alert")
if SATISFACTION_LOW_RATING_ACTION not in ("alert", "reopen", "none"):
    raise EnvError("SOPORTE_SATISFACTION_LOW_RATING_ACTION must be alert, reopen or none")

# Sentence vectors (the extra soporte[semantic]) for similar tickets and article
# suggestions. Embedding costs milliseconds of CPU per new ticket: a site that takes more
# mail than its workers can embed turns it off and ranks by words.
SEMANTIC = envbool("SOPORTE_SEMANTIC", True)

# /metrics answers only a scraper sending this token (Bearer); unset, the page is off.
METRICS_TOKEN = envstr("SOPORTE_METRICS_TOKEN", "")

# Logs: plain text, or one JSON object a line (SOPORTE_LOG_FORMAT=json) for a log
# collector; either way each line of a request carries its request ID.
LOG_FORMAT = envstr("SOPORTE_LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise EnvError(f"SOPORTE_LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "soporte.ops.requestid.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "soporte.ops.requestid.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        }
    },
    "root": {"handlers": ["console"], "level": envstr("SOPORTE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
