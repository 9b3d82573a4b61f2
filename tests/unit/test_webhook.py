"""Webhook mode: PTB's webhook server behind Telegram's secret token, tested over real HTTP.

The local Bot API server (tests/fakes) takes the bot's setWebhook and POSTs updates to it with the
X-Telegram-Bot-Api-Secret-Token header, as Telegram does; anyone else posting to the webhook is refused.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from bot.gateway import Gateway
from bot.transports.telegram import TelegramTransport
from hotline.settings import PROJECT_ROOT, ConfigError, Settings, load_settings
from tests.fakes.bot_api_server import FakeBotApi
from tests.unit.test_gateway import FakeEngine

TOKEN = "4242:unit-test"
CITIZEN = 1001
SECRET = "hook-Secret_42"
CONFIG = PROJECT_ROOT / "config" / "hotline.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi(token=TOKEN) as server:
        yield server


def webhook_settings(db_url: str, api: FakeBotApi, port: int) -> Settings:
    return load_settings(
        CONFIG,
        environ={
            "DATABASE_URL": db_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": api.base_url,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "HOTLINE_TELEGRAM__MODE": "webhook",
            "HOTLINE_TELEGRAM__WEBHOOK_PORT": str(port),
            "HOTLINE_TELEGRAM__WEBHOOK_URL_PATH": "/hook",
        },
    )


def test_polling_is_the_default_and_webhook_mode_refuses_to_start_without_a_secret(db_url: str) -> None:
    assert load_settings(CONFIG, environ={"DATABASE_URL": db_url}).telegram.mode == "polling"
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(CONFIG, environ={"DATABASE_URL": db_url, "HOTLINE_TELEGRAM__MODE": "webhook"})
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings(
            CONFIG,
            environ={
                "DATABASE_URL": db_url,
                "HOTLINE_TELEGRAM__MODE": "webhook",
                "TELEGRAM_WEBHOOK_SECRET": "not allowed!",
            },
        )


def test_the_secret_is_not_shown_in_the_settings(db_url: str, api: FakeBotApi) -> None:
    settings = webhook_settings(db_url, api, 8443)
    assert SECRET not in repr(settings)
    assert settings.telegram.webhook_secret is not None


async def test_webhook_answers_telegram_and_refuses_requests_without_the_secret(
    db_url: str, api: FakeBotApi
) -> None:
    port = free_port()
    settings = webhook_settings(db_url, api, port)
    engine = FakeEngine()
    transport = TelegramTransport(Gateway(engine, settings.database_url), settings)
    app = transport.application
    hook = f"http://127.0.0.1:{port}/hook"
    async with app:
        await app.start()
        await transport.start_receiving()
        try:
            assert api.webhook["url"] == hook and api.webhook["secret_token"] == SECRET
            said = api.inject_text(CITIZEN, CITIZEN, "老板拖欠我三个月工资")  # delivered with the secret
            answer = await asyncio.to_thread(api.wait_for_messages, CITIZEN, 1, 20, after=said)
            assert answer[0]["text"] == "答复:老板拖欠我三个月工资"

            forged = {
                "update_id": 999,
                "message": {
                    "message_id": 999,
                    "date": 0,
                    "chat": {"id": CITIZEN, "type": "private"},
                    "from": {"id": CITIZEN, "is_bot": False, "first_name": "假"},
                    "text": "伪造的消息",
                },
            }
            async with httpx.AsyncClient() as client:
                headers = {"Content-Type": "application/json"}
                missing = await client.post(hook, content=json.dumps(forged), headers=headers)
                wrong = await client.post(
                    hook,
                    content=json.dumps(forged),
                    headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "guess"},
                )
                right = await client.post(
                    hook,
                    content=json.dumps({"update_id": 1000}),  # no message: accepted, nothing to answer
                    headers={**headers, "X-Telegram-Bot-Api-Secret-Token": SECRET},
                )
            assert (missing.status_code, wrong.status_code, right.status_code) == (403, 403, 200)
            assert ("telegram-1001", "伪造的消息") not in engine.seen
        finally:
            assert app.updater is not None
            await app.updater.stop()
            await app.stop()
