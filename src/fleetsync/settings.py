"""fleetsync's settings: a TOML file plus ``FLEETSYNC_*`` environment overrides.

Where the file comes from, first match wins: ``--config PATH`` on any command, the
``FLEETSYNC_CONFIG`` environment variable, ``./config/fleetsync.toml`` when it exists, and
otherwise no file at all (the embedded defaults: an SQLite ledger in the data directory).

Any setting can be overridden from the environment: ``FLEETSYNC_DATABASE_URL`` for
``database_url``, ``FLEETSYNC_GOOGLE__ADMIN_SUBJECT`` for ``[google] admin_subject`` (a double
underscore descends into a section). Environment beats the file; the file beats the defaults.

Every section is documented, setting by setting, in ``config/fleetsync.example.toml``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from fleetsync.domain.actions import Budget
from fleetsync.domain.errors import InvalidInput
from fleetsync.domain.inventory import MAX_REGION
from fleetsync.domain.usernames import check_pattern
from fleetsync.scopes import DEVICE_SCOPES, GMAIL_SEND_SCOPE, GOOGLE_SCOPES
from fleetsync.secret_urls import DatabaseUrl, SecretUrl

__all__ = [
    "DEFAULT_REGIONS",
    "DEVICE_SCOPES",
    "GMAIL_SEND_SCOPE",
    "GOOGLE_SCOPES",
    "AccountSettings",
    "AgreementSettings",
    "ApiSettings",
    "AppPolicy",
    "Bookmark",
    "BudgetSettings",
    "ConfigError",
    "DaemonSettings",
    "DatabaseUrl",
    "DeskAppSettings",
    "DeskSettings",
    "GoogleSettings",
    "LoanSettings",
    "MessageSettings",
    "OrgUnitPolicy",
    "OrgUnitSettings",
    "OverdueSettings",
    "QuotaSettings",
    "SafetySettings",
    "SecretUrl",
    "Settings",
    "SyncSettings",
    "config_document",
    "config_path",
    "load_settings",
]

DEFAULT_REGIONS: tuple[str, ...] = (
    "Antwerpen",
    "Brussel",
    "Limburg",
    "Oost-Vlaanderen",
    "Vlaams-Brabant",
    "West-Vlaanderen",
)


class ConfigError(Exception):
    """The configuration cannot be used. The message says where and what to change."""


class _Section(BaseModel):
    # A typo in a setting name must be an error, not a silently ignored line.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _org_unit_path(value: str) -> str:
    if not value.startswith("/") or (value.endswith("/") and value != "/"):
        raise ValueError(f"an org unit path starts with '/' and has no trailing '/': {value!r}")
    return value


OrgUnitPath = Annotated[str, AfterValidator(_org_unit_path)]


def _given(value: SecretUrl | DatabaseUrl | None) -> str | None:
    """A URL setting's value without surrounding spaces; ``None`` when unset or empty."""
    url = "" if value is None else value.get_secret_value().strip()
    return url or None


def _org_unit_template(value: str) -> str:
    """An org unit path in which ``{region}`` stands for each region's name."""
    _org_unit_path(value.replace("{region}", "Region"))
    return value


OrgUnitTemplate = Annotated[str, AfterValidator(_org_unit_template)]


# ------------------------------------------------------------------------------------- Google
class QuotaSettings(_Section):
    """The client-side throttle keeps fleetsync inside these; set them to the tenant's quotas."""

    queries_per_minute: int = Field(2400, ge=1)
    device_writes_per_minute: int = Field(60, ge=1)
    policy_writes_per_minute: int = Field(30, ge=1)
    max_concurrent_requests: int = Field(8, ge=1, le=64)


class RetrySettings(_Section):
    max_attempts: int = Field(8, ge=1, le=30)
    initial_backoff_seconds: float = Field(1.0, gt=0)
    max_backoff_seconds: float = Field(32.0, gt=0)


class GoogleSettings(_Section):
    #: ``None`` means Google itself. The sandbox writes its own URL here (``--write-config``).
    endpoint: str | None = None
    #: The service account's JSON key file (domain-wide delegation). Never commit it.
    key_file: Path | None = None
    #: The admin the service account acts as (``sub`` of the JWT), e.g. ``admin@example.org``.
    admin_subject: str | None = None
    customer: str = "my_customer"
    timeout_seconds: float = Field(60.0, gt=0)
    quota: QuotaSettings = QuotaSettings()
    retry: RetrySettings = RetrySettings()

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"the endpoint must be an http(s) URL, got {value!r}")
        return value if value.endswith("/") else value + "/"


# ------------------------------------------------------------------------- org units, accounts
class OrgUnitSettings(_Section):
    """Where each lifecycle state lives in Google. ``{region}`` is replaced by the region name."""

    on_loan: OrgUnitPath = "/Chromebooks/On loan"
    in_refurbishment: OrgUnitPath = "/Chromebooks/Refurbishment"
    spare: OrgUnitPath = "/Chromebooks/Spare"
    lost: OrgUnitPath = "/Chromebooks/Lost"
    retired: OrgUnitPath = "/Chromebooks/Retired"
    ict_test: OrgUnitPath = "/Chromebooks/ICT"
    #: Devices found here (and in the state OUs) that the ledger does not know are reported; ``sync
    #: --adopt`` takes them into the ledger as spare.
    adopt_from: tuple[OrgUnitPath, ...] = ("/Chromebooks/Staging",)
    students: OrgUnitTemplate = "/Students/{region}"

    @model_validator(mode="after")
    def _a_unit_per_state(self) -> OrgUnitSettings:
        # fleetsync reads a device's state from nowhere but the ledger, yet it files each state
        # in its own org unit so that Google's policies and a person's eye can tell them apart;
        # and the root org unit holds every device of the tenant, not only fleetsync's.
        problems: list[str] = []
        states = {name: getattr(self, name) for name in _STATE_ORG_UNITS}
        for name, path in [*states.items(), *(("adopt_from", p) for p in self.adopt_from)]:
            if path == "/":
                default = OrgUnitSettings.model_fields[name].default
                example = default[0] if isinstance(default, tuple) else default
                problems.append(
                    f"{name} is '/', the root org unit, which holds every device of the "
                    f"tenant; give it an org unit of its own (by default {example!r})"
                )
        by_path: dict[str, list[str]] = {}
        for name, path in states.items():
            by_path.setdefault(path, []).append(name)
        problems += [
            f"{' and '.join(names)} are {'both' if len(names) == 2 else 'all'} {path!r}; each "
            "device state needs its own org unit"
            for path, names in by_path.items()
            if len(names) > 1 and path != "/"
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return self


_STATE_ORG_UNITS = ("on_loan", "in_refurbishment", "spare", "lost", "retired", "ict_test")
#: The org units an active, lendable device may be confirmed in.
LENDABLE_ORG_UNITS = ("on_loan", "in_refurbishment", "spare", "ict_test")


class AccountSettings(_Section):
    #: The Workspace domain borrowers' accounts are created in.
    domain: str = "example.org"
    #: Username template: ``{given}``, ``{family}``, ``{g}`` (first letter of the given name).
    username_pattern: str = "{given}.{family}"
    #: Days after a return before the suspended account is deleted.
    delete_after_days: int = Field(30, ge=0)
    #: Days after the loan ends before the borrower's personal data in the ledger is pseudonymised.
    pseudonymise_after_days: int = Field(365, ge=1)
    password_length: int = Field(16, ge=12, le=100)
    change_password_at_next_login: bool = True
    #: How long an uncollected first password is kept (encrypted) for the desk.
    first_password_ttl_hours: int = Field(72, ge=1)

    @field_validator("username_pattern")
    @classmethod
    def _usable_pattern(cls, value: str) -> str:
        try:
            check_pattern(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value


class MessageSettings(_Section):
    """Messages to borrowers (overdue reminders and notices) go to their own Workspace mailbox,
    sent through the Gmail API as the programme's mailbox (domain-wide delegation of the
    ``gmail.send`` scope). No sender: no messages."""

    #: The programme's mailbox the messages come from, e.g. ``leenpunt@example.org``.
    sender: str | None = Field(None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    sender_name: str = Field("", max_length=100)
    #: A directory of templates, ``<step>.<language>.txt`` (``reminder.nl.txt``, ``notice.en.txt``):
    #: a ``Subject:`` line, a blank line, the text. Relative to the config file. Empty: the
    #: templates fleetsync ships.
    templates_dir: Path | None = None


class OverdueSettings(_Section):
    """What happens to a loan around and after its agreed end. Each step is optional and taken
    once per loan (never twice, whatever the daemon's restarts)."""

    #: Send the borrower a reminder this many days before the agreed end (needs [messages]).
    reminder_days_before: int | None = Field(None, ge=1, le=60)
    #: Send the borrower a notice on the first day the loan is overdue (needs [messages]).
    notice_on_first_day: bool = False
    #: Disable the device in Google this many days after the agreed end: it shows
    #: ``return_message`` on its locked screen. Re-enabled when the loan is returned or
    #: extended, or the lock is withdrawn (``fleetsync loan unlock``). Counts against the
    #: ``disables`` safety limit.
    lock_after_days: int | None = Field(None, ge=1, le=365)
    #: Where a locked loan device is filed: its org unit carries the return message.
    locked_org_unit: OrgUnitPath = "/Chromebooks/On loan/Locked"
    #: The return instructions on a disabled device's screen (Chrome device policy
    #: ``chrome.devices.DisabledDeviceReturnInstructions`` on ``locked_org_unit``).
    return_message: str = Field(
        "Deze Chromebook is geblokkeerd: de uitleentermijn is voorbij. Breng hem terug naar het "
        "loket waar u hem leende. / This Chromebook is locked: its loan period is over. Please "
        "return it to the desk where you borrowed it.",
        min_length=1,
        max_length=1000,
    )


# ------------------------------------------------------------------------------------ policies
class Bookmark(_Section):
    """A managed bookmark: a link (``name`` + ``url``) or a folder (``name`` + ``entries``)."""

    name: str = Field(min_length=1)
    url: str | None = None
    entries: tuple[Bookmark, ...] | None = None

    @model_validator(mode="after")
    def _link_or_folder(self) -> Bookmark:
        if (self.url is None) == (self.entries is None):
            raise ValueError(f"bookmark {self.name!r} needs exactly one of 'url' or 'entries'")
        return self


class AppPolicy(_Section):
    #: ``chrome:<32-char extension id>`` or ``web:<url>``.
    app_id: str
    install_type: Literal["FORCED", "FORCED_AND_PIN_TO_TOOLBAR", "ALLOWED", "BLOCKED"] = "FORCED"

    @field_validator("app_id")
    @classmethod
    def _app_id(cls, value: str) -> str:
        kind, _, rest = value.partition(":")
        if kind == "chrome" and len(rest) == 32 and rest.isalpha() and rest.islower():
            return value
        if kind == "web" and rest.startswith(("http://", "https://")):
            return value
        raise ValueError(
            f"app_id must be 'chrome:<32 lowercase letters>' or 'web:<url>', got {value!r}"
        )


class OrgUnitPolicy(_Section):
    #: The OU the policy is set at (its children inherit it). ``{region}`` is expanded per region.
    org_unit: OrgUnitTemplate
    bookmarks_folder: str = "Cursus"
    bookmarks: tuple[Bookmark, ...] = ()
    apps: tuple[AppPolicy, ...] = ()


# ------------------------------------------------------------------------------ safety, sync
class BudgetSettings(_Section):
    """At most ``per_hour`` devices (or accounts) of this kind in any 60 minutes, and at most
    ``per_day`` in any 24 hours, counted in the ledger across every run and process. What a run
    would do beyond that is held back (the rest of the run goes ahead) until the window has room,
    or until a person runs ``fleetsync sync --force-budget <name>``."""

    per_hour: int = Field(ge=0)
    per_day: int = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _old_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and ({"max_count", "max_share"} & set(data)):
            raise ValueError(
                "max_count and max_share were limits per run; the safety limits are budgets "
                "over a sliding window now: write per_hour = N and per_day = M instead (see "
                "config/fleetsync.example.toml)"
            )
        return data

    @model_validator(mode="after")
    def _hour_within_day(self) -> BudgetSettings:
        if self.per_hour > self.per_day:
            raise ValueError(
                f"per_hour ({self.per_hour}) is more than per_day ({self.per_day}): an hour "
                "cannot spend more than its day"
            )
        return self


class SafetySettings(_Section):
    """One ``[safety.<name>]`` table per :class:`~fleetsync.domain.actions.Budget` (a test holds
    the fields and the enum equal)."""

    suspensions: BudgetSettings = BudgetSettings(per_hour=100, per_day=300)
    deletions: BudgetSettings = BudgetSettings(per_hour=50, per_day=100)
    powerwashes: BudgetSettings = BudgetSettings(per_hour=100, per_day=300)
    disables: BudgetSettings = BudgetSettings(per_hour=25, per_day=50)
    deprovisions: BudgetSettings = BudgetSettings(per_hour=10, per_day=20)

    @model_validator(mode="before")
    @classmethod
    def _known_names(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(str(name) for name in data if name not in Budget.__members__.values())
            if unknown:
                raise ValueError(
                    f"unknown safety budget {', '.join(repr(n) for n in unknown)}: the budgets "
                    f"are {Budget.known()}"
                )
        return data

    def of(self, budget: Budget) -> BudgetSettings:
        limit: BudgetSettings = getattr(self, budget.value)
        return limit


class SyncSettings(_Section):
    #: Move a device to spare by itself once its powerwash is executed; otherwise a technician
    #: runs ``fleetsync device ready``.
    auto_ready_after_powerwash: bool = True
    #: What to do when a powerwash expires or fails: issue it again, or flag it for a person.
    on_powerwash_failure: Literal["reissue", "flag"] = "reissue"
    #: A powerwash whose answer from Google was lost is settled by watching the device: a
    #: check-in this long after the attempt is noted (the device may be executing it); a second
    #: one at least this long after that, still without enrolling again, shows it does not have
    #: the command, and a new one is asked for.
    unconfirmed_powerwash_grace_minutes: int = Field(60, ge=5)
    #: Batch size for HTTP batches of per-item calls (Google allows up to 1000).
    http_batch_size: int = Field(100, ge=1, le=1000)
    #: Google calls a reconcile keeps in flight at once: the partitions of the device and account
    #: listings, moves, HTTP batches, policy writes to different org units. 1 sends them one
    #: after another. Never more than ``[google.quota] max_concurrent_requests``, and every call
    #: still waits for the quotas.
    concurrency: int = Field(8, ge=1, le=64)


# ------------------------------------------------------------------------------ API, daemon
class DeskSettings(_Section):
    """A loan desk: its webhook signing secrets (``whsec_...``, several during a rotation) and the
    bearer token it uses for ``/v1/loans/...``. Keep both out of the file: set them through the
    environment, e.g. ``FLEETSYNC_API__DESKS__ANTWERPEN__SECRETS='["whsec_..."]'``."""

    secrets: tuple[SecretStr, ...] = ()
    token: SecretStr | None = None
    #: The desk web app presets a new borrower's region to this one (one of ``regions``).
    region: str | None = None
    #: Where and when a borrower brings the device back, printed on the slip.
    return_address: str = ""


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    desks: dict[str, DeskSettings] = {}
    #: Bearer tokens with the admin scope (everything).
    admin_tokens: tuple[SecretStr, ...] = ()
    webhook_tolerance_seconds: int = Field(300, ge=1)
    #: How long a delivery is remembered (a redelivery within it is answered as the first).
    delivery_retention_days: int = Field(30, ge=1)
    max_body_bytes: int = Field(64 * 1024, ge=1024)


class DeskAppSettings(_Section):
    """The desk web app (``/desk``): staff sessions, the sign-in throttle, and the slip."""

    #: A session ends after this many minutes without a request.
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    #: Failed sign-ins in a row before an account refuses every sign-in for ``lockout_minutes``.
    sign_in_attempts: int = Field(5, ge=1, le=100)
    lockout_minutes: int = Field(15, ge=1, le=24 * 60)
    #: The programme's contact, printed on the borrower's slip (a phone number, an address).
    contact: str = ""


class DaemonSettings(_Section):
    reconcile_interval_minutes: int = Field(15, ge=1)
    command_tracker_interval_seconds: int = Field(60, ge=5)
    outbox_interval_seconds: int = Field(5, ge=1)
    #: Time of day (HH:MM, local) for the daily overdue and retention jobs.
    daily_at: str = Field("06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    #: Optional URL the overdue list is POSTed to each day (JSON, event ``loans.overdue``). A
    #: capability URL (a secret: shown as its origin only); user-info is sent as Basic auth.
    overdue_webhook_url: SecretUrl | None = None
    #: Signs that POST the Standard Webhooks way (``whsec_...``), as the desk signs its own calls.
    #: Keep it out of the file: ``FLEETSYNC_DAEMON__OVERDUE_WEBHOOK_SECRET``.
    overdue_webhook_secret: SecretStr | None = None
    #: A standby replica takes over within this many seconds of the leader's death.
    leader_poll_seconds: int = Field(10, ge=1, le=30)

    @field_validator("overdue_webhook_url")
    @classmethod
    def _webhook_url(cls, value: SecretUrl | None) -> SecretUrl | None:
        url = _given(value)
        if url is None:
            return None
        problem = None
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            problem = "is not a URL"
        else:
            if parts.scheme not in ("http", "https") or not parts.hostname:
                problem = "must be an http(s) URL with a host"
            elif any(c.isspace() or ord(c) < 32 for c in url):
                problem = "contains spaces or control characters"
        if problem:
            # Never the URL itself in the message: it is a secret.
            raise ValueError(f"the overdue webhook URL ({SecretUrl(url)}) {problem}")
        return SecretUrl(url)


# ------------------------------------------------------------------------- loans, agreement
class LoanSettings(_Section):
    #: A checkout without an agreed end (``--until``) runs to its course period's last day plus
    #: this many days, to bring the device back.
    grace_days: int = Field(7, ge=0, le=365)
    #: Lend a device no sync has seen in Google yet (imported, never reconciled). By default a
    #: checkout waits until Google has confirmed the device ACTIVE in one of fleetsync's org
    #: units: a device that was never enrolled cannot be used by its borrower.
    lend_unconfirmed: bool = False


class AgreementSettings(_Section):
    """The loan agreement borrowers accept at checkout (period, how and when to return)."""

    #: The agreement's version (``2026-09``): a checkout records the version accepted.
    version: str | None = Field(None, min_length=1, max_length=40, pattern=r"^[^\x00-\x1f]+$")
    #: Markdown with placeholders: ``{borrower}``, ``{given_name}``, ``{family_name}``,
    #: ``{serial}``, ``{asset_tag}``, ``{loan}``, ``{checked_out}``, ``{agreed_end}``,
    #: ``{course}``, ``{return_address}``. Relative to the config file.
    text_file: Path | None = None
    #: Where and how the device goes back: fills ``{return_address}``.
    return_address: str = ""
    #: A checkout without the current version accepted is refused.
    required: bool = False

    @model_validator(mode="after")
    def _complete(self) -> AgreementSettings:
        if self.required and (self.version is None or self.text_file is None):
            raise ValueError(
                "required = true needs the agreement's version and text_file: the desk cannot "
                "have a borrower accept an agreement fleetsync does not know"
            )
        return self


# -------------------------------------------------------------------------------------- root
def default_data_dir() -> Path:
    """Where local state lives when neither the config nor the environment says."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "fleetsync"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FLEETSYNC_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    #: Where the SQLite ledger and other local state live.
    data_dir: Path = Field(default_factory=default_data_dir)
    #: SQLAlchemy URL. Empty: ``sqlite:///<data_dir>/fleetsync.db``. PostgreSQL in production:
    #: ``postgresql+psycopg://user@host/dbname``. Shown and logged with its credentials masked.
    database_url: DatabaseUrl | None = None
    #: Key (Fernet, urlsafe base64 of 32 bytes) that encrypts first passwords at rest until the
    #: desk collects them. Empty: generated once into ``<data_dir>/secret.key`` (mode 0600).
    #: Replicas sharing a database must share it: set ``FLEETSYNC_SECRET_KEY``.
    secret_key: SecretStr | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"
    regions: tuple[str, ...] = DEFAULT_REGIONS
    google: GoogleSettings = GoogleSettings()
    org_units: OrgUnitSettings = OrgUnitSettings()
    accounts: AccountSettings = AccountSettings()
    messages: MessageSettings = MessageSettings()
    overdue: OverdueSettings = OverdueSettings()
    policies: tuple[OrgUnitPolicy, ...] = ()
    safety: SafetySettings = SafetySettings()
    sync: SyncSettings = SyncSettings()
    api: ApiSettings = ApiSettings()
    desk: DeskAppSettings = DeskAppSettings()
    daemon: DaemonSettings = DaemonSettings()
    loans: LoanSettings = LoanSettings()
    agreement: AgreementSettings = AgreementSettings()

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: DatabaseUrl | None) -> DatabaseUrl | None:
        url = _given(value)
        if url is None:
            return None
        import sqlalchemy as sa  # here: `fleetsync --help` need not load SQLAlchemy

        try:
            backend = sa.make_url(url).get_backend_name()
        except (sa.exc.ArgumentError, ValueError):
            # SQLAlchemy's own message quotes the URL, password and all: never shown.
            raise ValueError(
                f"database_url ({DatabaseUrl(url)}) is not a database URL; write it as "
                "postgresql+psycopg://USER@HOST:PORT/DBNAME or sqlite:///PATH"
            ) from None
        if backend not in ("postgresql", "sqlite"):
            raise ValueError(
                f"database_url ({DatabaseUrl(url)}) is a {backend} database; the ledger runs on "
                "PostgreSQL (postgresql+psycopg://...) or SQLite (sqlite:///PATH)"
            )
        return DatabaseUrl(url)

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError(
                "the programme needs at least one region: every device and borrower has one"
            )
        problems: list[str] = []
        first: dict[str, str] = {}
        for region in value:
            if region != region.strip() or not region:
                problems.append(f"{region!r} is empty or starts or ends with a space")
            elif (
                len(region) > MAX_REGION
                or any(c in region for c in "/{}")
                or any(ord(c) < 32 for c in region)
            ):
                problems.append(
                    f"{region!r} must be at most {MAX_REGION} characters without '/', '{{', "
                    "'}' or control characters: it names an org unit"
                )
            key = region.casefold()
            if key in first:
                problems.append(
                    f"{region!r} is {first[key]!r} again (regions are matched regardless of case)"
                )
            first.setdefault(key, region)
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's content arrives as init kwargs; the environment overrides it.
        return (env_settings, init_settings)

    @property
    def ledger_url(self) -> DatabaseUrl:
        """The ledger's URL (the configured one, or SQLite in ``data_dir``), as a secret."""
        return self.database_url or DatabaseUrl(f"sqlite:///{self.data_dir / 'fleetsync.db'}")

    @property
    def effective_database_url(self) -> str:
        """The ledger's URL itself, credentials included: for connecting, never for showing."""
        return self.ledger_url.get_secret_value()

    @property
    def display_database_url(self) -> str:
        """The ledger's URL with its credentials masked, for logs and output."""
        return str(self.ledger_url)


def config_path(explicit: Path | None = None) -> Path | None:
    """The config file in use: ``--config``, ``FLEETSYNC_CONFIG``, or ``config/fleetsync.toml``."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get("FLEETSYNC_CONFIG")
    if from_env:
        return Path(from_env)
    local = Path("config/fleetsync.toml")
    return local if local.is_file() else None


def config_document(path: Path | None = None) -> dict[str, Any]:
    """The config file in use, as written (no environment, no defaults): the base that the
    sandbox and the demo rewrite with only the Google connection and the ledger replaced.
    Empty when no file is in use."""
    found = config_path(path)
    if found is None:
        return {}
    try:
        with found.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {found} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {found} is not valid TOML: {exc}") from None


def load_settings(path: Path | None = None) -> Settings:
    """Read and validate the settings. Raises :class:`ConfigError` with every problem listed."""
    path = config_path(path)
    data: dict[str, Any] = {}
    where = "the environment"
    if path is not None:
        where = str(path)
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError(
                f"config file {path} does not exist; pass --config with an existing file, or copy "
                "config/fleetsync.example.toml"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
        # Relative paths in the file are relative to the file, not to wherever one runs from.
        data = _anchor_paths(data, path.parent)
    try:
        return Settings(**data)
    except ValidationError as exc:
        problems = "\n".join(
            f"  - {'.'.join(str(p) for p in err['loc']) or '(top level)'}: "
            f"{err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings in {where}:\n{problems}") from None


def _anchor_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    data = dict(data)
    if isinstance(data.get("data_dir"), str) and not Path(data["data_dir"]).is_absolute():
        data["data_dir"] = str((base / data["data_dir"]).resolve())
    messages = data.get("messages")
    if isinstance(messages, dict) and isinstance(messages.get("templates_dir"), str):
        templates = Path(messages["templates_dir"])
        if not templates.is_absolute():
            data["messages"] = {**messages, "templates_dir": str((base / templates).resolve())}
    google = data.get("google")
    if isinstance(google, dict) and isinstance(google.get("key_file"), str):
        key = Path(google["key_file"])
        if not key.is_absolute():
            data["google"] = {**google, "key_file": str((base / key).resolve())}
    agreement = data.get("agreement")
    if isinstance(agreement, dict) and isinstance(agreement.get("text_file"), str):
        text = Path(agreement["text_file"])
        if not text.is_absolute():
            data["agreement"] = {**agreement, "text_file": str((base / text).resolve())}
    return data
