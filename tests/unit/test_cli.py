from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from hotline.cli import main
from hotline.settings import PROJECT_ROOT
from tests.unit.reports_fixtures import seed_year_2019


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    return db_url


def test_help_is_bilingual(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tickets", "import", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "受理日期 (created_at)" in out and "CSV" in out


def test_report_annual_from_cli(
    env: str, session: Session, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_year_2019(session)
    session.commit()
    assert main(["report", "annual", "--period", "2019", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "目标任务完成率107.5%" in out
    assert (tmp_path / "annual" / "2019" / "annual_2019_city_草稿.docx").exists()


def test_user_errors_are_chinese_without_traceback(
    env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "weekly", "--period", "2026-W99"]) == 1
    assert "无法识别的周报周期" in capsys.readouterr().err
    assert main(["report", "weekly", "--county", "火星县"]) == 1
    assert "未知县区：火星县" in capsys.readouterr().err
    assert main(["tickets", "show", "滁-00000000-0000"]) == 1
    assert "找不到工单" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("受理日期,县区,类别,案件类型\n2019-01-01,火星县,wage_arrears,民事\n", encoding="utf-8")
    assert main(["tickets", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "第2行【县区】未知县区：火星县" in err and "Traceback" not in err


def test_operators_and_visibility(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "受理日期,县区,类别,案件类型\n2026-11-02,琅琊,wage_arrears,民事\n2026-11-03,南谯,wage_arrears,民事\n",
        encoding="utf-8",
    )
    assert main(["tickets", "import", str(good)]) == 0
    assert main(["operators", "add", "--name", "张三", "--role", "operator", "--counties", "琅琊"]) == 0
    assert main(["operators", "add", "--name", "李四", "--role", "supervisor"]) == 0
    assert main(["operators", "add", "--name", "王五", "--role", "operator"]) == 1
    capsys.readouterr()
    assert main(["tickets", "list", "--as-operator", "1"]) == 0
    assert "共 1 件" in capsys.readouterr().out
    assert main(["tickets", "list", "--as-operator", "2"]) == 0
    assert "共 2 件" in capsys.readouterr().out
    assert main(["operators", "remove", "1"]) == 0
    assert main(["tickets", "list", "--as-operator", "1"]) == 1
    out_csv = tmp_path / "export.csv"
    assert (
        main(["tickets", "export", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out_csv)]) == 0
    )
    assert len(out_csv.read_text(encoding="utf-8-sig").splitlines()) == 3
