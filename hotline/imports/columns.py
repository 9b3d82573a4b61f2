"""The historical-case file format (CSV in UTF-8 with or without BOM or in GBK/GB18030, or XLSX first sheet).

The first row is the header; columns may appear in any order, by Chinese name or English alias:

| 列名 (alias)          | 必填 | 取值 |
|-----------------------|------|------|
| 受理日期 (created_at)  | 是   | 2019-03-01、2019-03-01 09:30 或 2019-03-01T09:30（本地时间） |
| 县区 (county)          | 是   | 县区名称、简称或6位代码：琅琊区 / 琅琊 / 341102 |
| 类别 (category)        | 是   | 类别代码或中文名：wage_arrears / 欠薪及劳动报酬 |
| 案件类型 (case_type)   | 是   | 民事 / 刑事 / 行政 / 咨询（或英文 civil 等） |
| 状态 (status)          | 否   | 待受理/处理中/已办结/已关闭/已转办/已撤销；默认按有无结案日期 |
| 结案日期 (resolved_at) | 否   | 同受理日期格式，不得早于受理日期 |
| 编号 (number)          | 否   | 原系统编号（不得重复，最多32个字符）；为空时按受理日期自动编号 |
|                        |      | 不得使用本系统的自动编号格式（前缀-YYYYMMDD-序号） |
| 紧急 (urgent)          | 否   | 是 / 否 |
| 农民工 残疾人 未成年人 老年人 妇女 | 否 | 是 / 否（1/0、true/false 亦可） |
| 描述 (description)     | 否   | 案情摘要（最多20000字） |
"""

from __future__ import annotations

COLUMNS: dict[str, tuple[str, ...]] = {
    "created_at": ("受理日期", "created_at"),
    "county": ("县区", "county"),
    "category": ("类别", "category"),
    "case_type": ("案件类型", "case_type"),
    "status": ("状态", "status"),
    "resolved_at": ("结案日期", "resolved_at"),
    "number": ("编号", "number"),
    "urgent": ("紧急", "urgent"),
    "migrant_worker": ("农民工", "migrant_worker"),
    "disabled": ("残疾人", "disabled"),
    "minor": ("未成年人", "minor"),
    "elderly": ("老年人", "elderly"),
    "women": ("妇女", "women"),
    "description": ("描述", "description"),
}
REQUIRED = ("created_at", "county", "category", "case_type")
FLAGS = ("migrant_worker", "disabled", "minor", "elderly", "women")
EXPORT_HEADER = [names[0] for names in COLUMNS.values()]

CASE_TYPE_WORDS = {
    "民事": "civil",
    "刑事": "criminal",
    "行政": "administrative",
    "咨询": "consultation",
    "civil": "civil",
    "criminal": "criminal",
    "administrative": "administrative",
    "consultation": "consultation",
}
STATUS_WORDS = {
    "待受理": "new",
    "处理中": "assigned",
    "已办结": "resolved",
    "已关闭": "closed",
    "已转办": "referred",
    "已撤销": "cancelled",
    "等待群众补充": "waiting_citizen",
    "重新处理中": "reopened",
}
TRUE_WORDS = {"是", "1", "true", "yes", "y", "√"}
FALSE_WORDS = {"否", "0", "false", "no", "n", ""}
