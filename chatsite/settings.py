"""DevRooms settings: every knob comes from the environment (or `.env`) through one `env`."""

from pathlib import Path

import environ

from chatsite.local_env import env_file_path

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Local, never committed (DJANGO_ENV_FILE names another file): the first `make run` writes
# debug on and a generated secret key here, `manage.py harperdb start` the local HarperDB's
# password.
ENV_FILE = env_file_path()
environ.Env.read_env(ENV_FILE)

# --- Django core --------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (
    "django-insecure-local-development-only" if DEBUG else ""
)
if not SECRET_KEY:
    raise environ.ImproperlyConfigured("Set DJANGO_SECRET_KEY, or DJANGO_DEBUG=true locally.")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    # Before daphne: `runserver` leaves static files to WhiteNoise, as in production.
    "whitenoise.runserver_nostatic",
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rooms",
    "messaging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "chatsite.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
ASGI_APPLICATION = "chatsite.asgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Socket.IO events reach the ORM outside any request: without a lifetime every query of a
# join opened and closed its own connection. Kept for this long, checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes on one SQLite file (`make cluster N=2` on one machine): a write
    # transaction takes the lock when it begins and waits for it, instead of failing with
    # "database is locked" when another process writes at the same moment.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    # Write-ahead log: reads go on while another connection commits, and a commit syncs the
    # log alone. Creating a room (a join to a new one) took 4.0 ms with the rollback journal
    # and 2.7 ms with the log, in the one thread that Django's queries share. The processes
    # sharing a file must be on one machine (the log's index is shared memory).
    DATABASES["default"]["OPTIONS"].setdefault("init_command", "PRAGMA journal_mode=WAL;")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Only for `collectstatic` in a deployment; WhiteNoise serves straight from STATICFILES_DIRS.
STATIC_ROOT = env.str("DJANGO_STATIC_ROOT", default="") or None
WHITENOISE_USE_FINDERS = True

# --- Security -----------------------------------------------------------------
# Behind TLS set DJANGO_SECURE=true: secure cookies, HSTS and the HTTPS redirect follow.

DJANGO_SECURE = env.bool("DJANGO_SECURE", default=False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = DJANGO_SECURE
CSRF_COOKIE_SECURE = DJANGO_SECURE
SECURE_SSL_REDIRECT = DJANGO_SECURE
# Polled over plain HTTP on the loopback by a proxy, an orchestrator or Prometheus.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000 if DJANGO_SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if DJANGO_SECURE else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Scripts, styles, images and connections from the site itself only: no inline script or
# style (data reaches scripts through json_script), no plugins, no framing, forms post here.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# Origins (scheme://host) whose form posts Django accepts, e.g. the public HTTPS origin behind
# a proxy; separate from CHAT_ALLOWED_ORIGINS, which only lets pages open socket.io connections.
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# --- Channels and scale-out ---------------------------------------------------

# Several server processes share rooms through this Redis (README.md "Architecture"):
# presence, each room's message order, and every room event go through it.
REDIS_URL = env.str("REDIS_URL", default="")
# Keys and the events channel in Redis start with this, so several deployments (or test
# runs) can share one Redis.
CHAT_REDIS_PREFIX = env.str("CHAT_REDIS_PREFIX", default="devrooms")
# A process that stops renewing its heartbeat (killed, frozen, cut off from Redis) is taken
# for dead this long after its last one: its people leave every roster, announced.
CHAT_PRESENCE_TTL_SECONDS = env.float("CHAT_PRESENCE_TTL_SECONDS", default=15.0)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # Under DevRooms' prefix: deployments sharing one Redis keep their staff apart.
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{CHAT_REDIS_PREFIX}:asgi"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- HarperDB -----------------------------------------------------------------
# An empty HARPERDB_URL means "the local HarperDB this project installs and starts"; its
# password, when not given, is generated on its first start and kept in ENV_FILE.

HARPERDB_URL = env.str("HARPERDB_URL", default="")
HARPERDB_USERNAME = env.str("HARPERDB_USERNAME", default="devrooms")
HARPERDB_PASSWORD = env.str("HARPERDB_PASSWORD", default="")
HARPERDB_DATABASE = env.str("HARPERDB_DATABASE", default="realtime_chat_app")
HARPERDB_TABLE = env.str("HARPERDB_TABLE", default="messages")
HARPERDB_TIMEOUT_SECONDS = env.float("HARPERDB_TIMEOUT_SECONDS", default=5.0)
HARPERDB_LOCAL_ROOT = BASE_DIR / env.str("HARPERDB_LOCAL_ROOT", default="var/harperdb")
HARPERDB_LOCAL_PORT = env.int("HARPERDB_LOCAL_PORT", default=9925)

# --- Chat rules ---------------------------------------------------------------

CHAT_ALLOW_ROOM_CREATION = env.bool("CHAT_ALLOW_ROOM_CREATION", default=True)
CHAT_HISTORY_LIMIT = env.int("CHAT_HISTORY_LIMIT", default=100)
# Memory for the newest CHAT_HISTORY_LIMIT messages of recently read rooms, so a join needs
# no HarperDB read (one process only: off when REDIS_URL is set; 0 turns it off).
CHAT_HISTORY_CACHE_BYTES = env.int("CHAT_HISTORY_CACHE_BYTES", default=64_000_000)

CHAT_MESSAGE_MAX_LENGTH = env.int("CHAT_MESSAGE_MAX_LENGTH", default=10_000)
# How long after sending it a person may edit or delete their message; 0: never.
CHAT_EDIT_SECONDS = env.int("CHAT_EDIT_SECONDS", default=300)
# How long a person who left their page (2 s: a reload) or lost their connection (10 s: a
# network blip) stays listed before "has disconnected" is announced.
CHAT_PRESENCE_GRACE_SECONDS = env.float("CHAT_PRESENCE_GRACE_SECONDS", default=2.0)
CHAT_RECONNECT_GRACE_SECONDS = env.float("CHAT_RECONNECT_GRACE_SECONDS", default=10.0)
CHAT_RATE_LIMIT = env.float("CHAT_RATE_LIMIT", default=5.0)
CHAT_RATE_BURST = env.int("CHAT_RATE_BURST", default=10)
CHAT_ALLOWED_ORIGINS = env.list("CHAT_ALLOWED_ORIGINS", default=[])
CHAT_STORE_RETRY_SECONDS = env.float("CHAT_STORE_RETRY_SECONDS", default=30.0)
CHAT_STORE_QUEUE_MAX = env.int("CHAT_STORE_QUEUE_MAX", default=10_000)
# People in one room at most; a newcomer past it is refused (`room_full`).
CHAT_ROOM_MAX_PEOPLE = env.int("CHAT_ROOM_MAX_PEOPLE", default=5_000)
# A room hears of people coming and going at once for the first CHAT_ROSTER_BURST changes;
# while they keep coming, at most once per this many seconds per 100 people in it.
CHAT_ROSTER_WINDOW_SECONDS = env.float("CHAT_ROSTER_WINDOW_SECONDS", default=0.25)
CHAT_ROSTER_BURST = env.int("CHAT_ROSTER_BURST", default=5)
CHAT_REMOVAL_MINUTES = env.int("CHAT_REMOVAL_MINUTES", default=15)
# How long a process trusts what it read of a room and its bans (rooms/admission.py); changes
# saved through Django reach it at once (from other processes through REDIS_URL), this bounds
# those made past Django's signals.
CHAT_ADMISSION_CACHE_SECONDS = env.float("CHAT_ADMISSION_CACHE_SECONDS", default=10.0)
CHAT_ROOM_CREATE_PER_HOUR = env.int("CHAT_ROOM_CREATE_PER_HOUR", default=10)
CHAT_ROOM_IDLE_DAYS = env.int("CHAT_ROOM_IDLE_DAYS", default=7)

# --- Transport limits (per connection, per address, per process) ------------------------
# What may wait to be sent to one connection (characters); past it the connection is closed
# and the client reconnects. It must hold one full history (100 long messages).
CHAT_SEND_QUEUE_MAX_BYTES = env.int("CHAT_SEND_QUEUE_MAX_BYTES", default=4_000_000)
# One Socket.IO packet (WebSocket frame) or polling request at most, in bytes.
CHAT_MAX_PAYLOAD_BYTES = env.int("CHAT_MAX_PAYLOAD_BYTES", default=1_000_000)
# Packets in one polling request; a request with more is refused (400), never half-read.
CHAT_POLLING_MAX_PACKETS = env.int("CHAT_POLLING_MAX_PACKETS", default=128)
# WebSocket frames and bytes one connection may send per second (and in a burst); past
# them the connection is closed (4008). Chat events have their own CHAT_RATE_LIMIT too.
CHAT_FRAME_RATE = env.float("CHAT_FRAME_RATE", default=50.0)
CHAT_FRAME_BURST = env.int("CHAT_FRAME_BURST", default=200)
CHAT_INBOUND_BYTES_PER_SECOND = env.int("CHAT_INBOUND_BYTES_PER_SECOND", default=200_000)
# Open Socket.IO connections per client address and in all; past them a connection is
# refused at connect with a reason. Those already connected keep being served.
CHAT_MAX_CONNECTIONS_PER_IP = env.int("CHAT_MAX_CONNECTIONS_PER_IP", default=50)
CHAT_MAX_CONNECTIONS = env.int("CHAT_MAX_CONNECTIONS", default=10_000)

# --- Health and metrics ---------------------------------------------------------
# /healthz answers anyone; /metrics answers staff, or a scraper that sends
# `Authorization: Bearer <CHAT_METRICS_TOKEN>` (empty: staff only).
CHAT_METRICS_TOKEN = env.str("CHAT_METRICS_TOKEN", default="")

# --- Logging -------------------------------------------------------------------
# One handler, on the root logger; every other logger only sets a level and propagates.
# Django first applies its own DEFAULT_LOGGING (a console handler on "django", shown when
# DEBUG is on, and a private one on "django.server"), and python-socketio/engineio give
# their server loggers a handler of their own when those loggers have no level. Both are
# overridden here, otherwise each of those lines would also reach the root handler: twice.
LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO").upper()
_LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
if LOG_LEVEL not in _LOG_LEVELS:
    raise environ.ImproperlyConfigured(f"DJANGO_LOG_LEVEL is one of {', '.join(_LOG_LEVELS)}.")
# Socket.IO and Engine.IO log each packet at INFO: errors only, as their own default.
_SOCKETIO_LOG_LEVEL = max(LOG_LEVEL, "ERROR", key=_LOG_LEVELS.index)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        **{
            name: {"handlers": [], "level": _SOCKETIO_LOG_LEVEL, "propagate": True}
            for name in ("socketio.server", "socketio.client", "engineio.server", "engineio.client")
        },
    },
}
