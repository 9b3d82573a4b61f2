"""Deployment settings: one YAML file plus environment variables for secrets and endpoints.

Everything city-specific (counties, legal aid centres, targets, hardship thresholds, SLA hours) lives in
the YAML so a different justice bureau can deploy without touching code. Validation happens once at
start-up, every section included, and fails with a message that names the offending key, because a
half-valid config that surfaces as a crash on the first citizen message is the worst kind of outage.

pydantic-settings merges the two sources: any key can be set from the environment as `HOTLINE_<KEY>`,
nested with `__` (`HOTLINE_RASA__TIMEOUT_SECONDS=30`, `HOTLINE_ELIGIBILITY__MEANS_TEST__MULTIPLIER=2`),
and the environment wins over the YAML. The short names the README documents (`DATABASE_URL`,
`TELEGRAM_BOT_TOKEN`, `RASA_URL`, ...) are aliases of their `HOTLINE_` names.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from hotline.appointments.config import AppointmentsConfig
from hotline.config_model import ConfigError, Strict, format_errors
from hotline.eligibility.config import EligibilityConfig
from hotline.knowledge.config import KnowledgeConfig
from hotline.reports.config import Cron, ReportsConfig
from hotline.sla.config import SlaConfig

__all__ = ["ConfigError", "Settings", "get_settings", "load_settings", "today_in"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "hotline.yaml"
ENV_PREFIX = "HOTLINE_"
ENV_NESTED_DELIMITER = "__"
# The documented short names (README, endpoints files, CI) and the HOTLINE_ name each stands for; when
# both are set the HOTLINE_ name wins.
ENV_ALIASES: dict[str, str] = {
    "DATABASE_URL": "HOTLINE_DATABASE_URL",
    "TELEGRAM_BOT_TOKEN": "HOTLINE_TELEGRAM_BOT_TOKEN",
    "ACTION_SERVER_PORT": "HOTLINE_ACTION_SERVER_PORT",
    "RASA_URL": "HOTLINE_RASA__URL",
    "TELEGRAM_BASE_URL": "HOTLINE_TELEGRAM__BASE_URL",
    "TELEGRAM_WEBHOOK_SECRET": "HOTLINE_TELEGRAM__WEBHOOK_SECRET",
}


class Centre(Strict):
    """A county-level legal aid centre (LAL Art 12) that takes over tickets for its county."""

    name: str
    address: str
    phone: str
    hours: str


class County(Strict):
    code: str = Field(pattern=r"^\d{6}$")
    name: str
    aliases: list[str] = []
    centre: Centre
    # Yearly case targets (民生工程目标任务), keyed by year.
    targets: dict[int, int] = {}


class City(Strict):
    name: str
    code: str = Field(pattern=r"^\d{6}$")
    ticket_prefix: str = Field(min_length=1, max_length=4)
    timezone: str = "Asia/Shanghai"
    hotline_phone: str = "12348"
    centre: Centre
    targets: dict[int, int] = {}


class RasaSettings(Strict):
    url: str = "http://127.0.0.1:5005"
    timeout_seconds: float = Field(default=15.0, gt=0)


class TelegramSettings(Strict):
    base_url: str = "https://api.telegram.org/bot"
    operators_chat_id: int | None = None
    supervisors_chat_id: int | None = None
    # County desks: county code → that county's operators' group. Its tickets' cards, citizen messages and
    # notices go there (and move when the ticket moves to another county); operators there act on that
    # county's tickets only. Counties not listed, and county-less tickets, stay in operators_chat_id, the
    # shared group, where city supervisors see and act on every ticket.
    county_chats: dict[str, int] = {}
    # The operators' desk: cards posted per sync tick (Telegram allows a bot ~20 messages a minute in a
    # group) and seconds between ticks (tickets are created by the action server, so the desk polls).
    desk_cards_per_tick: int = Field(default=3, ge=1)
    desk_sync_seconds: float = Field(default=10.0, gt=0)
    # Updates of different chats are processed concurrently (one chat's strictly in order); this bounds
    # how many are in flight at once in one gateway process.
    max_concurrent_updates: int = Field(default=64, ge=1)
    # Messages a second the whole bot may send (AIORateLimiter's overall limit; Telegram's broadcast limit
    # is about 30 a second per bot token, shared by all replicas). 0 turns the overall limit off.
    messages_per_second: float = Field(default=30.0, ge=0)
    # polling: one gateway per bot token (local default). webhook: Telegram POSTs updates to
    # `webhook_url`, so several gateway replicas behind a load balancer share one token.
    mode: Literal["polling", "webhook"] = "polling"
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_url_path: str = "telegram"
    webhook_url: str | None = None  # public URL Telegram posts to; default http://listen:port/url_path
    # Telegram sends it back in X-Telegram-Bot-Api-Secret-Token; a request without it is refused (403).
    webhook_secret: SecretStr | None = None

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramSettings:
        if self.mode == "webhook" and self.webhook_secret is None:
            raise ValueError("telegram.mode 为 webhook 时必须设置环境变量 TELEGRAM_WEBHOOK_SECRET")
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else None
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET 只能由 1-256 个字母、数字、_ 和 - 组成 (Telegram 的要求)"
            )
        return self


class GatewaySettings(Strict):
    retry_interval_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=20, ge=1)
    # How long a replica's claim on a message lasts (hotline.messages.claim): a replica that crashed
    # mid-turn holds its citizen's queue this long before another replica takes the message over. Must
    # exceed rasa.timeout_seconds, so a live replica's claim never expires while it waits for the engine.
    claim_ttl_seconds: float = Field(default=120.0, gt=0)


class PrivacySettings(Strict):
    """How long citizens' personal data is kept (PIPL Art 19: no longer than the purpose needs).

    A daily job (hotline.privacy.retention) anonymises message texts and attachment references and deletes
    idle engine conversations past these ages; tickets keep the fields reports count. `tracker_db_url` names
    the engine's SQL tracker store when it is not the default SQLite file ($RASA_TRACKER_DB).
    """

    message_retention_days: int = Field(default=365, ge=1)
    tracker_retention_days: int = Field(default=90, ge=1)
    attachment_retention_days: int = Field(default=365, ge=1)
    retention_hour: int = Field(default=3, ge=0, le=23)  # city time of the daily run
    retention_enabled: bool = True
    tracker_db_url: str | None = None


class BackupSettings(Strict):
    """`backup:` where backups go, how many days are kept, when one is taken (hotline.db.backup)."""

    dir: str = "var/backups"  # relative to the project root
    keep_daily: int = Field(default=14, ge=1)  # backups of the last N days (that have any) are kept
    scheduled: bool = True  # a daily backup by the scheduler's leader
    schedule: Cron = Cron(hour="2", minute="30")  # in the city's time zone
    pg_bin_dir: str | None = None  # where pg_dump/pg_restore are; found automatically when unset


class MetricsSettings(Strict):
    """`metrics:` the gateway's /metrics, /healthz and /readyz (hotline.observability); off without a port."""

    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=0, le=65535)


class LoggingSettings(Strict):
    """`logging:` each process's log file in `log_dir` is rotated by size (hotline.logging_setup)."""

    max_mb: int = Field(default=20, ge=1)
    backups: int = Field(default=5, ge=1)


class Settings(BaseSettings):
    """The validated deployment configuration; `Settings()` reads $HOTLINE_CONFIG and os.environ."""

    model_config = SettingsConfigDict(
        extra="forbid",  # the same strictness as hotline.config_model.Strict
        frozen=True,
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        env_ignore_empty=True,
        case_sensitive=False,
    )

    city: City
    counties: list[County] = Field(min_length=1)
    database_url: str = "sqlite:///var/hotline.db"
    transport: Literal["console", "telegram"] = "console"
    telegram_bot_token: str | None = None
    action_server_port: int = Field(default=5055, ge=1, le=65535)
    log_dir: str = "var/log"
    logging: LoggingSettings = LoggingSettings()
    rasa: RasaSettings = RasaSettings()
    telegram: TelegramSettings = TelegramSettings()
    gateway: GatewaySettings = GatewaySettings()
    eligibility: EligibilityConfig = EligibilityConfig()
    sla: SlaConfig = SlaConfig()
    reports: ReportsConfig = ReportsConfig()
    privacy: PrivacySettings = PrivacySettings()
    backup: BackupSettings = BackupSettings()
    metrics: MetricsSettings = MetricsSettings()
    knowledge: KnowledgeConfig = KnowledgeConfig()
    appointments: AppointmentsConfig = AppointmentsConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the environment, then the YAML file (no .env or secrets directory)."""
        return (init_settings, *_sources(settings_cls, _config_path(os.environ), os.environ))

    @model_validator(mode="before")
    @classmethod
    def _fill_sections(cls, data: Any) -> Any:
        """An empty section (`sla:` with nothing under it) means its defaults; SLA hours and report
        periods are in the city's time zone unless their own section says otherwise."""
        if not isinstance(data, dict):
            return data
        sections = {name for name, field in cls.model_fields.items() if _is_model(field.annotation)}
        data = {key: value for key, value in data.items() if not (value is None and key in sections)}
        city = data.get("city")
        timezone = city.get("timezone") if isinstance(city, dict) else getattr(city, "timezone", None)
        for section in ("sla", "reports"):
            raw = data.get(section, {})
            if timezone and isinstance(raw, dict) and "timezone" not in raw:
                data[section] = {**raw, "timezone": timezone}
        return data

    @property
    def county_names(self) -> dict[str, str]:
        """{county code: name} in the YAML's order: how reports, alerts and the desk name a county."""
        return {county.code: county.name for county in self.counties}

    @field_validator("counties")
    @classmethod
    def _unique_counties(cls, counties: list[County]) -> list[County]:
        seen: set[str] = set()
        for county in counties:
            for key in (county.code, county.name, *county.aliases):
                if key in seen:
                    raise ValueError(f"县区代码/名称/别名重复: {key}")
                seen.add(key)
        return counties

    @model_validator(mode="after")
    def _county_chats_known(self) -> Settings:
        chats = self.telegram.county_chats
        unknown = sorted(set(chats) - {c.code for c in self.counties})
        if unknown:
            raise ValueError(f"telegram.county_chats 含未配置的县区代码: {'、'.join(unknown)}")
        if chats and self.telegram.operators_chat_id is None:
            raise ValueError(
                "telegram.county_chats 需要同时设置 telegram.operators_chat_id（全市共用工作群）"
            )
        return self

    @model_validator(mode="after")
    def _appointment_centres_known(self) -> Settings:
        unknown = sorted(set(self.appointments.centres) - set(self.county_names))
        if unknown:
            raise ValueError(f"appointments.centres 中的县区代码不在 counties 中: {', '.join(unknown)}")
        return self

    @model_validator(mode="after")
    def _telegram_needs_token(self) -> Settings:
        if self.transport == "telegram" and not self.telegram_bot_token:
            raise ValueError("transport 为 telegram 时必须设置环境变量 TELEGRAM_BOT_TOKEN")
        return self

    @model_validator(mode="after")
    def _claim_outlasts_engine_timeout(self) -> Settings:
        if self.gateway.claim_ttl_seconds <= self.rasa.timeout_seconds:
            raise ValueError(
                "gateway.claim_ttl_seconds 必须大于 rasa.timeout_seconds"
                f" ({self.gateway.claim_ttl_seconds:g} <= {self.rasa.timeout_seconds:g})"
            )
        return self

    def county_by_name(self, text: str) -> County | None:
        """Resolve a county from its code, full name or an alias ("琅琊" → 琅琊区)."""
        for county in self.counties:
            if text in (county.code, county.name, *county.aliases):
                return county
        return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def canonical_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Non-empty variables with the documented short names added under their HOTLINE_ names.

    A bot token without an explicit transport means Telegram, whatever the YAML says: setting the secret
    is how an operator switches a console deployment to the real channel.
    """
    env = {key: value for key, value in environ.items() if value}
    for short, name in ENV_ALIASES.items():
        if short in env:
            env.setdefault(name, env[short])
    if env.get("HOTLINE_TELEGRAM_BOT_TOKEN") and "HOTLINE_TRANSPORT" not in env:
        env["HOTLINE_TRANSPORT"] = "telegram"
    return env


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (os.environ, or a test's dict)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ  # read by _load_env_vars, which the base __init__ calls
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {key.lower(): value for key, value in canonical_env(self._environ).items()}


class _YamlFile(YamlConfigSettingsSource):
    """pydantic-settings' YAML source, with our messages for a missing or malformed file."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        if not path.is_file():
            raise ConfigError(f"找不到配置文件 {path} (set HOTLINE_CONFIG)")
        super().__init__(settings_cls, yaml_file=path)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            data = super()._read_file(file_path)
        except yaml.YAMLError as exc:
            raise ConfigError(f"配置文件 {file_path} 不是合法的 YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"配置文件 {file_path} 顶层必须是映射 (mapping)")
        return data


def _config_path(environ: Mapping[str, str], path: str | Path | None = None) -> Path:
    return Path(path or environ.get("HOTLINE_CONFIG") or DEFAULT_CONFIG_PATH)


def _sources(
    settings_cls: type[BaseSettings], path: Path, environ: Mapping[str, str]
) -> tuple[PydanticBaseSettingsSource, ...]:
    return (_Environment(settings_cls, environ), _YamlFile(settings_cls, path))  # first wins


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, merge and validate; raise ConfigError naming the bad key."""
    env = os.environ if environ is None else environ
    config_path = _config_path(env, path)
    try:
        # `_build_sources` is BaseSettings' documented way to pass ready sources; mypy sees only the fields.
        return Settings(_build_sources=(_sources(Settings, config_path, env), {}))  # type: ignore[call-arg]
    except ValidationError as exc:
        raise ConfigError(format_errors(exc, f"{config_path} + 环境变量 {ENV_PREFIX}*")) from exc
    except SettingsError as exc:  # a nested variable that is not JSON, e.g. HOTLINE_SLA__HOLIDAYS=2027-01-01
        raise ConfigError(f"环境变量 {ENV_PREFIX}* 有误 (environment error): {exc}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def today_in(settings: Settings) -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(settings.city.timezone)).date()
