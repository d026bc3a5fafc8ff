"""The words of the public survey pages in Italian and English (buttons, progress, errors, polite pages), read from
the gettext catalogs of momenti.core.i18n."""

from __future__ import annotations

from momenti.core.i18n import N_, NP_, gettext, pgettext
from momenti.domains.surveys.definition import LANGS, Question

# The words of the survey pages by key; the msgids (English) are translated by the catalogs of core/locales.
MESSAGES: dict[str, str] = {
    "next": N_("Next"), "submit": N_("Submit"), "back": N_("Back"), "required": N_("required"),
    "progress": N_("Page {i} of {n}"), "switch": N_("Switch to the other language"),
    "error_title": N_("To complete"),
    "summary": N_("Some answers are missing: please complete them to go on."),
    "error_required": N_("Please answer this question to go on."),
    "error_invalid": N_("Please choose one of the answers offered."),
    "thanks_title": N_("Thank you"), "thanks_text": N_("Your answers have been recorded."),
    "recorded_title": N_("Answers already recorded"),
    "recorded_text": N_("This survey was closed after a period of inactivity; the answers you gave have been "
                        "recorded. Thank you!"),
    "closed_title": N_("Survey closed"),
    "closed_text": N_("This survey no longer takes answers. Thank you for your interest all the same."),
    "not_found_title": N_("Survey not found"),
    "not_found_text": N_("We cannot find this survey. Please check the address you received."),
    "link_invalid_title": N_("Invalid link"),
    "link_invalid_text": N_("The link you used is not valid. Please use the link you received, unchanged."),
    "link_expired_title": N_("Link expired"),
    "link_expired_text": N_("The link you used has expired. We are sorry: it can no longer be used to answer."),
    "link_required_title": N_("A personal link is needed"),
    "link_required_text": N_("This survey is answered from the personal link you received by e-mail or text."),
    "already_title": N_("Already answered"),
    "already_text": N_("This survey has already been answered with this link. Thank you!"),
    "busy_title": N_("Too many submissions"),
    "busy_text": N_("We received too many submissions at once: please try again in a moment."),
}

# The points of agreement scales: the same English words name different Italian points on 5 and 7 points,
# hence a context per scale length.
AGREE_POINTS: dict[int, list[tuple[str, str]]] = {
    5: [NP_("agree-5", "Strongly disagree"), NP_("agree-5", "Disagree"),
        NP_("agree-5", "Neither agree nor disagree"), NP_("agree-5", "Agree"), NP_("agree-5", "Strongly agree")],
    7: [NP_("agree-7", "Strongly disagree"), NP_("agree-7", "Disagree"), NP_("agree-7", "Somewhat disagree"),
        NP_("agree-7", "Neither agree nor disagree"), NP_("agree-7", "Somewhat agree"), NP_("agree-7", "Agree"),
        NP_("agree-7", "Strongly agree")],
}

# The meaning of the ends of the standard scales when the definition does not say.
SCALE_END_MSGIDS: dict[str, tuple[str, str]] = {
    "nps": (N_("Not at all likely"), N_("Extremely likely")),
    "csat": (N_("Very dissatisfied"), N_("Very satisfied")),
    "ces": (N_("Very difficult"), N_("Very easy")),
}


def ui(lang: str) -> dict[str, str]:
    """The words of the survey pages in `lang`, by key."""
    return {key: gettext(lang, msgid) for key, msgid in MESSAGES.items()}


# Read once from the catalogs: the pages index these by language and key.
UI: dict[str, dict[str, str]] = {lang: ui(lang) for lang in LANGS}
AGREE: dict[str, dict[int, list[str]]] = {
    lang: {n: [pgettext(lang, ctx, msgid) for ctx, msgid in points] for n, points in AGREE_POINTS.items()}
    for lang in LANGS}
SCALE_ENDS: dict[str, dict[str, tuple[str, str]]] = {
    kind: {lang: (gettext(lang, low), gettext(lang, high)) for lang in LANGS}
    for kind, (low, high) in SCALE_END_MSGIDS.items()}


def pick_language(*candidates: str | None, accept_language: str | None = None) -> str:
    """The first candidate naming Italian or English (?lang=, a link's language, a form field); else the best of
    the two in Accept-Language by q-value; else Italian."""
    for value in candidates:
        if value and value.strip().lower()[:2] in LANGS:
            return value.strip().lower()[:2]
    best, best_q = "it", -1.0
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower()[:2]
        if code not in LANGS:
            continue
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = code, q
    return best


def agree_labels(points: int, lang: str) -> list[str]:
    return AGREE[lang][points]


def scale_labels(q: Question, lang: str) -> tuple[str | None, str | None]:
    default = SCALE_ENDS.get(q.type, {}).get(lang, (None, None))
    low = q.low_label.get(lang) if q.low_label else default[0]
    high = q.high_label.get(lang) if q.high_label else default[1]
    return low, high
