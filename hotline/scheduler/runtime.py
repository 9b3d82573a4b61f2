"""What scheduled jobs need at run time (settings, database, notifier).

APScheduler's persistent job store pickles a job as a text reference plus arguments, so jobs cannot carry
live objects; the running SchedulerService installs them here before the first job fires.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hotline.db.session import get_sessionmaker
from hotline.reports.config import ReportsConfig
from hotline.reports.delivery import FileNotifier, Notifier
from hotline.reports.service import out_dir
from hotline.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    notifier: Notifier
    out_dir: Path | None = None

    @cached_property
    def config(self) -> ReportsConfig:
        return self.settings.reports

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return get_sessionmaker(self.settings.database_url)

    @property
    def reports_dir(self) -> Path:
        return self.out_dir or out_dir(self.settings)

    @property
    def supervisors_chat(self) -> str:
        chat = self.config.chat or self.settings.telegram.supervisors_chat_id
        return str(chat) if chat is not None else "supervisors"


_CURRENT: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _CURRENT
    _CURRENT = runtime


def current() -> Runtime:
    if _CURRENT is None:
        raise RuntimeError("调度器运行环境未初始化（SchedulerService 未启动）")
    return _CURRENT


def default_notifier(settings: Settings) -> Notifier:
    """Telegram when a bot token is configured (transport telegram), else the file outbox.

    The standalone `python -m hotline scheduler` and `report --deliver` use this; the gateway passes its
    own notifier (its python-telegram-bot Application) and this one only as the fallback. Chats Telegram
    cannot address (no supervisors' chat id configured, citizens' conversations) still reach the outbox.
    """
    outbox = FileNotifier(out_dir(settings) / "outbox")
    if settings.transport == "telegram" and settings.telegram_bot_token:
        from hotline.reports.bot_api import BotApiNotifier

        return BotApiNotifier(settings.telegram_bot_token, settings.telegram.base_url, outbox)
    return outbox
