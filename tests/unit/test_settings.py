from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hotline.settings import DEFAULT_CONFIG_PATH, ConfigError, load_settings


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
