"""Operator-facing sentences of the ticket lifecycle (Simplified Chinese), shared by the desk and the CLI.

The core raises TicketError with these; the desk shows them as refusals, the CLI prints them.
"""

from __future__ import annotations

NOT_ALLOWED = "工单 {number} 当前为「{status}」，不能{action}"
ACTIONS = {
    "wait": "设为等待市民补充",
    "resume": "恢复处理",
    "close": "结案",
    "reopen": "重新打开",
    "cancel": "撤销",
    "refer": "转其他部门",
    "unclaim": "退回待认领",
    "assign": "改派",
    "county": "设定县区",
    "category": "更正类别",
}
NOT_YOUR_COUNTY = "工单 {number} 属于{county}，您无权处理。"
NO_COUNTY = "未定县区"
NOT_ACTIVE = "工作人员 {name} 已停用，不能处理工单。"
UNKNOWN_OUTCOME = "未知结案结果：{text}（可选：{choices}）"
UNKNOWN_REASON = "未知撤销原因：{text}（可选：{choices}）"
UNKNOWN_AGENCY = "未知转办部门：{text}（可选：{choices}）"
UNKNOWN_COUNTY = "未知县区：{text}（可选：{choices}）"
UNKNOWN_OPERATOR = "找不到在岗的工作人员：{name}"
AMBIGUOUS_OPERATOR = "有多名工作人员叫{name}，请用编号，如 #12"
NOT_ASSIGNED = "工单 {number} 没有承办人"
ONLY_ASSIGNEE = "工单 {number} 由{name}承办，只有承办人或监督人员可以{action}"
TARGET_NOT_ALLOWED = "{name}无权处理{county}的工单，不能改派给他/她"
ALREADY_ASSIGNED = "工单 {number} 已由{name}承办"
SAME_COUNTY = "工单 {number} 已在{county}"
COUNTY_ONLY_OWN = "您只能把工单设到本人负责的县区"
UNKNOWN_CATEGORY = "未知类别：{text}（可选：{choices}）"
SAME_CATEGORY = "工单 {number} 的类别已是{category}"
BAD_DATE = "日期格式应为 YYYY-MM-DD 或 YYYY-MM-DD..YYYY-MM-DD：{text}"
BAD_PHONE_TAIL = "电话尾号应为 4 位以上数字：{text}"

# the audit note when a citizen goes back to the bot from a handoff ("返回机器人"); the ticket stays open
HANDOFF_LEFT_NOTE = "市民选择返回机器人，工单仍待工作人员处理"
# an operator's words as the citizen receives them (desk and CLI)
TO_CITIZEN = "【12348工作人员】{text}"

# CLI (`python -m hotline tickets …`) confirmations
CLI_OPERATOR_REQUIRED = "找不到在岗的工作人员 #{id}"
CLI_WAITING = "工单 {number} 已设为等待市民补充，时限暂停。"
CLI_CLOSED = "工单 {number} 已结案：{outcome}。"
CLI_CLOSED_RATING = "工单 {number} 已办结并结案：{outcome}。满意度回访由调度器发送。"
CLI_REOPENED = "工单 {number} 已重新打开。"
CLI_CANCELLED = "工单 {number} 已撤销（{reason}）。"
CLI_REFERRED = "工单 {number} 已转{agency}。请告知市民：\n{message}"
CLI_UNCLAIMED = "工单 {number} 已退回待认领。"
CLI_ASSIGNED = "工单 {number} 已改派给{name}。"
CLI_COUNTY_SET = "工单 {number} 已归{county}。"
CLI_CATEGORY_SET = "工单 {number} 的类别已更正为{category}，已记入待审核学习样本。"
CLI_FOUND = "共 {count} 件"

# Supervisors' alert (scheduler, hotline/sla/unclaimed.py): an urgent ticket nobody claimed in time
URGENT_UNCLAIMED_ALERT = (
    "🔴 紧急工单 {number}（{category}，{county}）已等待认领超过{minutes}分钟（工作时间），仍无人认领。"
    "卡片已重新推送到{county}工作群，请督促认领。"
)
CLI_CANNOT_REPLY = "工单 {number} 已办结或不是通过对话登记的，无法在线答复市民，请电话联系。"
CLI_REPLY_QUEUED = "已将答复排入工单 {number} 市民的待发消息，市民的对话窗口在线时即送达。"
CLI_NO_HANDOFFS = "没有等待人工答复的工单。"
CLI_HANDOFF_LINE = "{number}\t{county}\t{category}\t{status}\t转人工于 {since}"
CLI_HANDOFF_MESSAGE = "    市民：{text}"
