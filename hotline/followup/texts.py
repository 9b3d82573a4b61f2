"""Follow-up visit (回访) wording, Simplified Chinese, for citizens and supervisors."""

from __future__ import annotations

RATING_REQUEST = (
    "您好，您的工单 {number} 已办结。请为本次法律服务打分（点按钮，或直接回复分数，分数后可写意见）："
    "5 非常满意，4 满意，3 基本满意，2 不满意，1 很不满意。"
)
RATING_REMINDER = "您好，工单 {number} 的满意度回访尚未收到您的评价，方便时请回复 1–5 分，谢谢！"
LOW_RATING_ALERT = (
    "【不满意回访】工单 {number}（{county}）评分 {score} 分，已生成复核事项 #{review_id}。{comment}"
)
COMPLAINT_ALERT = "【投诉】工单 {number}（{county}）收到投诉，已生成复核事项 #{review_id}：{detail}"
COMMENT = "群众意见：{comment}"
THANKS = "感谢您的评价！"
THANKS_LOW = "感谢您的评价，我们将安排专人回访并改进工作。"
ERR_SCORE = "评分应为 1–5 的整数"
ERR_NO_REQUEST = "工单 {number} 没有待回复的满意度回访"
ERR_NO_OUTCOME = "请填写回访结果，例如：已电话回访，群众表示理解"
OUTCOME_MAX_CHARS = 500
ERR_OUTCOME_TOO_LONG = "回访结果最多 {max_chars} 个字"
ERR_NO_REVIEW = "找不到复核事项 #{review_id}"
ERR_REVIEW_DONE = "复核事项 #{review_id} 已办结"
REASONS = {"low_rating": "低分回访", "complaint": "投诉"}
