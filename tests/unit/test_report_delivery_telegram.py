"""Reports reach the supervisors' chat over real HTTP (tests/fakes/bot_api_server.py at the Bot API edge):
charts as photos (inline on a phone), workbooks and drafts as documents; the standalone scheduler
(`python -m hotline scheduler`) delivers through Telegram when a bot token is configured."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram import Update

from bot.gateway import Gateway
from bot.transports.telegram import TelegramTransport
from hotline.cli import main
from hotline.db.session import session_scope
from hotline.reports.bot_api import BotApiNotifier, _chunks
from hotline.reports.delivery import FileNotifier
from hotline.scheduler.runtime import default_notifier
from hotline.scheduler.service import SchedulerService
from hotline.settings import PROJECT_ROOT, load_settings
from hotline.tickets.service import NewTicket, create_ticket
from tests.fakes.bot_api_server import FakeBotApi
from tests.unit.test_gateway import FakeEngine
from tests.unit.test_supervisor_commands import BOSS, SUPERVISORS, add_operators, command

TOKEN = "4242:unit-test"
CONFIG = PROJECT_ROOT / "config" / "hotline.yaml"


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as server:
        server.add_group(SUPERVISORS, "监督人员", members=[501])
        yield server


def telegram_env(db_url: str, api: FakeBotApi, out: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "HOTLINE_CONFIG": str(CONFIG),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "HOTLINE_TELEGRAM__SUPERVISORS_CHAT_ID": str(SUPERVISORS),
        "HOTLINE_REPORTS__OUT_DIR": str(out),
        "HOTLINE_REPORTS__PER_COUNTY": "false",
    }


def _one_ticket(db_url: str) -> None:
    with session_scope(db_url) as s:
        create_ticket(
            s,
            NewTicket(category="wage_arrears", county_code="341125"),
            prefix="滁",
            now=dt.datetime(2026, 11, 3, 2),
        )


async def test_report_command_sends_the_chart_as_a_photo(
    db_url: str, api: FakeBotApi, tmp_path: Path
) -> None:
    add_operators(db_url)
    _one_ticket(db_url)
    settings = load_settings(CONFIG, environ=telegram_env(db_url, api, tmp_path))
    transport = TelegramTransport(Gateway(FakeEngine(), settings.database_url), settings)
    app = transport.application
    async with app:
        await app.process_update(Update.de_json(command(BOSS, "/report 月报 2026-11", 3), app.bot))
    photos = [c for c in api.calls_to("sendPhoto") if c.ok]
    documents = [c for c in api.calls_to("sendDocument") if c.ok]
    assert [c.params["caption"] for c in photos] == ["monthly_2026-11_city.png"]
    assert photos[0].result["photo"] and photos[0].result["chat"]["id"] == SUPERVISORS
    assert [c.params["caption"] for c in documents] == ["monthly_2026-11_city.xlsx"]


def test_default_notifier_is_telegram_only_with_a_token(db_url: str, api: FakeBotApi, tmp_path: Path) -> None:
    console = load_settings(CONFIG, environ={"DATABASE_URL": db_url})
    assert isinstance(default_notifier(console), FileNotifier)
    settings = load_settings(CONFIG, environ=telegram_env(db_url, api, tmp_path))
    assert isinstance(default_notifier(settings), BotApiNotifier)
    assert isinstance(SchedulerService(settings).runtime.notifier, BotApiNotifier)


def test_standalone_scheduler_delivers_through_telegram(
    db_url: str, api: FakeBotApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in telegram_env(db_url, api, tmp_path).items():
        monkeypatch.setenv(key, value)
    assert main(["scheduler", "--run-now", "weekly"]) == 0
    texts = [c for c in api.calls_to("sendMessage") if c.ok]
    assert len(texts) == 1 and texts[0].params["chat_id"] == SUPERVISORS
    assert "12348法律援助周报" in texts[0].params["text"]
    photos = [c for c in api.calls_to("sendPhoto") if c.ok]
    documents = [c for c in api.calls_to("sendDocument") if c.ok]
    assert len(photos) == 1 and photos[0].params["caption"].endswith("_city.png")
    assert len(documents) == 1 and documents[0].params["caption"].endswith("_city.xlsx")
    assert not (tmp_path / "outbox" / "outbox.jsonl").exists()  # nothing went to the file outbox


def test_chats_telegram_cannot_address_still_reach_the_outbox(
    db_url: str, api: FakeBotApi, tmp_path: Path
) -> None:
    notifier = BotApiNotifier(TOKEN, api.base_url, FileNotifier(tmp_path))
    notifier.send_text("supervisors", "周报")
    chart = tmp_path / "c.png"
    chart.write_bytes(b"not sent")
    notifier.send_file("supervisors", chart, "c.png")
    entries = [
        json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [e["type"] for e in entries] == ["text", "file"]
    assert api.calls_to("sendMessage") == [] and api.calls_to("sendPhoto") == []


def test_a_refused_delivery_raises_and_names_no_token(db_url: str, api: FakeBotApi, tmp_path: Path) -> None:
    from hotline.reports.bot_api import BotApiError

    notifier = BotApiNotifier(TOKEN, api.base_url, FileNotifier(tmp_path))
    with pytest.raises(BotApiError) as info:
        notifier.send_text("-100999", "周报")  # a chat the bot is not in
    assert "chat not found" in str(info.value) and TOKEN not in str(info.value)


def test_long_texts_are_split_at_line_ends() -> None:
    text = "\n".join(f"第{i}行" + "字" * 90 for i in range(100))
    parts = _chunks(text)
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
