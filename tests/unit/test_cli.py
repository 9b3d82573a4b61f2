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


def _bot_ticket(db_url: str, key: str, county: str | None, description: str = "") -> str:
    """A ticket as the bot opens it (no SLA clock passed: due times come from the configuration)."""
    from hotline.db.session import session_scope
    from hotline.tickets.service import NewTicket, create_ticket

    with session_scope(db_url) as s:
        ticket, _ = create_ticket(
            s,
            NewTicket(
                category="wage_arrears",
                conversation_id=f"telegram-{key}",
                intake_key=key,
                county_code=county,
                description=description,
            ),
            prefix="滁",
        )
        assert ticket.first_response_due is not None and ticket.resolution_due is not None
        return ticket.number


def _events(db_url: str, number: str) -> list[tuple[str, str | None]]:
    from hotline.db.models import Ticket, TicketEvent
    from hotline.db.session import session_scope

    with session_scope(db_url) as s:
        ticket = s.query(Ticket).filter(Ticket.number == number).one()
        return [
            (e.kind, e.to_status) for e in s.query(TicketEvent).filter(TicketEvent.ticket_id == ticket.id)
        ]


def test_ticket_lifecycle_from_the_cli(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    """The same lifecycle functions as the desk, as an operator whose counties apply (issue 12)."""
    assert main(["operators", "add", "--name", "张三", "--role", "operator", "--counties", "琅琊"]) == 0
    assert main(["operators", "add", "--name", "李四", "--role", "supervisor"]) == 0
    assert main(["operators", "add", "--name", "赵六", "--role", "operator", "--counties", "定远"]) == 0
    langya = _bot_ticket(env, "1", "341102", "电话13812345678")
    dingyuan = _bot_ticket(env, "2", "341125")
    nowhere = _bot_ticket(env, "3", None)
    capsys.readouterr()

    def run(*argv: str) -> tuple[int, str]:
        code = main(["tickets", *argv])
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    # county authorisation: 张三 (琅琊) may not act on 定远's ticket, whatever the command
    for argv in (
        ["wait", dingyuan],
        ["close", dingyuan, "已解答咨询"],
        ["reopen", dingyuan],
        ["cancel", dingyuan, "重复"],
        ["refer", dingyuan, "法院"],
        ["unclaim", dingyuan],
        ["assign", dingyuan, "赵六"],
        ["county", dingyuan, "琅琊"],
    ):
        code, out = run(*argv, "--operator", "1")
        assert code == 1 and f"工单 {dingyuan} 属于定远县，您无权处理" in out, argv
    assert _events(env, dingyuan) == [("created", "new")]

    assert run("wait", langya, "--operator", "1", "--note", "等劳动合同") == (
        0,
        f"工单 {langya} 已设为等待市民补充，时限暂停。\n",
    )
    code, out = run("close", langya, "胡写", "--operator", "1")
    assert code == 1 and "未知结案结果：胡写" in out
    assert run("close", langya, "已指派律师", "--operator", "1")[0] == 0
    code, out = run("wait", langya, "--operator", "1")
    assert code == 1 and "当前为「已关闭」，不能设为等待市民补充" in out
    assert run("reopen", langya, "--operator", "1")[0] == 0
    code, out = run("refer", langya, "妇联", "--operator", "1")
    assert code == 0 and "12338" in out
    statuses = [s for k, s in _events(env, langya) if k == "status"]
    assert statuses == ["waiting_citizen", "resolved", "closed", "reopened", "referred"]
    # the county-less ticket: 赵六 may give it his county, then assign and unclaim work for him
    code, out = run("county", nowhere, "琅琊", "--operator", "3")
    assert code == 1 and "本人负责的县区" in out
    assert run("county", nowhere, "定远", "--operator", "3") == (0, f"工单 {nowhere} 已归定远县。\n")
    assert run("assign", nowhere, "赵六", "--operator", "2")[0] == 0
    assert run("unclaim", nowhere, "--operator", "3")[0] == 0
    assert run("cancel", nowhere, "骚扰", "--operator", "3")[0] == 0
    kinds = [k for k, _ in _events(env, nowhere)]
    assert kinds[:1] == ["created"] and {
        "county_set",
        "assigned",
        "reassigned",
        "unassigned",
        "cancel_reason",
    } <= set(kinds)

    # search: only what the operator may see
    code, out = run("find", "--phone-tail", "5678", "--as-operator", "1")
    assert code == 0 and langya in out and "共 1 件" in out
    code, out = run("find", "--phone-tail", "5678", "--as-operator", "3")
    assert code == 0 and "共 0 件" in out
    code, out = run("find", "--status", "cancelled", "--county", "定远")
    assert nowhere in out and "共 1 件" in out
    code, out = run("find", "--number", dingyuan[-4:], "--from", "2000-01-01", "--category", "wage_arrears")
    assert dingyuan in out
    code, out = run("find", "--from", "2026-13-01")
    assert code == 1 and "日期格式" in out
