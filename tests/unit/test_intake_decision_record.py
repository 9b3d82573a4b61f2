"""What an intake's decision writes on its ticket (hotline.intake.decision_record), on a real database."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db.models import Ticket, TicketEvent
from hotline.eligibility import Decision, EligibilityConfig, Facts, decide, packaged_rules
from hotline.intake.decision_record import record_decision, ticket_facts, ticket_flags
from hotline.tickets.service import NewTicket, create_ticket

DAY = dt.date(2026, 11, 29)


def decision(config: EligibilityConfig | None = None, **facts: Any) -> Decision:
    return decide(Facts(**facts), packaged_rules(), config or EligibilityConfig(), DAY)


def test_urgent_intake_is_an_urgent_ticket_even_when_the_rules_are_not() -> None:
    shorter = EligibilityConfig.model_validate({"urgent_days": 3})
    five_days = decision(shorter, proceeding="civil", matter_type="wage_arrears", days_to_deadline=5)
    assert five_days.ticket_flags()["priority"] == "normal"  # the rules' urgency: fewer than 3 days
    assert ticket_flags(five_days)["priority"] == "urgent"  # the intake's: within a week
    worker = decision(proceeding="civil", matter_type="wage_arrears", is_migrant_worker=True)
    assert ticket_flags(worker) == {**worker.ticket_flags(), "priority": "normal"}
    assert ticket_flags(worker)["migrant_worker"] is True


def test_decision_columns_and_audit_event(session: Session) -> None:
    worker = decision(
        proceeding="civil",
        matter_type="wage_arrears",
        household_income_per_capita_month=1500,
        residence="urban",
        is_migrant_worker=True,
    )
    ticket, _ = create_ticket(
        session, NewTicket(category="wage_arrears", conversation_id="c1", intake_key="k1"), prefix="滁"
    )
    record_decision(session, ticket, worker)
    session.flush()

    stored = session.get(Ticket, ticket.id)
    assert stored is not None
    fields = worker.to_ticket_fields()
    assert stored.eligibility_outcome == "MEANS_TEST_FAILED" == fields["eligibility_outcome"]
    assert stored.eligibility_reasons == fields["eligibility_reasons"]
    assert "LAL-34" in stored.eligibility_articles
    assert stored.eligibility_rules_version == worker.rules_version
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)).all()
    eligibility = [e for e in events if e.kind == "eligibility"]
    assert len(eligibility) == 1
    assert eligibility[0].actor == "bot"
    assert eligibility[0].data == {"outcome": "MEANS_TEST_FAILED", "rule": worker.rule_id}


def test_ticket_facts_name_category_and_county_and_keep_the_day() -> None:
    worker = decision(proceeding="civil", matter_type="wage_arrears", is_migrant_worker=True, county="凤阳县")
    facts = ticket_facts(worker, "wage_arrears")
    assert facts["category"] == "wage_arrears" and facts["county"] == "凤阳县"
    assert facts["as_of"] == DAY.isoformat()
    assert facts["is_migrant_worker"] is True
