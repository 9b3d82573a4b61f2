"""Chinese sentences the appointments core produces itself (the reminder, operators' error messages).

The citizen's booking dialog is rendered by the gateway (bot/strings.py); only what the core sends on its
own (the day-before reminder, queued in the outbox) and the reasons it refuses an operator live here.
"""

REMINDER = (
    "⏰ 预约提醒：您预约了明天 {when} 到{centre}（{address}）办理工单 {number}。\n"
    "请带上：\n{documents}\n如不能前来，请点下面的按钮取消或改约。"
)
REMINDER_BUTTON_CANCEL = "取消预约"
REMINDER_BUTTON_REBOOK = "改约其他时间"
DEFAULT_DOCUMENTS = ("身份证件", "与案件有关的材料（合同、欠条、病历、判决书等）")

ERRORS = {
    "slot_invalid": "该时段不可预约（不是办公时间、已过或超出可预约范围）。",
    "slot_full": "该时段已约满，请选择其他时段。",
    "not_found": "没有找到该预约。",
    "not_yours": "该预约不属于您。",
    "not_booked": "该预约已不是待到场状态（已取消、已改约或已登记到场情况）。",
    "not_started": "预约时间还没到，不能登记未到场。",
    "no_centre": "未知的县区，无法预约。",
    "has_booking": "该工单已有预约，请先取消或改约。",
    "not_visible": "该预约属于{county}，您无权处理。",
}
STATUS_LABELS = {
    "booked": "待到场",
    "cancelled": "已取消",
    "rebooked": "已改约",
    "attended": "已到场",
    "no_show": "未到场",
}

# The operators' day list and no-show, the same on the desk (/appointments, /noshow) and in the CLI.
DAY_HEADER = "📅 {day} 预约（{count}）"
DAY_CENTRE = "【{county}】"
DAY_LINE = "#{id} {time} 工单 {number} · {status}"
DAY_NONE = "{day} 没有您有权查看的预约。"
DAY_HINT = "未到场请发送 /noshow 编号（到了预约时间后）。"
NO_SHOW_DONE = "已登记 #{id}（{time}，工单 {number}）未到场。"
UNKNOWN_COUNTY = "未知县区：{text}"
UNKNOWN_DAY = "日期格式应为 2026-12-07、12-07、今天或明天：{text}"
TODAY_WORDS = {"今天": 0, "明天": 1, "昨天": -1}
