"""Appointments core (hotline/appointments): slots on the SLA's business calendar, booking without double
booking under concurrent requests, cancel / rebook / attendance audited on the ticket, reminders queued."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.appointments import payloads
from hotline.appointments.reminders import queue_reminders
from hotline.appointments.service import (
    AppointmentError,
    book,
    cancel,
    day_list,
    mark,
    rebook,
    upcoming_for_conversation,
)
from hotline.appointments.slots import day_slots, free_slots, to_utc
from hotline.db.models import (
    Appointment,
    AppointmentStatus,
    MessageLog,
    MessageState,
    Ticket,
    TicketEvent,
)
from hotline.db.session import get_sessionmaker, session_scope
from hotline.messages import get_or_create_citizen
from hotline.settings import Settings
from hotline.tickets.service import NewTicket, create_ticket

LANGYA = "341102"


def local(settings: Settings, y: int, m: int, d: int, h: int = 8, mi: int = 0) -> dt.datetime:
    """A naive UTC instant for a local wall-clock time (the `now` the services take)."""
    return to_utc(settings, dt.datetime(y, m, d, h, mi))


def new_ticket(session: Session, settings: Settings, user: str = "u1") -> Ticket:
    citizen = get_or_create_citizen(session, "telegram", user)
    ticket, _ = create_ticket(
        session,
        NewTicket(
            category="wage_arrears",
            conversation_id=citizen.conversation_id,
            intake_key=user,
            county_code=LANGYA,
        ),
        prefix="滁",
        now=local(settings, 2026, 12, 4, 9),
    )
    session.flush()
    return ticket


def with_capacity(settings: Settings, capacity: int) -> Settings:
    cfg = settings.appointments.model_copy(
        update={"default": settings.appointments.default.model_copy(update={"capacity": capacity})}
    )
    return settings.model_copy(update={"appointments": cfg})


def test_day_slots_follow_hours_holidays_and_make_up_days(settings: Settings) -> None:
    monday = day_slots(settings, LANGYA, dt.date(2026, 12, 7))
    # 08:30-12:00 and 14:30-17:30 in 30-minute slots: 7 + 6
    assert len(monday) == 13
    assert (monday[0].start.time(), monday[6].start.time(), monday[7].start.time()) == (
        dt.time(8, 30),
        dt.time(11, 30),
        dt.time(14, 30),
    )
    assert monday[0].capacity == 2
    assert day_slots(settings, "341125", dt.date(2026, 12, 7))[0].capacity == 3  # 定远's own capacity
    assert day_slots(settings, LANGYA, dt.date(2026, 10, 1)) == []  # National Day
    assert day_slots(settings, LANGYA, dt.date(2026, 12, 6)) == []  # an ordinary Sunday
    assert len(day_slots(settings, LANGYA, dt.date(2026, 10, 10))) == 13  # make-up working Saturday


def test_free_slots_skip_the_golden_week_and_land_on_the_make_up_saturday(
    settings: Settings, session: Session
) -> None:
    # Friday 9 October 17:00: the next working day is the make-up Saturday 10 October.
    slots = free_slots(session, settings, LANGYA, now=local(settings, 2026, 10, 9, 17), limit=3)
    assert [s.start for s in slots] == [
        dt.datetime(2026, 10, 10, 8, 30),
        dt.datetime(2026, 10, 10, 9),
        dt.datetime(2026, 10, 10, 9, 30),
    ]
    # 30 September afternoon: nothing in the holiday, the next slots are on 8 October.
    later = free_slots(session, settings, LANGYA, now=local(settings, 2026, 9, 30, 17, 10), limit=1)
    assert later[0].start == dt.datetime(2026, 10, 8, 8, 30)
    # min_notice_minutes (60): at 8:00 the 8:30 slot is too close
    morning = free_slots(session, settings, LANGYA, now=local(settings, 2026, 12, 7, 8), limit=1)
    assert morning[0].start == dt.datetime(2026, 12, 7, 9)


def test_holiday_overlay_of_the_sla_applies_to_slots(settings: Settings) -> None:
    """A year chinese_calendar lacks: the sla.holidays/sla.workdays overlay decides, as for the SLA clock."""
    sla = settings.sla.model_copy(
        update={"holidays": [dt.date(2027, 2, 8)], "workdays": [dt.date(2027, 2, 6)]}
    )
    s = settings.model_copy(update={"sla": sla})
    assert day_slots(s, LANGYA, dt.date(2027, 2, 8)) == []  # Monday, declared a holiday
    assert len(day_slots(s, LANGYA, dt.date(2027, 2, 6))) == 13  # Saturday, declared a working day


def test_book_full_slot_cancel_frees_the_seat_and_everything_is_audited(
    settings: Settings, session: Session
) -> None:
    s = with_capacity(settings, 2)
    now = local(s, 2026, 12, 4, 9)
    start = dt.datetime(2026, 12, 7, 9)
    t1, t2, t3 = (new_ticket(session, s, f"u{i}") for i in (1, 2, 3))
    a1, created = book(session, s, t1, LANGYA, start, actor="bot", now=now)
    assert created and a1.seat == 1
    again, created = book(session, s, t1, LANGYA, start, actor="bot", now=now)
    assert again.id == a1.id and not created  # a double tap books once
    book(session, s, t2, LANGYA, start, actor="bot", now=now)
    with pytest.raises(AppointmentError) as full:
        book(session, s, t3, LANGYA, start, actor="bot", now=now)
    assert full.value.code == "slot_full"
    assert dt.datetime(2026, 12, 7, 9) not in [
        x.start for x in free_slots(session, s, LANGYA, now=now, limit=20)
    ]
    cancel(session, s, a1, actor="bot", now=now)
    a3, _ = book(session, s, t3, LANGYA, start, actor="bot", now=now)
    assert a3.seat == 1
    kinds = session.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == t1.id)).all()
    assert kinds[-2:] == ["appointment_booked", "appointment_cancelled"]
    with pytest.raises(AppointmentError) as invalid:
        book(session, s, t1, LANGYA, dt.datetime(2026, 12, 7, 12, 0), actor="bot", now=now)
    assert invalid.value.code == "slot_invalid"  # lunch break


def test_rebook_moves_atomically_and_keeps_the_old_booking_when_the_new_slot_is_full(
    settings: Settings, session: Session
) -> None:
    s = with_capacity(settings, 1)
    now = local(s, 2026, 12, 4, 9)
    t1, t2 = new_ticket(session, s, "u1"), new_ticket(session, s, "u2")
    a1, _ = book(session, s, t1, LANGYA, dt.datetime(2026, 12, 7, 9), actor="bot", now=now)
    book(session, s, t2, LANGYA, dt.datetime(2026, 12, 7, 10), actor="bot", now=now)
    with pytest.raises(AppointmentError):
        rebook(session, s, a1, dt.datetime(2026, 12, 7, 10), actor="bot", now=now)
    session.refresh(a1)
    assert a1.status is AppointmentStatus.BOOKED and a1.seat == 1
    moved = rebook(session, s, a1, dt.datetime(2026, 12, 8, 15), actor="bot", now=now)
    assert str(a1.status) == AppointmentStatus.REBOOKED and a1.seat is None
    assert moved.status is AppointmentStatus.BOOKED and moved.active_ticket_id == t1.id
    assert [a.id for a in upcoming_for_conversation(session, t1.conversation_id, now)] == [moved.id]


def test_no_show_only_after_the_start_and_day_list_per_county(settings: Settings, session: Session) -> None:
    now = local(settings, 2026, 12, 4, 9)
    ticket = new_ticket(session, settings)
    appt, _ = book(session, settings, ticket, LANGYA, dt.datetime(2026, 12, 7, 9), actor="bot", now=now)
    with pytest.raises(AppointmentError) as early:
        mark(session, settings, appt, AppointmentStatus.NO_SHOW, actor="operator:1", now=now)
    assert early.value.code == "not_started"
    mark(
        session,
        settings,
        appt,
        AppointmentStatus.NO_SHOW,
        actor="operator:1",
        now=local(settings, 2026, 12, 7, 10),
    )
    assert appt.status is AppointmentStatus.NO_SHOW and appt.active_ticket_id is None
    assert [a.id for a in day_list(session, settings, dt.date(2026, 12, 7), [LANGYA])] == [appt.id]
    assert day_list(session, settings, dt.date(2026, 12, 7), ["341103"]) == []


def test_reminder_queued_in_the_outbox_once_the_day_before(settings: Settings, session: Session) -> None:
    ticket = new_ticket(session, settings)
    appt, _ = book(
        session,
        settings,
        ticket,
        LANGYA,
        dt.datetime(2026, 12, 8, 9),
        actor="bot",
        now=local(settings, 2026, 12, 4, 9),
    )
    assert queue_reminders(session, settings, now=local(settings, 2026, 12, 7, 15)) == 0
    assert queue_reminders(session, settings, now=local(settings, 2026, 12, 7, 16)) == 1
    assert queue_reminders(session, settings, now=local(settings, 2026, 12, 7, 17)) == 0
    out = session.scalars(select(MessageLog).where(MessageLog.state == MessageState.QUEUED)).one()
    assert "12月08日 09:00" in out.text and ticket.number in out.text and "琅琊区法律援助中心" in out.text
    assert out.payload is not None
    assert [b["payload"] for b in out.payload["buttons"]] == [
        payloads.cancel(appt.id),
        payloads.rebook(appt.id),
    ]


def test_payloads_round_trip_and_fit_telegram() -> None:
    data = payloads.book("滁-20261206-0007", LANGYA, "202612081430")
    assert len(data.encode()) <= 64
    assert payloads.parse(data) == payloads.Command(
        "book", ticket="滁-20261206-0007", county=LANGYA, slot="202612081430"
    )
    assert payloads.parse(payloads.move(12, "202612081430")) == payloads.Command(
        "move", appointment=12, slot="202612081430"
    )
    assert payloads.parse("appt:c:x") is None and payloads.parse("/affirm") is None


def race(settings: Settings, db_url: str, capacity: int, n: int = 12) -> tuple[list[str], list[int]]:
    """N threads, each with its own session and ticket, book the same slot at once.

    Returns (each request's outcome, the seats held afterwards)."""
    s = with_capacity(settings, capacity)
    now = local(s, 2026, 12, 4, 9)
    start = dt.datetime(2026, 12, 7, 9)
    with session_scope(db_url) as session:
        ids = [new_ticket(session, s, f"c{i}").id for i in range(n)]
    sessions = get_sessionmaker(db_url)
    barrier = threading.Barrier(n)
    outcomes: list[str] = []

    def attempt(ticket_id: int) -> None:
        barrier.wait()
        try:
            with sessions.begin() as session:
                book(session, s, session.get_one(Ticket, ticket_id), LANGYA, start, actor="bot", now=now)
            outcomes.append("booked")
        except AppointmentError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_scope(db_url) as session:
        seats = session.scalars(
            select(Appointment.seat).where(Appointment.seat.is_not(None), Appointment.county_code == LANGYA)
        ).all()
        booked_events = session.scalar(
            select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "appointment_booked")
        )
        assert booked_events == outcomes.count("booked")  # every booking audited, nothing else
    return outcomes, sorted(seat or 0 for seat in seats)


@pytest.mark.parametrize("capacity", [1, 3])
def test_concurrent_bookings_never_exceed_capacity(settings: Settings, db_url: str, capacity: int) -> None:
    """Exactly `capacity` of 12 simultaneous requests win, each a different seat: double bookings = 0."""
    outcomes, seats = race(settings, db_url, capacity)
    assert outcomes.count("booked") == capacity
    assert outcomes.count("slot_full") == 12 - capacity
    assert seats == list(range(1, capacity + 1))


def test_reminder_job_is_scheduled_and_runs(settings: Settings) -> None:
    from hotline.reports.delivery import RecordingNotifier
    from hotline.scheduler import SchedulerService
    from hotline.scheduler.jobs import appointment_reminders

    service = SchedulerService(settings, RecordingNotifier(), holder="t")
    scheduler = service.start_scheduler()
    try:
        job = scheduler.get_job("appointment_reminders")
        assert job is not None and job.trigger.interval == dt.timedelta(minutes=15)
        assert appointment_reminders() == 0  # nothing booked
    finally:
        service.stop_scheduler()


def test_weekly_figures_and_summary_count_bookings_attendance_and_no_shows(
    settings: Settings, session: Session
) -> None:
    from hotline.reports.metrics import compute_metrics
    from hotline.reports.periods import period_containing
    from hotline.reports.summary_text import summary_text

    s = with_capacity(settings, 3)
    booked_at = local(s, 2026, 11, 30, 9)  # Monday of the week 2026-W49
    tickets = [new_ticket(session, s, f"r{i}") for i in range(4)]
    came, absent, unmarked, dropped = (
        book(session, s, t, LANGYA, dt.datetime(2026, 12, 2, hour), actor="bot", now=booked_at)[0]
        for hour, t in zip((9, 10, 11, 15), tickets, strict=True)
    )
    after = local(s, 2026, 12, 2, 17)
    mark(session, s, came, AppointmentStatus.ATTENDED, actor="operator:1", now=after)
    mark(session, s, absent, AppointmentStatus.NO_SHOW, actor="operator:1", now=after)
    cancel(session, s, dropped, actor="bot", now=booked_at)
    session.flush()
    week = period_containing("weekly", dt.date(2026, 12, 2))
    m = compute_metrics(session, s, week, config=s.reports)
    ap = m.appointments
    # 4 booked, 1 cancelled; 3 due: attended (marked) + unmarked past one, and one no-show
    assert (ap.booked, ap.cancelled, ap.due, ap.attended, ap.no_shows) == (4, 1, 3, 2, 1)
    assert ap.no_show_rate == pytest.approx(1 / 3)
    assert unmarked.status is AppointmentStatus.BOOKED
    text = summary_text(m, s.county_names)
    assert "预约：新增4次，取消1次；本期预约到访3人，到场2人，未到场1人（爽约率33.3%）" in text
    other = compute_metrics(session, s, week, ["341103"], config=s.reports)
    assert other.appointments.booked == 0 and "预约：" not in summary_text(other, s.county_names)


def test_xlsx_labels_the_bot_resolved_rate_not_the_no_human_share(
    settings: Settings, session: Session
) -> None:
    from hotline.reports.metrics import compute_metrics
    from hotline.reports.periods import period_containing
    from hotline.reports.xlsx import summary_rows

    new_ticket(session, settings)  # a bot ticket nobody answered: bot_only, but not bot-resolved
    session.flush()
    m = compute_metrics(
        session, settings, period_containing("weekly", dt.date(2026, 12, 4)), config=settings.reports
    )
    rows = dict(summary_rows(m))
    assert rows["机器人独立办结率"] == "0.0%" and rows["未经人工"] == "100.0%"
