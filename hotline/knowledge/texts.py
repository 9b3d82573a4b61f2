"""Operator-facing sentences of knowledge-base proposals (Simplified Chinese), shared by the desk and the CLI.

The core (hotline.knowledge.proposals) raises ProposalError with these; the desk shows them as refusals,
the CLI prints them.
"""

from __future__ import annotations

DRAFT_FORMAT = "请用“|”分隔问法、简短答案和条文：问法一；问法二 | 答案 | 《法律全称》第几条"
TOO_FEW_QUESTIONS = "请至少写两种问法，用“；”分隔，例如：工伤认定去哪里申请；工伤认定找哪个部门"
ANSWER_TOO_SHORT = "答案太短（至少 {min} 个字）"
ANSWER_TOO_LONG = "简短答案最多 {max} 个字，现在 {length} 个字；更多内容请写在详细说明里"
BAD_CATEGORY = "类别「{category}」不是法律问题类别（可选：{choices}）"
BAD_ARTICLES = (
    "看不懂条文「{text}」，请写成《法律全称》第几条，多条用“；”分隔，例如：《中华人民共和国劳动法》第四十四条"
)
DUPLICATE_QUESTION = "问法「{question}」已在知识库条目 {entry} 中"
INVALID = "提议的条目不合格：{reason}"
NOT_YOUR_TICKET = "工单 {number} 属于{county}，您无权据此提议知识库条目。"
NO_COUNTY = "未定县区"
UNKNOWN_PROPOSAL = "找不到知识库提议 #{id}"
NOT_PENDING = "知识库提议 #{id} 已{status}，不能再审核"
SUPERVISORS_ONLY = "只有监督人员可以审核知识库提议。"
NOT_ACTIVE = "工作人员 {name} 已停用。"
OWN_PROPOSAL = "不能审核本人提出的知识库提议 #{id}，请由其他监督人员审核。"
REASON_REQUIRED = "退回知识库提议须写明理由。"
STATUS = {"pending": "待审核", "approved": "批准", "rejected": "退回"}

# CLI (`python -m hotline kb …`)
CLI_UNKNOWN_TICKET = "找不到工单：{number}"
CLI_PROPOSED = "已提交知识库提议 #{id}（工单 {number}），等待监督人员审核。"
CLI_PENDING_LINE = "#{id}\t{category}\t工单 {number}\t{proposer}\t{proposed}\t{question}"
CLI_PENDING_COUNT = "待审核知识库提议共 {count} 条"
CLI_APPROVED = "知识库提议 #{id} 已批准，条目 {entry}（复核日期 {due}），机器人即起使用。"
CLI_REJECTED = "知识库提议 #{id} 已退回：{note}"
CLI_EXPORTED = "已导出 {count} 条已批准条目（faq.yaml 格式）→ {out}"
