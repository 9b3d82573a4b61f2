"""Deployment settings: one YAML file plus environment variables for secrets and endpoints.

Everything city-specific (counties, legal aid centres, targets, hardship thresholds, SLA hours) lives in
the YAML so a different justice bureau can deploy without touching code. Validation happens once at
start-up and fails with a message that names the offending key, because a half-valid config that
surfaces as a crash on the first citizen message is the worst kind of outage.
"""

from __future__ import annotations

import datetime as dt
import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "hotline.yaml"


class ConfigError(Exception):
    """Raised with a human-readable message naming the bad key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Centre(_Strict):
    """A county-level legal aid centre (LAL Art 12) that takes over tickets for its county."""

    name: str
    address: str
    phone: str
    hours: str


class County(_Strict):
    code: str = Field(pattern=r"^\d{6}$")
    name: str
    aliases: list[str] = []
    centre: Centre
    # Yearly case targets (民生工程目标任务), keyed by year.
    targets: dict[int, int] = {}


class City(_Strict):
    name: str
    code: str = Field(pattern=r"^\d{6}$")
    ticket_prefix: str = Field(min_length=1, max_length=4)
    timezone: str = "Asia/Shanghai"
    hotline_phone: str = "12348"
    centre: Centre
    targets: dict[int, int] = {}


class RasaSettings(_Strict):
    url: str = "http://127.0.0.1:5005"
    timeout_seconds: float = Field(default=15.0, gt=0)


class TelegramSettings(_Strict):
    base_url: str = "https://api.telegram.org/bot"
    operators_chat_id: int | None = None
    supervisors_chat_id: int | None = None
    # The operators' desk: cards posted per sync tick (Telegram allows a bot ~20 messages a minute in a
    # group) and seconds between ticks (tickets are created by the action server, so the desk polls).
    desk_cards_per_tick: int = Field(default=3, ge=1)
    desk_sync_seconds: float = Field(default=10.0, gt=0)


class GatewaySettings(_Strict):
    retry_interval_seconds: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=20, ge=1)


class Settings(_Strict):
    """The validated deployment configuration."""

    city: City
    counties: list[County] = Field(min_length=1)
    database_url: str = "sqlite:///var/hotline.db"
    transport: Literal["console", "telegram"] = "console"
    telegram_bot_token: str | None = None
    action_server_port: int = Field(default=5055, ge=1, le=65535)
    log_dir: str = "var/log"
    rasa: RasaSettings = RasaSettings()
    telegram: TelegramSettings = TelegramSettings()
    gateway: GatewaySettings = GatewaySettings()
    # Sections owned by feature packages; each package validates its own section into a typed model.
    eligibility: dict[str, Any] = {}
    sla: dict[str, Any] = {}
    reports: dict[str, Any] = {}

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
    def _telegram_needs_token(self) -> Settings:
        if self.transport == "telegram" and not self.telegram_bot_token:
            raise ValueError("transport 为 telegram 时必须设置环境变量 TELEGRAM_BOT_TOKEN")
        return self

    def county_by_name(self, text: str) -> County | None:
        """Resolve a county from its code, full name or an alias ("琅琊" → 琅琊区)."""
        for county in self.counties:
            if text in (county.code, county.name, *county.aliases):
                return county
        return None


# Environment variables override the YAML; secrets only ever come from here.
ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "DATABASE_URL": ("database_url",),
    "TELEGRAM_BOT_TOKEN": ("telegram_bot_token",),
    "HOTLINE_TRANSPORT": ("transport",),
    "RASA_URL": ("rasa", "url"),
    "TELEGRAM_BASE_URL": ("telegram", "base_url"),
    "ACTION_SERVER_PORT": ("action_server_port",),
    "HOTLINE_LOG_DIR": ("log_dir",),
}


def _apply_env(data: dict[str, Any], environ: os._Environ[str] | dict[str, str]) -> dict[str, Any]:
    for var, path in ENV_OVERRIDES.items():
        value = environ.get(var)
        if value in (None, ""):
            continue
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    if environ.get("TELEGRAM_BOT_TOKEN") and not environ.get("HOTLINE_TRANSPORT"):
        data["transport"] = "telegram"
    return data


def _format_error(exc: ValidationError, source: str) -> str:
    lines = [f"配置文件 {source} 有误 (configuration error):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "<根>"
        lines.append(f"  - {key}: {err['msg']}")
    return "\n".join(lines)


def load_settings(
    path: str | Path | None = None, environ: os._Environ[str] | dict[str, str] | None = None
) -> Settings:
    """Read, merge and validate; raise ConfigError naming the bad key."""
    env = os.environ if environ is None else environ
    config_path = Path(path or env.get("HOTLINE_CONFIG") or DEFAULT_CONFIG_PATH)
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"找不到配置文件 {config_path} (set HOTLINE_CONFIG)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"配置文件 {config_path} 不是合法的 YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"配置文件 {config_path} 顶层必须是映射 (mapping)")
    data = _apply_env(raw, env)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc, str(config_path))) from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def today_in(settings: Settings) -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(settings.city.timezone)).date()
