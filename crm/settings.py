"""Settings, all read from the environment.

The embedded default needs nothing installed: SQLite (WAL), django-q2's ORM broker and the
in-memory channel layer. `DATABASE_URL` and `REDIS_URL` switch to PostgreSQL and Redis.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The public development key is for DEBUG only: with DEBUG off, crm.checks refuses to start on
# it (`manage.py check` fails, and crm.asgi raises), so nobody can forge signed values. `make`
# generates a key of this checkout's own (data/secret_key) when SECRET_KEY is unset.
INSECURE_DEVELOPMENT_KEY = "django-insecure-development-only-set-SECRET_KEY-0123456789abcdef"
SECRET_KEY = os.environ.get("SECRET_KEY") or INSECURE_DEVELOPMENT_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "channels",
    "django_htmx",
    "axes",
    "crm",
    "workflows",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files before anything else touches the request (sessions, workspace lookup).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.workspaces.CurrentWorkspaceMiddleware",
    "crm.timezones.BrowserTimeZoneMiddleware",
    "workflows.runtime.WorkflowDepthMiddleware",
    # Last, as django-axes asks: it turns a lockout raised during login into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
ASGI_APPLICATION = "crm.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.workspaces.workspace_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            # Persistent connections leak under ASGI (one per thread); opt in for workers only.
            conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
        )
    }
else:
    SQLITE_PATH = os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            "OPTIONS": {
                # WAL lets readers run beside the one writer; NORMAL is durable in WAL mode
                # except for the last transactions on power loss, and is 4x faster than FULL.
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
                ),
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy
                # timeout instead of failing with "database is locked" mid-transaction.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # A file, not memory: worker tests start real worker processes on the test database.
            "TEST": {
                "NAME": os.environ.get("SQLITE_TEST_PATH")
                or os.path.join(tempfile.gettempdir(), f"crm-test-db-{os.getpid()}.sqlite3")
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- Redis: django-q2 broker and channel layer ----------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")


def redis_channel_layer(url: str) -> dict:
    # Pub/sub: one subscription per group and web process, which fans a batch out to its own
    # sockets (docs/live.md). Pub/sub channels ignore the database number, so the prefix
    # carries it: two deployments on one Redis stay apart as their keys do.
    # redis-py 8 reads with a 5 s socket timeout by default; reads must outlast any wait of
    # the layer (it killed the consumer of every idle socket with the list-based layer).
    return {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {
            "hosts": [{"address": url, "socket_timeout": 30}],
            "prefix": redis_prefix(url),
        },
    }


def redis_prefix(url: str) -> str:
    """`asgi.db<n>` for `redis://host:port/<n>` (database 0 when the URL names none)."""
    database = urlparse(url).path.strip("/") or "0"
    return f"asgi.db{database}"


Q_CLUSTER = {
    # The queue's name: separate clusters (tests, benchmarks) can share one Redis.
    "name": os.environ.get("Q_CLUSTER_NAME", "crm"),
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "recycle": 5000,
    "timeout": int(os.environ.get("Q_TIMEOUT", "600")),
    # retry must exceed timeout, or django-q2 redelivers tasks that are still running.
    "retry": int(os.environ.get("Q_TIMEOUT", "600")) + 60,
    "max_attempts": 1,
    "queue_limit": 50,
    "bulk": 10,
    "catch_up": False,
    "save_limit": 250,
    "ack_failures": True,
    "poll": 0.05,
    "label": "Tasks",
}


if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
else:
    Q_CLUSTER["orm"] = "default"
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Auth -----------------------------------------------------------------------------------
# The throttle first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = ["crm.auth.LoginThrottleBackend", "crm.auth.EmailBackend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTH_PASSWORD_VALIDATORS = (
    []
    if DEBUG
    else [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    ]
)

# Login throttling (django-axes, attempts stored in the database so every web process shares
# them): 5 failures for one email from one address lock that pair out for 15 minutes; a
# successful login resets the count. Admin and page logins alike.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "crm.auth.login_name"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures only: no row per successful login
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# --- Security -------------------------------------------------------------------------------
# With DEBUG off the defaults are those of an HTTPS deployment, so `check --deploy` is clean.
# Plain-HTTP use (`make run` on 127.0.0.1, the tests) sets HTTPS=0; see README "Deploy".
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY") else None
# A plain-HTTP run has no HTTPS to insist on: these checks are about HTTPS deployments.
SILENCED_SYSTEM_CHECKS = (
    [] if HTTPS else ["security.W004", "security.W008", "security.W012", "security.W016"]
)

# --- I18N / static --------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Dates read one way everywhere (crm/formats/en/formats.py); each person sees them in their
# browser's time zone (crm/timezones.py).
FORMAT_MODULE_PATH = ["crm.formats"]
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `collectstatic` (run by `make run` and `make web`) writes here, and WhiteNoise serves it.
STATIC_ROOT = BASE_DIR / "build" / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # DEBUG off: compressed copies with hashed names, served with a far-future cache header.
    # DEBUG on: the source files, found on each request (WhiteNoise's DEBUG defaults), so an
    # edit shows without collectstatic.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Email ----------------------------------------------------------------------------------
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "crm@localhost")
# The app's address as people reach it, for links in emails (a form to fill).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Amounts are numbers in the API as in trigger payloads and step outputs (SPEC section 2).
    "COERCE_DECIMAL_TO_STRING": False,
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["crm.permissions.IsWorkspaceMember"],
    # JSON bodies only; the CSV import adds its own parsers (multipart and text/csv).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "DEFAULT_PAGINATION_CLASS": "crm.api_common.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "crm.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "crm.api_common.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CRM Workflows API",
    "VERSION": "1.0.0",
    "DESCRIPTION": "The CRM's records, workflows, runs, forms and secrets. Authenticate with "
    "`Authorization: Bearer <api key>` (or a logged-in session). Every error answers the "
    "`Error` shape: `detail` says what went wrong, `errors` lists each problem with its field.",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request and response shapes apart: read-only fields stay out of request bodies, and every
    # field a response always carries is marked required (crm.openapi.finish_document).
    "COMPONENT_SPLIT_REQUEST": True,
    # Serialiser and view docstrings are written for developers; operations and components are
    # described with extend_schema and crm.openapi instead.
    "DISABLE_DOCSTRING_DESCRIPTIONS": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "workflows.openapi.add_type_enums",
        "crm.openapi.finish_document",
    ],
    "TAGS": [
        {"name": "companies", "description": "Companies (record object `company`)."},
        {"name": "people", "description": "People (record object `person`)."},
        {"name": "opportunities", "description": "Opportunities (record object `opportunity`)."},
        {"name": "tasks", "description": "Tasks (record object `task`)."},
        {"name": "notes", "description": "Notes (record object `note`)."},
        {"name": "workflows", "description": "Workflows, their draft and versions."},
        {"name": "templates", "description": "The workflow template gallery."},
        {"name": "runs", "description": "Workflow runs and their steps."},
        {"name": "forms", "description": "Forms waiting for a person, and their submission."},
        {"name": "notifications", "description": "Messages of `notify` steps to the caller."},
        {"name": "secrets", "description": "Named workspace values, write-only after saving."},
    ],
    # Swagger UI from the installed drf-spectacular-sidecar package, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status`: name each choice set after what it is.
    "ENUM_NAME_OVERRIDES": {
        "TaskStatusEnum": "crm.models.TaskStatus",
        "StageEnum": "crm.models.Stage",
        "RunStatusEnum": "workflows.models.RunStatus",
        "RunSourceEnum": "workflows.models.WorkflowRun.Source",
        "FormStatusEnum": "workflows.models.FormRequest.Status",
    },
}

# --- Workflows ------------------------------------------------------------------------------
WORKFLOW_MAX_CONCURRENT_RUNS = int(os.environ.get("WORKFLOW_MAX_CONCURRENT_RUNS", "100"))
WORKFLOW_HTTP_ALLOWED_HOSTS = env_list("WORKFLOW_HTTP_ALLOWED_HOSTS")
# Defaults of the AI agent step (SPEC section 1): any OpenAI-compatible endpoint, e.g. a local
# Ollama at http://127.0.0.1:11434/v1 (then also in WORKFLOW_HTTP_ALLOWED_HOSTS).
WORKFLOW_AI_BASE_URL = os.environ.get("WORKFLOW_AI_BASE_URL", "")
WORKFLOW_AI_MODEL = os.environ.get("WORKFLOW_AI_MODEL", "")
WORKFLOW_AI_API_KEY = os.environ.get("WORKFLOW_AI_API_KEY", "")
WORKFLOW_RUN_LEASE_SECONDS = int(os.environ.get("WORKFLOW_RUN_LEASE_SECONDS", "60"))
WORKFLOW_WEBHOOK_RATE_LIMIT = int(os.environ.get("WORKFLOW_WEBHOOK_RATE_LIMIT", "6000"))
# Tests set this to run the engine in-process instead of through the worker queue.
WORKFLOW_RUN_INLINE = env_bool("WORKFLOW_RUN_INLINE", False)

# --- CSV imports from the pages (crm/imports.py) ---------------------------------------------
# Tests set this to run an import in-process, after the commit, instead of as a django-q2 task.
CRM_IMPORT_INLINE = env_bool("CRM_IMPORT_INLINE", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "django_q": {"level": os.environ.get("Q_LOG_LEVEL", "WARNING")},
        "daphne": {"level": "WARNING"},
    },
}
