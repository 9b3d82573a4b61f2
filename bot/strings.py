"""Every sentence the gateway itself says (the dialog's own sentences live in domain.yml)."""

ENGINE_DOWN = "抱歉，系统正忙，您的消息已经收到并保存，我们恢复后会马上回复您。急事请拨打12348。"
ENGINE_BACK = "系统已恢复，下面是对您之前消息的回复："
FORWARDED_TO_OPERATOR = "您的消息已转给工作人员，请耐心等待回复。"
EMPTY_REPLY = "收到。"
GAVE_UP = "抱歉，您的消息暂时无法自动处理，已转给人工，工作人员会联系您。"
UNSUPPORTED_MEDIA = "目前只能处理文字消息。图片和文件请在工作人员联系您后再发送。"

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
