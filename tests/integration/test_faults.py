"""Faults in the middle of a form, the whole stack in Telegram mode (issue 14, "Faults" suite).

`python -m stack` (as `make run` in production: action server, engine and the gateway polling the local Bot
API server of tests/fakes) on a throwaway PostgreSQL when its binaries are installed (else SQLite: the
PostgreSQL test is then skipped). A citizen answers the form's questions by pressing buttons; in between:

- the gateway is killed with SIGKILL: the supervisor restarts it, the pending button press is answered, the
  form continues where it stopped and exactly one ticket comes out;
- the PostgreSQL server is restarted (fast shutdown, start again on the same port): the next answers are
  answered, no ticket is lost or duplicated.

The engine and action server are killed in tests/integration/test_hardening.py. Figures (seconds until the
next reply) print with `pytest -s`; they are in bench/RESULTS.md ("Faults").
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from hotline.db.migrate import upgrade
from hotline.db.models import Ticket
from hotline.db.session import get_engine, session_scope
from hotline.settings import DEFAULT_CONFIG_PATH, PROJECT_ROOT
from stack.background import wait_engine_ready, with_run_secrets
from stack.components import CURRENT_MODEL, RASA_BIN, StartError
from tests.fakes.bot_api_server import FakeBotApi
from tests.integration.conftest import Stack, free_port
from tests.integration.services import Postgres, missing_binaries
from tests.integration.test_hardening import RESTART_TIMEOUT, Supervised
from tests.integration.test_telegram_http import GROUP, TOKEN, last_id, texts

pytestmark = pytest.mark.integration

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
OPENER = "老板拖欠我三个月工资，我是凤阳县的"
# Buttons a wage-arrears citizen presses, whichever the form asks (the county may come from the opener).
ANSWERS = ("凤阳县", "是农民工", "能拿出", "还早")
SUBMIT = "对，提交"
QUESTIONS = ("哪个县", "农民工吗", "证明身份的材料", "期限还有几天")
TURN_TIMEOUT = 120.0  # one turn, including a restarted gateway's start-up, on 2 shared cores


@dataclass
class TelegramStack:
    supervised: Supervised
    api: FakeBotApi
    db_url: str
    pg: Postgres | None


def _postgres() -> Postgres | None:
    missing = missing_binaries()
    if any("postgres" in m for m in missing):
        if IN_CI:
            pytest.fail(f"needs {', '.join(missing)}: run `bash scripts/services.sh`")
        return None
    return Postgres().start()


@pytest.fixture(scope="module")
def telegram_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TelegramStack]:
    if not CURRENT_MODEL.exists() or not RASA_BIN.exists():
        pytest.fail("no trained model or engine venv: run `make test` (it sets up and trains first)")
    tmp = tmp_path_factory.mktemp("faults")
    pg = _postgres()
    db_url = pg.create_database("hotline") if pg else f"sqlite:///{tmp / 'app.db'}"
    api = FakeBotApi(token=TOKEN).start()
    proc: subprocess.Popen[bytes] | None = None
    try:
        upgrade(db_url)
        config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
        config["telegram"]["operators_chat_id"] = GROUP
        (tmp / "hotline.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        api.add_group(GROUP, "滁州12348工作群", members=[])
        rasa_port, action_port = free_port(), free_port()
        env = with_run_secrets(
            {
                **os.environ,
                "DATABASE_URL": db_url,
                "HOTLINE_CONFIG": str(tmp / "hotline.yaml"),
                "HOTLINE_LOG_DIR": str(tmp / "log"),
                "RASA_TRACKER_DB": str(tmp / "rasa_tracker.db"),
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_BASE_URL": api.base_url,
            }
        )
        env.pop("HOTLINE_TRANSPORT", None)
        out_path = tmp / "stack.out"
        with out_path.open("wb") as out:
            argv = ["--rasa-port", str(rasa_port), "--action-port", str(action_port)]
            proc = subprocess.Popen(
                [sys.executable, "-m", "stack", *argv, "--timeout", str(RESTART_TIMEOUT)],
                cwd=PROJECT_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        rasa_url = f"http://127.0.0.1:{rasa_port}"
        try:
            wait_engine_ready(rasa_url, proc, timeout=RESTART_TIMEOUT, token=env["RASA_AUTH_TOKEN"])
            api.wait_until(lambda: api.polling or proc.poll() is not None, TURN_TIMEOUT, "the first poll")
        except (StartError, TimeoutError) as exc:
            pytest.fail(f"{exc}:\n{out_path.read_text(errors='replace')[-3000:]}")
        assert api.polling, out_path.read_text(errors="replace")[-3000:]
        stack = Stack(rasa_url, f"http://127.0.0.1:{action_port}", action_port, db_url, env)
        yield TelegramStack(Supervised(stack, proc, out_path), api, db_url, pg)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        api.stop()
        get_engine(db_url).dispose()
        if pg is not None:
            pg.stop()


class Citizen:
    """One citizen in Telegram: says something or presses a button, waits for the bot's whole answer."""

    def __init__(self, ts: TelegramStack, chat: int) -> None:
        self.ts, self.api, self.chat = ts, ts.api, chat
        self.replies: list[dict[str, Any]] = []
        self.transcript: list[str] = []
        self.waits: list[float] = []

    @property
    def text(self) -> str:
        return texts(self.replies)

    @property
    def log(self) -> str:
        return "\n".join(self.transcript) + "\n--- stack ---\n" + self.ts.supervised.output()[-3000:]

    def _wait(self, before: int, what: str, t0: float) -> str:
        try:
            self.replies = self.api.wait_for_reply(self.chat, after=before, timeout=TURN_TIMEOUT)
        except TimeoutError:
            pytest.fail(f"no answer to {what!r}:\n{self.log}")
        self.waits.append(time.monotonic() - t0)
        self.transcript += [f"> {what}", self.text]
        return self.text

    def say(self, words: str) -> str:
        before, t0 = last_id(self.api, self.chat), time.monotonic()
        self.api.inject_text(self.chat, self.chat, words)
        return self._wait(before, words, t0)

    def next_button(self) -> str:
        keyboard = next((m for m in reversed(self.replies) if self.api.buttons(m)), None)
        assert keyboard is not None, self.log
        titles = self.api.buttons(keyboard)
        return next((t for t in (*ANSWERS, SUBMIT) if t in titles), f"none of {titles}")

    def press(self, title: str) -> str:
        keyboard = next((m for m in reversed(self.replies) if title in self.api.buttons(m)), None)
        assert keyboard is not None, f"no button {title!r}:\n{self.log}"
        before, t0 = last_id(self.api, self.chat), time.monotonic()
        self.api.press(self.chat, self.chat, keyboard["message_id"], title)
        return self._wait(before, f"[{title}]", t0)

    def question(self) -> str | None:
        return next((q for q in QUESTIONS if q in self.text), None)

    def answer_questions(self, n: int) -> list[str]:
        """Press the answers to the next `n` questions; returns the questions answered."""
        asked = []
        for _ in range(n):
            question = self.question()
            assert question is not None, f"no form question:\n{self.log}"
            asked.append(question)
            self.press(self.next_button())
        return asked

    def finish(self) -> str:
        """Answer the rest of the form, submit; the submit's reply."""
        for _ in range(len(QUESTIONS) + 1):
            if SUBMIT in [t for m in self.replies for t in self.api.buttons(m)]:
                return self.press(SUBMIT)
            self.answer_questions(1)
        pytest.fail(f"the form did not reach its summary:\n{self.log}")

    def tickets(self) -> list[Ticket]:
        with session_scope(self.ts.db_url) as session:
            rows = list(
                session.scalars(select(Ticket).where(Ticket.conversation_id == f"telegram-{self.chat}"))
            )
            session.expunge_all()
            return rows


def assert_form_continued(citizen: Citizen, answered: list[str], after_fault: str) -> None:
    """The first reply after the fault is the next step of the form: nothing answered is asked again."""
    assert "没太明白" not in after_fault, citizen.log
    assert not any(q in after_fault for q in answered), (answered, citizen.log)


def test_gateway_killed_mid_form_is_restarted_and_the_form_continues(telegram_stack: TelegramStack) -> None:
    citizen = Citizen(telegram_stack, 9101)
    assert "欠薪" in citizen.say(OPENER) or "工资" in citizen.text, citizen.log
    answered = citizen.answer_questions(2)
    assert citizen.question() is not None, citizen.log  # still in the middle of the form

    supervised = telegram_stack.supervised
    gateway = supervised.component_pid("-m bot")
    os.kill(gateway, signal.SIGKILL)
    supervised.wait_for_output("网关 (gateway) 意外退出 (exit -9)", 1)
    killed_at = time.monotonic()
    reply = citizen.press(citizen.next_button())  # pressed while the gateway is dead or starting again
    print(f"\ngateway kill -9: next answer {time.monotonic() - killed_at:.1f} s after the kill was seen")
    assert supervised.component_pid("-m bot") != gateway
    assert_form_continued(citizen, answered, reply)

    reply = citizen.finish()
    (ticket,) = citizen.tickets()
    assert ticket.number in reply and ticket.county_code == "341126", citizen.log
    assert "没太明白" not in "\n".join(citizen.transcript), citizen.log
    assert supervised.proc.poll() is None


def test_postgres_restarted_mid_form(telegram_stack: TelegramStack) -> None:
    pg = telegram_stack.pg
    if pg is None:
        pytest.skip("needs the PostgreSQL server binaries: run `bash scripts/services.sh`")
    citizen = Citizen(telegram_stack, 9102)
    citizen.say(OPENER)
    answered = citizen.answer_questions(1)
    assert citizen.question() is not None, citizen.log

    t0 = time.monotonic()
    pg.restart()
    print(f"\nPostgreSQL restarted in {time.monotonic() - t0:.1f} s")
    reply = citizen.press(citizen.next_button())
    print(f"first answer after the restart: {citizen.waits[-1]:.1f} s")
    assert_form_continued(citizen, answered, reply)
    reply = citizen.finish()
    (ticket,) = citizen.tickets()
    assert ticket.number in reply, citizen.log
    assert telegram_stack.supervised.proc.poll() is None


def test_postgres_down_while_the_citizen_answers(telegram_stack: TelegramStack) -> None:
    """The answer arrives while PostgreSQL is down (5 s): it is answered once the server is back."""
    pg = telegram_stack.pg
    if pg is None:
        pytest.skip("needs the PostgreSQL server binaries: run `bash scripts/services.sh`")
    citizen = Citizen(telegram_stack, 9103)
    citizen.say(OPENER)
    answered = citizen.answer_questions(1)
    title = citizen.next_button()
    keyboard = next(m for m in reversed(citizen.replies) if title in citizen.api.buttons(m))
    before = last_id(citizen.api, citizen.chat)

    def press_while_down() -> None:
        citizen.api.press(citizen.chat, citizen.chat, keyboard["message_id"], title)
        time.sleep(5)

    t0 = time.monotonic()
    pg.restart(while_down=press_while_down)
    reply = citizen._wait(before, f"[{title}] (PostgreSQL down)", t0)
    print(f"\nanswer pressed while PostgreSQL was down: replied {citizen.waits[-1]:.1f} s after the press")
    assert_form_continued(citizen, answered, reply)
    reply = citizen.finish()
    (ticket,) = citizen.tickets()
    assert ticket.number in reply, citizen.log
