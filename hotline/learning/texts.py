"""Operator-facing sentences of the NLU inbox (Simplified Chinese), for the CLI."""

from __future__ import annotations

SOURCES = {"operator_correction": "工作人员更正", "citizen_choice": "市民选择"}
STATUSES = {"pending": "待审核", "approved": "已采纳", "rejected": "已驳回"}
NOT_FOUND = "找不到待审核的学习样本 #{id}"
NOT_PENDING = "学习样本 #{id} 已审核（{status}），不能再次审核"
PENDING_LINE = "#{id}\t{source}\t{intent}\t(原判：{previous})\t{ticket}\t{text}"
PENDING_TOTAL = "待审核学习样本共 {count} 条"
REVIEWED = "学习样本 #{id} {status}（{name}）"
EXPORTED = (
    "已导出 {count} 条已采纳样本到 {path}（另有 {skipped} 条与现有训练数据重复，未导出）；"
    "下次 make train 将使用它。"
)
NOTHING_TO_EXPORT = "没有已采纳的学习样本，未写文件。"
FILE_HEADER = (
    "# Learned from operators' category corrections and citizens' button choices, approved by supervisors.\n"
    "# Written by `python -m hotline nlu export`; do not edit by hand (the next export overwrites it).\n"
    "# PII-masked citizen text: do not commit this file to a public repository.\n"
)
