"""The bot in Telegram mode, talked to over real HTTP through a local Bot API server.

The stack fixture's engine and action server are reused; the gateway is started exactly as `make run` starts
it (`python -m bot`, Telegram chosen because TELEGRAM_BOT_TOKEN is set, TELEGRAM_BASE_URL pointing at
tests/fakes/bot_api_server.py), in its own process; only the embedded report scheduler is left out
(`--no-scheduler`), so no report lands in the work tree. The test plays the citizens and the operator through
the server and asserts on the HTTP calls the bot really made.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select, update

from bot import strings
from hotline.db.models import (
    OPEN_TICKET_STATUSES,
    CaseType,
    Operator,
    OperatorRole,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from hotline.db.session import session_scope
from hotline.settings import DEFAULT_CONFIG_PATH, PROJECT_ROOT
from tests.fakes.bot_api_server import FakeBotApi
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

TOKEN = "7000001:integration-test"
GROUP = -1001234567
OPERATOR = 7001  # 凤阳县 legal aid centre
SUPERVISOR = 7002  # city-wide: the only role that sees a ticket whose county is not known yet
FENGYANG = "341126"
OPENER = "你好你好，我是凤阳县的，老板拖欠我三个月工资一共一万二，能帮我吗"
# Buttons a wage-arrears citizen from 凤阳县 presses, whichever of them the dialog asks for.
ANSWERS = ("凤阳县", "是农民工", "能拿出", "还早", "对，提交")
TURN_TIMEOUT = 60.0


@dataclass(frozen=True)
class Telegram:
    api: FakeBotApi
    db_url: str
    gateway: subprocess.Popen[bytes]
    log: Path


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)  # python-telegram-bot stops polling cleanly on SIGINT
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@pytest.fixture(scope="module")
def telegram(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Telegram]:
    tmp = tmp_path_factory.mktemp("telegram")
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    config["telegram"]["operators_chat_id"] = GROUP
    (tmp / "hotline.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    with session_scope(stack.db_url) as session:
        # The session's database holds the open tickets of earlier integration tests (the soak alone opens
        # dozens). A new desk would post all their cards first, at Telegram's 20 messages a minute per group
        # (the rate limiter), before this test's ticket: close them, they belong to no one here.
        session.execute(
            update(Ticket).where(Ticket.status.in_(OPEN_TICKET_STATUSES)).values(status=TicketStatus.CLOSED)
        )
        session.add_all(
            [
                Operator(
                    telegram_user_id=OPERATOR,
                    name="凤阳值班员",
                    role=OperatorRole.OPERATOR,
                    counties=[FENGYANG],
                ),
                Operator(
                    telegram_user_id=SUPERVISOR, name="市局值班长", role=OperatorRole.SUPERVISOR, counties=[]
                ),
            ]
        )
    api = FakeBotApi(token=TOKEN).start()
    api.add_group(GROUP, "滁州12348工作群", members=[OPERATOR, SUPERVISOR])
    env = {
        **stack.env,
        "DATABASE_URL": stack.db_url,
        "RASA_URL": stack.rasa_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": api.base_url,
        "HOTLINE_CONFIG": str(tmp / "hotline.yaml"),
        "HOTLINE_LOG_DIR": str(tmp / "log"),
    }
    env.pop("HOTLINE_TRANSPORT", None)
    log = tmp / "gateway.out"
    with log.open("wb") as out:
        gateway = subprocess.Popen(
            [sys.executable, "-m", "bot", "--no-scheduler"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        with contextlib.suppress(TimeoutError):
            api.wait_until(lambda: api.polling or gateway.poll() is not None, 120, "the gateway's first poll")
        if not api.polling:
            pytest.fail(f"gateway did not start polling:\n{log.read_text(errors='replace')[-3000:]}")
        yield Telegram(api, stack.db_url, gateway, log)
    finally:
        _stop(gateway)
        api.stop()


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def last_id(api: FakeBotApi, chat: int) -> int:
    sent = api.bot_messages(chat)
    return int(sent[-1]["message_id"]) if sent else 0


def ticket_of(db_url: str, chat: int) -> Ticket | None:
    with session_scope(db_url) as session:
        return session.scalars(select(Ticket).where(Ticket.conversation_id == f"telegram-{chat}")).first()


def card_in_group(telegram: Telegram, number: str) -> dict[str, Any]:
    """The desk posts a card for every new ticket (polling the database every few seconds)."""
    api = telegram.api

    def find() -> dict[str, Any] | None:
        return next(
            (m for m in api.bot_messages(GROUP) if number in m.get("text", "") and api.buttons(m)), None
        )

    card: dict[str, Any] = api.wait_until(find, TURN_TIMEOUT, f"the card of {number}")
    return card


def assert_gateway_alive(telegram: Telegram) -> None:
    assert telegram.gateway.poll() is None, telegram.log.read_text(errors="replace")[-3000:]


def test_citizen_intake_operator_claim_and_reply(telegram: Telegram) -> None:
    api, citizen = telegram.api, 9001
    start = api.inject_text(citizen, citizen, "/start")
    assert texts(api.wait_for_reply(citizen, after=start, timeout=TURN_TIMEOUT)) == strings.TELEGRAM_START

    t0 = time.monotonic()
    said = api.inject_text(citizen, citizen, OPENER)
    first = api.wait_for_call(
        "sendMessage", TURN_TIMEOUT, lambda c: c.at > t0 and c.params["chat_id"] == citizen
    )
    print(f"\nfirst reply over HTTP (inject → sendMessage): {first.at - t0:.2f} s")
    replies = api.wait_for_reply(citizen, after=said, timeout=TURN_TIMEOUT)
    transcript = [f"> {OPENER}", texts(replies)]
    assert "欠薪" in texts(replies) or "工资" in texts(replies), transcript

    queries: list[str] = []
    for _ in range(len(ANSWERS) + 2):
        if (ticket := ticket_of(telegram.db_url, citizen)) is not None and ticket.number in transcript[-1]:
            break
        keyboard = next((m for m in reversed(replies) if api.buttons(m)), None)
        assert keyboard is not None, transcript
        title = next((t for t in ANSWERS if t in api.buttons(keyboard)), None)
        assert title is not None, (api.buttons(keyboard), transcript)
        before = last_id(api, citizen)
        queries.append(api.press(citizen, citizen, keyboard["message_id"], title))
        replies = api.wait_for_reply(citizen, after=before, timeout=TURN_TIMEOUT)
        transcript += [f"> [{title}]", texts(replies)]
    ticket = ticket_of(telegram.db_url, citizen)
    print("\n".join(transcript))
    assert ticket is not None, transcript
    number = ticket.number
    assert number in transcript[-1], transcript
    assert (ticket.category, ticket.county_code) == ("wage_arrears", FENGYANG), transcript
    # Every button press was acknowledged (the citizen's spinner stops), each exactly once.
    assert all(api.callback_answer(q) is not None for q in queries)
    answered = [c.params["callback_query_id"] for c in api.calls_to("answerCallbackQuery") if c.ok]
    assert sorted(set(queries) & set(answered)) == sorted(queries) and len(answered) == len(set(answered))
    to_citizen = [c for c in api.calls_to("sendMessage") if c.params.get("chat_id") == citizen]
    assert to_citizen and all(c.ok for c in to_citizen), [c.response for c in to_citizen if not c.ok]

    # The operators' group: the card, claimed with its button, then a reply to the card reaches the citizen.
    card = card_in_group(telegram, number)
    assert api.buttons(card)[0] == strings.DESK_BUTTON_CLAIM
    claim = api.press(GROUP, OPERATOR, card["message_id"], strings.DESK_BUTTON_CLAIM)
    answer = api.wait_until(lambda: api.callback_answer(claim), TURN_TIMEOUT, "the claim's answer")
    assert answer.get("text") == strings.DESK_CLAIMED.format(number=number)
    refreshed = api.wait_until(
        lambda: "edit_date" in (m := api.message(GROUP, card["message_id"])) and m, TURN_TIMEOUT, "card edit"
    )
    assert strings.DESK_BUTTON_CLAIM not in api.buttons(refreshed) and "凤阳值班员" in refreshed["text"]

    before = last_id(api, citizen)
    words = "您好，我是凤阳县法律援助中心的工作人员。请带上劳动合同、工资条或考勤记录来中心办理。"
    api.inject_text(GROUP, OPERATOR, words, reply_to=card["message_id"])
    relayed = api.wait_for_messages(citizen, 1, TURN_TIMEOUT, after=before)
    assert relayed[0]["text"] == strings.DESK_TO_CITIZEN.format(text=words)
    api.wait_for_call("setMessageReaction", TURN_TIMEOUT)
    with session_scope(telegram.db_url) as session:
        row = session.get_one(Ticket, ticket.id)
        events = [e.kind for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == row.id))]
        operator = session.scalars(select(Operator).where(Operator.telegram_user_id == OPERATOR)).one()
        assert row.assigned_operator_id == operator.id and row.first_response_at is not None, events
    assert_gateway_alive(telegram)


def test_citizen_asks_for_a_human(telegram: Telegram) -> None:
    api, citizen = telegram.api, 9002
    said = api.inject_text(citizen, citizen, "我要转人工")
    replies = api.wait_for_reply(citizen, after=said, timeout=TURN_TIMEOUT)
    ticket = ticket_of(telegram.db_url, citizen)
    assert ticket is not None and ticket.handoff_requested, texts(replies)
    number = ticket.number
    assert number in texts(replies)

    # While the ticket is with a human, the citizen's messages go to the group (masked), not to the bot.
    said = api.inject_text(citizen, citizen, "我在凤阳县，电话13812345678，老板一直不发工资")
    assert (
        texts(api.wait_for_reply(citizen, after=said, timeout=TURN_TIMEOUT)) == strings.FORWARDED_TO_OPERATOR
    )

    def relayed() -> dict[str, Any] | None:
        return next(
            (
                m
                for m in api.bot_messages(GROUP)
                if m.get("text", "").startswith("💬") and number in m["text"]
            ),
            None,
        )

    post = api.wait_until(relayed, TURN_TIMEOUT, "the relayed citizen message")
    assert "老板一直不发工资" in post["text"] and "13812345678" not in post["text"]
    # 转人工 before naming a county: the ticket has no county, so the city-wide supervisor answers.
    before = last_id(api, citizen)
    api.inject_text(GROUP, SUPERVISOR, "收到，我们今天会给您回电话。", reply_to=post["message_id"])
    answer = api.wait_for_messages(citizen, 1, TURN_TIMEOUT, after=before)
    assert answer[0]["text"] == strings.DESK_TO_CITIZEN.format(text="收到，我们今天会给您回电话。")
    assert_gateway_alive(telegram)


def test_general_question_answered_from_the_knowledge_base_and_resolved_by_the_bot(
    telegram: Telegram,
) -> None:
    """Issue 10 end to end over HTTP: a standard question gets the knowledge base's short answer with its
    article and "这个回答解决您的问题了吗？"; 解决了 closes the inquiry as bot-resolved (机器人独立办结)."""
    api, citizen = telegram.api, 9003
    said = api.inject_text(citizen, citizen, "劳动仲裁有没有时效")

    def asked() -> list[dict[str, Any]] | None:
        sent = api.bot_messages(citizen, said)
        return sent if any("这个回答解决您的问题了吗" in m.get("text", "") for m in sent) else None

    replies = api.wait_until(asked, TURN_TIMEOUT, "the knowledge-base answer and its question")
    transcript = texts(replies)
    assert "一年" in transcript and "劳动争议调解仲裁法" in transcript, transcript
    question = next(m for m in replies if "这个回答解决您的问题了吗" in m.get("text", ""))
    assert api.buttons(question) == ["解决了", "没解决，我想咨询自己的事"]
    assert ticket_of(telegram.db_url, citizen) is None  # nothing for an operator yet
    before = last_id(api, citizen)
    api.press(citizen, citizen, question["message_id"], "解决了")
    api.wait_for_reply(citizen, after=before, timeout=TURN_TIMEOUT)
    ticket = api.wait_until(
        lambda: ticket_of(telegram.db_url, citizen), TURN_TIMEOUT, "the bot-resolved inquiry"
    )
    assert ticket.status is TicketStatus.RESOLVED and ticket.facts.get("faq_id"), ticket.facts
    assert ticket.case_type is CaseType.CONSULTATION and not ticket.handoff_requested
    assert_gateway_alive(telegram)


def test_every_call_the_bot_made_was_well_formed(telegram: Telegram) -> None:
    """Over the whole module: no 4xx from the Bot API except the ones the bot expects and handles."""
    api = telegram.api
    assert api.calls_to("getMe") and api.calls_to("deleteWebhook")  # PTB's start-up, as against Telegram
    failed = [(c.method, c.status, c.response.get("description")) for c in api.calls if not c.ok]
    expected = re.compile(r"message is not modified")
    assert [f for f in failed if not expected.search(str(f[2]))] == []
