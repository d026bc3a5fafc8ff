"""The words of the public survey pages in Italian and English (buttons, progress, errors, polite pages)."""

from __future__ import annotations

from momenti.domains.surveys.definition import LANGS, Question

UI: dict[str, dict[str, str]] = {
    "it": {
        "next": "Avanti", "submit": "Invia", "back": "Indietro", "required": "obbligatoria",
        "progress": "Pagina {i} di {n}", "switch": "English", "error_title": "Da completare",
        "summary": "Manca qualche risposta: la completi per proseguire.",
        "error_required": "Risponda a questa domanda per proseguire.",
        "error_invalid": "Scelga una delle risposte proposte.",
        "thanks_title": "Grazie", "thanks_text": "Le sue risposte sono state registrate.",
        "recorded_title": "Risposte già registrate",
        "recorded_text": "Questo questionario è stato chiuso per inattività; le risposte date sono state registrate. "
                         "Grazie!",
        "closed_title": "Questionario chiuso",
        "closed_text": "Questo questionario non raccoglie più risposte. Grazie comunque per il suo interesse.",
        "not_found_title": "Questionario non trovato",
        "not_found_text": "Non troviamo questo questionario. Controlli l'indirizzo ricevuto.",
        "link_invalid_title": "Link non valido",
        "link_invalid_text": "Il link usato non è valido. Usi il link ricevuto, senza modificarlo.",
        "link_expired_title": "Link scaduto",
        "link_expired_text": "Il link usato è scaduto. Ci scusiamo: non è più possibile rispondere con questo link.",
        "link_required_title": "Serve un link personale",
        "link_required_text": "Questo questionario si compila dal link personale ricevuto via e-mail o SMS.",
        "already_title": "Già compilato",
        "already_text": "Con questo link il questionario è già stato compilato. Grazie!",
        "busy_title": "Troppi invii", "busy_text": "Abbiamo ricevuto troppi invii in poco tempo: riprovi tra poco.",
    },
    "en": {
        "next": "Next", "submit": "Submit", "back": "Back", "required": "required",
        "progress": "Page {i} of {n}", "switch": "Italiano", "error_title": "To complete",
        "summary": "Some answers are missing: please complete them to go on.",
        "error_required": "Please answer this question to go on.",
        "error_invalid": "Please choose one of the answers offered.",
        "thanks_title": "Thank you", "thanks_text": "Your answers have been recorded.",
        "recorded_title": "Answers already recorded",
        "recorded_text": "This survey was closed after a period of inactivity; the answers you gave have been "
                         "recorded. Thank you!",
        "closed_title": "Survey closed",
        "closed_text": "This survey no longer takes answers. Thank you for your interest all the same.",
        "not_found_title": "Survey not found",
        "not_found_text": "We cannot find this survey. Please check the address you received.",
        "link_invalid_title": "Invalid link",
        "link_invalid_text": "The link you used is not valid. Please use the link you received, unchanged.",
        "link_expired_title": "Link expired",
        "link_expired_text": "The link you used has expired. We are sorry: it can no longer be used to answer.",
        "link_required_title": "A personal link is needed",
        "link_required_text": "This survey is answered from the personal link you received by e-mail or text.",
        "already_title": "Already answered",
        "already_text": "This survey has already been answered with this link. Thank you!",
        "busy_title": "Too many submissions", "busy_text": "We received too many submissions at once: please try "
                                                          "again in a moment.",
    },
}

AGREE: dict[str, dict[int, list[str]]] = {
    "it": {
        5: ["Per niente d'accordo", "Poco d'accordo", "Né d'accordo né in disaccordo", "Abbastanza d'accordo",
            "Del tutto d'accordo"],
        7: ["Per niente d'accordo", "In disaccordo", "Un po' in disaccordo", "Né d'accordo né in disaccordo",
            "Un po' d'accordo", "D'accordo", "Del tutto d'accordo"],
    },
    "en": {
        5: ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"],
        7: ["Strongly disagree", "Disagree", "Somewhat disagree", "Neither agree nor disagree", "Somewhat agree",
            "Agree", "Strongly agree"],
    },
}

# The meaning of the ends of the standard scales when the definition does not say.
SCALE_ENDS: dict[str, dict[str, tuple[str, str]]] = {
    "nps": {"it": ("Per nulla probabile", "Estremamente probabile"), "en": ("Not at all likely", "Extremely likely")},
    "csat": {"it": ("Per nulla soddisfatto", "Molto soddisfatto"), "en": ("Very dissatisfied", "Very satisfied")},
    "ces": {"it": ("Molto difficile", "Molto facile"), "en": ("Very difficult", "Very easy")},
}


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
