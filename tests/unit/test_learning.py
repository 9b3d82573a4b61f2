"""The NLU inbox (issue 11): a category correction on the desk or in the CLI, a citizen's button choice, the
supervisor's review and the export to a Rasa training file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.intake import ActionStartIntake
from actions.learning import clarified_message
from bench.nlu_eval.data import LoadReport, load_nlu_dir
from bot import strings
from hotline.categories import INTAKE_CATEGORIES
from hotline.cli import main
from hotline.db.models import NluExample, Operator, OperatorRole, Ticket
from hotline.db.session import session_scope
from hotline.learning import inbox
from hotline.learning.training_data import known_examples
from hotline.settings import PROJECT_ROOT, Settings
from hotline.tickets import lifecycle
from hotline.tickets.service import TicketError
from tests.unit.test_desk import GROUP_ID, OPS, Desk, events, make_ticket, operators, ticket

__all__ = ["operators"]  # the fixture, shared with test_desk
STORY = "俺在工地上摔断了腿，老板不给报销，俺的电话13812345678"
MASKED = "俺在工地上摔断了腿，老板不给报销，俺的电话138****5678"


def examples(db: str) -> list[NluExample]:
    with session_scope(db) as s:
        return list(s.scalars(select(NluExample).order_by(NluExample.id)))


def supervisor(db: str) -> Operator:
    with session_scope(db) as s:
        return s.scalars(select(Operator).where(Operator.role == OperatorRole.SUPERVISOR)).one()


# ---- the service ---------------------------------------------------------------------------------------


def test_correction_is_audited_and_kept_masked_once(settings: Settings, operators: dict[str, int]) -> None:
    db = settings.database_url
    ticket_id, _ = make_ticket(settings, description=STORY)
    with session_scope(db) as s:
        t, op = s.get_one(Ticket, ticket_id), s.get_one(Operator, operators["dingyuan"])
        assert lifecycle.set_category(s, t, op, "工伤", settings.county_names) == "wage_arrears"
    with session_scope(db) as s:
        t, op = s.get_one(Ticket, ticket_id), s.get_one(Operator, operators["dingyuan"])
        with pytest.raises(TicketError, match="类别已是工伤"):
            lifecycle.set_category(s, t, op, "work_injury", settings.county_names)
        with pytest.raises(TicketError, match="未知类别：火星"):
            lifecycle.set_category(s, t, op, "火星", settings.county_names)
        with pytest.raises(TicketError, match="未知类别：权益"):  # three labels contain it: ambiguous
            lifecycle.set_category(s, t, op, "权益", settings.county_names)
        other = s.get_one(Operator, operators["langya"])
        with pytest.raises(TicketError, match="您无权处理"):
            lifecycle.set_category(s, t, other, "婚姻家庭", settings.county_names)
    assert ticket(db, ticket_id).category == "work_injury"
    assert (
        "category_set",
        f"operator:{operators['dingyuan']}",
        None,
        {"from": "wage_arrears", "to": "work_injury"},
    ) in events(db, ticket_id)
    [kept] = examples(db)
    assert (kept.text, kept.intent, kept.previous_intent, kept.source, kept.status, kept.ticket_id) == (
        MASKED,
        "work_injury",
        "wage_arrears",
        "operator_correction",
        "pending",
        ticket_id,
    )


def test_nothing_to_learn_from_payloads_empty_text_or_non_legal_categories(db_url: str) -> None:
    with session_scope(db_url) as s:
        assert (
            inbox.record_example(s, "/wage_arrears", "wage_arrears", "citizen_choice", actor="citizen")
            is None
        )
        assert inbox.record_example(s, "  ", "minors", "citizen_choice", actor="citizen") is None
        assert inbox.record_example(s, "我要投诉", "complaint", "citizen_choice", actor="citizen") is None
        first = inbox.record_example(s, "孩子被打了\n怎么办", "minors", "citizen_choice", actor="citizen")
        assert first is not None and first.text == "孩子被打了 怎么办"
        assert (
            inbox.record_example(s, "孩子被打了 怎么办", "minors", "citizen_choice", actor="citizen") is None
        )
        odd = inbox.record_example(s, "[合同](x) 纠纷", "other_legal", "citizen_choice", actor="citizen")
        assert odd is not None and odd.text == "［合同］(x) 纠纷"  # never read as an entity annotation


def test_review_and_export(settings: Settings, operators: dict[str, int], tmp_path: Path) -> None:
    db = settings.database_url
    ticket_id, _ = make_ticket(settings, description=STORY)
    with session_scope(db) as s:
        t = s.get_one(Ticket, ticket_id)
        kept = [
            inbox.record_example(s, text, intent, "citizen_choice", actor="citizen")
            for text, intent in (("俺娘八十了没人管", "elderly"), ("房子漏水物业不管", "other_legal"))
        ]
        corrected = inbox.record_example(
            s, STORY, "work_injury", "operator_correction", actor="operator:1", ticket=t
        )
        ids = [e.id for e in (*kept, corrected) if e is not None]
    boss = supervisor(db)
    with session_scope(db) as s:
        inbox.review(s, ids[0], True, boss)
        inbox.review(s, ids[1], False, boss)
        inbox.review(s, ids[2], True, boss)
        with pytest.raises(inbox.InboxError, match="已审核"):
            inbox.review(s, ids[1], True, boss)
        with pytest.raises(inbox.InboxError, match="#999"):
            inbox.review(s, 999, True, boss)
        assert inbox.pending(s) == []
    assert (
        "nlu_example_reviewed",
        f"operator:{boss.id}",
        None,
        {"example_id": ids[2], "intent": "work_injury", "status": "approved"},
    ) in events(db, ticket_id)
    out = tmp_path / "nlu" / "learned" / "examples.yml"
    with session_scope(db) as s:
        done = inbox.export(s, out, known={"俺娘八十了没人管": "elderly"})  # already hand-written
    assert (done.written, done.skipped) == (1, 1)
    doc = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert doc["version"] == "3.1" and [b["intent"] for b in doc["nlu"]] == ["work_injury"]
    loaded = load_nlu_dir(tmp_path / "nlu", LoadReport())  # read the way Rasa reads it
    assert [(e.text, e.intent) for e in loaded] == [(MASKED, "work_injury")]
    with session_scope(db) as s:  # nothing new to export: no file, so the model's inputs stay the same
        assert (
            inbox.export(
                s, tmp_path / "never.yml", known={"俺娘八十了没人管": "elderly", MASKED: "x"}
            ).written
            == 0
        )
    assert not (tmp_path / "never.yml").exists()


def test_known_examples_reads_the_training_data() -> None:
    known = known_examples()
    assert len(known) > 1000 and set(known.values()) >= set(INTAKE_CATEGORIES)
    assert not any("](" in text for text in known)  # entity markup stripped


# ---- the CLI -------------------------------------------------------------------------------------------


def test_category_review_and_export_from_the_cli(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(PROJECT_ROOT / "config" / "hotline.yaml"))
    assert main(["operators", "add", "--name", "赵六", "--role", "operator", "--counties", "定远"]) == 0
    assert main(["operators", "add", "--name", "李四", "--role", "supervisor"]) == 0
    _, number = make_ticket(settings, description=STORY)
    capsys.readouterr()

    def run(*argv: str) -> tuple[int, str]:
        code = main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    assert run("tickets", "category", number, "工伤", "--operator", "1") == (
        0,
        f"工单 {number} 的类别已更正为工伤，已记入待审核学习样本。\n",
    )
    code, out = run("nlu", "review")
    assert code == 0 and "#1\t工作人员更正\t工伤\t(原判：欠薪及劳动报酬)" in out and MASKED in out
    assert "13812345678" not in out and "待审核学习样本共 1 条" in out
    code, out = run("nlu", "review", "--approve", "1", "--as-operator", "1")
    assert code == 1 and "不是在岗的监督人员" in out
    assert run("nlu", "review", "--approve", "1", "--as-operator", "2") == (0, "学习样本 #1 已采纳（李四）\n")
    target = tmp_path / "learned.yml"
    code, out = run("nlu", "export", "--out", str(target))
    assert code == 0 and "已导出 1 条" in out
    assert MASKED in target.read_text(encoding="utf-8")


# ---- the desk ------------------------------------------------------------------------------------------


async def test_category_command_on_the_desk(settings: Settings, operators: dict[str, int]) -> None:
    db = settings.database_url
    ticket_id, number = make_ticket(settings, description=STORY)
    async with Desk(settings, first_id=3000) as desk:
        await desk.group_text(OPS["dingyuan"], f"/category {number}")
        assert desk.api.to(GROUP_ID)[-1]["text"] == strings.DESK_CATEGORY_USAGE
        await desk.group_text(OPS["langya"], f"/category {number} 工伤")
        assert "您无权处理" in desk.api.to(GROUP_ID)[-1]["text"]
        await desk.group_text(OPS["dingyuan"], f"/category {number} 工伤")
        assert desk.api.to(GROUP_ID)[-1]["text"] == strings.DESK_CATEGORY_SET.format(
            number=number, category="工伤", previous="欠薪及劳动报酬"
        )
    assert ticket(db, ticket_id).category == "work_injury"
    assert [(e.intent, e.source, e.text) for e in examples(db)] == [
        ("work_injury", "operator_correction", MASKED)
    ]


# ---- the citizen's choice (action server) -------------------------------------------------------------


def tracker_after_buttons(first: str, tap: str, between: tuple[str, ...] = ("action_fallback",)) -> Tracker:
    """A citizen wrote `first`, the bot ran `between`, then the citizen sent `tap`."""
    latest = {"text": tap, "intent": {"name": tap.lstrip("/"), "confidence": 1.0}, "entities": []}
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": first, "parse_data": {"intent": {"name": "nlu_fallback"}}},
        *({"event": "action", "name": name} for name in between),
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": tap, "parse_data": latest},
    ]
    return Tracker("telegram-1001", {}, latest, events, False, None, {}, "action_listen")


def test_clarified_message_only_right_after_the_buttons() -> None:
    assert clarified_message(tracker_after_buttons("俺娃被打了", "/minors")) == ("俺娃被打了", "nlu_fallback")
    assert clarified_message(tracker_after_buttons("俺娃被打了", "/minors", between=("utter_greet",))) is None
    assert clarified_message(tracker_after_buttons("俺娃被打了", "孩子被打了")) is None  # typed, not tapped
    assert clarified_message(tracker_after_buttons("/greet", "/minors")) is None


@pytest.mark.usefixtures("env_settings")
def test_a_tap_on_a_clarification_button_is_kept_and_becomes_the_description(db_url: str) -> None:
    dispatcher = CollectingDispatcher()
    tap = tracker_after_buttons("俺娃在学校被高年级的打了，电话13812345678", "/minors")
    result = asyncio.run(ActionStartIntake().run(dispatcher, tap, {}))
    slots = {e["name"]: e["value"] for e in result if e.get("event") == "slot"}
    assert slots["category"] == "minors" and slots["description"].startswith("俺娃在学校被高年级的打了")
    [kept] = examples(db_url)
    assert (kept.text, kept.intent, kept.source, kept.conversation_id) == (
        "俺娃在学校被高年级的打了，电话138****5678",
        "minors",
        "citizen_choice",
        "telegram-1001",
    )


# ---- personal data ---------------------------------------------------------------------------------------


def test_erasure_of_a_citizen_deletes_their_examples(settings: Settings, operators: dict[str, int]) -> None:
    import datetime as dt

    from hotline.privacy.erasure import erase_citizen

    db = settings.database_url
    ticket_id, _ = make_ticket(settings, description=STORY)
    with session_scope(db) as s:
        t = s.get_one(Ticket, ticket_id)
        lifecycle.set_category(
            s, t, s.get_one(Operator, operators["dingyuan"]), "工伤", settings.county_names
        )
        inbox.record_example(
            s, "俺娃被打了", "minors", "citizen_choice", actor="citizen", conversation_id="telegram-1001"
        )
        inbox.record_example(
            s, "别人家的事", "minors", "citizen_choice", actor="citizen", conversation_id="telegram-7"
        )
        admin = Operator(name="管理员", role=OperatorRole.ADMIN, counties=[])
        s.add(admin)
        s.flush()
        erase_citizen(s, "telegram:1001", admin, dt.datetime(2030, 1, 1))
    assert [e.conversation_id for e in examples(db)] == ["telegram-7"]
