"""Words for telling a citizen when a person will answer (Simplified Chinese); the sentence around them is
the dialog's (domain.yml `utter_handoff_after_hours`)."""

from __future__ import annotations

WEEKDAYS = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")
TODAY = "今天"
TOMORROW = "明天（{month}月{day}日，{weekday}）"
DATE = "{month}月{day}日（{weekday}）"
MORNING = "上午"
NOON = "中午"  # 12:00–12:59: "下午12:00" reads as midnight to some
AFTERNOON = "下午"
EVENING = "晚上"
CLOCK = "{part}{hour}:{minute:02d}"

# A citizen in a handoff with no operator's answer for `sla.handoff_wait_minutes` is told once what happens
# next (hotline/tickets/handoffs.py); every clause is true: the messages are kept, the times are the
# office hours and the SLA's first-response due time.
HANDOFF_WAIT_OPEN = (
    "工作人员暂时还没有回复您，可能正在接待其他群众。您的消息都已保存在工单 {number} 中，"
    "工作人员会按顺序回复{due}。您可以继续留言，工作人员都能看到；也可以回复“返回机器人”先向智能助手咨询，"
    "或拨打12348热线。"
)
HANDOFF_WAIT_DUE = "（按服务时限，应在{due}前首次答复您）"
HANDOFF_WAIT_CLAIMED = (
    "工作人员已接手您的工单 {number}，暂时还没来得及回复，会尽快答复您。您可以继续留言；"
    "也可以回复“返回机器人”先向智能助手咨询，或拨打12348热线。"
)
HANDOFF_WAIT_CLOSED = (
    "现在是下班时间，工作人员将在{opening}上班后回复您。您的消息都已保存在工单 {number} 中，"
    "上班后工作人员都能看到。您也可以回复“返回机器人”先向智能助手咨询。"
    "如正在遭受家庭暴力等紧急危险，请立即拨打110；妇女维权热线12338。"
)
