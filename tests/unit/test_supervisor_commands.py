"""/report in the supervisors' chat: access by role and county, same report files as the schedule."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update

from bot.gateway import Gateway
from bot.supervisors import ReportRequestError, allowed_counties, parse_request
from bot.transports.telegram import TelegramTransport
from hotline.db.models import Operator, OperatorRole
from hotline.db.session import session_scope
from hotline.settings import Settings
from hotline.tickets.service import NewTicket, create_ticket
from tests.unit.conftest import FakeBotApi, telegram_settings
from tests.unit.test_gateway import FakeEngine

SUPERVISORS = -100777
BOSS = {"id": 501, "is_bot": False, "first_name": "王"}
COUNTY_BOSS = {"id": 502, "is_bot": False, "first_name": "李"}
STRANGER = {"id": 503, "is_bot": False, "first_name": "赵"}


def test_parse_request(settings: Settings) -> None:
    today = dt.date(2026, 11, 30)
    assert parse_request(["周报"], settings, today) == ("weekly", None, None)
    assert parse_request(["月报", "2026-10", "定远"], settings, today) == ("monthly", "2026-10", "341125")
    with pytest.raises(ReportRequestError, match="用法"):
        parse_request(["日报"], settings, today)
    with pytest.raises(ReportRequestError, match="用法"):
        parse_request([], settings, today)


def add_operators(db_url: str) -> None:
    with session_scope(db_url) as s:
        s.add(Operator(telegram_user_id=501, name="王", role=OperatorRole.SUPERVISOR, counties=[]))
        s.add(Operator(telegram_user_id=502, name="李", role=OperatorRole.SUPERVISOR, counties=["341125"]))
        s.add(Operator(telegram_user_id=503, name="赵", role=OperatorRole.OPERATOR, counties=["341125"]))


def test_allowed_counties(db_url: str, sessions: sessionmaker[Session]) -> None:
    add_operators(db_url)
    assert allowed_counties(sessions, 501) is None
    assert allowed_counties(sessions, 502) == ["341125"]
    with pytest.raises(ReportRequestError, match="监督人员"):
        allowed_counties(sessions, 503)
    with pytest.raises(ReportRequestError, match="监督人员"):
        allowed_counties(sessions, 999)


def command(user: dict[str, object], text: str, update_id: int) -> dict[str, object]:
    chat = {"id": SUPERVISORS, "type": "supergroup", "title": "监督"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1764400000,
            "chat": chat,
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


async def test_report_command_in_supervisors_chat(settings: Settings, tmp_path: object) -> None:
    add_operators(settings.database_url)
    with session_scope(settings.database_url) as s:
        create_ticket(
            s,
            NewTicket(category="wage_arrears", county_code="341125"),
            prefix="滁",
            now=dt.datetime(2026, 11, 3, 2),
        )
    s_tg = telegram_settings(settings, supervisors_chat_id=SUPERVISORS).model_copy(
        update={"reports": settings.reports.model_copy(update={"out_dir": str(tmp_path)})}
    )
    api, engine = FakeBotApi(), FakeEngine()
    transport = TelegramTransport(Gateway(engine, s_tg.database_url), s_tg, request=api)
    app = transport.application
    async with app:
        await app.process_update(Update.de_json(command(STRANGER, "/report 月报 2026-11", 1), app.bot))
        assert api.sent()[-1]["text"] == "只有登记的监督人员可以调取报告。"
        await app.process_update(
            Update.de_json(command(COUNTY_BOSS, "/report 月报 2026-11 琅琊区", 2), app.bot)
        )
        assert api.sent()[-1]["text"] == "您只能调取本人负责县区的报告。"
        before = len(api.calls)
        await app.process_update(Update.de_json(command(BOSS, "/report 月报 2026-11", 3), app.bot))
        calls = api.calls[before:]
        texts = [p["text"] for e, p in calls if e == "sendMessage"]
        assert texts[0] == "正在生成报告，请稍候…"
        assert "2026年11月" in texts[1] and "新增工单1件" in texts[1] and "定远县1件" in texts[1]
        assert [e for e, _ in calls if e in ("sendPhoto", "sendDocument")] == ["sendPhoto", "sendDocument"]
        # the chart as a photo (inline on a phone), the workbook as a document
        assert engine.seen == []  # group commands never reach the dialog engine
