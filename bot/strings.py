"""Every sentence the gateway itself says (the dialog's own sentences live in domain.yml)."""

from hotline.tickets.texts import TO_CITIZEN

ENGINE_DOWN = "抱歉，系统正忙，您的消息已经收到并保存，我们恢复后会马上回复您。急事请拨打12348。"
ENGINE_BACK = "系统已恢复，下面是对您之前消息的回复："
FORWARDED_TO_OPERATOR = "您的消息已转给工作人员，请耐心等待回复。"
# Handoff both ways (issue 12): a citizen in a handoff may go back to the bot by typing or pressing this.
LEAVE_HANDOFF_BUTTON = "返回机器人"
LEAVE_HANDOFF_WORDS = ("返回机器人", "回到机器人", "返回智能助手", "找机器人")
HANDOFF_LEFT = (
    "好的，已回到智能助手，您可以接着问我法律问题。工单 {number} 仍然保留，工作人员仍会处理，需要时会联系您；"
    "想再找工作人员，随时说“转人工”。"
)
HANDOFF_NOT_ACTIVE = "您现在就在和智能助手对话，请直接说说您的问题。"
EMPTY_REPLY = "收到。"
# The engine stayed down past the retry budget: a handoff ticket now exists and the saved messages are
# relayed to the operators' group; the engine still answers them once it is back. Every clause is true.
ENGINE_ESCALATED = (
    "抱歉，系统暂时无法自动回复。您的消息都已保存，并已登记为工单 {number} 交给工作人员，"
    "工作人员会看到并联系您；系统恢复后也会继续回复您。急事请拨打12348。"
)
# The operators' group could not be reached: nothing has reached a person yet, it is retried.
DESK_DOWN = "您的消息已经保存，但暂时没能转给工作人员，系统会自动重试。急事请拨打12348。"
# Telegram lets a citizen edit a sent message; the dialog has moved on, so the edit is not applied.
MESSAGE_TOO_LONG = (
    "您的消息太长，我们只保存并处理了前{max_chars}个字。内容较多的话，请分几条发送，或回复“转人工”。"
)
EDIT_NOT_APPLIED = "您修改了之前发的消息，修改后的内容不会自动处理。如有更正，请把修改后的内容重新发送一次。"
# {kind}: 图片 / 文件 / 语音 … (hotline.attachments.KIND_LABELS)
ATTACHMENT_TO_STAFF = "您发的{kind}已收到，已转给处理您工单的工作人员。"
ATTACHMENT_ON_TICKET = "您发的{kind}已收到，已放进工单 {number}，工作人员处理时会看到。"
ATTACHMENT_NO_TICKET = (
    "您发的{kind}已收到并保存。请再用文字简单说说遇到了什么事，登记工单后这份材料会一起交给工作人员。"
)
VOICE_HINT = "\n暂时还听不了语音，麻烦您打字说明；不方便打字可以回复“转人工”。"

CONSOLE_BANNER = (
    "12348 公共法律服务热线 · 本地对话窗口\n"
    "直接输入您的问题，按回车发送；出现按钮时输入按钮前的数字。输入 /quit 退出。"
)
CONSOLE_PROMPT = "您："
CONSOLE_BOT = "助手："
CONSOLE_BYE = "再见。"
BUTTON_LINE = "  [{index}] {title}"
TELEGRAM_START = "您好！这里是12348公共法律服务热线智能助手。请直接说说您遇到的问题。"
RATING_LABELS = {5: "5 非常满意", 4: "4 满意", 3: "3 基本满意", 2: "2 不满意", 1: "1 很不满意"}
RATING_UNKNOWN_TICKET = "没有找到需要您评价的工单，谢谢。"

# Operator desk (bot/desk): cards, buttons and replies in the operators' group.
DESK_DISABLED = "未配置 telegram.operators_chat_id：工作人员群工作台未启用，工单卡片不会发送到 Telegram。"
DESK_URGENT = "🔴 紧急"
DESK_CARD_TITLE = "工单 {number}"
DESK_CARD_CATEGORY = "类别：{category}"
DESK_CARD_COUNTY = "县区：{county}"
DESK_CARD_ELIGIBILITY = "援助审查：{outcome}"
DESK_CARD_STATUS = "状态：{status}"
DESK_CARD_ASSIGNEE = "承办人：{name}"
DESK_CARD_FIRST_DUE = "首次响应时限：{due}"
DESK_CARD_RESOLUTION_DUE = "办结时限：{due}"
DESK_CARD_OVERDUE = "⏰ 已超时"
DESK_CARD_HANDOFF = "🙋 市民已请求人工服务"
DESK_CARD_DESCRIPTION = "问题描述：{description}"
DESK_CARD_HINT = "回复本消息即可答复市民。"
DESK_NO_COUNTY = "未定县区"
DESK_NOT_ASSESSED = "未评估"
DESK_BUTTON_CLAIM = "认领"
DESK_BUTTON_RESOLVE = "办结"
DESK_BUTTON_TRANSFER = "转办"
DESK_BUTTON_CONFIRM_RESOLVE = "确认办结"
DESK_BUTTON_BACK = "返回"
DESK_HANDOFF_NOTICE = "🙋 工单 {number} 的市民请求人工服务，请{county}工作人员尽快认领。"
DESK_CITIZEN_MESSAGE = "💬 市民（工单 {number}）：\n{text}"
# a long citizen message is posted in parts ({part}/{total}) so none exceeds Telegram's limit
DESK_CITIZEN_MESSAGE_PART = "💬 市民（工单 {number}，第{part}/{total}段）：\n{text}"
# The group is shared by every county's operators: files are not posted there, only announced.
DESK_CITIZEN_ATTACHMENT = (
    "📎 市民（工单 {number}）发来{kind}{caption}。有权处理的工作人员发送 /files {number}，机器人私聊发给您。"
)
DESK_FILES_USAGE = "用法：/files <工单号>"
DESK_FILES_NONE = "工单 {number} 没有市民发来的文件。"
DESK_FILES_SENT = "已私聊发送工单 {number} 的 {count} 个文件。"
DESK_FILES_START_BOT = "无法私聊您：请先在私聊中给机器人发送 /start，再发送 /files {number}。"
# an urgent ticket nobody claimed in time (hotline/sla/unclaimed.py): its card posted again, on top
DESK_REPOSTED = "⏰ 紧急工单超过{minutes}分钟（工作时间）无人认领，请尽快认领："
DESK_CARD_REPOSTED = "⏰ 工单 {number} 超时无人认领，卡片已重新推送，请在最新卡片上操作。"
# the card's old message when the ticket moved to another county's group (转办, /county)
DESK_CARD_MOVED = "↪️ 工单 {number} 已转至{county}，卡片已移到该县区工作群。"
DESK_TRANSFER_NOTICE = "↪️ 工单 {number} 已由{operator}从{source}转办至{target}，请{target}工作人员认领。"
DESK_TO_CITIZEN = (
    TO_CITIZEN  # "【12348工作人员】{text}", the same words from the CLI (hotline/tickets/texts.py)
)
DESK_RESOLVED_NOTICE = "✅ 工单 {number} 已由{operator}办结，已向市民发送满意度回访。"
DESK_RESOLVED_UNREACHABLE = "✅ 工单 {number} 已由{operator}办结。该市民无法通过 Telegram 联系，请电话回访。"
# answerCallbackQuery texts (short; shown as an alert to the operator who pressed)
DESK_NOT_OPERATOR = "您不是已登记的工作人员，无法操作工单。请联系管理员登记。"
DESK_NOT_YOUR_COUNTY = "工单 {number} 属于{county}，您无权处理。"
# county desks (telegram.county_chats): a county's group acts on that county's tickets only
DESK_OTHER_DESK = "工单 {number} 属于{county}，请在{county}的工作群或全市工作群处理。"
DESK_CLAIMED = "已认领工单 {number}"
DESK_ALREADY_YOURS = "工单 {number} 已由您认领"
DESK_CLAIMED_BY_OTHER = "工单 {number} 已由{name}认领"
DESK_TRANSFERRED = "已转办至{county}"
DESK_SAME_COUNTY = "工单已在{county}"
DESK_RESOLVED = "已办结工单 {number}"
DESK_NOT_OPEN = "工单 {number} 当前状态为「{status}」，不能再操作"
DESK_UNKNOWN_TICKET = "找不到工单 {number}"
DESK_STALE_BUTTON = "此按钮已失效"
# replies in the group
DESK_CITIZEN_UNREACHABLE = "⚠️ 工单 {number} 的市民不是通过 Telegram 联系的，无法转达，请电话联系。"
DESK_SEND_FAILED = "⚠️ 消息未能送达市民（{error}），请稍后重试或电话联系。"
DESK_NOTE_USAGE = (
    "用法：/note <工单号> <内部备注>（或回复工单消息：/note <内部备注>）。备注仅内部可见，不会发给市民。"
)
DESK_NOTE_SAVED = "📝 已为工单 {number} 记录内部备注（不会发给市民）。"
DESK_TICKET_USAGE = "用法：/ticket <工单号>"
DESK_NO_OPEN_TICKETS = "没有您可处理的未办结工单。"
DESK_TICKETS_HEADER = "未办结工单（{count}）："
DESK_TICKETS_LINE = "{marks}{number} · {category} · {county} · {status}"
DESK_TICKETS_MORE = "……仅显示前 {limit} 条"
DESK_EVENTS_HEADER = "处理记录："
DESK_EVENT_LINE = "{time} {kind} {actor}"
DESK_EVENT_KINDS = {
    "created": "创建",
    "status": "状态变更",
    "assigned": "认领",
    "transferred": "转办",
    "note": "内部备注",
    "operator_reply": "答复市民",
    "handoff_requested": "请求人工",
    "rating_requested": "发送回访",
    "rating_reminded": "回访提醒",
    "rating": "市民评价",
    "complaint": "投诉",
    "review_done": "复核完成",
    "outcome": "结案结果",
    "cancel_reason": "撤销原因",
    "referred": "转其他部门",
    "unassigned": "退回待认领",
    "reassigned": "改派",
    "county_set": "设定县区",
    "category_set": "更正类别",
    "nlu_example_reviewed": "审核学习样本",
    "files_viewed": "查看文件",
    "unclaimed_escalated": "紧急工单超时未认领，已重新推送并报告监督人员",
    "handoff_left": "市民返回机器人",
    "handoff_wait_told": "告知市民等待安排",
    "kb_proposed": "提议知识库条目",
    "kb_approved": "批准知识库条目",
    "kb_rejected": "退回知识库条目",
    "pii_masked": "保留期满，已遮盖电话/证件号",
    "privacy_erased": "应市民要求删除个人信息",
}
# Knowledge-base proposals (issue 10): /kb_propose by operators; /kb_pending, /kb_approve, /kb_reject by
# supervisors. Refusals from hotline.knowledge.texts are shown as they are.
DESK_KB_PROPOSE_USAGE = (
    "用法：/kb_propose <工单号> 问法一；问法二 | 简短答案（300字以内） | 《法律全称》第几条 [| 详细说明]\n"
    "例如：/kb_propose 滁-20261206-0001 工伤认定去哪里申请；工伤认定找哪个部门 | 向人社局申请…… | "
    "《工伤保险条例》第十七条"
)
DESK_KB_PROPOSED = "📚 已提交知识库提议 #{id}（工单 {number}），等待监督人员审核。"
DESK_KB_PENDING_NONE = "没有待审核的知识库提议。"
DESK_KB_PENDING_HEADER = "待审核知识库提议（{count}）："
DESK_KB_PENDING_LINE = (
    "#{id} · {category} · 工单 {number} · {proposer}\n问：{questions}\n答：{answer}\n条文：{articles}"
)
DESK_KB_PENDING_HINT = "批准：/kb_approve 编号 [备注]；退回：/kb_reject 编号 理由"
DESK_KB_APPROVE_USAGE = "用法：/kb_approve <编号> [备注]"
DESK_KB_APPROVED = "✅ 知识库提议 #{id} 已批准，条目 {entry} 即起由机器人使用，复核日期 {due}。"
DESK_KB_REJECT_USAGE = "用法：/kb_reject <编号> <理由>"
DESK_KB_REJECTED = "↩️ 知识库提议 #{id} 已退回：{reason}"
DESK_KB_NO_ARTICLES = "（无）"
# Lifecycle commands (issue 12); refusals from hotline.tickets.texts are shown as they are.
DESK_CARD_COUNTY_UNKNOWN = (
    "⚠️ 县区未知：目前只有全市监督人员能处理。问清市民所在县区后发送 /county {number} 县区，"
    "市民说出县区时也会自动归属。"
)
DESK_CARD_WAITING = "⏸ 等待市民补充：时限暂停，市民回复后恢复计时。"
DESK_WAIT_USAGE = "用法：/wait <工单号> [说明]（等待市民补充材料，时限暂停，市民回复后恢复）"
DESK_WAITING = "⏸ 工单 {number} 已设为等待市民补充，时限暂停。"
DESK_CLOSE_USAGE = "用法：/close <工单号> <结果> [说明]。结果：{choices}"
DESK_CLOSED = "🗂 工单 {number} 已结案：{outcome}。"
DESK_CLOSED_RATING = "🗂 工单 {number} 已结案：{outcome}，已向市民发送满意度回访。"
DESK_REOPEN_USAGE = "用法：/reopen <工单号> [原因]"
DESK_REOPENED = "🔁 工单 {number} 已重新打开，时限恢复计时。"
DESK_CANCEL_USAGE = "用法：/cancel <工单号> <原因>。原因：{choices}"
DESK_CANCELLED = "🚫 工单 {number} 已撤销（{reason}），不计入统计。"
DESK_REFER_USAGE = "用法：/refer <工单号> <部门>。部门：{choices}"
DESK_REFERRED = "↗️ 工单 {number} 已转{agency}，已告知市民：\n{message}"
DESK_REFERRED_UNREACHABLE = (
    "↗️ 工单 {number} 已转{agency}。该市民无法通过 Telegram 联系，请电话告知：\n{message}"
)
DESK_UNCLAIM_USAGE = "用法：/unclaim <工单号>（退回待认领）"
DESK_UNCLAIMED = "↩️ 工单 {number} 已退回待认领。"
DESK_ASSIGN_USAGE = "用法：/assign <工单号> <工作人员姓名或 #编号>"
DESK_ASSIGNED = "👤 工单 {number} 已改派给{name}。"
DESK_COUNTY_USAGE = "用法：/county <工单号> <县区>"
DESK_COUNTY_SET = "📍 工单 {number} 已归{county}，请{county}工作人员认领。"
DESK_CATEGORY_USAGE = "用法：/category <工单号> <类别>（如 欠薪、工伤、婚姻家庭）"
DESK_CATEGORY_SET = "🏷 工单 {number} 的类别已更正为{category}（原为{previous}），已记入待审核学习样本。"
# for the gateway's handoff path (hotline.tickets.lifecycle.citizen_replied), posted under the card
DESK_CITIZEN_LEFT_HANDOFF = (
    "↩️ 工单 {number} 的市民已返回机器人对话。工单仍未办结，请继续处理；"
    "回复本消息仍可联系市民（其后的消息将转回本群）。"
)
DESK_RESUMED_NOTICE = "▶️ 市民已回复，工单 {number} 恢复处理，时限继续计时。"
DESK_COUNTY_FROM_CITIZEN = (
    "📍 市民说明所在县区为{county}，工单 {number} 已归{county}，请{county}工作人员认领。"
)
DESK_FIND_USAGE = (
    "用法：/find <条件…>，可组合：工单号片段、尾号1234、日期 2026-11-01..2026-11-30、类别（如 欠薪）、"
    "状态（如 处理中）、县区（如 定远）"
)
DESK_FIND_HEADER = "查询结果（{count}）："
DESK_FIND_NONE = "没有符合条件、您有权查看的工单。"
DESK_EVENT_DETAIL = "（{detail}）"
# who did it, in the history (operators are shown by name)
DESK_ACTORS = {
    "bot": "机器人",
    "citizen": "市民",
    "gateway": "系统",
    "system:scheduler": "调度器",
    "import": "导入",
    "cli": "命令行",
}
REPORT_USAGE = "用法：/report 周报|月报|年报 [期间，如 2026-W47、2026-11、2026] [县区]"
REPORT_NOT_ALLOWED = "只有登记的监督人员可以调取报告。"
REPORT_COUNTY_NOT_ALLOWED = "您只能调取本人负责县区的报告。"
REPORT_WORKING = "正在生成报告，请稍候…"
# Follow-up (回访) review items in the supervisors' chat: /reviews, /review_close
REVIEWS_NONE = "没有待办的回访复核事项。"
REVIEWS_HEADER = "待办回访复核事项（{count}）："
REVIEWS_LINE = "#{review_id} {reason} · 工单 {number} · {county} · {opened} · {detail}"
REVIEWS_HINT = "回访后发送 /review_close 编号 结果，例如：/review_close 12 已电话回访，群众表示理解"
REVIEW_CLOSE_USAGE = "用法：/review_close 编号 回访结果，例如：/review_close 12 已电话回访，群众表示理解"
REVIEW_CLOSED = "✅ 复核事项 #{review_id} 已办结，回访结果已记入工单记录。"
# Danger now (hotline/intake/danger.py): sent at once, before the dialog engine answers. Keyed by kind.
DANGER_NOW = {
    "domestic_violence": (
        "⚠️ 如果您现在有危险，请立即拨打110报警，警察接到家庭暴力报警应当及时出警制止。"
        "请先到安全的地方或向邻居求助。妇女维权热线12338、法律援助热线12348可以帮您申请人身安全保护令"
        "和法律援助。安全以后，再接着告诉我们情况。"
    ),
    "detention": (
        "⚠️ 被公安机关带走（采取强制措施）的人，从第一次讯问或被采取强制措施之日起就有权委托辩护人；"
        "经济困难的可以申请法律援助，看守所、法院、检察院有值班律师。请立即拨打12348法律援助热线；"
        "如有人身危险请拨打110，妇女维权热线12338。您也可以继续告诉我们情况。"
    ),
}

# Appointments at the centre (预约; bot/appointments.py renders them, hotline/appointments decides).
APPT_TEXT_COMMANDS = ("/yuyue", "我的预约", "预约")  # what a citizen types to see or make appointments
APPT_SLOT = "{month}月{day}日（{weekday}）{hour:02d}:{minute:02d}"
APPT_OFFER = "如需到{centre}当面办理，可以在这里预约（地址：{address}）。请选择时间："
APPT_REBOOK_PICK = "请选择新的时间（原预约 {when} 会自动取消）："
APPT_NO_SLOTS = "{centre}近期的预约已满。您可以直接在办公时间前往，或拨打 {phone} 咨询。"
APPT_CONFIRMED = (
    "✅ 预约成功：{when}，{centre}（{address}，电话 {phone}），工单 {number}。\n"
    "请带上：\n{documents}\n前一天会提醒您。不能来的话请点“取消预约”或“改约”。"
)
APPT_REBOOKED = "✅ 已改约到 {when}，{centre}（{address}），工单 {number}。\n请带上：\n{documents}"
APPT_CANCELLED = "预约（{when}，{centre}）已取消。需要时可以重新预约。"
APPT_LIST_HEADER = "您的预约："
APPT_LIST_LINE = "{when} · {centre} · 工单 {number}"
APPT_NONE = "您目前没有预约。"
APPT_NO_TICKET = "预约需要先登记工单：请简单说说您遇到的问题。"
APPT_BUTTON_CANCEL = "取消预约"
APPT_BUTTON_REBOOK = "改约"
APPT_BUTTON_AGAIN = "重新预约"
APPT_BUTTON_LIST = "我的预约"
APPT_ERRORS = {  # hotline.appointments.service.AppointmentError codes, as the citizen reads them
    "slot_invalid": "这个时间已经不能预约了，请重新选择。",
    "slot_full": "这个时间刚刚约满了，请选择其他时间。",
    "not_found": "没有找到这个预约。",
    "not_yours": "没有找到这个预约。",
    "not_booked": "这个预约已经取消或改约了。",
    "not_started": "这个预约还没开始。",
    "no_centre": "暂时无法预约这个法律援助中心，请拨打12348咨询。",
    "has_booking": "这个工单已经有预约了。",
}
DESK_EVENT_KINDS.update(
    {
        "appointment_booked": "预约",
        "appointment_cancelled": "取消预约",
        "appointment_rebooked": "改约",
        "appointment_attended": "已到场",
        "appointment_no_show": "未到场",
        "appointment_reminded": "预约提醒",
    }
)
DESK_APPOINTMENTS_USAGE = (
    "用法：/appointments [县区] [日期]（日期如 2026-12-07、12-07、今天、明天；默认今天）"
)
DESK_NOSHOW_USAGE = "用法：/noshow <预约编号>（/appointments 列表中的 #编号）"
