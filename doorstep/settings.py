"""Doorstep settings. Everything configurable comes from the environment (see .env.example).

The embedded defaults — SQLite under var/, the in-memory channel layer, a local-memory cache — need no
configuration at all; production (DOORSTEP_ENV=production) refuses to start without the settings it needs.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from doorstep.core.env import ConfigError, env_bool, env_int, env_list, env_str, parse_data_keys

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("DOORSTEP_VAR_DIR", str(BASE_DIR / "var")))

DOORSTEP_ENV = env_str("DOORSTEP_ENV", "development")
if DOORSTEP_ENV not in {"development", "production", "test"}:
    raise ConfigError(f"DOORSTEP_ENV must be development, production or test, got {DOORSTEP_ENV!r}")
PRODUCTION = DOORSTEP_ENV == "production"

DEBUG = env_bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ConfigError("DEBUG must be off in production")

SECRET_KEY = env_str("SECRET_KEY", required=PRODUCTION) or "django-insecure-doorstep-development-only-key"
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ConfigError("ALLOWED_HOSTS is required in production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "doorstep.core",
    "doorstep.accounts",
    "doorstep.audit",
    "doorstep.org",
    "doorstep.maps",
    "doorstep.alarms",
    "doorstep.video",
    "doorstep.duty",
    "doorstep.desk",
    "doorstep.mediation",
    "doorstep.patrol",
    "doorstep.evaluation",
    "doorstep.registry",
    "doorstep.portal",
    "doorstep.mobile",
]

MIDDLEWARE = [
    "doorstep.core.health.HealthzMiddleware",  # /healthz answers before sessions, auth and the host check
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "doorstep.core.metrics.RequestMetricsMiddleware",
    "doorstep.portal.middleware.PortalMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "doorstep.core.middleware.ChosenLanguageMiddleware",
    "doorstep.core.middleware.RejectNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): the session passed two-factor
    "doorstep.accounts.middleware.SessionLimitsMiddleware",
    "doorstep.accounts.middleware.TwoFactorMiddleware",  # unverified sessions reach only verify/enrol/logout
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "doorstep.audit.middleware.RequestContextMiddleware",
    "doorstep.audit.middleware.DeniedAccessMiddleware",  # 403s into the audit log for the weekly review
]

ROOT_URLCONF = "doorstep.urls"
ASGI_APPLICATION = "doorstep.asgi.application"
WSGI_APPLICATION = "doorstep.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "doorstep.core.context_processors.navigation",
            ],
        },
    }
]

# --- database -----------------------------------------------------------------------------------------
_default_sqlite = f"sqlite:///{VAR_DIR / 'doorstep.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL", required=PRODUCTION) or _default_sqlite
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; FULL sync means a commit is on disk before we acknowledge
    # anything (alarms are acknowledged only after commit). IMMEDIATE avoids SQLITE_BUSY upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"].setdefault("TEST", {})["NAME"] = ""  # in-memory test database
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif env_bool("DB_POOL", DOORSTEP_ENV != "test"):
    # PostgreSQL: a pool of connections per process (psycopg_pool, Django's "pool" option) instead of a new
    # connection per request — under ASGI Django cannot keep one per thread, and opening one (a PostgreSQL
    # backend process) per alarm press cost ~10 ms and collapsed HTTP presses at 100/s (bench/RESULTS.md).
    # Checked on checkout, so a database restart costs no request a dead connection. Off in the test suite,
    # whose test databases are created and dropped under it.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DB_POOL_MIN", 2),
        "max_size": env_int("DB_POOL_MAX", 20),
        "timeout": 10,
    }
if "sqlite" not in DATABASES["default"]["ENGINE"] and env_str("TEST_DATABASE_NAME"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str("TEST_DATABASE_NAME")
if PRODUCTION and "sqlite" in DATABASES["default"]["ENGINE"]:
    raise ConfigError("production needs PostgreSQL in DATABASE_URL")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- cache, channel layer -------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", required=False)
if PRODUCTION and not REDIS_URL:
    raise ConfigError("production needs REDIS_URL (channel layer and cache shared by all processes)")
# channels_redis waits for messages in a blocking BZPOPMIN of up to 5 s; redis-py 8 reads with a 5 s socket
# timeout by default, which tore every idle console down every few seconds (channels_redis issue #422).
REDIS_CHANNEL_SOCKET_TIMEOUT = 15


def redis_channel_layer(url: str, **config: object) -> dict:
    host = {"address": url, "socket_timeout": REDIS_CHANNEL_SOCKET_TIMEOUT}
    return {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [host], **config}}


if REDIS_URL:
    # Redis away: reads miss and writes are dropped instead of failing pages (core.cache; /readyz still says so)
    CACHES = {"default": {"BACKEND": "doorstep.core.cache.ResilientRedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
# Map tiles (core.tilecache): shared through Redis when there is one, so every process sees an invalidation;
# in-process otherwise, and always in tests (parallel test databases reuse ids: a shared cache would mix them).
if REDIS_URL and DOORSTEP_ENV != "test":
    CACHES["tiles"] = {**CACHES["default"], "KEY_PREFIX": "doorstep"}
else:
    CACHES["tiles"] = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "tiles",
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }

# --- personal data encrypted at rest (core.crypto, ADR 0021) ------------------------------------------------
# ID numbers and phone numbers of persons are stored AES-256-GCM encrypted; exact and last-digits search go
# through keyed HMACs of them. DOORSTEP_DATA_KEYS is "kid:base64,..." (the first key encrypts, the others
# still decrypt — rotation: put a new key first, run `doorstep rotate-data-keys`, then drop the old one);
# or DOORSTEP_DATA_KEY_FILE names a file with one "kid:base64" per line. The HMAC key is DOORSTEP_SEARCH_KEY
# (base64) or a "search:base64" line of the key file. `doorstep data-keys generate` prints new keys.
# Development and tests use fixed keys derived from a public constant; production must bring its own.
_data_key_file = env_str("DOORSTEP_DATA_KEY_FILE", "")
if _data_key_file:
    try:
        _data_key_text = Path(_data_key_file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"DOORSTEP_DATA_KEY_FILE cannot be read: {exc}") from exc
    DATA_KEYS, _file_search_key = parse_data_keys(_data_key_text, source="DOORSTEP_DATA_KEY_FILE")
else:
    DATA_KEYS, _file_search_key = parse_data_keys(
        env_str("DOORSTEP_DATA_KEYS", ""), source="DOORSTEP_DATA_KEYS"
    )
_env_search_key = env_str("DOORSTEP_SEARCH_KEY", "")
DATA_SEARCH_KEY = (
    parse_data_keys("search:" + _env_search_key, source="DOORSTEP_SEARCH_KEY")[1]
    if _env_search_key
    else _file_search_key
)
DATA_KEYS_ARE_DEVELOPMENT_KEYS = not DATA_KEYS or not DATA_SEARCH_KEY
if PRODUCTION and (not DATA_KEYS or not DATA_SEARCH_KEY):
    raise ConfigError(
        "production needs its own data keys: DOORSTEP_DATA_KEYS (or DOORSTEP_DATA_KEY_FILE) and "
        "DOORSTEP_SEARCH_KEY — `doorstep data-keys generate` prints new ones"
    )
if not DATA_KEYS:
    DATA_KEYS = [("dev1", hashlib.sha256(b"doorstep development data key - not secret").digest())]
if not DATA_SEARCH_KEY:
    DATA_SEARCH_KEY = hashlib.sha256(b"doorstep development search key - not secret").digest()

# --- accounts and sessions ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["doorstep.accounts.backends.LockoutModelBackend"]
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
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
LOCKOUT_THRESHOLD = env_int("LOCKOUT_THRESHOLD", 5)  # consecutive failures
LOCKOUT_MINUTES = env_int("LOCKOUT_MINUTES", 10)
# Two-factor login (TOTP) for the roles in accounts.choices.TWO_FACTOR_ROLES (issue #12 item 3). On in
# production and not to be turned off there; off by default in development and tests (`make demo`,
# `force_login`), where the tests of accounts/tests/test_two_factor.py turn it on.
TWO_FACTOR_REQUIRED = env_bool("DOORSTEP_TWO_FACTOR", default=PRODUCTION)
if PRODUCTION and not TWO_FACTOR_REQUIRED:
    raise ConfigError("DOORSTEP_TWO_FACTOR cannot be turned off in production")
OTP_TOTP_ISSUER = env_str("DOORSTEP_TWO_FACTOR_ISSUER", "家门口派出所")
OTP_TOTP_THROTTLE_FACTOR = 1  # waits of 1, 2, 4, 8… s after failed codes, besides the account lockout
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
SESSION_SAVE_EVERY_REQUEST = (
    False  # SessionLimitsMiddleware slides the idle window (a write a minute at most)
)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- i18n -----------------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
# dates in form fields as <input type=date> reads them (doorstep/formats/zh_Hans/formats.py)
FORMAT_MODULE_PATH = ["doorstep.formats"]
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- static and media -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
WHITENOISE_USE_FINDERS = not PRODUCTION  # serve straight from the source tree without collectstatic
# Outside production, look files up per request instead of indexing ~12k static files at every start
# (each test client builds a new middleware stack).
WHITENOISE_AUTOREFRESH = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns when STATIC_ROOT is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- API ------------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "doorstep.accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "doorstep.accounts.permissions.TokenScopePermission",  # a token reaches only its scopes
    ],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "doorstep.core.api.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "doorstep.core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# A filter's "no choice" reads 全部 (all), not Django's "---------"
FILTERS_EMPTY_CHOICE_LABEL = _("全部")
SPECTACULAR_SETTINGS = {
    "TITLE": "Doorstep 家门口派出所 API",
    "DESCRIPTION": "社区警务平台接口。认证：会话或 `Authorization: Token <key>`。",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and docs: signed-in users, and tokens with any valid scope (accounts.permissions: a token without
    # one reaches nothing under /api/; ADR 0023).
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.IsAuthenticated",
        "doorstep.accounts.permissions.TokenScopePermission",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Name shared code lists once, so every field using them points at one schema component.
    "ENUM_NAME_OVERRIDES": {
        "ColourEnum": "doorstep.registry.choices.Colour",
        "RequestStatusEnum": "doorstep.org.choices.RequestStatus",
        "ConcernStatusEnum": "doorstep.registry.choices.ConcernStatus",
        "ReviewStatusEnum": "doorstep.registry.choices.ReviewStatus",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- maps -----------------------------------------------------------------------------------------------
# An internal raster/vector tile server, if the site has one; without it the map draws on a plain background.
# DOORSTEP_MAP_* are the documented names; MAP_* (the first releases' names) are still read.
MAP_TILE_URL = env_str("DOORSTEP_MAP_TILE_URL") or env_str("MAP_TILE_URL", "")
MAP_STYLE_URL = env_str("DOORSTEP_MAP_STYLE_URL") or env_str("MAP_STYLE_URL", "")
MAP_CENTER = (118.60, 24.90)

# --- alarms: escalation ---------------------------------------------------------------------------------
# An alarm nobody acknowledged this many seconds after it came in rings the station director's and the
# sub-bureau leaders' consoles (alarms.supervision.tick, every second in alarmd).
ALARM_ESCALATE_SECONDS = env_int("ALARM_ESCALATE_SECONDS", 30)
if not 5 <= ALARM_ESCALATE_SECONDS <= 3600:
    raise ConfigError(f"ALARM_ESCALATE_SECONDS must be between 5 and 3600, got {ALARM_ESCALATE_SECONDS}")

# --- alarm receivers (`doorstep alarmd`, and inside `doorstep run`) -----------------------------------------
# `doorstep run` also runs alarmd in its event loop unless DOORSTEP_ALARMD is off (or --no-alarmd).
ALARMD_IN_RUN = env_bool("DOORSTEP_ALARMD", True)
DC09_ENABLED = env_bool("DOORSTEP_DC09_ENABLED", True)
DC09_HOST = env_str("DOORSTEP_DC09_HOST", "127.0.0.1")
DC09_PORT = env_int("DOORSTEP_DC09_PORT", 7700)
# A quiet TCP connection is closed after this; a sequence number repeated within the window is a retry.
DC09_IDLE_SECONDS = env_int("DOORSTEP_DC09_IDLE_SECONDS", 180)
DC09_REPEAT_WINDOW_SECONDS = env_int("DOORSTEP_DC09_REPEAT_WINDOW_SECONDS", 180)
if not 0 <= DC09_PORT <= 65535:
    raise ConfigError(f"DOORSTEP_DC09_PORT must be a port number (0-65535), got {DC09_PORT}")
if DC09_IDLE_SECONDS < 1 or DC09_REPEAT_WINDOW_SECONDS < 60:
    raise ConfigError("DOORSTEP_DC09_IDLE_SECONDS must be >= 1 and DOORSTEP_DC09_REPEAT_WINDOW_SECONDS >= 60")
# mqtt://[user:password@]host:1883 or mqtts://... (TLS); unset: no MQTT receiver. The client id is fixed so
# that the broker keeps the receiver's session, and the messages for it, while alarmd is away.
MQTT_URL = env_str("DOORSTEP_MQTT_URL", "")
MQTT_CLIENT_ID = env_str("DOORSTEP_MQTT_CLIENT_ID", "doorstep-alarmd")
MQTT_TOPIC_PREFIX = env_str("DOORSTEP_MQTT_TOPIC_PREFIX", "doorstep/devices")
if MQTT_URL and not MQTT_URL.startswith(("mqtt://", "mqtts://")):
    raise ConfigError("DOORSTEP_MQTT_URL must start with mqtt:// or mqtts://")

# --- video patrol and broadcast (`doorstep videod`, and inside `doorstep run`) ----------------------------
# `doorstep run` runs the video worker (camera readers, detection, broadcast sender) in its event loop
# unless DOORSTEP_VIDEOD is off. The latest picture of each camera is a JPEG file in VIDEO_FRAME_DIR, which
# the worker writes and every web process reads (ADR 0014): a tmpfs in production.
VIDEOD_IN_RUN = env_bool("DOORSTEP_VIDEOD", True)
VIDEO_FRAME_DIR = Path(env_str("DOORSTEP_VIDEO_FRAME_DIR", str(VAR_DIR / "video" / "live")))
# A camera whose stream stays down this long raises a "camera offline" alert.
VIDEO_OFFLINE_SECONDS = env_int("DOORSTEP_VIDEO_OFFLINE_SECONDS", 60)
# A speaker that does not confirm within this many seconds has failed this attempt; tries in all.
VIDEO_ACK_SECONDS = env_int("DOORSTEP_VIDEO_ACK_SECONDS", 10)
VIDEO_DELIVERY_ATTEMPTS = env_int("DOORSTEP_VIDEO_DELIVERY_ATTEMPTS", 3)
# The broker MQTT speakers listen on (default: the alarm receivers' broker).
VIDEO_MQTT_URL = env_str("DOORSTEP_VIDEO_MQTT_URL", "") or MQTT_URL
# `make demo` only: a simulated HTTP speaker in the `doorstep run` process, for the demo's speakers.
VIDEO_DEMO_SPEAKER_PORT = env_int("DOORSTEP_VIDEO_DEMO_SPEAKER_PORT", 0)
if VIDEO_OFFLINE_SECONDS < 5 or VIDEO_ACK_SECONDS < 1 or not 1 <= VIDEO_DELIVERY_ATTEMPTS <= 10:
    raise ConfigError(
        "DOORSTEP_VIDEO_OFFLINE_SECONDS must be >= 5, DOORSTEP_VIDEO_ACK_SECONDS >= 1 and "
        "DOORSTEP_VIDEO_DELIVERY_ATTEMPTS between 1 and 10"
    )
if VIDEO_MQTT_URL and not VIDEO_MQTT_URL.startswith(("mqtt://", "mqtts://")):
    raise ConfigError("DOORSTEP_VIDEO_MQTT_URL must start with mqtt:// or mqtts://")

# --- production hardening -------------------------------------------------------------------------------
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)  # only meaningful if a site submits itself
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- monitoring (docs/operations/monitoring.md) ---------------------------------------------------------------
# Who may scrape /metrics: client addresses or networks, or a bearer token; anyone else gets a 404.
METRICS_ALLOW = env_list("DOORSTEP_METRICS_ALLOW", ["127.0.0.1", "::1"])
METRICS_TOKEN = env_str("DOORSTEP_METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 24:
    raise ConfigError("DOORSTEP_METRICS_TOKEN must be at least 24 characters")
for _network in METRICS_ALLOW:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ConfigError(f"DOORSTEP_METRICS_ALLOW: {_network!r} is not an address or network") from _exc
# Several workers share their metrics through this directory (prometheus_client); it must exist at start.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR") and not Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).is_dir():
    raise ConfigError(
        "PROMETHEUS_MULTIPROC_DIR must be an existing directory (create it before the workers start)"
    )
# Logs: "text" (the default) or "json" — one JSON object a line, personal data masked either way.
LOG_FORMAT = env_str("DOORSTEP_LOG_FORMAT", "text")
if LOG_FORMAT not in {"text", "json"}:
    raise ConfigError(f"DOORSTEP_LOG_FORMAT must be text or json, got {LOG_FORMAT!r}")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_personal": {"()": "doorstep.core.logging.MaskPersonalDataFilter"}},
    "formatters": {"json": {"()": "doorstep.core.logging.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["mask_personal"],
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False}},
}

# --- dispute mediation ----------------------------------------------------------------------------------------
# People's mediation (人民调解) is completed within this many days of the transfer to the mediation room by
# default; public-security mediation (治安调解) within 3 working days (fixed by rule, not configurable).
MEDIATION_LIMIT_DAYS = env_int("DOORSTEP_MEDIATION_LIMIT_DAYS", 30)
# Every closed case gets a follow-up visit within this many days of closing.
MEDIATION_FOLLOW_UP_DAYS = env_int("DOORSTEP_MEDIATION_FOLLOW_UP_DAYS", 15)
if not 1 <= MEDIATION_LIMIT_DAYS <= 365 or not 1 <= MEDIATION_FOLLOW_UP_DAYS <= 365:
    raise ConfigError("DOORSTEP_MEDIATION_LIMIT_DAYS and DOORSTEP_MEDIATION_FOLLOW_UP_DAYS must be 1–365")

# --- public portal (网上警务室) -----------------------------------------------------------------------------
# Text messages (core.sms): "console" logs them (phone masked), "memory" keeps them for tests, "http" posts
# them to DOORSTEP_SMS_URL, or a dotted path to a gateway class.
# Production must name its gateway: "console" there would log one-time codes and receipt codes instead of
# sending them, and "memory" would drop them.
SMS_GATEWAY = env_str(
    "DOORSTEP_SMS_GATEWAY", "memory" if DOORSTEP_ENV == "test" else "console", required=PRODUCTION
)
if PRODUCTION and SMS_GATEWAY in {"console", "memory"}:
    raise ConfigError(
        "DOORSTEP_SMS_GATEWAY must be http (or a gateway class) in production, not " + SMS_GATEWAY
    )
SMS_URL = env_str("DOORSTEP_SMS_URL", "")
SMS_TOKEN = env_str("DOORSTEP_SMS_TOKEN", "")
if SMS_GATEWAY == "http" and not SMS_URL:
    raise ConfigError("DOORSTEP_SMS_GATEWAY=http needs DOORSTEP_SMS_URL")
# The proxies (nginx) whose X-Forwarded-For names the client: rate limits count per client address.
TRUSTED_PROXIES = env_list("DOORSTEP_TRUSTED_PROXIES", [])
# The portal's address as residents reach it (printed in house-plate and survey QR codes); empty: the address
# the staff member's browser used, which is right only when staff and residents reach the same host.
PORTAL_BASE_URL = env_str("DOORSTEP_PORTAL_BASE_URL", "").rstrip("/")
# Rate limits of the portal (portal.ratelimit): "name=count/seconds,..." overrides single limits.
PORTAL_RATE_LIMITS = env_str("DOORSTEP_PORTAL_RATE_LIMITS", "")
