"""Every surface a citizen's words reach outside the conversation masks phone and ID numbers."""

from __future__ import annotations

import json
from pathlib import Path

from hotline.followup.service import OutboundMessage
from hotline.reports.delivery import FileNotifier

COMPLAINT = "办事员态度差，我电话 138-1234-5678，身份证34112219800101122X"


def test_supervisors_alert_is_masked_but_citizen_message_is_not() -> None:
    alert = OutboundMessage("complaint", "supervisors", COMPLAINT, "滁-20261129-0007")
    assert "1234" not in alert.text and "19800101" not in alert.text
    assert "138-****-5678" in alert.text and "341122********122X" in alert.text
    to_citizen = OutboundMessage("rating_request", "citizen", "请回复 13812345678", "滁-20261129-0007")
    assert to_citizen.text == "请回复 13812345678"  # the citizen's own message is not altered


def test_outbox_file_is_masked(tmp_path: Path) -> None:
    notifier = FileNotifier(tmp_path)
    notifier.send_text("supervisors", COMPLAINT)
    report = tmp_path / "r.txt"
    report.write_text("x", encoding="utf-8")
    notifier.send_file("supervisors", report, caption="联系 13812345678")
    lines = (tmp_path / "outbox.jsonl").read_text(encoding="utf-8")
    assert "13812345678" not in lines and "1234-5678" not in lines and "19800101" not in lines
    entries = [json.loads(line) for line in lines.splitlines()]
    assert entries[0]["text"].endswith("138-****-5678，身份证341122********122X")
    assert entries[1]["caption"] == "联系 138****5678"
