"""Configuration defaults; create_app layers environment variables and test settings on top."""

from __future__ import annotations

from datetime import timedelta

DEV_SECRET_KEY = "dev-only-insecure-secret-key"  # noqa: S105 - the known value production refuses  # nosec B105


class Config:
    """Safe development defaults: SQLite and the embedded broker in the instance folder."""

    SECRET_KEY = DEV_SECRET_KEY
    # None means "a SQLite file in the instance folder"; create_app fills it in.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    # Sessions: cookie holds only a signed session id that the server can revoke.
    SESSION_COOKIE_NAME = "careteam_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True  # development and tests over plain HTTP turn it off
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)  # absolute lifetime of a login
    SESSION_IDLE_TIMEOUT = timedelta(minutes=15)  # a session unused this long ends
    # Logged-in pages warn this long before the idle logoff (static/js/idle-warning.js).
    SESSION_IDLE_WARNING = timedelta(minutes=2)
    REMEMBER_COOKIE_DURATION = timedelta(hours=12)  # never set: no remember-me is offered

    WTF_CSRF_TIME_LIMIT = 8 * 3600
    MAX_CONTENT_LENGTH = 1 * 1024 * 1024

    # argon2id parameters (argon2-cffi's RFC 9106 low-memory profile); tests lower them.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    PAGE_SIZE = 25
    AUDIT_PAGE_SIZE = 50

    # Plain names operators expect; create_app maps them (see _apply_plain_env).
    REDIS_URL: str | None = None
    BROKER_SQLITE_FILE = "broker.sqlite"

    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 8025
    MAIL_USE_TLS = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_TIMEOUT = 10
    MAIL_DEFAULT_SENDER = "CareTeam <no-reply@careteam.localhost>"
    MAIL_REPLY_TO: str | None = None
    # Where `make run`'s mail catcher stores messages, readable at /dev/mail in debug mode.
    DEV_MAILBOX: str | None = None

    BASE_URL = "http://127.0.0.1:5000"

    # Login throttling (careteam/auth/throttle.py). Flask-Limiter reads the RATELIMIT_*
    # keys it knows; the storage is Redis when REDIS_URL is set, else this process's
    # memory (create_app fills RATELIMIT_STORAGE_URI in). If Redis fails, logins are not
    # rate limited for that moment (fail-open, logged) rather than refused for everyone:
    # the per-account lockout below lives in the database and still holds.
    RATELIMIT_ENABLED = True
    RATELIMIT_STORAGE_URI: str | None = None
    RATELIMIT_KEY_PREFIX = "careteam-limits"
    RATELIMIT_STRATEGY = "fixed-window"
    # Seconds a Redis storage may take to connect or answer before the request goes on.
    RATELIMIT_STORAGE_TIMEOUT = 0.5
    # Limits in Flask-Limiter's notation; several are separated by ";".
    RATELIMIT_LOGIN_PER_IP = "20 per minute; 100 per hour"
    RATELIMIT_LOGIN_PER_ACCOUNT = "10 per 15 minutes"
    RATELIMIT_RESET_REQUEST_PER_IP = "5 per minute; 30 per hour"
    RATELIMIT_RESET_REQUEST_PER_ACCOUNT = "3 per hour"
    RATELIMIT_STRENGTH_CHECK_PER_IP = "60 per minute"
    RATELIMIT_EMERGENCY_SEARCH_PER_USER = "10 per hour"
    # The JSON API (careteam/api/): requests per personal access token (429 beyond).
    RATELIMIT_API_PER_TOKEN = "120 per minute; 3000 per hour"  # noqa: S105  # nosec B105
    # The largest JSON body the API reads (413 beyond); the app-wide cap is MAX_CONTENT_LENGTH.
    API_MAX_BODY_BYTES = 64 * 1024
    # How long a POST's Idempotency-Key and its first response are kept.
    IDEMPOTENCY_TTL = 24 * 3600
    # Lockout: this many consecutive failed logins lock the account for LOGIN_LOCKOUT_MINUTES;
    # each further run of failures doubles the lock, up to LOGIN_LOCKOUT_MAX_MINUTES.
    LOGIN_LOCKOUT_THRESHOLD = 5
    LOGIN_LOCKOUT_MINUTES = 15
    LOGIN_LOCKOUT_MAX_MINUTES = 24 * 60
    # A password reset link works once, for this many minutes.
    PASSWORD_RESET_MAX_AGE_MINUTES = 60

    # Two-factor authentication (TOTP): always required for admins; for providers unless
    # this is turned off (CARETEAM_TWO_FACTOR_REQUIRED_FOR_PROVIDERS=false); optional for
    # clients. Secrets are encrypted with a key derived from TWO_FACTOR_ENCRYPTION_KEY, or
    # from SECRET_KEY when unset (set it to the old SECRET_KEY before rotating that). Wrong
    # codes count towards the account lockout (LOGIN_LOCKOUT_*).
    TWO_FACTOR_REQUIRED_FOR_PROVIDERS = True
    TWO_FACTOR_ENCRYPTION_KEY: str | None = None
    TWO_FACTOR_ISSUER = "CareTeam"
    TWO_FACTOR_PENDING_SECONDS = 300  # between the password and the code at login

    # A worker holds an alert delivery this long while sending it (careteam/alerts); if it
    # dies, beat's drain sends it once the lease has run out. Alerts do not renew it.
    DIGEST_LEASE_SECONDS = 90
    # A worker holds the digests of its batch this long, renewed (one UPDATE) every third
    # of it while the batch goes on, so a slow batch keeps them and only a dead worker's
    # are taken over: by the task redelivered after the visibility timeout below, or by
    # the next dispatch tick (every 60 s) once it has run out. Keep it well under
    # broker_transport_options.visibility_timeout, so that the redelivered task finds it over.
    DIGEST_BATCH_LEASE_SECONDS = 30
    # A window closes at least this long before it is opened: an entry's created_at is set
    # before its transaction commits, and one committed just after would be missed.
    DIGEST_SETTLE_SECONDS = 5
    # After commit, publish new alerts from a background thread ("thread") so that a
    # broker outage never slows a request; beat drains whatever that misses. "off" leaves
    # everything to beat (tests of the web side).
    ALERT_RELAY = "thread"
    # The practice's own time zone (an IANA name from the profile's list): new accounts
    # start in it, so a default 08:00 digest is 08:00 there; pages without a logged-in user
    # and clients without a portal account use it too. Changing it later leaves existing
    # accounts in the zone they have.
    DISPLAY_TIMEZONE = "UTC"

    # Invitations: how long a link works after it is sent (a resend starts it again), and
    # how the email task is published after commit: "thread" (as ALERT_RELAY) or "off",
    # which leaves it to beat's sweep of unsent invitations.
    INVITATION_MAX_AGE_HOURS = 72
    INVITATION_RELAY = "thread"

    # Emergency ("break-glass") access to a record lasts this long; the user may end it sooner.
    EMERGENCY_ACCESS_MINUTES = 60

    # Heartbeats older than this make /healthz report the beat as late.
    BEAT_STALE_AFTER = timedelta(minutes=3)
    HEALTH_CHECK_TIMEOUT = 2.0
    # How many proxies in front of the app set X-Forwarded-For/-Proto (0: trust none).
    PROXY_FIX_HOPS = 0

    CELERY: dict = {
        # broker_url is filled in by create_app: Redis when REDIS_URL is set, else
        # Kombu's SQLAlchemy transport on a SQLite file in the instance folder.
        "broker_url": None,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # With late acks, a task cut off by a lost broker connection runs again rather
        # than being acknowledged half done.
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_prefetch_multiplier": 1,
        "timezone": "UTC",
        "enable_utc": True,
        # Never let a publish hang a web request on a broker that does not answer.
        "broker_connection_timeout": 2.0,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            "socket_timeout": 5,
            "socket_connect_timeout": 2,
            # Recovery of a task whose worker died (kill -9, lost machine) with the message
            # unacknowledged (task_acks_late): every other running worker sweeps the
            # unacked index every unacked_restore_interval x unacked_restore_throttle
            # = 5 s and puts back messages delivered more than visibility_timeout ago, so
            # a lost task runs again 45-50 s after its delivery (sooner after its kill,
            # and at once when the dead worker's replacement starts and sweeps). A sweep
            # takes milliseconds; unacked_mutex_expire only frees the sweep lock of a
            # worker killed during one, so 15 s (three sweeps) is plenty (Kombu: 300 s).
            # The price: a task still running after 45 s is delivered a second time to
            # another worker. Every acks_late task is idempotent (digests and alerts claim
            # rows under a lease, invitations clear their send request before SMTP, reset
            # emails are not repeated within a minute), and nothing is published with a
            # countdown or ETA (a Redis message waiting for its ETA counts as unacked and
            # would be redelivered every 45 s until it runs; keep them out).
            "visibility_timeout": 45,
            "unacked_restore_interval": 5,
            "unacked_restore_throttle": 1,
            "unacked_mutex_expire": 15,
        },
        "task_publish_retry": True,
        "task_publish_retry_policy": {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        "beat_schedule": {
            "beat-heartbeat": {
                "task": "careteam.beat_tick",
                "schedule": 60.0,
                "options": {"expires": 55},
            },
            "dispatch-digests": {
                "task": "careteam.dispatch_digests",
                "schedule": 60.0,
                "options": {"expires": 55},
            },
            "drain-alerts": {
                "task": "careteam.drain_alerts",
                "schedule": 30.0,
                "options": {"expires": 25},
            },
            "sweep-invitations": {
                "task": "careteam.sweep_invitations",
                "schedule": 60.0,
                "options": {"expires": 55},
            },
            # Chains new audit events into the tamper-evident hash chain.
            "seal-audit-log": {
                "task": "careteam.seal_audit_log",
                "schedule": 60.0,
                "options": {"expires": 55},
            },
            # Kept API responses for Idempotency-Key replays, past their 24 hours.
            "purge-idempotency-keys": {
                "task": "careteam.purge_idempotency_keys",
                "schedule": 3600.0,
                "options": {"expires": 3500},
            },
            "worker-health": {
                "task": "careteam.health",
                "schedule": 300.0,
                "options": {"expires": 290},
            },
        },
    }
