"""Django settings for zhengwu.

Every setting comes from an environment variable; docs/configuration.md lists them all.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BASE_DIR.parent.parent

# Under pytest the settings are imported before any conftest runs, so the test environment is
# recognised here rather than set by tests/conftest.py.
ENV = os.environ.get("ZHENGWU_ENV", "test" if "pytest" in sys.modules else "development").strip().lower()
if ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured("ZHENGWU_ENV 只能是 development、production 或 test")
PRODUCTION = ENV == "production"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"环境变量 {name} 必须是整数，当前为 {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("ZHENGWU_DATA_DIR", str(PROJECT_ROOT / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
KEYS_DIR = DATA_DIR / "keys"


def _secret_key() -> str:
    key = os.environ.get("ZHENGWU_SECRET_KEY", "")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("生产环境必须设置 ZHENGWU_SECRET_KEY（至少 50 个随机字符）")
    # Development and tests: a random key kept beside the data, never in the repository.
    KEYS_DIR.mkdir(parents=True, exist_ok=True)
    path = KEYS_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# Off unless asked for: `make run` behaves like production for errors (Chinese 404/500 pages, no
# debug page listing every URL pattern). ZHENGWU_DEBUG=1 turns Django's debug pages on locally.
DEBUG = env_bool("ZHENGWU_DEBUG", False)
ALLOWED_HOSTS = env_list("ZHENGWU_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("ZHENGWU_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "csp",
    "oauth2_provider",
    "zhengwu.core",
    "zhengwu.directory",
    "zhengwu.audit",
    "zhengwu.identity",
    "zhengwu.identity.oidc",
    "zhengwu.identity.public",
    "zhengwu.catalog",
    "zhengwu.datahub",
    "zhengwu.datahub.serving",
    "zhengwu.sharing",
    "zhengwu.sharing.gateway",
    "zhengwu.sharing.exchange",
    "zhengwu.portal",
    "zhengwu.opendata",
]

MIDDLEWARE = [
    # Outermost: every error under /api/ leaves as the JSON error body.
    "zhengwu.core.errorpages.ApiErrorBodyMiddleware",
    # Before anything reads the body: refuse what is declared too large (413 in Chinese).
    "zhengwu.core.errorpages.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "zhengwu.core.middleware.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "zhengwu.identity.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# The routes served by core.threadpool_handler (the data gateway's reads) run MIDDLEWARE's error
# bodies, input guards and security headers, in the same order, without the browser-session layers
# (static files, sessions, language, slash redirects, CSRF, login, the session policy, messages):
# those routes authenticate every request by its own credential and never read a session cookie —
# a session sent along is ignored, never honoured. Their answers are never pages, so the page CSP
# is replaced by the strictest one (core.middleware.MACHINE_CSP).
MACHINE_MIDDLEWARE = [
    "zhengwu.core.errorpages.ApiErrorBodyMiddleware",
    "zhengwu.core.errorpages.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "zhengwu.core.middleware.MachineContentSecurityPolicyMiddleware",
    "zhengwu.core.middleware.RejectNulMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "zhengwu.urls"
WSGI_APPLICATION = "zhengwu.wsgi.application"
ASGI_APPLICATION = "zhengwu.asgi.application"

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
                "zhengwu.core.context_processors.platform",
                "zhengwu.core.context_processors.console",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "") or f"sqlite:///{DATA_DIR / 'zhengwu.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("ZHENGWU_DB_CONN_MAX_AGE", 0))}
DB_POSTGRESQL = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# A psycopg connection pool per process (PostgreSQL only; Django 5.1+, package psycopg-pool): under
# ASGI Django's persistent connections are not reused (each request context has its own), so
# without a pool every request connects anew. On by default in production, off elsewhere.
DB_POOL = DB_POSTGRESQL and env_bool("ZHENGWU_DB_POOL", PRODUCTION)
if DB_POOL:
    if DATABASES["default"]["CONN_MAX_AGE"]:
        raise ImproperlyConfigured(
            "ZHENGWU_DB_POOL 开启时 ZHENGWU_DB_CONN_MAX_AGE 必须为 0（连接池负责复用连接，Django 不允许两者同时使用）"
        )
    _pool_min = env_int("ZHENGWU_DB_POOL_MIN", 2)
    _pool_max = env_int("ZHENGWU_DB_POOL_MAX", 10)
    _pool_timeout = env_int("ZHENGWU_DB_POOL_TIMEOUT", 10)
    if not 0 <= _pool_min <= _pool_max or _pool_max < 1 or _pool_timeout < 1:
        raise ImproperlyConfigured(
            "连接池大小不正确：须 0 ≤ ZHENGWU_DB_POOL_MIN ≤ ZHENGWU_DB_POOL_MAX、ZHENGWU_DB_POOL_MAX ≥ 1、"
            "ZHENGWU_DB_POOL_TIMEOUT ≥ 1 秒"
        )
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": _pool_min,
        "max_size": _pool_max,
        "timeout": _pool_timeout,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # Writers take the lock at BEGIN: no "database is locked" surprises half-way.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
    if ENV == "test":
        # A file, not memory: tests start real worker processes (e.g. the one killed mid-batch)
        # that must see the test database.
        DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test_zhengwu_{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- accounts and sessions ------------------------------------------------------------
AUTH_USER_MODEL = "directory.User"
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "core:home"
PASSWORD_HASHERS = [
    "zhengwu.identity.hashers.PBKDF2SM3PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Password rules live in the security policy (安全管理员 console); this validator reads it.
AUTH_PASSWORD_VALIDATORS = [{"NAME": "zhengwu.identity.password_policy.PolicyPasswordValidator"}]
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env_int("ZHENGWU_SESSION_MAX_AGE_SECONDS", 10 * 3600)  # absolute limit, Keycloak's default
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "zhengwu_session"
CSRF_COOKIE_NAME = "zhengwu_csrf"

# --- security headers -----------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "zhengwu.core.errorpages.csrf_failure"
# Content-Security-Policy (django-csp): scripts, styles, fonts and images only from the platform
# itself; no inline script, no inline event handlers, no style attributes; nothing may frame us.
_SELF, _NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_SELF],
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
    }
}
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("ZHENGWU_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("ZHENGWU_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if env_bool("ZHENGWU_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Number of reverse proxies in front of the app whose X-Forwarded-For we trust (0 = none).
TRUSTED_PROXY_COUNT = env_int("ZHENGWU_TRUSTED_PROXY_COUNT", 0)

# --- i18n -----------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = os.environ.get("ZHENGWU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- static files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- background work ------------------------------------------------------------------
TASKS = {
    "default": {
        # Tests run tasks in-process as they are enqueued (after the transaction commits).
        "BACKEND": os.environ.get(
            "ZHENGWU_TASKS_BACKEND",
            "django_tasks.backends.immediate.ImmediateBackend" if ENV == "test" else "django_tasks_db.DatabaseBackend",
        ),
        "QUEUES": ["default"],
    }
}

# --- audit ----------------------------------------------------------------------------
# SM2 key that signs audit checkpoints. Default: generated once under ZHENGWU_DATA_DIR/keys.
AUDIT_SIGNING_KEY_FILE = Path(os.environ.get("ZHENGWU_AUDIT_SIGNING_KEY_FILE", str(KEYS_DIR / "audit_sm2.pem")))
# Months of audit history that can never be purged (Cybersecurity Law art. 21: ≥ 6 months).
AUDIT_RETENTION_MONTHS = max(6, env_int("ZHENGWU_AUDIT_RETENTION_MONTHS", 6))
# Optional: the PEM public key verification trusts (e.g. on an auditor's machine without the
# private key). Default: derived from AUDIT_SIGNING_KEY_FILE. Never taken from the database.
AUDIT_VERIFY_PUBLIC_KEY_FILE = os.environ.get("ZHENGWU_AUDIT_VERIFY_PUBLIC_KEY_FILE", "")
# The worker signs a checkpoint this often while records arrive (none when nothing arrived).
AUDIT_CHECKPOINT_SECONDS = max(1, env_int("ZHENGWU_AUDIT_CHECKPOINT_SECONDS", 60))
# Append-only JSON Lines copy of every record, outside the database (production: a write-once
# volume). Empty disables it (the test suite's default; `check --deploy` warns).
AUDIT_SINK_FILE = os.environ.get(
    "ZHENGWU_AUDIT_SINK_FILE", "" if ENV == "test" else str(DATA_DIR / "audit" / "audit.jsonl")
)
# fsync after every append ("always", default) or leave flushing to the OS ("never").
AUDIT_SINK_FSYNC = os.environ.get("ZHENGWU_AUDIT_SINK_FSYNC", "always").strip().lower()
if AUDIT_SINK_FSYNC not in {"always", "never"}:
    raise ImproperlyConfigured("ZHENGWU_AUDIT_SINK_FSYNC 只能是 always 或 never")
# RFC 5424 syslog over TCP (RFC 6587 octet counting) to a collector: "host:port"; empty = off.
AUDIT_SYSLOG = os.environ.get("ZHENGWU_AUDIT_SYSLOG", "").strip()
AUDIT_SYSLOG_TIMEOUT_SECONDS = max(1, env_int("ZHENGWU_AUDIT_SYSLOG_TIMEOUT_SECONDS", 3))

# --- field encryption -----------------------------------------------------------------
# SM4 key (32 hex characters) for secrets kept in the database (TOTP seeds, source credentials).
# Default: derived from ZHENGWU_SECRET_KEY with SM3.
FIELD_ENCRYPTION_KEY = os.environ.get("ZHENGWU_FIELD_ENCRYPTION_KEY", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ZHENGWU_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Name of the data authority unit that approves catalog entries (exact name, or the city-level unit
# whose name ends with it).
CATALOG_AUTHORITY_UNIT_NAME = os.environ.get("ZHENGWU_CATALOG_AUTHORITY_UNIT", "大数据管理局")

PLATFORM_NAME = os.environ.get("ZHENGWU_PLATFORM_NAME", "示范市数字政府平台")
# --- portal (门户, docs/portal.md) -------------------------------------------------------
# The city's name on the public portal ("<城市>政务服务门户", the app "我的<城市>") and its operator.
PORTAL_CITY_NAME = os.environ.get("ZHENGWU_CITY_NAME", "示范市")
PORTAL_OPERATOR = os.environ.get("ZHENGWU_PORTAL_OPERATOR", "") or f"{PORTAL_CITY_NAME}政务服务数据管理局"

# --- sharing (共享交换: requests and grants, docs/sharing.md) ------------------------------
# Working days a provider has to answer a 有条件共享 request (the day of filing not counted).
SHARING_ANSWER_WORKING_DAYS = env_int("ZHENGWU_SHARING_ANSWER_WORKING_DAYS", 10)
# Days before a grant's end when the consumer unit is reminded to renew it.
SHARING_RENEWAL_REMINDER_DAYS = env_int("ZHENGWU_SHARING_RENEWAL_REMINDER_DAYS", 30)
# Longest validity period a request may ask for, in days.
SHARING_MAX_VALIDITY_DAYS = env_int("ZHENGWU_SHARING_MAX_VALIDITY_DAYS", 1096)

# --- gateway (数据服务网关, docs/gateway.md) -------------------------------------------------
# Defaults of a grant's calls per minute and per day (the provider's 共享审核员 may set others).
GATEWAY_RATE_PER_MINUTE = env_int("ZHENGWU_GATEWAY_RATE_PER_MINUTE", 600)
GATEWAY_DAILY_QUOTA = env_int("ZHENGWU_GATEWAY_DAILY_QUOTA", 100000)
# Seconds a web worker keeps a token's, key's or grant's facts: a revocation takes effect within it.
GATEWAY_CACHE_SECONDS = env_int("ZHENGWU_GATEWAY_CACHE_SECONDS", 5)
# Threads per web process for the routes served by core.threadpool_handler (the gateway's reads).
SYNC_THREADS = env_int("ZHENGWU_SYNC_THREADS", 8)
if SYNC_THREADS < 1:
    raise ImproperlyConfigured(f"ZHENGWU_SYNC_THREADS 必须是不小于 1 的整数，当前为 {SYNC_THREADS}")
# Each of those threads holds one pooled connection while it serves a request: more threads than the
# pool's connections would make the extra ones wait ZHENGWU_DB_POOL_TIMEOUT seconds and then fail.
if DB_POOL and _pool_max < SYNC_THREADS:
    raise ImproperlyConfigured(
        f"ZHENGWU_SYNC_THREADS（{SYNC_THREADS}）不能大于 ZHENGWU_DB_POOL_MAX（{_pool_max}）："
        "网关的每个线程同时占用连接池的一个连接"
    )
# Bearer token of /metrics (Prometheus); empty: /metrics answers 404.
METRICS_TOKEN = os.environ.get("ZHENGWU_METRICS_TOKEN", "")

# --- exchange (数据交换: subscriptions, docs/exchange.md) ---------------------------------
# Rows per webhook page / change-feed page; retries of a failed delivery wait
# BASE × FACTOR^(attempt−1) seconds, and after MAX_ATTEMPTS attempts the delivery is dead (死信).
EXCHANGE_PAGE_ROWS = env_int("ZHENGWU_EXCHANGE_PAGE_ROWS", 1000)
EXCHANGE_RETRY_BASE_SECONDS = env_int("ZHENGWU_EXCHANGE_RETRY_BASE_SECONDS", 60)
EXCHANGE_RETRY_FACTOR = env_int("ZHENGWU_EXCHANGE_RETRY_FACTOR", 2)
EXCHANGE_MAX_ATTEMPTS = env_int("ZHENGWU_EXCHANGE_MAX_ATTEMPTS", 12)
EXCHANGE_WEBHOOK_TIMEOUT_SECONDS = env_int("ZHENGWU_EXCHANGE_WEBHOOK_TIMEOUT_SECONDS", 30)
# Webhook addresses must be https in production; plain http is accepted elsewhere (tests, demo).
EXCHANGE_WEBHOOK_HTTPS_ONLY = PRODUCTION

# --- notification e-mail (core/notifications.py) --------------------------------------
# In-app notifications are always kept; a copy goes by e-mail only when ZHENGWU_EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("ZHENGWU_EMAIL_HOST", "").strip()
EMAIL_PORT = env_int("ZHENGWU_EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("ZHENGWU_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("ZHENGWU_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("ZHENGWU_EMAIL_STARTTLS", False)
EMAIL_USE_SSL = env_bool("ZHENGWU_EMAIL_SSL", False)
EMAIL_TIMEOUT = env_int("ZHENGWU_EMAIL_TIMEOUT_SECONDS", 10)
DEFAULT_FROM_EMAIL = os.environ.get("ZHENGWU_EMAIL_FROM", "zhengwu@localhost")
# The site's address as staff reach it (https://zw.example.gov.cn), for links in e-mails.
SITE_URL = os.environ.get("ZHENGWU_SITE_URL", "").strip()
# WebAuthn second factor (identity/webauthn.py; docs/security.md「WebAuthn」): the relying-party ID
# (a domain, e.g. "zw.example.gov.cn") and the origins the browser may report. Unset: taken from
# ZHENGWU_SITE_URL, else from the request's host (already checked against ALLOWED_HOSTS).
WEBAUTHN_RP_ID = os.environ.get("ZHENGWU_WEBAUTHN_RP_ID", "").strip().lower()
WEBAUTHN_ORIGINS = env_list("ZHENGWU_WEBAUTHN_ORIGINS", [])

# --- data center: lake, engine, ingest -------------------------------------------------
# Where Delta Lake tables live: a local folder (default) or s3://bucket/prefix for S3-compatible storage.
LAKE_URL = os.environ.get("ZHENGWU_LAKE_URL", "") or str(DATA_DIR / "lake")
# Options for S3-compatible storage (deltalake storage_options), e.g. endpoint and keys; JSON object.
LAKE_STORAGE_OPTIONS = os.environ.get("ZHENGWU_LAKE_STORAGE_OPTIONS", "")
# Engine that runs validation and quality rules: duckdb (default) or spark.
ENGINE = os.environ.get("ZHENGWU_ENGINE", "duckdb").strip().lower()
if ENGINE not in {"duckdb", "spark"}:
    raise ImproperlyConfigured("ZHENGWU_ENGINE 只能是 duckdb 或 spark")
# Spark master URL when ZHENGWU_ENGINE=spark (local[*] for one machine, spark://host:7077 for a cluster).
SPARK_MASTER = os.environ.get("ZHENGWU_SPARK_MASTER", "local[*]")
# DuckDB memory limit for one batch (spills to disk beyond it).
DUCKDB_MEMORY_LIMIT = os.environ.get("ZHENGWU_DUCKDB_MEMORY_LIMIT", "1GB")
# Largest request body Django reads into memory: a push of 10,000 records of a wide resource is
# about 5 MB (uploads stream to disk and are limited by INGEST_MAX_FILE_MB instead).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ZHENGWU_MAX_REQUEST_MB", 16) * 1024 * 1024
# Largest file accepted for one batch, in MiB (console, API and command line alike).
INGEST_MAX_FILE_MB = env_int("ZHENGWU_INGEST_MAX_FILE_MB", 1024)
# Scratch space for batches being processed (staged Parquet, uploads).
INGEST_WORK_DIR = Path(os.environ.get("ZHENGWU_INGEST_WORK_DIR", str(DATA_DIR / "ingest")))
# Days an uploaded/pushed input (personal data) is kept after its batch ends, for re-processing;
# then the datahub housekeeping job deletes it (audited). Intermediates are always removed at once.
INGEST_KEEP_INPUT_DAYS = env_int("ZHENGWU_INGEST_KEEP_INPUT_DAYS", 7)
# XLSX uploads are inspected before they are expanded (docs/datahub.md「上传文件」): total uncompressed
# size of the workbook's parts, largest compression ratio of a part, rows of the sheet.
INGEST_XLSX_MAX_UNCOMPRESSED_MB = env_int("ZHENGWU_INGEST_XLSX_MAX_UNCOMPRESSED_MB", 2048)
INGEST_XLSX_MAX_RATIO = env_int("ZHENGWU_INGEST_XLSX_MAX_RATIO", 200)
INGEST_XLSX_MAX_ROWS = env_int("ZHENGWU_INGEST_XLSX_MAX_ROWS", 1_048_576)
# A full load (全量替换) that would delete more than this share of the resource's current rows waits
# (状态“待确认”) for the uploader or another data manager of the unit to confirm it; a waiting batch
# not confirmed within INGEST_FULL_CONFIRM_EXPIRE_HOURS is cancelled by the housekeeping job.
try:
    INGEST_FULL_DELETE_CONFIRM_SHARE = float(os.environ.get("ZHENGWU_INGEST_FULL_DELETE_CONFIRM_SHARE", "") or 0.10)
except ValueError as exc:
    raise ImproperlyConfigured("环境变量 ZHENGWU_INGEST_FULL_DELETE_CONFIRM_SHARE 必须是 0 到 1 之间的小数，如 0.10") from exc
if not 0 <= INGEST_FULL_DELETE_CONFIRM_SHARE <= 1:
    raise ImproperlyConfigured("环境变量 ZHENGWU_INGEST_FULL_DELETE_CONFIRM_SHARE 必须在 0 到 1 之间，如 0.10")
INGEST_FULL_CONFIRM_EXPIRE_HOURS = env_int("ZHENGWU_INGEST_FULL_CONFIRM_EXPIRE_HOURS", 72)

# --- serving store (datahub/serving; docs/serving.md) ----------------------------------------------
# A rebuilt resource's previous table is kept this long for reads in flight, then dropped.
SERVING_GRACE_SECONDS = env_int("ZHENGWU_SERVING_GRACE_SECONDS", 600)
# New versions changing at most this share of the served rows are applied in place (else rebuilt).
SERVING_INCREMENTAL_MAX_SHARE = float(os.environ.get("ZHENGWU_SERVING_INCREMENTAL_MAX_SHARE", "") or 0.2)
# A refresh claim older than this (its process died) is taken over.
SERVING_CLAIM_STALE_SECONDS = env_int("ZHENGWU_SERVING_CLAIM_STALE_SECONDS", 1800)

# --- outbound connections (core/egress.py; docs/security.md "出站连接（egress）策略") ----------------
# Loopback/link-local destinations this deployment allows (address:port, comma separated), e.g.
# "127.0.0.1:5432,127.0.0.1:3306" on a single-machine demo; they still need an allowlist row.
EGRESS_ALLOW_LOCAL = env_list("ZHENGWU_EGRESS_ALLOW_LOCAL", [])
# The platform's own web/worker ports on this machine: never reachable as a destination.
EGRESS_OWN_PORTS = [int(p) for p in env_list("ZHENGWU_OWN_PORTS", ["8000"]) if p.isdigit()]
# SQLite files as database sources: only in the test suite (no environment variable turns it on).
DATAHUB_FILE_SOURCES = ENV == "test"
# A database pull: connect timeout, statement timeout (each statement and each fetch), row cap.
PULL_CONNECT_TIMEOUT_S = env_int("ZHENGWU_PULL_CONNECT_TIMEOUT_S", 10)
PULL_STATEMENT_TIMEOUT_S = env_int("ZHENGWU_PULL_STATEMENT_TIMEOUT_S", 300)
PULL_MAX_ROWS = env_int("ZHENGWU_PULL_MAX_ROWS", 10_000_000)

# --- OpenID Connect provider (identity/oidc; docs/sso.md) ------------------------------------
# The issuer: empty = the site root the request came to (ZHENGWU_SITE_URL when that is set).
OIDC_ISSUER = os.environ.get("ZHENGWU_OIDC_ISSUER", "").strip().rstrip("/") or SITE_URL.rstrip("/")
# Lifetimes in seconds. A key that stopped signing stays in the JWKS this long (+ 5 minutes) after.
OIDC_ACCESS_TOKEN_SECONDS = env_int("ZHENGWU_OIDC_ACCESS_TOKEN_SECONDS", 600)
OIDC_ID_TOKEN_SECONDS = env_int("ZHENGWU_OIDC_ID_TOKEN_SECONDS", 600)
OIDC_REFRESH_TOKEN_SECONDS = env_int("ZHENGWU_OIDC_REFRESH_TOKEN_SECONDS", SESSION_COOKIE_AGE)
# Largest client logo (PNG or JPEG) in KiB.
OIDC_LOGO_MAX_KB = env_int("ZHENGWU_OIDC_LOGO_MAX_KB", 200)
# Back-channel logout delivery timeout.
OIDC_BACKCHANNEL_TIMEOUT_SECONDS = env_int("ZHENGWU_OIDC_BACKCHANNEL_TIMEOUT_SECONDS", 5)
# django-oauth-toolkit's own models (named so migrations can refer to them; not swapped).
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"  # noqa: S105 (a model name)
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": OIDC_ISSUER,
    "OAUTH2_VALIDATOR_CLASS": "zhengwu.identity.oidc.validator.PlatformValidator",
    "SCOPES_BACKEND_CLASS": "zhengwu.identity.oidc.scopes.PlatformScopes",
    "PKCE_REQUIRED": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": OIDC_ACCESS_TOKEN_SECONDS,
    "ID_TOKEN_EXPIRE_SECONDS": OIDC_ID_TOKEN_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": OIDC_REFRESH_TOKEN_SECONDS,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REQUEST_APPROVAL_PROMPT": "auto",
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "client_credentials", "refresh_token"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_DELETE_TOKENS": False,  # the SSO session end revokes that session's tokens
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,  # access and refresh tokens kept only as hashes
    # Production: https redirect URIs only (registration refuses http there too); development and
    # tests also accept http on loopback (identity/oidc/services.py).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if PRODUCTION else ["http", "https"],
}

# --- public accounts (identity/public; docs/public-accounts.md) ----------------------------------------
# The SMS sender (dotted path of a class with send(mobile, text)); the default writes to the outbox
# a 系统管理员 reads in the console (短信发件箱) instead of sending anything.
SMS_SENDER = os.environ.get("ZHENGWU_SMS_SENDER", "") or "zhengwu.identity.public.sms.OutboxSender"
SMS_CODE_MINUTES = env_int("ZHENGWU_SMS_CODE_MINUTES", 5)
# Rate limits (429 with a Chinese message): registrations per source address and per mobile number
# an hour, SMS codes per number and per address an hour (and one a minute per number), real-name
# checks per account a day and per address an hour.
PUBLIC_REGISTER_PER_ADDRESS_HOUR = env_int("ZHENGWU_PUBLIC_REGISTER_PER_ADDRESS_HOUR", 10)
PUBLIC_REGISTER_PER_MOBILE_HOUR = env_int("ZHENGWU_PUBLIC_REGISTER_PER_MOBILE_HOUR", 5)
PUBLIC_SMS_PER_MOBILE_HOUR = env_int("ZHENGWU_PUBLIC_SMS_PER_MOBILE_HOUR", 5)
PUBLIC_SMS_PER_ADDRESS_HOUR = env_int("ZHENGWU_PUBLIC_SMS_PER_ADDRESS_HOUR", 20)
PUBLIC_VERIFY_PER_ACCOUNT_DAY = env_int("ZHENGWU_PUBLIC_VERIFY_PER_ACCOUNT_DAY", 5)
PUBLIC_VERIFY_PER_ADDRESS_HOUR = env_int("ZHENGWU_PUBLIC_VERIFY_PER_ADDRESS_HOUR", 20)
