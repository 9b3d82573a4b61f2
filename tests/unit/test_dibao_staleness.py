"""The 低保 table behind the means test: stale-data warnings (start-up, weekly summary, every report) and
`python -m hotline dibao add` (admin only, validated, audited, with its source)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from hotline.cli import main
from hotline.db.models import Operator, OperatorRole
from hotline.db.session import session_scope
from hotline.eligibility.config import EligibilityConfig
from hotline.eligibility.dibao import months_between, stale_warning
from hotline.eligibility.engine import decide
from hotline.eligibility.facts import Facts
from hotline.eligibility.rules import packaged_rules
from hotline.reports.periods import parse_period
from hotline.reports.service import produce_report, report_notes
from hotline.runtime import startup_checks
from hotline.settings import PROJECT_ROOT, Settings, load_settings

CONFIG = PROJECT_ROOT / "config" / "hotline.yaml"


def test_stale_after_more_than_13_months_and_the_threshold_is_configuration(settings: Settings) -> None:
    config = settings.eligibility  # newest row 2022-07-01
    assert months_between(dt.date(2022, 7, 1), dt.date(2023, 8, 1)) == 13
    assert months_between(dt.date(2022, 7, 1), dt.date(2023, 7, 31)) == 12
    assert stale_warning(config, dt.date(2023, 8, 31), 13) is None  # 13 months: not yet
    warning = stale_warning(config, dt.date(2023, 9, 1), 13)
    assert warning is not None and "2022年7月1日" in warning and "13个月" in warning
    assert stale_warning(config, dt.date(2026, 12, 6), 60) is None
    assert stale_warning(
        EligibilityConfig.model_validate({"means_test": {"dibao": []}}), dt.date(2026, 1, 1), 13
    )


def test_startup_logs_the_warning(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hotline.eligibility.dibao"):
        warnings = startup_checks(settings)
    assert len(warnings) == 1 and "低保标准" in warnings[0]
    assert any("低保标准" in r.getMessage() for r in caplog.records)
    fresh = settings.model_copy(
        update={"reports": settings.reports.model_copy(update={"dibao_stale_months": 600})}
    )
    assert startup_checks(fresh) == []


def test_every_report_and_the_weekly_summary_carry_the_warning(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    [note] = report_notes(settings, dt.date(2026, 12, 6))
    produced = produce_report(session, settings, parse_period("weekly", "2026-W48"), directory=tmp_path)
    assert produced.text.endswith(note)  # the text the supervisors' chat gets
    wb = load_workbook(next(p for p in produced.files if p.suffix == ".xlsx"))
    assert ("说明", note) in [tuple(r) for r in wb["汇总"].iter_rows(values_only=True)]
    annual = produce_report(
        session, settings, parse_period("annual", "2025"), directory=tmp_path, formats=("docx",)
    )
    from docx import Document

    text = "\n".join(p.text for p in Document(str(annual.files[0])).paragraphs)
    assert "低保标准最新一条自2022年7月1日起执行" in text


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "hotline.yaml"
    shutil.copyfile(CONFIG, config)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    monkeypatch.setenv("HOTLINE_LOG_DIR", str(tmp_path / "log"))
    with session_scope(db_url) as s:
        s.add(Operator(telegram_user_id=9001, name="管理员", role=OperatorRole.ADMIN, counties=[]))
        s.add(Operator(telegram_user_id=9002, name="监督", role=OperatorRole.SUPERVISOR, counties=[]))
    return config


def test_dibao_add_writes_the_row_with_its_source_and_audits_it(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = cli_env.read_text(encoding="utf-8")
    args = ["dibao", "add", "--from", "2026-07", "--urban", "850", "--rural", "830"]
    assert main([*args, "--source", "滁州市民政局2026-06-28通知", "--as-operator", "1"]) == 0
    assert "已添加：自2026-07-01起 城镇850元 农村830元" in capsys.readouterr().out
    after = cli_env.read_text(encoding="utf-8")
    assert after.startswith(before.split("      - {effective_from: 2022-07-01")[0])  # comments kept
    settings = load_settings(cli_env)
    newest = settings.eligibility.means_test.dibao[-1]
    assert (newest.effective_from, newest.urban, newest.rural) == (dt.date(2026, 7, 1), 850, 830)
    assert newest.source == "滁州市民政局2026-06-28通知"
    [record] = [
        json.loads(x) for x in (tmp_path / "log" / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert record["actor"] == "operator:1" and record["action"] == "dibao_add"
    assert record["row"]["source"] == "滁州市民政局2026-06-28通知"
    assert stale_warning(settings.eligibility, dt.date(2026, 12, 6), 13) is None
    # the means test uses the new row from its date on: 2 x 850 = 1700 for an urban household
    facts = Facts(matter_type="wage_arrears", household_income_per_capita_month=1600, residence="urban")
    rules = packaged_rules()
    assert decide(facts, rules, settings.eligibility, dt.date(2026, 8, 1)).outcome == "MEANS_TEST_PASSED"
    assert decide(facts, rules, settings.eligibility, dt.date(2026, 6, 1)).outcome == "MEANS_TEST_FAILED"
    assert main(["dibao", "list"]) == 0
    assert "2026-07-01  城镇850  农村830  滁州市民政局2026-06-28通知" in capsys.readouterr().out


def test_dibao_add_refuses_without_changing_anything(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = cli_env.read_text(encoding="utf-8")
    base = ["dibao", "add", "--source", "某通知"]
    assert main([*base, "--from", "2026-07", "--amount", "850", "--as-operator", "2"]) == 1
    assert "只有在岗的管理员" in capsys.readouterr().err
    assert main([*base, "--from", "2022-07", "--amount", "850", "--as-operator", "1"]) == 1
    assert "已有自2022-07-01起执行的低保标准" in capsys.readouterr().err
    assert main([*base, "--from", "2026-13", "--amount", "850", "--as-operator", "1"]) == 1
    assert "起始日期应为" in capsys.readouterr().err
    assert main([*base, "--from", "2026-07", "--amount", "-5", "--as-operator", "1"]) == 1
    assert "低保标准有误" in capsys.readouterr().err
    assert main([*base, "--from", "2026-07", "--urban", "850", "--as-operator", "1"]) == 1
    assert "--amount" in capsys.readouterr().err
    assert (
        main(["dibao", "add", "--from", "2026-07", "--amount", "850", "--source", " ", "--as-operator", "1"])
        == 1
    )
    assert "必须写明来源" in capsys.readouterr().err
    assert cli_env.read_text(encoding="utf-8") == before
    assert not (tmp_path / "log" / "audit.jsonl").exists()
