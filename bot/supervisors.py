"""Supervisors' chat: reports on demand (`/report 周报 [期间] [县区]`), the same files as the schedule;
follow-up (回访) review items listed (`/reviews`) and closed with the callback's outcome (`/review_close`).

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
from telegram import Bot, Update
from telegram.ext import CommandHandler, ContextTypes, filters

from bot import strings
from hotline.db.models import Operator, OperatorRole
from hotline.followup import FollowupError, close_review_by_id, review_lines
from hotline.followup.texts import REASONS
from hotline.reports.delivery import sends_as_photo
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


REVIEWS_SHOWN = 20


async def send_report_file(bot: Bot, chat_id: int, path: Path, caption: str | None = None) -> None:
    """A chart as a photo (shown inline on a phone), a workbook or draft as a document.

    Used by `/report` and by the scheduler's deliveries through the gateway (bot/transports/telegram.py);
    the standalone scheduler applies the same rule (hotline/reports/bot_api.py).
    """
    with path.open("rb") as fh:
        if sends_as_photo(path):
            await bot.send_photo(chat_id, photo=fh, caption=caption or None)
        else:
            await bot.send_document(chat_id, document=fh, filename=path.name, caption=caption or None)


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
    return supervisor(sessions, telegram_user_id)[1]


def supervisor(sessions: sessionmaker[Session], telegram_user_id: int) -> tuple[int, list[str] | None]:
    """(operator id, counties or None for the whole city) of an active supervisor/admin; raises otherwise."""
    with sessions() as session:
        operator = session.scalar(
            select(Operator).where(Operator.telegram_user_id == telegram_user_id, Operator.active.is_(True))
        )
        if operator is None or OperatorRole(operator.role) not in (
            OperatorRole.SUPERVISOR,
            OperatorRole.ADMIN,
        ):
            raise ReportRequestError(strings.REPORT_NOT_ALLOWED)
        return operator.id, [str(c) for c in operator.counties] or None


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


def reviews_text(settings: Settings, sessions: sessionmaker[Session], telegram_user_id: int) -> str:
    """The `/reviews` answer: open review items in the supervisor's counties, oldest first."""
    _, counties = supervisor(sessions, telegram_user_id)
    tz = ZoneInfo(settings.city.timezone)
    with sessions() as session:
        lines, total = review_lines(session, counties, limit=REVIEWS_SHOWN)
    if not lines:
        return strings.REVIEWS_NONE
    names = settings.county_names
    out = [strings.REVIEWS_HEADER.format(count=total)]
    for line in lines:
        out.append(
            strings.REVIEWS_LINE.format(
                review_id=line.review_id,
                reason=REASONS.get(line.reason, line.reason),
                number=line.ticket_number,
                county=names.get(line.county_code or "", strings.DESK_NO_COUNTY),
                opened=line.created_at.replace(tzinfo=dt.UTC).astimezone(tz).strftime("%m-%d %H:%M"),
                detail=line.detail[:60] or "—",
            )
        )
    if total > len(lines):
        out.append(strings.DESK_TICKETS_MORE.format(limit=len(lines)))
    out.append(strings.REVIEWS_HINT)
    return "\n".join(out)


def close_review_text(sessions: sessionmaker[Session], telegram_user_id: int, args: list[str]) -> str:
    """The `/review_close 编号 结果` answer; the closing is audited on the review's ticket."""
    operator_id, counties = supervisor(sessions, telegram_user_id)
    number = args[0].lstrip("#") if args else ""
    if not number.isdigit() or len(args) < 2:
        return strings.REVIEW_CLOSE_USAGE
    try:
        with sessions.begin() as session:
            review = close_review_by_id(
                session, int(number), " ".join(args[1:]), actor=f"operator:{operator_id}", counties=counties
            )
            return strings.REVIEW_CLOSED.format(review_id=review.id)
    except FollowupError as exc:
        return str(exc)


class SupervisorCommands:
    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        self._settings = settings
        self._sessions = sessions
        chat = settings.telegram.supervisors_chat_id
        self._filter = filters.Chat(chat_id=chat) if chat is not None else filters.ChatType.PRIVATE

    def handlers(self) -> list[CommandHandler[ContextTypes.DEFAULT_TYPE, None]]:
        return [
            CommandHandler("report", self.report, filters=self._filter),
            CommandHandler("reviews", self.reviews, filters=self._filter),
            CommandHandler("review_close", self.review_close, filters=self._filter),
        ]

    async def reviews(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/reviews`: the open review items this supervisor may see, oldest first."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        try:
            text = await asyncio.to_thread(reviews_text, self._settings, self._sessions, user.id)
        except ReportRequestError as exc:
            text = str(exc)
        await context.bot.send_message(chat.id, text)

    async def review_close(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """`/review_close 编号 结果`: record the callback's outcome and close the item (audited)."""
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return
        try:
            text = await asyncio.to_thread(
                close_review_text, self._sessions, user.id, list(context.args or [])
            )
        except ReportRequestError as exc:
            text = str(exc)
        await context.bot.send_message(chat.id, text)

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
                await send_report_file(context.bot, chat.id, path, path.name)
