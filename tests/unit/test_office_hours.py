"""Out of office hours: when a person will answer, on the business calendar (holidays, make-up days), and the
handoff reply that says so."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from actions.handoff import ActionRequestHuman
from hotline.db.models import Ticket
from hotline.db.session import session_scope
from hotline.sla.calendar import BusinessCalendar
from hotline.sla.config import SlaConfig
from hotline.sla.office_hours import after_hours_opening, describe, next_opening
from tests.unit.reports_fixtures import utc
from tests.unit.test_actions_intake import run, tracker

CONFIG = SlaConfig()  # 08:30–12:00, 14:30–17:30 on working days, Asia/Shanghai

# (local time in Chuzhou, what the citizen is told; None = a person is at the desk now)
CASES = [
    ("2026-12-02 10:00", None),  # Wednesday morning
    ("2026-12-02 14:30", None),  # the afternoon window opens
    ("2026-12-02 12:30", "今天下午2:30"),  # lunch break
    ("2026-12-02 06:00", "今天上午8:30"),  # early morning
    ("2026-12-02 17:30", "明天（12月3日，星期四）上午8:30"),  # the window is half-open: 17:30 is closed
    ("2026-12-04 19:00", "12月7日（星期一）上午8:30"),  # Friday evening → Monday
    ("2026-12-05 10:00", "12月7日（星期一）上午8:30"),  # Saturday
    ("2026-09-30 18:00", "10月8日（星期四）上午8:30"),  # National Day 2026: 1–7 October off
    ("2026-02-14 09:00", None),  # Saturday, but a make-up working day before the Spring Festival
    ("2026-02-13 18:00", "明天（2月14日，星期六）上午8:30"),  # … so Friday evening is answered on Saturday
    ("2026-02-14 18:00", "2月24日（星期二）上午8:30"),  # Spring Festival 15–23 February
]


@pytest.mark.parametrize(("local", "expected"), CASES)
def test_after_hours_opening(local: str, expected: str | None) -> None:
    with freeze_time(utc(local)):
        assert after_hours_opening(CONFIG) == expected


def test_next_opening_is_pure_and_uses_the_configured_windows() -> None:
    calendar = BusinessCalendar(windows=[(dt.time(9), dt.time(21))])
    assert next_opening(calendar, dt.datetime(2026, 12, 2, 20, 59)) is None
    assert next_opening(calendar, dt.datetime(2026, 12, 2, 21, 0)) == dt.datetime(2026, 12, 3, 9, 0)


def test_years_without_official_calendar_use_the_configured_overlay() -> None:
    config = SlaConfig(holidays=[dt.date(2027, 1, 1)], workdays=[dt.date(2027, 1, 2)])
    # 31 December 2026 (Thursday) evening: 1 January 2027 is a configured holiday, the 2nd a make-up day.
    assert after_hours_opening(config, utc("2026-12-31 18:00")) == "1月2日（星期六）上午8:30"


def test_describe_evening_opening() -> None:
    assert describe(dt.datetime(2026, 12, 2, 19, 0), dt.datetime(2026, 12, 2, 18, 0)) == "今天晚上7:00"


@pytest.mark.usefixtures("env_settings")
@pytest.mark.parametrize(
    ("local", "response"),
    [("2026-12-02 10:00", "utter_handoff"), ("2026-12-05 10:00", "utter_handoff_after_hours")],
)
def test_handoff_reply_tells_when_a_person_answers(db_url: str, local: str, response: str) -> None:
    with freeze_time(utc(local)):
        _, dispatcher = run(ActionRequestHuman(), tracker({}, "我要转人工", "request_human", loop=None))
    message = dispatcher.messages[-1]
    assert message["response"] == response
    with session_scope(db_url) as s:
        assert message["ticket_number"] == s.scalars(select(Ticket.number)).one()
    if response == "utter_handoff_after_hours":
        assert message["next_opening"] == "12月7日（星期一）上午8:30"


def test_after_hours_sentence_names_the_time_and_the_emergency_numbers() -> None:
    from pathlib import Path

    import yaml

    domain = yaml.safe_load(Path(__file__).parents[2].joinpath("domain.yml").read_text(encoding="utf-8"))
    text = domain["responses"]["utter_handoff_after_hours"][0]["text"]
    assert "{next_opening}" in text and "{ticket_number}" in text
    assert all(number in text for number in ("110", "12338", "12348"))


def test_describe_noon_is_zhongwu_not_xiawu() -> None:
    now = dt.datetime(2026, 12, 2, 9, 0)
    assert describe(dt.datetime(2026, 12, 2, 12, 0), now) == "今天中午12:00"
    assert describe(dt.datetime(2026, 12, 2, 14, 30), now) == "今天下午2:30"
    assert describe(dt.datetime(2026, 12, 2, 11, 30), now) == "今天上午11:30"
