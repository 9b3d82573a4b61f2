"""Supervisors' chat: reports on demand (`/report 周报 [期间] [县区]`), the same files as the schedule.

Only registered supervisors/admins may ask, and a county-bound supervisor only gets their counties.
Report generation runs in a worker thread so the bot keeps answering citizens meanwhile.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import CommandHandler, ContextTypes, filters

from bot import strings
from hotline.db.models import Operator, OperatorRole
from hotline.reports.periods import Kind, PeriodError, last_complete, parse_period
from hotline.reports.service import produce_report
from hotline.settings import Settings

log = logging.getLogger(__name__)

KIND_WORDS: dict[str, Kind] = {
    "周报": "weekly",
    "weekly": "weekly",
    "月报": "monthly",
    "monthly": "monthly",
    "年报": "annual",
    "annual": "annual",
}


class ReportRequestError(Exception):
    """A supervisor's request we cannot serve; the message is Chinese."""


def parse_request(args: list[str], settings: Settings, today: dt.date) -> tuple[Kind, str | None, str | None]:
    """`周报 [2026-W47] [定远县]` → (kind, period key or None, county code or None)."""
    if not args or args[0].lower() not in KIND_WORDS:
        raise ReportRequestError(strings.REPORT_USAGE)
    kind = KIND_WORDS[args[0].lower()]
    period: str | None = None
    county: str | None = None
    for word in args[1:]:
        found = settings.county_by_name(word)
        if found is not None:
            county = found.code
        elif period is None:
            period = word
        else:
            raise ReportRequestError(strings.REPORT_USAGE)
    return kind, period, county


def allowed_counties(sessions: sessionmaker[Session], telegram_user_id: int) -> list[str] | None:
    """None: whole city; a list: only those counties. Raises if the user is not a supervisor."""
    with sessions() as session:
        operator = session.scalar(
            select(Operator).where(Operator.telegram_user_id == telegram_user_id, Operator.active.is_(True))
        )
        if operator is None or OperatorRole(operator.role) not in (
            OperatorRole.SUPERVISOR,
            OperatorRole.ADMIN,
        ):
            raise ReportRequestError(strings.REPORT_NOT_ALLOWED)
        return [str(c) for c in operator.counties] or None


def build_report(
    settings: Settings,
    sessions: sessionmaker[Session],
    kind: Kind,
    period_text: str | None,
    county: str | None,
    allowed: list[str] | None,
) -> tuple[str, list[Path]]:
    tz = settings.city.timezone
    try:
        period = (
            parse_period(kind, period_text, tz)
            if period_text
            else last_complete(kind, dt.datetime.now(ZoneInfo(tz)).date(), tz)
        )
    except PeriodError as exc:
        raise ReportRequestError(str(exc)) from exc
    if allowed is not None and county is None and len(allowed) == 1:
        county = allowed[0]
    if allowed is not None and county not in allowed:
        raise ReportRequestError(strings.REPORT_COUNTY_NOT_ALLOWED)
    with sessions.begin() as session:
        produced = produce_report(session, settings, period, [county] if county else None, None)
    return produced.text, [f for f in produced.files if f.exists()]


class SupervisorCommands:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self._settings = settings
        self._sessions = sessions
        chat = settings.telegram.supervisors_chat_id
        self._filter = filters.Chat(chat_id=chat) if chat is not None else filters.ChatType.PRIVATE

    def handlers(self) -> list[CommandHandler[ContextTypes.DEFAULT_TYPE, None]]:
        return [CommandHandler("report", self.report, filters=self._filter)]

    async def report(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        try:
            allowed = allowed_counties(self._sessions, user.id)
            today = dt.datetime.now(ZoneInfo(self._settings.city.timezone)).date()
            kind, period, county = parse_request(list(context.args or []), self._settings, today)
            await context.bot.send_message(chat.id, strings.REPORT_WORKING)
            text, files = await asyncio.to_thread(
                build_report, self._settings, self._sessions, kind, period, county, allowed
            )
        except ReportRequestError as exc:
            await context.bot.send_message(chat.id, str(exc))
            return
        await context.bot.send_message(chat.id, text)
        for path in files:
            if path.suffix in (".png", ".xlsx", ".docx"):
                with path.open("rb") as fh:
                    await context.bot.send_document(chat.id, document=fh, filename=path.name)
