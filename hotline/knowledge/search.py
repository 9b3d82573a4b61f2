"""Find the knowledge-base entry a general question asks about; tell personal stories apart.

Pure functions over the validated base (no database, no dialog): character n-gram TF-IDF over every
phrasing of every entry, cosine similarity, the best phrasing's score per entry. Below the configured
threshold nothing is answered. `is_personal_story` is checked first by the caller: a message about the
citizen's own case (first person, a relative's story, amounts, ages, how long ago) is never answered by
a general FAQ alone; it goes to the intake like any other problem. Cues are deliberately broad: a general
question sent to the intake costs an operator a minute, a story answered with a FAQ costs the citizen help.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from hotline.knowledge.loader import FaqEntry, KnowledgeBase

DEFAULT_THRESHOLD = 0.4  # the KnowledgeConfig default; callers pass the configured one

# Question openers that contain 我 but tell nothing about the citizen ("我想问一下…").
_QUESTION_OPENERS = re.compile(
    r"(我|俺)?(想|要)?(问|咨询|了解|知道|请教)(一下|下|个问题|一个问题)?|请问|麻烦问|我有个问题|我有一个问题|"
    r"你们|您好|你好|老师好"
)
_FIRST_PERSON = re.compile(
    r"我|俺|咱|本人|自己|自个|娃|闺女|前夫|前妻|前男友|前女友|孩子他爸|孩子他妈|我男人"
)
_NUM = r"[0-9０-９]+(?:\.[0-9]+)?|[一二两三四五六七八九十百千万几半]+"
_CASE_FACTS = re.compile(
    rf"(?:{_NUM})\s*(?:元|块|万|千块|百块|w)"  # amounts
    rf"|(?:{_NUM})\s*岁了|今年\s*(?:{_NUM})\s*岁|(?:{_NUM})\s*多岁"  # ages
    rf"|(?:{_NUM})\s*(?:个)?(?:月|年|天|周|星期|礼拜|小时)(?:了|多了|都没|没)"  # durations so far
    r"|被.{1,6}了"  # something happened to someone
    r"|去年|前年|上个月|上月|上周|上星期|前天|昨天|昨晚|今天|今早|前几天|这几天|那天|刚才|刚刚|半年前|几年前"
)
_RELATIVES = re.compile(
    r"老公|老婆|丈夫|妻子|媳妇|婆婆|公公|儿子|女儿|儿媳|女婿|爸爸|妈妈|父亲|母亲|爹|娘|爷爷|奶奶|外公|外婆|"
    r"哥哥|姐姐|弟弟|妹妹|家人|家里人|孩子|小孩|亲戚|邻居|老板|包工头|厂里|公司|单位|男朋友|女朋友|对象|对方|他|她"
)
_NARRATIVE = re.compile(
    r"了|一直|天天|经常|总是|老是|还没|至今|到现在|不给|不赔|不还|不管|不认|不发|不付|不让"
)
# A general question asks something; a bare topic (“交通事故”, “未成年人”) starts a story.
_QUESTION = re.compile(
    r"[吗嘛呢么？?]|怎么|怎样|咋|如何|哪|多少|多久|多长|几|什么|啥|谁|是否|能否|可否|有没有|要不要|会不会|算不算|"
    r"([\u4e00-\u9fff])不\1|可以.{0,8}吗|标准|条件|区别|期限|时效|流程|手续|顺序"
)
_STORY_LENGTH = 40  # Chinese characters: general questions are short, stories are long


def _clean(text: str) -> str:
    return re.sub(r"[\s\W_]+", "", text)


def is_question(text: str) -> bool:
    """True when the message asks something (a question word or mark), not just names a topic."""
    return bool(_QUESTION.search(text))


def is_personal_story(text: str) -> bool:
    """True when the message is about the citizen's (or a relative's) own matter, not a general question."""
    body = _clean(_QUESTION_OPENERS.sub("", text))
    if not body:
        return False
    if len(body) > _STORY_LENGTH:
        return True
    if _FIRST_PERSON.search(body) or _CASE_FACTS.search(body):
        return True
    return bool(_RELATIVES.search(body) and _NARRATIVE.search(body))


@dataclass(frozen=True)
class Match:
    entry: FaqEntry
    score: float


class Retriever:
    """TF-IDF over character 1–3-grams of all phrasings; an entry scores its best phrasing's cosine."""

    def __init__(self, kb: KnowledgeBase, threshold: float = DEFAULT_THRESHOLD) -> None:
        self.kb = kb
        self.threshold = threshold
        self._owners: list[FaqEntry] = [e for e in kb.entries for _ in e.questions]
        docs = [_normalise(q) for e in kb.entries for q in e.questions]
        self._vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        self._matrix = self._vectorizer.fit_transform(docs)

    def rank(self, text: str, k: int = 3) -> list[Match]:
        """The k best entries with their scores, best first (no threshold)."""
        query = self._vectorizer.transform([_normalise(text)])
        scores = np.asarray((self._matrix @ query.T).todense()).ravel()  # rows are L2-normalised
        best: dict[str, Match] = {}
        for index in np.argsort(-scores):
            entry = self._owners[int(index)]
            if entry.id not in best:
                best[entry.id] = Match(entry, float(scores[index]))
            if len(best) >= k:
                break
        return list(best.values())

    def answer(self, text: str) -> Match | None:
        """The entry a general question asks about; None below threshold, for a story or a bare topic."""
        if is_personal_story(text) or not is_question(text):
            return None
        ranked = self.rank(text, k=1)
        if not ranked or ranked[0].score < self.threshold:
            return None
        return ranked[0]


def _normalise(text: str) -> str:
    """Drop the polite openers and punctuation, which every question shares and no answer depends on."""
    return _clean(_QUESTION_OPENERS.sub("", text))
