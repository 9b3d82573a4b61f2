"""Every low rating and complaint reaches the supervisors' chat exactly once, whoever recorded it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.db.models import TicketStatus
from hotline.db.session import session_scope
from hotline.followup.service import open_complaint, record_rating, request_rating
from hotline.reports.delivery import RecordingNotifier
from hotline.scheduler import jobs
from hotline.scheduler.runtime import Runtime, install
from hotline.settings import Settings
from hotline.tickets.service import NewTicket, change_status, create_ticket


class FlakyNotifier(RecordingNotifier):
    fail = True

    def send_text(self, chat: str, text: str) -> None:
        if self.fail:
            raise ConnectionError("telegram down")
        super().send_text(chat, text)


def test_review_alerts_job_is_exactly_once_and_survives_a_failed_send(
    settings: Settings, tmp_path: Path
) -> None:
    with session_scope(settings.database_url) as s:
        t, _ = create_ticket(s, NewTicket(category="elderly", county_code="341126"), prefix="滁")
        change_status(s, t, TicketStatus.RESOLVED, actor="operator:1")
        request_rating(s, t)
        record_rating(s, t, 2, "律师不接电话")  # e.g. recorded by the action server: nobody alerted yet
        open_complaint(s, t, "工作人员态度差")
        number = t.number
    notifier = FlakyNotifier()
    install(Runtime(settings, notifier, tmp_path))
    with pytest.raises(ConnectionError):
        jobs.review_alerts()
    notifier.fail = False
    assert jobs.review_alerts() == 2
    assert jobs.review_alerts() == 0
    texts = [text for _, text in notifier.texts]
    assert any("评分 2 分" in t and "律师不接电话" in t and "凤阳县" in t for t in texts)
    assert any(t.startswith("【投诉】") and number in t and "工作人员态度差" in t for t in texts)
    assert {chat for chat, _ in notifier.texts} == {"supervisors"}
