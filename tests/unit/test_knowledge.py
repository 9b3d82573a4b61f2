"""The knowledge base (issue 10): loader validation, retriever, the personal-story guard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from hotline.categories import CATEGORIES
from hotline.knowledge.loader import (
    FAQ_CATEGORIES,
    MAX_ANSWER_CHARS,
    KnowledgeError,
    load_kb,
    packaged_kb,
    parse_kb,
)
from hotline.knowledge.search import Retriever, is_personal_story, is_question

GOOD_ENTRY: dict[str, object] = {
    "id": "aid_free_of_charge",
    "category": "other_legal",
    "questions": ["法律援助要交钱吗", "法律援助收费吗"],
    "answer": "不收费。法律援助是国家无偿提供的法律服务。",
    "articles": [{"law": "中华人民共和国法律援助法", "article": "第二条"}],
}
DEFAULTS: dict[str, object] = {
    "last_checked": "2026-12-06",
    "checked_by": "系统初稿（待法律顾问复核）",
    "review_due": "2026-12-06",
}


def doc(*entries: dict[str, object], defaults: dict[str, object] | None = None) -> str:
    return yaml.safe_dump(
        {"version": 1, "defaults": DEFAULTS if defaults is None else defaults, "entries": list(entries)},
        allow_unicode=True,
    )


# --- the packaged base -----------------------------------------------------------------------------
def test_packaged_base_covers_every_legal_category_with_five_entries() -> None:
    kb = packaged_kb()
    legal = {c.code for c in CATEGORIES} - {"complaint", "handoff"}
    assert legal == FAQ_CATEGORIES
    for code in legal:
        assert sum(e.category == code for e in kb.entries) >= 5, code


def test_packaged_entries_are_short_flagged_for_review_and_cite_articles() -> None:
    kb = packaged_kb()
    for entry in kb.entries:
        assert len(entry.answer) <= MAX_ANSWER_CHARS
        assert entry.checked_by == "系统初稿（待法律顾问复核）"
        assert entry.review_overdue(dt.date(2026, 12, 6))
        assert len(entry.questions) >= 3 or entry.id, entry.id
    cited = [e for e in kb.entries if e.articles]
    assert len(cited) >= len(kb) - 5  # a few practical answers (残疾证, 补贴, 诈骗) rest on no single article
    assert (
        kb.by_id["wage_arbitration_time_limit"].citations()
        == "《中华人民共和国劳动争议调解仲裁法》第二十七条"
    )
    assert "第十七条" in kb.by_id["injury_where_to_apply"].citations()


# --- validation names the entry and the key -------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"category": "astrology"}, "entry aid_free_of_charge: category"),
        ({"answer": "长" * (MAX_ANSWER_CHARS + 1)}, "entry aid_free_of_charge: answer"),
        ({"questions": ["只有一种问法"]}, "entry aid_free_of_charge: questions"),
        ({"articles": [{"law": "中华人民共和国法律援助法", "article": "2"}]}, "articles.0.article"),
        ({"articles": [{"article": "第二条"}]}, "articles.0.law"),
        ({"reviewer": "x"}, "entry aid_free_of_charge: reviewer"),
        ({"review_due": "soon"}, "entry aid_free_of_charge: review_due"),
    ],
)
def test_a_bad_entry_names_its_key(change: dict[str, object], message: str) -> None:
    with pytest.raises(KnowledgeError, match=message):
        parse_kb(doc({**GOOD_ENTRY, **change}))


def test_missing_check_fields_without_defaults_are_errors() -> None:
    with pytest.raises(KnowledgeError, match="checked_by"):
        parse_kb(doc(GOOD_ENTRY, defaults={"last_checked": "2026-12-06", "review_due": "2027-01-01"}))


def test_duplicate_ids_and_phrasings_are_errors() -> None:
    with pytest.raises(KnowledgeError, match="duplicate id"):
        parse_kb(doc(GOOD_ENTRY, GOOD_ENTRY))
    other = {**GOOD_ENTRY, "id": "aid_fee_again"}
    with pytest.raises(
        KnowledgeError, match="aid_fee_again: questions: '法律援助要交钱吗' also in aid_free_of_charge"
    ):
        parse_kb(doc(GOOD_ENTRY, other))


def test_unknown_top_level_key_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="versoin: Extra inputs"):
        parse_kb(doc(GOOD_ENTRY).replace("version: 1", "version: 1\nversoin: 2"))
    path = tmp_path / "faq.yaml"
    path.write_text("entries: [", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="not valid YAML"):
        load_kb(path)


def test_entry_value_overrides_default_and_overdue_list() -> None:
    kb = parse_kb(doc({**GOOD_ENTRY, "review_due": "2027-06-30"}))
    assert kb.overdue(dt.date(2027, 6, 29)) == []
    assert [e.id for e in kb.overdue(dt.date(2027, 6, 30))] == ["aid_free_of_charge"]


# --- retriever -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("劳动仲裁有没有时效", "wage_arbitration_time_limit"),
        ("工伤认定去哪里申请", "injury_where_to_apply"),
        ("抚养费一般怎么算", "family_child_support_amount"),
        ("法律援助要交钱吗", "aid_free_of_charge"),
        ("申请法律援助要带什么材料", "aid_materials"),
        ("请问一下，法律援助是免费的吗？", "aid_free_of_charge"),
        ("申请人身安全保护令怎么弄", "dv_protection_order"),
    ],
)
def test_retriever_finds_the_entry(question: str, expected: str) -> None:
    match = Retriever(packaged_kb(), 0.4).answer(question)
    assert match is not None and match.entry.id == expected


def test_retriever_threshold_and_ranking() -> None:
    kb = packaged_kb()
    assert Retriever(kb, 0.4).answer("今天天气怎么样") is None
    ranked = Retriever(kb, 0.4).rank("劳动仲裁有没有时效", k=3)
    assert ranked[0].entry.id == "wage_arbitration_time_limit"
    assert ranked[0].score == pytest.approx(1.0) and ranked[0].score > ranked[1].score >= ranked[2].score
    assert Retriever(kb, 0.99).answer("仲裁的时效是几年") is None  # the threshold is the caller's


def test_retriever_never_answers_a_personal_story_even_with_the_exact_words() -> None:
    assert Retriever(packaged_kb(), 0.1).answer("我想问劳动仲裁有没有时效，我被欠了三个月工资") is None


# --- personal stories -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "personal"),
    [
        ("劳动仲裁有没有时效", False),
        ("我想问一下劳动仲裁有没有时效", False),  # a question opener is not a story
        ("请问法律援助要交钱吗", False),
        ("子女不给赡养费怎么办", False),
        ("离婚孩子归谁", False),
        ("老板拖欠我三个月工资", True),  # first person
        ("俺在工地干活手被压断了", True),
        ("我爸今年七十多岁了", True),
        ("公司欠了两万块工资不给", True),  # an amount
        ("拖欠工资三个月了", True),  # how long so far
        ("去年在路上被车撞了", True),  # when
        ("被车撞了，对方不赔钱", True),  # something happened
        ("离婚后前夫不给孩子抚养费", True),  # a particular person
        ("娃在学校叫同学打破头了", True),
        ("老公天天打人怎么办", True),  # a relative and a narrative
        ("今年七十岁", True),  # an age
        ("工地上包工头带着人干了一年的活最后说没钱发工资大家都没办法只能到处找人问问该怎么办才好", True),
    ],
)
def test_is_personal_story(text: str, personal: bool) -> None:
    assert is_personal_story(text) is personal


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("交通事故", False),
        ("未成年人", False),
        ("打劳动仲裁收不收费", True),
        ("抚养费标准", True),
        ("离婚孩子归谁", True),
    ],
)
def test_a_bare_topic_is_not_a_question(text: str, question: bool) -> None:
    assert is_question(text) is question
    if not question:
        assert Retriever(packaged_kb(), 0.1).answer(text) is None
