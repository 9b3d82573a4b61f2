from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.eligibility import EligibilityConfig
from hotline.settings import DEFAULT_CONFIG_PATH, ConfigError, Settings, load_settings
from hotline.sla import SlaConfig


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def base() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    return data


def test_default_config_is_valid_and_complete() -> None:
    s = load_settings(DEFAULT_CONFIG_PATH, environ={})
    assert s.transport == "console"
    assert s.database_url.startswith("sqlite")
    assert len(s.counties) == 8
    assert sum(c.targets[2019] for c in s.counties) == 6290  # the seed report's yearly target


def test_env_overrides_yaml_and_token_switches_transport() -> None:
    s = load_settings(
        DEFAULT_CONFIG_PATH,
        environ={
            "DATABASE_URL": "postgresql://u@h/db",
            "TELEGRAM_BOT_TOKEN": "1:abc",
            "RASA_URL": "http://x:1",
        },
    )
    assert s.database_url == "postgresql://u@h/db"
    assert s.transport == "telegram"
    assert s.rasa.url == "http://x:1"


def test_unknown_key_is_named(tmp_path: Path) -> None:
    data = base()
    data["rasa"]["urll"] = "typo"
    with pytest.raises(ConfigError, match=r"rasa\.urll"):
        load_settings(write(tmp_path, data), environ={})


def test_bad_value_is_named(tmp_path: Path) -> None:
    data = base()
    data["counties"][2]["code"] = "12"
    with pytest.raises(ConfigError, match=r"counties\.2\.code"):
        load_settings(write(tmp_path, data), environ={})


def test_bad_env_value_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="action_server_port"):
        load_settings(DEFAULT_CONFIG_PATH, environ={"ACTION_SERVER_PORT": "notaport"})


def test_duplicate_county_alias_rejected(tmp_path: Path) -> None:
    data = base()
    data["counties"][1]["aliases"] = ["琅琊"]
    with pytest.raises(ConfigError, match="重复"):
        load_settings(write(tmp_path, data), environ={})


def test_telegram_transport_requires_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        load_settings(DEFAULT_CONFIG_PATH, environ={"HOTLINE_TRANSPORT": "telegram"})


def test_claim_ttl_must_outlast_the_engine_timeout() -> None:
    """A live replica's claim expiring while it waits for the engine would let a second replica resend."""
    with pytest.raises(ConfigError, match="claim_ttl_seconds"):
        load_settings(
            DEFAULT_CONFIG_PATH,
            environ={"HOTLINE_GATEWAY__CLAIM_TTL_SECONDS": "10", "HOTLINE_RASA__TIMEOUT_SECONDS": "15"},
        )
    s = load_settings(DEFAULT_CONFIG_PATH, environ={"HOTLINE_GATEWAY__CLAIM_TTL_SECONDS": "25"})
    assert s.gateway.claim_ttl_seconds == 25


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="找不到配置文件"):
        load_settings(tmp_path / "nope.yaml", environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("city: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="YAML"):
        load_settings(bad, environ={})


def test_county_lookup_by_code_name_alias() -> None:
    s = load_settings(DEFAULT_CONFIG_PATH, environ={})
    assert s.county_by_name("定远").name == "定远县"  # type: ignore[union-attr]
    assert s.county_by_name("341181").name == "天长市"  # type: ignore[union-attr]
    assert s.county_by_name("北京") is None


# ------------------------------------------------------------------------------------ feature sections


def test_config_errors_name_the_key(tmp_path: Path) -> None:
    data = base()
    data["eligibility"]["means_test"]["comparator"] = "≤"
    with pytest.raises(ConfigError, match=r"eligibility\.means_test\.comparator"):
        load_settings(write(tmp_path, data), environ={})
    data = base()
    data["eligibility"]["typo"] = 1
    with pytest.raises(ConfigError, match=r"eligibility\.typo"):
        load_settings(write(tmp_path, data), environ={})
    data = base()
    data["eligibility"]["means_test"]["dibao"] *= 2
    with pytest.raises(ConfigError, match="unique"):
        load_settings(write(tmp_path, data), environ={})


def test_sla_and_reports_are_checked_at_start_up(tmp_path: Path) -> None:
    data = base()
    data["sla"]["work_hours"] = [["12:00", "08:00"]]
    with pytest.raises(ConfigError, match=r"sla\.work_hours"):
        load_settings(write(tmp_path, data), environ={})
    data = base()
    data["sla"]["targets"]["wage_arrears"]["urgent"]["first_response_hours"] = 0
    with pytest.raises(ConfigError, match=r"sla\.targets\.wage_arrears\.urgent\.first_response_hours"):
        load_settings(write(tmp_path, data), environ={})
    data = base()
    data["reports"]["weekly"]["hourr"] = "8"
    with pytest.raises(ConfigError, match=r"reports\.weekly\.hourr"):
        load_settings(write(tmp_path, data), environ={})


def test_sections_are_typed_and_follow_the_city_time_zone(tmp_path: Path) -> None:
    s = load_settings(DEFAULT_CONFIG_PATH, environ={})
    assert s.eligibility.means_test.multiplier == 2
    assert s.sla.target_for("domestic_violence", "normal").first_response_hours == 1
    assert s.reports.weekly.fields() == {"day_of_week": "mon", "hour": "8", "minute": "30"}
    data = base()
    data["city"]["timezone"] = "Asia/Urumqi"
    data["reports"]["timezone"] = "Asia/Shanghai"
    s = load_settings(write(tmp_path, data), environ={})
    assert (s.sla.timezone, s.reports.timezone) == ("Asia/Urumqi", "Asia/Shanghai")


def test_empty_sections_take_their_defaults(tmp_path: Path) -> None:
    data = base()
    for section in ("eligibility", "sla", "reports", "rasa"):
        data[section] = None
    s = load_settings(write(tmp_path, data), environ={})
    assert s.eligibility == EligibilityConfig()
    assert s.sla.work_hours == SlaConfig().work_hours and s.sla.timezone == "Asia/Shanghai"
    assert s.reports.out_dir == "var/reports"
    assert s.rasa.url == "http://127.0.0.1:5005"


def test_county_names_in_yaml_order() -> None:
    s = load_settings(DEFAULT_CONFIG_PATH, environ={})
    assert list(s.county_names.items())[:2] == [("341102", "琅琊区"), ("341103", "南谯区")]
    assert len(s.county_names) == 8 and s.county_names["341181"] == "天长市"


# ------------------------------------------------------------------------------------ environment


def test_nested_env_overrides_one_key_and_keeps_the_rest() -> None:
    s = load_settings(
        DEFAULT_CONFIG_PATH,
        environ={
            "HOTLINE_RASA__TIMEOUT_SECONDS": "30",
            "HOTLINE_ELIGIBILITY__MEANS_TEST__MULTIPLIER": "3",
            "HOTLINE_REPORTS__PER_COUNTY": "false",
            "HOTLINE_SLA__HOLIDAYS": '["2027-01-01"]',
            "HOTLINE_TELEGRAM__OPERATORS_CHAT_ID": "-1001",
        },
    )
    assert s.rasa.timeout_seconds == 30 and s.rasa.url == "http://127.0.0.1:5005"
    assert s.eligibility.means_test.multiplier == 3 and s.eligibility.means_test.comparator == "<"
    assert s.reports.per_county is False and s.reports.out_dir == "var/reports"
    assert [d.isoformat() for d in s.sla.holidays] == ["2027-01-01"]
    assert s.telegram.operators_chat_id == -1001


def test_bad_nested_env_key_and_value_are_named() -> None:
    with pytest.raises(ConfigError, match=r"rasa\.urll"):
        load_settings(DEFAULT_CONFIG_PATH, environ={"HOTLINE_RASA__URLL": "http://x:1"})
    with pytest.raises(ConfigError, match=r"eligibility\.means_test\.multiplier"):
        load_settings(DEFAULT_CONFIG_PATH, environ={"HOTLINE_ELIGIBILITY__MEANS_TEST__MULTIPLIER": "-1"})


def test_env_value_that_is_not_json_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match='"sla"'):
        load_settings(DEFAULT_CONFIG_PATH, environ={"HOTLINE_SLA__HOLIDAYS": "2027-01-01"})


def test_documented_short_names_are_aliases_and_hotline_names_win() -> None:
    short = {
        "DATABASE_URL": "postgresql://u@h/db",
        "ACTION_SERVER_PORT": "6000",
        "RASA_URL": "http://x:1",
        "TELEGRAM_BASE_URL": "http://fake/bot",
        "HOTLINE_TRANSPORT": "console",
        "HOTLINE_LOG_DIR": "/tmp/log",
    }
    s = load_settings(DEFAULT_CONFIG_PATH, environ=short)
    assert (s.database_url, s.action_server_port, s.rasa.url) == ("postgresql://u@h/db", 6000, "http://x:1")
    assert (s.telegram.base_url, s.transport, s.log_dir) == ("http://fake/bot", "console", "/tmp/log")
    s = load_settings(
        DEFAULT_CONFIG_PATH,
        environ={**short, "HOTLINE_DATABASE_URL": "sqlite:///x.db", "HOTLINE_RASA__URL": "http://y:2"},
    )
    assert (s.database_url, s.rasa.url) == ("sqlite:///x.db", "http://y:2")


def test_token_switches_transport_unless_transport_is_set() -> None:
    assert (
        load_settings(DEFAULT_CONFIG_PATH, environ={"HOTLINE_TELEGRAM_BOT_TOKEN": "1:a"}).transport
        == "telegram"
    )
    s = load_settings(
        DEFAULT_CONFIG_PATH, environ={"TELEGRAM_BOT_TOKEN": "1:a", "HOTLINE_TRANSPORT": "console"}
    )
    assert s.transport == "console" and s.telegram_bot_token == "1:a"


def test_empty_env_values_and_other_hotline_variables_are_ignored() -> None:
    s = load_settings(
        DEFAULT_CONFIG_PATH,
        environ={"DATABASE_URL": "", "TELEGRAM_BOT_TOKEN": "", "HOTLINE_MODEL_CACHE": "/tmp/models"},
    )
    assert s.database_url == "sqlite:///var/hotline.db" and s.transport == "console"


def test_settings_reads_process_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data = base()
    data["city"]["ticket_prefix"] = "测"
    monkeypatch.setenv("HOTLINE_CONFIG", str(write(tmp_path, data)))
    monkeypatch.setenv("RASA_URL", "http://env:9")
    assert load_settings().city.ticket_prefix == "测"
    s = Settings()  # type: ignore[call-arg]
    assert (s.city.ticket_prefix, s.rasa.url) == ("测", "http://env:9")
