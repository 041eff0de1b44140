"""gridgov settings. Everything is read from the environment; the defaults serve the demo on one machine.

GRIDGOV_ENV=production switches on the checks that refuse to start on demo defaults.
"""

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("GRIDGOV_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


ENVIRONMENT = os.environ.get("GRIDGOV_ENV", "demo")
PRODUCTION = ENVIRONMENT == "production"
DEMO_SECRET_KEY = "demo-only-not-secret-gridgov-0000000000000000000000000000000000"  # noqa: S105
SECRET_KEY = os.environ.get("GRIDGOV_SECRET_KEY", DEMO_SECRET_KEY)
DEBUG = env_bool("GRIDGOV_DEBUG", False)
ALLOWED_HOSTS = [h for h in os.environ.get("GRIDGOV_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
# The reverse proxies in front (nginx on the same host: 127.0.0.1): the client's address recorded by the audit log
# is then the last one they add to X-Forwarded-For. Empty: the peer's own address (nobody may claim another).
TRUSTED_PROXIES = [h.strip() for h in os.environ.get("GRIDGOV_TRUSTED_PROXIES", "").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("GRIDGOV_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

# Keys for the audit chain (HMAC-SM3), blind indexes and field encryption (SM4-GCM). The demo derives
# them from the demo secret; production must give each one (hex, 32 bytes) or a hardware provider.
AUDIT_KEY = os.environ.get("GRIDGOV_AUDIT_KEY", "")
FIELD_KEY = os.environ.get("GRIDGOV_FIELD_KEY", "")
INDEX_KEY = os.environ.get("GRIDGOV_INDEX_KEY", "")
CRYPTO_PROVIDER = os.environ.get("GRIDGOV_CRYPTO_PROVIDER", "gridgov.core.crypto.SoftwareProvider")

if PRODUCTION:
    if SECRET_KEY == DEMO_SECRET_KEY or len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("GRIDGOV_SECRET_KEY must be set to a random value of 50+ characters.")
    if DEBUG:
        raise ImproperlyConfigured("GRIDGOV_DEBUG must be off in production.")
    for _name in ("GRIDGOV_AUDIT_KEY", "GRIDGOV_FIELD_KEY", "GRIDGOV_INDEX_KEY"):
        _value = os.environ.get(_name, "")
        if len(_value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in _value):
            raise ImproperlyConfigured(f"{_name} must be set to 64 hex digits (32 bytes) in production.")
    if "GRIDGOV_ALLOWED_HOSTS" not in os.environ:
        raise ImproperlyConfigured("GRIDGOV_ALLOWED_HOSTS must name the site's host names in production.")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_CONTENT_TYPE_NOSNIFF = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",  # serves the API docs' scripts locally instead of from a CDN
    "gridgov",  # project-wide commands: demo, serve, seed-demo, stats
    "gridgov.core",
    "gridgov.accounts",
    "gridgov.grids",
    "gridgov.catalog",
    "gridgov.registry",
    "gridgov.cases",
    "gridgov.fieldwork",
    "gridgov.community",
    "gridgov.mediation",
    "gridgov.command",
    "gridgov.assessment",
    "gridgov.open311",
    "gridgov.mobile",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gridgov.accounts.middleware.IdleSessionMiddleware",
    "gridgov.accounts.middleware.UserLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "gridgov.core.middleware.NulRefusalMiddleware",
    "gridgov.core.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gridgov.urls"
WSGI_APPLICATION = "gridgov.wsgi.application"
ASGI_APPLICATION = "gridgov.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gridgov.core.context_processors.site",
                "gridgov.cases.context_processors.workbench",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'gridgov.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers go on while one writer commits; IMMEDIATE takes the write lock up front, so two
    # writers queue on the busy timeout instead of failing half-way through a transaction.
    # Connections are kept: opening one per request (and checkpointing the WAL when the last one closes)
    # costs more than many a request itself.
    DATABASES["default"]["CONN_MAX_AGE"] = 600
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests get a database file, not SQLite's shared in-memory one: the browser tests' live server answers
    # requests on several threads, and a shared-cache memory database fails them with "table is locked"
    # where a file in WAL mode makes them wait their turn, as in production.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"gridgov-test-{os.getpid()}.sqlite3")
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["gridgov.accounts.backends.LockoutBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
# 等保 2.0 level 3: lock after 5 failures for 30 minutes; end a session after 30 idle minutes.
LOGIN_FAILURE_LIMIT = 5
LOGIN_LOCK_MINUTES = 30
SESSION_ENGINE = "gridgov.accounts.sessions"
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = False  # IdleSessionMiddleware renews it, at most once a minute
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

# The default language of pages and of the `gridgov` command (GRIDGOV_LANGUAGE=en for English output).
LANGUAGE_CODE = os.environ.get("GRIDGOV_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("GRIDGOV_MEDIA_ROOT", VAR_DIR / "media"))
# Without collectstatic (the demo, the tests) whitenoise serves straight from the finders.
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Evidence files: the filesystem by default; S3-compatible object storage with GRIDGOV_S3_BUCKET (django-storages
# must then be installed: `pip install django-storages[s3]`; endpoint, keys and region come from AWS_* variables).
_DEFAULT_STORAGE: dict = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if os.environ.get("GRIDGOV_S3_BUCKET"):
    _DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["GRIDGOV_S3_BUCKET"],
            "endpoint_url": os.environ.get("GRIDGOV_S3_ENDPOINT") or None,
            "default_acl": "private",
            "querystring_auth": True,
        },
    }
STORAGES = {
    "default": _DEFAULT_STORAGE,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# A tile URL template (intranet 天地图 or a local tile server); empty means plain polygons on a plain background.
TILE_URL = os.environ.get("GRIDGOV_TILE_URL", "")
TILE_ATTRIBUTION = os.environ.get("GRIDGOV_TILE_ATTRIBUTION", "")

# The county this deployment serves (GB/T 2260 code); the demo is Dalad Banner.
COUNTY_CODE = os.environ.get("GRIDGOV_COUNTY_CODE", "150621")
COUNTY_NAME = os.environ.get("GRIDGOV_COUNTY_NAME", "达拉特旗")
# Edges shared by neighbouring grids may disagree by this much (square degrees are meaningless, so metres).
GRID_TOLERANCE_M2 = float(os.environ.get("GRIDGOV_GRID_TOLERANCE_M2", "1.0"))

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"personal_data": {"()": "gridgov.core.masking.PersonalDataLogFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["personal_data"]}},
    "root": {"handlers": ["console"], "level": "INFO" if not DEBUG else "DEBUG"},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

SITE_TITLE = _("gridgov grid governance")

# POSTs whose answer must be computed (and audited) every time: an Idempotency-Key never replays them.
# Answers that show personal data in full are never kept for a replay: each reading is asked for (and audited)
# again.
IDEMPOTENCY_NEVER_KEPT = [r"^/api/cases/[^/]+/reporter/unmask$", r"^/api/registry/persons/[^/]+/unmask$"]
# POSTs that keep the Idempotency-Key themselves, with the change they make: intake stores it as the case's own
# key (a repeated report answers 200 with the first case), so the middleware does not claim it a second time.
IDEMPOTENCY_OWN_KEY = [r"^/api/cases/$"]

# Phone sign-in codes (gridgov.mobile.phone): validity, wrong tries, throttles against SMS flooding.
MOBILE_CODE_MINUTES = 10
MOBILE_CODE_ATTEMPTS = 5
MOBILE_CODE_RESEND_SECONDS = 60
MOBILE_CODES_PER_HOUR = 5
MOBILE_CODES_PER_HOUR_PER_ADDRESS = int(os.environ.get("GRIDGOV_CODES_PER_HOUR_PER_ADDRESS", "30"))

# The case engine (issue 3): duplicates, deadlines, evidence, notifications.
CASE_DUPLICATE_RADIUS_M = float(os.environ.get("GRIDGOV_DUPLICATE_RADIUS_M", "50"))
CASE_DUPLICATE_WINDOW_HOURS = float(os.environ.get("GRIDGOV_DUPLICATE_WINDOW_HOURS", "72"))
# A stage turns yellow at this share of its limit, red past the limit; past this second share the sweep
# escalates the case one level.
CASE_WARN_SHARE = float(os.environ.get("GRIDGOV_WARN_SHARE", "0.8"))
CASE_ESCALATE_SHARE = float(os.environ.get("GRIDGOV_ESCALATE_SHARE", "1.5"))
SWEEP_INTERVAL_SECONDS = float(os.environ.get("GRIDGOV_SWEEP_INTERVAL", "60"))
EVIDENCE_MAX_PHOTO_BYTES = int(os.environ.get("GRIDGOV_EVIDENCE_MAX_PHOTO_BYTES", str(15 * 1024 * 1024)))
EVIDENCE_MAX_VIDEO_BYTES = int(os.environ.get("GRIDGOV_EVIDENCE_MAX_VIDEO_BYTES", str(50 * 1024 * 1024)))
EVIDENCE_MAX_FILES = int(os.environ.get("GRIDGOV_EVIDENCE_MAX_FILES", "9"))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Who sends text messages to residents without the app: a dotted path to a class with `send(phone, text)`.
SMS_SENDER = os.environ.get("GRIDGOV_SMS_SENDER", "gridgov.cases.notify.LogSmsSender")
TRIAGE_MODEL_PATH = Path(os.environ.get("GRIDGOV_TRIAGE_MODEL", VAR_DIR / "triage.model"))
