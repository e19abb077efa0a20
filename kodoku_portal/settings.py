"""kodoku-portal settings: one module, every value read from the environment.

Two ways to run (see README.md):
- embedded (``make run``): no variables needed; SQLite, Celery tasks run in-process,
  e-mail printed to the console;
- production (docker-compose.yml): DATABASE_URL, REDIS_URL, DJANGO_SECRET_KEY,
  DJANGO_ALLOWED_HOSTS and DJANGO_HTTPS=1.
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DJANGO_DEBUG", False)
_INSECURE_DEV_KEY = "django-insecure-dev-key-only-for-make-run-and-tests-never-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", _INSECURE_DEV_KEY)
if not DEBUG and env_bool("DJANGO_HTTPS", False) and SECRET_KEY in ("", _INSECURE_DEV_KEY):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production (DJANGO_HTTPS=1).")

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
# The portal's own page when a form's CSRF check fails (templates/403_csrf.html).
CSRF_FAILURE_VIEW = "kodoku_portal.views.csrf_failure"

INSTALLED_APPS = [
    "kodoku_portal.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_celery_beat",
    "rules",
    "csp",
    "kodoku_portal.apps.PortalConfig",
    # The house, bottom to top: imports run downwards only (tests/kodoku_portal/test_architecture.py).
    "accounts",
    "calls",
    "applications",
    "reviews",
    "grants",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A POST body larger than its page takes is a 413 before anything reads it.
    "kodoku_portal.middleware.RequestBodyLimitMiddleware",
    # A NUL character in a parameter is a 400 before any view or the admin sees it.
    "kodoku_portal.middleware.RefuseNulCharactersMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The request's IP address for the audit trail (kodoku_portal/middleware.py).
    "kodoku_portal.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Content-Security-Policy on every response but a PDF (kodoku_portal/csp.py).
    "kodoku_portal.csp.PortalCSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # A lost database connection (PostgreSQL restarted) is a 503 page "try again", not a 500
    # (kodoku_portal/middleware.py); innermost, so it sees the view's exception first.
    "kodoku_portal.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "kodoku_portal.urls"
# Retry-After of the 503 page shown when the database cannot be reached.
DATABASE_UNAVAILABLE_RETRY_AFTER = env_int("DATABASE_UNAVAILABLE_RETRY_AFTER", 30)
WSGI_APPLICATION = "kodoku_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "kodoku_portal.context_processors.portal",
            ],
        },
    },
]

# --- Database: DATABASE_URL, or SQLite for the embedded run -------------------------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
        # A kept connection is checked before each request reuses it: after PostgreSQL restarted,
        # the first request reconnects instead of failing on a dead connection.
        conn_health_checks=env_bool("DATABASE_CONN_HEALTH_CHECKS", True),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker, cache (rate limits) -----------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "kodoku"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: with no broker the tasks run in-process (the embedded run); see kodoku_portal/celery.py
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL) or "memory://"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL) or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", CELERY_BROKER_URL == "memory://")
CELERY_TASK_EAGER_PROPAGATES = True
# Nothing reads task results: do not store them (nor subscribe to result channels).
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "Asia/Tokyo"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery beat: find due reminders every REMINDER_INTERVAL_SECONDS (10 minutes by default) and
# sweep the outbox every OUTBOX_SWEEP_SECONDS (1 minute).
CELERY_BEAT_SCHEDULE = {
    "enqueue-reminders": {
        "task": "grants.tasks.enqueue_reminders",
        "schedule": env_int("REMINDER_INTERVAL_SECONDS", 600),
    },
    "sweep-outbox": {
        "task": "kodoku_portal.tasks.sweep_outbox",
        "schedule": env_int("OUTBOX_SWEEP_SECONDS", 60),
    },
    "sweep-jobs": {
        "task": "kodoku_portal.tasks.sweep_jobs",
        "schedule": env_int("JOB_SWEEP_SECONDS", 60),
    },
    # A notice mail sent but not recorded (its worker stopped in between) discloses its decision.
    "record-sent-notices": {
        "task": "grants.tasks.record_sent_notices",
        "schedule": env_int("OUTBOX_SWEEP_SECONDS", 60),
    },
}

# --- Outbox (kodoku_portal/outbox.py) ---------------------------------------------------------
# A claimed message belongs to its worker this long; keep it well above the slowest build + send.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 300)
# Automatic attempts (30 s, 1 min, 2 min … apart, at most 1 h) before a message waits for staff.
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 8)
# A queued message not claimed this long after its dispatch is dispatched again by the sweeper.
OUTBOX_DISPATCH_GRACE_SECONDS = env_int("OUTBOX_DISPATCH_GRACE_SECONDS", 120)
OUTBOX_SWEEP_SECONDS = env_int("OUTBOX_SWEEP_SECONDS", 60)

# --- Background jobs that are not mails (kodoku_portal/jobs.py: virus scans) ---------------------
# A running job belongs to its worker this long; keep it above the slowest job (the scan timeout).
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 600)
# Automatic attempts (30 s, 1 min, 2 min … apart) before a job waits for staff.
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 5)
JOB_DISPATCH_GRACE_SECONDS = env_int("JOB_DISPATCH_GRACE_SECONDS", 120)
JOB_SWEEP_SECONDS = env_int("JOB_SWEEP_SECONDS", 60)

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
# allauth's mails go through the outbox like every other mail (accounts/adapter.py).
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[孤独・孤立対策 助成ポータル] "
ACCOUNT_RATE_LIMITS_ENABLED = env_bool("ACCOUNT_RATE_LIMITS_ENABLED", True)
if not ACCOUNT_RATE_LIMITS_ENABLED:
    ACCOUNT_RATE_LIMITS = False
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "kodoku-portal"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Static and private files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
_MANIFEST_STATIC = env_bool("DJANGO_MANIFEST_STATIC", not DEBUG and env_bool("DJANGO_HTTPS", False))
# Without collectstatic (make run, tests) whitenoise serves straight from static/.
WHITENOISE_USE_FINDERS = not _MANIFEST_STATIC
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if _MANIFEST_STATIC
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Uploaded attachments and generated PDFs live outside the web root and are served only by
# views that check permission; there is deliberately no MEDIA_URL.
PRIVATE_ROOT = Path(env_str("DJANGO_PRIVATE_ROOT", str(BASE_DIR / "var" / "private")))
MEDIA_ROOT = PRIVATE_ROOT

# --- E-mail ---------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)
EMAIL_FILE_PATH = env_str("DJANGO_EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "kodoku-portal <noreply@kodoku-portal.example.jp>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Forms ----------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security: production behind HTTPS (DJANGO_HTTPS=1) -------------------------------------
HTTPS = env_bool("DJANGO_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("DJANGO_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

# bench/http_rush.py's bare view (/bench/bare/), the yardstick of its measurements: never on in a
# deployment.
BENCH_VIEWS = env_bool("DJANGO_BENCH_VIEWS", False)
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp 4.0): no inline script or style anywhere — page templates
# load static/js/*.js and static/css/*.css only (tests/kodoku_portal/test_csp.py and
# tests/e2e/test_csp.py). Violations are reported to kodoku_portal.views.csp_report, which logs them.
CSP_REPORT_PATH = "/csp-report/"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "report-uri": [CSP_REPORT_PATH],
    },
}
# A violation report is at most this many bytes; each address may send CSP_REPORT_RATE a minute.
CSP_REPORT_MAX_BYTES = env_int("CSP_REPORT_MAX_BYTES", 8 * 1024)
CSP_REPORT_RATE = env_int("CSP_REPORT_RATE", 30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # WeasyPrint logs seven progress lines per PDF at INFO.
        "weasyprint.progress": {"level": "WARNING"},
        # fontTools (pyHanko's signature appearance) logs each subsetting step at INFO.
        "fontTools": {"level": "WARNING"},
    },
}

# The one base URL of every absolute link in e-mails and documents (receipts, invitations,
# notices, letters, reminders, allauth's mails, the demo's printout): PORTAL_BASE_URL, or what
# `make run` serves (it exports PORT, default 8000).
PORTAL_BASE_URL = env_str("PORTAL_BASE_URL", f"http://127.0.0.1:{env_int('PORT', 8000)}").rstrip("/")
# Attachments: at most this many bytes each (10 MB by default).
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
# Virus scan of every uploaded file (kodoku_portal/scanning.py): a command line run by a Celery
# job, "{path}" replaced by the file's path; exit 0 clean, 1 infected, anything else an error
# (clamdscan's codes), e.g. "clamdscan --no-summary --fdpass {path}". Empty: no scanning; files
# are then marked 未検査 (not scanned) and served as before.
ATTACHMENT_SCAN_COMMAND = env_str("ATTACHMENT_SCAN_COMMAND", "")
# A scan taking longer than this is an error (retried).
ATTACHMENT_SCAN_TIMEOUT_SECONDS = env_int("ATTACHMENT_SCAN_TIMEOUT_SECONDS", 120)

PORTAL_NAME = _("Loneliness and Isolation Countermeasures Grant Portal")

# --- Signed letters (kodoku_portal/signing.py) ----------------------------------------------
# The portal's signing certificate (PKCS#12) and its passphrase; optional RFC 3161 timestamps.
# Without SIGNING_PKCS12_PATH a local TEST certificate is generated under SIGNING_DIR on first use.
SIGNING_PKCS12_PATH = env_str("SIGNING_PKCS12_PATH", "")
SIGNING_PKCS12_PASSPHRASE = env_str("SIGNING_PKCS12_PASSPHRASE", "")
SIGNING_TSA_URL = env_str("SIGNING_TSA_URL", "")
SIGNING_TSA_TIMEOUT = env_int("SIGNING_TSA_TIMEOUT", 10)
SIGNING_DIR = Path(env_str("SIGNING_DIR", str(BASE_DIR / "var" / "signing")))
# The public verification page (/verify/): uploads up to this size; lookups per IP per window.
VERIFY_UPLOAD_MAX_BYTES = env_int("VERIFY_UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
VERIFY_RATE_LIMIT = env_int("VERIFY_RATE_LIMIT", 20)
VERIFY_RATE_WINDOW_SECONDS = env_int("VERIFY_RATE_WINDOW_SECONDS", 600)
# Bodies refused unread above these sizes (kodoku_portal.middleware.RequestBodyLimitMiddleware):
# the public verification page's upload, plus room for the form around the file.
REQUEST_BODY_LIMITS = [("/verify/", VERIFY_UPLOAD_MAX_BYTES + 64 * 1024)]
