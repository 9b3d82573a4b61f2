"""Multi-turn conversations through the real engine, action server and gateway (issue 4 dialog)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from bot.engine import RasaRestEngine
from bot.gateway import Gateway, Inbound
from bot.replies import Reply
from hotline.db.models import ReviewItem, Ticket
from hotline.db.session import session_scope
from hotline.tickets.service import NewTicket, create_ticket
from tests.integration.conftest import Stack

pytestmark = pytest.mark.integration

SUMMARY = "以上对吗"


class Chat:
    """One citizen talking to the bot through the gateway; remembers the last replies and their buttons."""

    def __init__(self, stack: Stack) -> None:
        self.gateway = Gateway(RasaRestEngine(stack.rasa_url), stack.db_url)
        self.user = uuid.uuid4().hex[:8]
        self.conversation_id = f"console-{self.user}"
        self.replies: list[Reply] = []
        self.transcript: list[str] = []

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    async def say(self, text: str, payload: str | None = None) -> str:
        self.replies = await self.gateway.handle(
            Inbound("console", self.user, uuid.uuid4().hex, text, payload)
        )
        self.transcript += [f"> {text}", self.text]
        return self.text

    async def click(self, title: str) -> str:
        buttons = [b for r in self.replies for b in r.buttons]
        button = next((b for b in buttons if b.title == title), None)
        assert button is not None, f"no button {title!r} in {[b.title for b in buttons]}\n{self.log}"
        return await self.say(button.title, button.payload)

    @property
    def log(self) -> str:
        return "\n".join(self.transcript)

    async def answer(self, answers: dict[str, str], until: str = SUMMARY, turns: int = 10) -> None:
        """Answer whatever is asked: {fragment of the question: button title, or "text:<free text>"}."""
        for _ in range(turns):
            if until in self.text:
                return
            key = next((k for k in answers if k in self.text), None)
            assert key is not None, f"unexpected question:\n{self.log}"
            value = answers[key]
            if value.startswith("text:"):
                await self.say(value[5:])
            else:
                await self.click(value)
        assert until in self.text, self.log

    def tickets(self, db_url: str) -> list[Ticket]:
        with session_scope(db_url) as s:
            rows = s.scalars(select(Ticket).where(Ticket.conversation_id == self.conversation_id)).all()
            s.expunge_all()
            return list(rows)


WAGE_ANSWERS = {
    "哪个县": "定远县",
    "农民工吗": "是农民工",
    "证明身份的材料": "能拿出",
    "期限还有几天": "还早",
}


async def test_wage_arrears_migrant_worker_with_proof(stack: Stack) -> None:
    chat = Chat(stack)
    assert "欠薪" in await chat.say("老板拖欠我三个月工资"), chat.log
    await chat.answer(WAGE_ANSWERS)
    assert "是否是农民工：是" in chat.text, chat.log
    reply = await chat.click("对，提交")
    assert "第四十二条" in reply and "定远县法律援助中心" in reply, chat.log
    assert "满意吗" in reply, chat.log
    (ticket,) = chat.tickets(stack.db_url)
    assert ticket.number in reply
    # short answer first (issue 11): verdict, ticket number and next step, then the details
    short, *details = chat.replies
    assert short.text.startswith("您可以申请法律援助") and ticket.number in short.text, chat.log
    assert "下一步" in short.text and len(short.text) < 200, chat.log
    assert "【请带上】" not in short.text and any("【请带上】" in r.text for r in details), chat.log
    assert ticket.eligibility_outcome == "HARDSHIP_DEEMED" and "LAL-42" in ticket.eligibility_articles
    assert ticket.migrant_worker and ticket.category == "wage_arrears" and ticket.county_code == "341125"
    assert ticket.facts["is_migrant_worker"] is True and ticket.priority == "normal"


async def test_low_rating_opens_a_review(stack: Stack) -> None:
    chat = Chat(stack)
    await chat.say("老板拖欠我三个月工资")
    await chat.answer(WAGE_ANSWERS)
    await chat.click("对，提交")
    await chat.click("1 很不满意")
    assert "意见或建议" in chat.text, chat.log
    reply = await chat.say("等了好久都没人理")
    assert "回访" in reply, chat.log
    (ticket,) = chat.tickets(stack.db_url)
    with session_scope(stack.db_url) as s:
        review = s.scalars(select(ReviewItem).where(ReviewItem.ticket_id == ticket.id)).one()
        assert review.reason == "low_rating"


async def test_criminal_case_of_a_sixteen_year_old(stack: Stack) -> None:
    chat = Chat(stack)
    assert "刑事" in await chat.say("我儿子被刑事拘留了，要开庭了没有律师"), chat.log
    await chat.answer(
        {
            "机关在办": "也是凤阳县",  # before "哪个县": the case question names a county too
            "哪个县": "凤阳县",
            "请律师了吗": "还没有",
            "多大": "text:16岁",
            "被关押了吗": "被关押了",
        }
    )
    assert "当事人年龄：16岁" in chat.text, chat.log
    reply = await chat.click("对，提交")
    assert "国家应当为当事人指派律师" in reply and "第二十五条" in reply, chat.log
    assert "现在转人工" in [b.title for r in chat.replies for b in r.buttons], chat.log
    (ticket,) = chat.tickets(stack.db_url)
    assert ticket.eligibility_outcome == "MANDATORY_APPOINTMENT" and ticket.minor
    assert ticket.priority == "urgent"  # detained


async def test_domestic_violence_in_progress_is_urgent_and_offers_a_human(stack: Stack) -> None:
    chat = Chat(stack)
    await chat.say("我老公天天打我")
    await chat.answer({"哪个县": "全椒县", "还在发生吗": "还在发生，不安全"})
    assert "110" in chat.log, chat.log
    await chat.click("对，提交")
    assert "紧急" in chat.text, chat.log
    (ticket,) = chat.tickets(stack.db_url)
    assert ticket.priority == "urgent" and ticket.eligibility_outcome == "ELIGIBLE_NO_HARDSHIP"
    reply = await chat.click("现在转人工")
    assert ticket.number in reply, chat.log
    (ticket,) = chat.tickets(stack.db_url)  # the same ticket goes to an operator, no second one
    assert ticket.handoff_requested


async def test_why_question_and_correction_in_the_form(stack: Stack) -> None:
    chat = Chat(stack)
    await chat.say("工地老板欠我工钱不给")
    await chat.answer({"哪个县": "明光市", "农民工吗": "不是"}, until="收入")
    reply = await chat.say("为什么要问收入？")
    assert "低保标准" in reply and "收入" in reply, chat.log
    await chat.answer({"收入": "text:每人一千二", "期限还有几天": "还早", "城镇还是农村": "农村"})
    await chat.click("要修改")
    assert "哪一项要改" in chat.text, chat.log
    reply = await chat.say("收入说错了，应该是一千五")
    assert SUMMARY in reply and "约1500元" in reply, chat.log


async def test_status_only_for_own_tickets(stack: Stack) -> None:
    chat = Chat(stack)
    with session_scope(stack.db_url) as s:
        mine, _ = create_ticket(
            s,
            NewTicket(
                "wage_arrears", conversation_id=chat.conversation_id, intake_key="t", county_code="341125"
            ),
            prefix="滁",
        )
        theirs, _ = create_ticket(
            s,
            NewTicket("minors", conversation_id="console-other", intake_key="t", county_code="341125"),
            prefix="滁",
        )
        mine_no, theirs_no = mine.number, theirs.number
    reply = await chat.say(f"查一下{mine_no}")
    assert mine_no in reply and "待受理" in reply and "定远县法律援助中心" in reply, chat.log
    reply = await chat.say(f"帮我查查{theirs_no}")
    assert "没有找到您名下的这个工单" in reply, chat.log


async def test_cancel_in_the_middle(stack: Stack) -> None:
    chat = Chat(stack)
    await chat.say("老板拖欠我工资")
    await chat.answer({"哪个县": "来安县"}, until="农民工吗")
    reply = await chat.say("算了不办了")
    assert "已经取消" in reply, chat.log
    assert chat.tickets(stack.db_url) == []


# --- issue 11: understanding real citizens --------------------------------------------------------

NOT_UNDERSTOOD = ("没太明白", "没完全明白", "没弄明白")
# utter_handoff in office hours, utter_handoff_after_hours outside them (the test runs at any hour)
HANDOFF = ("正在为您转接人工", "已为您转人工")


async def test_unplaceable_messages_reach_a_person_and_never_three_misses_in_a_row(stack: Stack) -> None:
    chat = Chat(stack)
    streak = longest = 0
    first_person: int | None = None
    for turn, message in enumerate(
        ["哎呀那个", "嗯嗯嗯", "就是那个啥", "呃呃", "asdf", "这个那个的", "哦", "唔", "啊？", "额额额"], 1
    ):
        reply = await chat.say(message)
        streak = streak + 1 if any(w in reply for w in NOT_UNDERSTOOD) else 0
        longest = max(longest, streak)
        if any(h in reply for h in HANDOFF) and first_person is None:
            first_person = turn
    assert longest <= 2, chat.log
    assert first_person is not None and first_person <= 3, chat.log
    tickets = chat.tickets(stack.db_url)
    assert tickets and all(t.handoff_requested for t in tickets), chat.log
    assert "哎呀那个" in tickets[0].description, chat.log  # the person sees what was said


async def test_a_story_behind_a_greeting_starts_the_intake(stack: Stack) -> None:
    chat = Chat(stack)
    reply = await chat.say("你好你好，请问一下，俺娃十三岁，被邻居家大人摸了，俺们想告他")
    assert "未成年人" in reply and "哪个县" in reply, chat.log
    assert not any(w in reply for w in NOT_UNDERSTOOD), chat.log


async def test_the_facts_of_an_opener_are_not_asked_again(stack: Stack) -> None:
    chat = Chat(stack)
    reply = await chat.say("我妈七十五岁了，三个儿子都不给赡养费，她一个人住在凤阳县农村，没有收入")
    assert "老年人" in reply, chat.log
    assert "哪个县" not in reply and "多大" not in reply, chat.log  # county and age come from the story
    await chat.answer(
        {
            "哪一类事情": "追讨抚养费、赡养费",
            "下面哪种情况": "没有固定生活来源",
            "证明身份的材料": "能拿出",
            "期限还有几天": "还早",
        }
    )
    summary = chat.text
    assert "凤阳县" in summary and "75岁" in summary, chat.log
    assert "收入大约多少元" not in chat.log and "您家住在城镇还是农村" not in chat.log, chat.log  # not asked
    assert "家庭每人每月收入：约0元" in summary and "住在城镇还是农村：农村" in summary, chat.log


async def test_an_amount_at_stake_is_not_the_income_and_no_miss_before_a_question(stack: Stack) -> None:
    chat = Chat(stack)
    reply = await chat.say("我眼睛看不见，网上买东西被骗了八千块，能帮我打官司吗")
    assert not any(w in reply for w in NOT_UNDERSTOOD), chat.log
    await chat.answer({"哪个县": "琅琊区"}, until="哪一类事情")
    # other legal problem (or a disabled person's): the matter question's last choice either way
    titles = [b.title for r in chat.replies for b in r.buttons]
    other = "其他" if "其他" in titles else "其他（合同、借钱、房子等）"
    await chat.answer({"哪一类事情": other, "期限还有几天": "还早"}, turns=8)
    assert "8000" not in chat.text, chat.log


async def test_a_new_problem_instead_of_the_county_switches_the_topic(stack: Stack) -> None:
    chat = Chat(stack)
    await chat.say("俺家孩子在学校叫同学打了")
    assert "哪个县" in chat.text, chat.log
    reply = await chat.say("还有个事，老板拖欠我三个月工资一直不给")
    assert "欠薪" in reply and "要换成这件事吗" in reply and "没太明白" not in reply, chat.log
    reply = await chat.click("换成这件事，已答的保留")
    assert "欠薪" in reply and "哪个县" in reply, chat.log
    await chat.answer(WAGE_ANSWERS)
    assert "欠薪" in chat.text and "是否是农民工：是" in chat.text, chat.log


async def test_a_new_problem_can_be_declined_and_the_form_goes_on(stack: Stack) -> None:
    chat = Chat(stack)
    await chat.say("老板拖欠我三个月工资")
    await chat.answer({"哪个县": "定远县"}, until="农民工吗")
    reply = await chat.say("对了，我老婆还要跟我离婚，孩子归谁")
    assert "要换成这件事吗" in reply, chat.log
    reply = await chat.click("不换，接着回答刚才的问题")
    assert "接着说刚才的事" in reply and "农民工吗" in reply, chat.log
    await chat.answer({"农民工吗": "是农民工", "证明身份的材料": "能拿出", "期限还有几天": "还早"})
    assert "所在县（市、区）：定远县" in chat.text, chat.log


# --- issue 12: Legal Aid Law Art 32 (no means test) and Art 38 (the competent centre) --------------


async def test_retrial_acquittal_state_compensation_is_not_means_tested(stack: Stack) -> None:
    chat = Chat(stack)
    await chat.say("我被冤枉坐了两年牢，去年再审判我无罪了，我想要国家赔偿")
    await chat.answer({"哪个县": "南谯区", "期限还有几天": "还早"})
    assert "收入" not in chat.log and "请律师了吗" not in chat.log, chat.log
    reply = await chat.click("对，提交")
    assert "不用审查家庭经济条件" in reply and "第三十二条" in reply, chat.log
    (ticket,) = chat.tickets(stack.db_url)
    assert ticket.eligibility_outcome == "ELIGIBLE_NO_HARDSHIP", chat.log
    assert ticket.eligibility_reasons[0]["rule"] == "ART32_RETRIAL_ACQUITTAL", chat.log


@pytest.mark.parametrize(
    ("button", "rule"),
    [
        ("英烈近亲属，维护烈士名誉", "ART32_MARTYR"),
        ("见义勇为受伤或受损失", "ART32_GOOD_SAMARITAN"),
        ("其他（合同、借钱、房子等）", "OUT_OF_SCOPE_MATTER"),
    ],
)
async def test_other_problems_are_asked_for_the_art32_situations(
    stack: Stack, button: str, rule: str
) -> None:
    chat = Chat(stack)
    await chat.say("邻居占了我家的路")
    await chat.answer({"哪个县": "全椒县", "哪一类事情": button, "期限还有几天": "还早"})
    await chat.click("对，提交")
    (ticket,) = chat.tickets(stack.db_url)
    assert ticket.eligibility_reasons[0]["rule"] == rule, chat.log
    assert "收入大约多少元" not in chat.log, chat.log


async def test_a_case_handled_in_another_county_goes_to_that_centre(stack: Stack) -> None:
    chat = Chat(stack)
    await chat.say("我儿子被刑事拘留了，要开庭了没有律师")
    await chat.answer(
        {
            "机关在办": "天长市",
            "哪个县": "定远县",
            "请律师了吗": "还没有",
            "多大": "text:16岁",
            "被关押了吗": "被关押了",
        }
    )
    assert "办案机关所在县（市、区）：天长市" in chat.text, chat.log
    reply = await chat.click("对，提交")
    assert "天长市法律援助中心" in reply, chat.log
    (ticket,) = chat.tickets(stack.db_url)
    assert ticket.county_code == "341181" and ticket.facts["case_organ_county"] == "天长市", chat.log
