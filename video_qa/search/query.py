"""A query's words: cut, stop words, the forms a word matches, marked matches in a text."""

from __future__ import annotations

import functools
import re

WORD = re.compile(r"[^\W_]+", re.UNICODE)
MARK_OPEN, MARK_CLOSE = "[", "]"


def words(query: str) -> list[str]:
    return [w.lower() for w in WORD.findall(query)][:32]


@functools.lru_cache(maxsize=65536)
def _forms(word: str) -> frozenset[str]:
    """The word and what it is with one common English ending taken off."""
    w = word.lower()
    forms = {w}
    for suffix in ("ingly", "edly", "ing", "ies", "ied", "ed", "es", "ly", "s"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            forms.add(w[: -len(suffix)])
    return frozenset(forms)


def mark(text_: str, query_words: list[str]) -> str:
    """``text_`` with every word matching a query word (up to a common ending) in brackets."""
    wanted = frozenset().union(*(_forms(w) for w in query_words))
    if not wanted:
        return text_
    return WORD.sub(lambda m: f"{MARK_OPEN}{m.group(0)}{MARK_CLOSE}" if _forms(m.group(0)) & wanted else m.group(0), text_)


STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his i in is it its of on or our she so that the their "
    "them then there these they this to was we were what when where which who why will with you your "
    "do does did done how can could would should about into not no been being had me my us".split()
)


def normalised(text_: str) -> list[str]:
    """The words of ``text_``, lower case (punctuation, case and spacing do not count)."""
    return [w.lower() for w in WORD.findall(text_)]

