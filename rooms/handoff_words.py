"""The hand-off notices as members read them, in the page's language.

A page keeps its reason as a fixed English string: that is what the audit log and the advisor's
page carry (no personal data, one wording to search for). Only the ``handoff`` message the room's
members read is put into the language of the page (the customer's token language, or the
language of the question that needed a person). Cantonese speakers read the Chinese in
traditional characters as Hong Kong writes them; the browser knows these texts in every script
and shows them in the page's own language.
"""

from __future__ import annotations

from avatars import suitability
from avatars.script import to_hk

ASKED = "the customer asked for a person"
INTEREST = "the customer confirmed interest in a product"
BOOKED = "booked appointment"  # the time of an appointment came (server/appointments.py)
ACCEPTED = "an advisor accepted"
LOOKING = "looking for an advisor"
ASKING = "asking {name}"
UNAVAILABLE = "no advisor is free right now; you stay in the queue"
HERE = "your advisor is here"
LEFT = "the customer left"
RETRYING = "advisor paging is unavailable for a moment; retrying"  # from server/room_host.py

_CHINESE = {
    ASKED: "客户希望与真人顾问交谈",
    INTEREST: "客户确认对产品感兴趣",
    BOOKED: "预约的会面时间已到",
    ACCEPTED: "顾问已接受请求",
    LOOKING: "正在寻找顾问",
    ASKING: "正在邀请 {name}",
    UNAVAILABLE: "暂时没有空闲的顾问，您仍在排队中",
    HERE: "您的顾问已到达",
    LEFT: "客户已离开",
    RETRYING: "顾问呼叫暂时不可用，正在重试",
    suitability.COMPLEX: "这是复杂产品，须由真人顾问讲解",
    suitability.NOT_ASSESSED: "尚未完成风险承受能力评估",
    suitability.ABOVE_PROFILE: "产品的风险等级高于客户的风险承受能力",
}


def said(text: str, language: str, **names: str) -> str:
    """``text`` (one of the notices above, or a suitability reason) in ``language``; a text
    without a translation stays as it is."""
    if language in ("zh", "yue") and text in _CHINESE:
        text = _CHINESE[text] if language == "zh" else to_hk(_CHINESE[text])
    return text.format(**names) if names else text
