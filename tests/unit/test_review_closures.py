"""Follow-up (回访) review items closed by supervisors: service, `/reviews` + `/review_close` through the
real PTB handlers (fake Bot API), the CLI, and the 低分回访办结率 / time-to-close figures of the reports."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from telegram import Update

from bot.gateway import Gateway
from bot.transports.telegram import TelegramTransport
from hotline.cli import main
from hotline.db.models import Operator, OperatorRole, ReviewItem, Ticket, TicketEvent
from hotline.db.session import session_scope
from hotline.followup import FollowupError, close_review_by_id, review_lines
from hotline.reports.metrics import compute_metrics
from hotline.reports.periods import parse_period
from hotline.reports.summary_text import summary_text
from hotline.reports.xlsx import summary_rows
from hotline.settings import PROJECT_ROOT, Settings
from hotline.tickets.service import NewTicket, create_ticket
from tests.unit.conftest import FakeBotApi, telegram_settings
from tests.unit.reports_fixtures import utc
from tests.unit.test_gateway import FakeEngine
from tests.unit.test_supervisor_commands import BOSS, COUNTY_BOSS, STRANGER, SUPERVISORS, command

LANGYA, DINGYUAN = "341102", "341125"


def _item(session: Session, county: str, reason: str, opened: str, detail: str = "") -> ReviewItem:
    ticket, _ = create_ticket(
        session, NewTicket(category="wage_arrears", county_code=county), prefix="滁", now=utc(opened)
    )
    review = ReviewItem(ticket_id=ticket.id, reason=reason, detail=detail, created_at=utc(opened))
    session.add(review)
    session.flush()
    return review


def _operators(session: Session) -> None:
    session.add(Operator(id=1, telegram_user_id=501, name="王", role=OperatorRole.SUPERVISOR, counties=[]))
    session.add(
        Operator(id=2, telegram_user_id=502, name="李", role=OperatorRole.SUPERVISOR, counties=[DINGYUAN])
    )
    session.add(
        Operator(id=3, telegram_user_id=503, name="赵", role=OperatorRole.OPERATOR, counties=[DINGYUAN])
    )
    session.flush()


def test_close_by_id_records_outcome_in_audit_and_respects_counties(session: Session) -> None:
    langya = _item(session, LANGYA, "low_rating", "2026-11-23 09:00", "打了13912345678没人接")
    dingyuan = _item(session, DINGYUAN, "complaint", "2026-11-24 09:00")
    lines, total = review_lines(session, [DINGYUAN])
    assert total == 1 and [line.review_id for line in lines] == [dingyuan.id]
    city, _ = review_lines(session, None)
    assert [line.review_id for line in city] == [langya.id, dingyuan.id]  # oldest first
    assert "13912345678" not in city[0].detail  # masked for the chat
    with pytest.raises(FollowupError, match="找不到复核事项"):  # other county: as if it did not exist
        close_review_by_id(session, langya.id, "已回访", actor="operator:2", counties=[DINGYUAN])
    with pytest.raises(FollowupError, match="请填写回访结果"):
        close_review_by_id(session, langya.id, "  ", actor="operator:1")
    close_review_by_id(
        session, langya.id, "已电话回访，群众表示理解", actor="operator:1", now=utc("2026-11-24 10:00")
    )
    assert langya.status == "done" and langya.closed_at == utc("2026-11-24 10:00")
    event = session.scalars(select(TicketEvent).where(TicketEvent.kind == "review_done")).one()
    assert event.actor == "operator:1" and event.ticket_id == langya.ticket_id
    assert event.data == {"review_id": langya.id, "note": "", "outcome": "已电话回访，群众表示理解"}
    with pytest.raises(FollowupError, match="已办结"):
        close_review_by_id(session, langya.id, "再次回访", actor="operator:1")
    assert review_lines(session, None)[1] == 1


def test_report_low_rating_closure_rate_and_time_to_close(session: Session, settings: Settings) -> None:
    # November 2026: three low-rating items and one complaint opened.
    a = _item(session, LANGYA, "low_rating", "2026-11-02 09:00")
    b = _item(session, LANGYA, "low_rating", "2026-11-10 09:00")
    _item(session, DINGYUAN, "low_rating", "2026-11-20 09:00")  # still open
    c = _item(session, DINGYUAN, "complaint", "2026-11-21 09:00")
    close_review_by_id(session, a.id, "已回访", actor="operator:1", now=utc("2026-11-02 19:00"))  # 10 h
    close_review_by_id(session, c.id, "已回访", actor="operator:1", now=utc("2026-11-22 11:00"))  # 26 h
    close_review_by_id(session, b.id, "已回访", actor="operator:1", now=utc("2026-12-01 09:00"))  # December
    period = parse_period("monthly", "2026-11")
    m = compute_metrics(session, settings, period)
    rc = m.review_closure
    assert (rc.low_opened, rc.low_closed, rc.closed) == (3, 1, 2)
    assert rc.low_rate == pytest.approx(1 / 3)
    assert (rc.median_hours, rc.p90_hours) == (10.0, 26.0)
    text = summary_text(m, settings.county_names)
    assert "低分回访办结率33.3%（1/3件）" in text and "本期办结复核2件，用时中位10.0小时" in text
    rows = dict(summary_rows(m))
    assert rows["低分回访办结率"] == "33.3%" and rows["复核办结用时中位（小时）"] == 10.0
    # The county report sees only its items; December's report counts b's closing (no low item opened).
    county = compute_metrics(session, settings, period, [LANGYA]).review_closure
    assert (county.low_opened, county.low_closed) == (2, 1)
    december = compute_metrics(session, settings, parse_period("monthly", "2026-12")).review_closure
    assert december.low_rate is None and december.closed == 1 and december.median_hours == 21 * 24


async def test_reviews_and_review_close_in_supervisors_chat(settings: Settings) -> None:
    with session_scope(settings.database_url) as s:
        _operators(s)
        langya = _item(s, LANGYA, "low_rating", "2026-11-23 09:00", "没人回电话").id
        dingyuan = _item(s, DINGYUAN, "complaint", "2026-11-24 09:00", "态度不好").id
    s_tg = telegram_settings(settings, supervisors_chat_id=SUPERVISORS)
    api, engine = FakeBotApi(), FakeEngine()
    app = TelegramTransport(Gateway(engine, s_tg.database_url), s_tg, request=api).application

    async def say(user: dict[str, object], text: str, update_id: int) -> str:
        await app.process_update(Update.de_json(command(user, text, update_id), app.bot))
        return str(api.sent()[-1]["text"])

    async with app:
        assert await say(STRANGER, "/reviews", 1) == "只有登记的监督人员可以调取报告。"
        city = await say(BOSS, "/reviews", 2)
        assert city.startswith("待办回访复核事项（2）：")
        assert f"#{langya} 低分回访" in city and "琅琊区" in city and "没人回电话" in city
        assert f"#{dingyuan} 投诉" in city and "/review_close" in city
        county = await say(COUNTY_BOSS, "/reviews", 3)
        assert f"#{dingyuan} 投诉" in county and f"#{langya} " not in county
        assert await say(COUNTY_BOSS, f"/review_close {langya} 已回访", 4) == f"找不到复核事项 #{langya}"
        assert (await say(BOSS, "/review_close", 5)).startswith("用法：/review_close")
        done = await say(COUNTY_BOSS, f"/review_close {dingyuan} 已电话回访，群众表示理解", 6)
        assert done == f"✅ 复核事项 #{dingyuan} 已办结，回访结果已记入工单记录。"
        assert await say(COUNTY_BOSS, "/reviews", 7) == "没有待办的回访复核事项。"
    assert engine.seen == []
    with session_scope(settings.database_url) as s:
        event = s.scalars(select(TicketEvent).where(TicketEvent.kind == "review_done")).one()
        assert event.actor == "operator:2" and event.data["outcome"] == "已电话回访，群众表示理解"


def test_reviews_cli_list_and_close(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    with session_scope(db_url) as s:
        _operators(s)
        review = _item(s, DINGYUAN, "low_rating", "2026-11-23 09:00", "没人回电话").id
    assert main(["reviews", "list"]) == 0
    out = capsys.readouterr().out
    assert f"#{review}\t低分回访" in out and "定远县" in out and "待办复核事项共 1 件" in out
    assert main(["reviews", "close", str(review), "已回访", "--as-operator", "3"]) == 1
    assert "不是在岗的监督人员" in capsys.readouterr().err
    assert main(["reviews", "close", str(review), "已电话回访，已改进", "--as-operator", "2"]) == 0
    assert f"复核事项 #{review} 已办结" in capsys.readouterr().out
    assert main(["reviews", "close", str(review), "再次", "--as-operator", "1"]) == 1
    assert "已办结" in capsys.readouterr().err
    assert main(["reviews", "list"]) == 0
    assert "待办复核事项共 0 件" in capsys.readouterr().out
    with session_scope(db_url) as s:
        ticket = s.scalars(select(Ticket)).one()
        kinds = s.scalars(select(TicketEvent.actor).where(TicketEvent.ticket_id == ticket.id)).all()
        assert "operator:2" in kinds
