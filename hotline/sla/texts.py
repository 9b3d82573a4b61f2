"""Words for telling a citizen when a person will answer (Simplified Chinese); the sentence around them is
the dialog's (domain.yml `utter_handoff_after_hours`)."""

from __future__ import annotations

WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
TODAY = "今天"
TOMORROW = "明天（{month}月{day}日，{weekday}）"
DATE = "{month}月{day}日（{weekday}）"
MORNING = "上午"
AFTERNOON = "下午"
EVENING = "晚上"
CLOCK = "{part}{hour}:{minute:02d}"
