"""The language a question is asked in, so the answer (and a refusal) comes back in it.

Why a text classifier and not the chat model: a 1.5B model told "answer in the question's language"
answered Chinese questions in English; naming the language explicitly ("Answer in Spanish.") works, and the
refusal, a fixed sentence, needs the language anyway. py3langid (BSD, model inside the wheel) is restricted
to widely used languages, and a guess under `MIN_CONFIDENCE` counts as "not known" (short English
questions such as "KESTREL-41?" or "Who is Lucía?" are otherwise guessed wrong). Han or kana script
decides outright.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

log = logging.getLogger(__name__)

NAMES = {
    "en": "English", "es": "Spanish", "de": "German", "fr": "French", "it": "Italian", "pt": "Portuguese",
    "nl": "Dutch", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "ru": "Russian", "pl": "Polish",
    "sv": "Swedish", "tr": "Turkish", "ar": "Arabic", "hi": "Hindi", "cs": "Czech", "vi": "Vietnamese",
    "id": "Indonesian", "uk": "Ukrainian", "el": "Greek", "da": "Danish", "fi": "Finnish", "no": "Norwegian",
}

# "The videos do not contain this information." in the languages above that the chat model writes well.
REFUSALS = {
    "en": "The videos do not contain this information.",
    "es": "Los videos no contienen esta información.",
    "de": "Die Videos enthalten diese Information nicht.",
    "fr": "Les vidéos ne contiennent pas cette information.",
    "it": "I video non contengono questa informazione.",
    "pt": "Os vídeos não contêm esta informação.",
    "nl": "De video's bevatten deze informatie niet.",
    "zh": "视频中没有这方面的信息。",
    "ja": "動画にはこの情報が含まれていません。",
    "ko": "동영상에 이 정보가 없습니다.",
    "ru": "В видео нет этой информации.",
    "pl": "Filmy nie zawierają tej informacji.",
    "sv": "Videorna innehåller inte den här informationen.",
    "tr": "Videolar bu bilgiyi içermiyor.",
}

MIN_CONFIDENCE = 0.8
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier():
    with _lock:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        ident.set_languages(list(NAMES))
        return ident


@lru_cache(maxsize=2048)
def detect(text: str) -> str | None:
    """ISO 639-1 code of `text`'s language, or None when it is too short or unclear to say."""
    text = text.strip()
    if not text:
        return None
    if _KANA.search(text):
        return "ja"
    if _HANGUL.search(text):
        return "ko"
    if len(_HAN.findall(text)) >= max(2, len(text) // 4):
        return "zh"
    letters = sum(c.isalpha() for c in text)
    if letters < 8:
        return None
    try:
        lang, prob = _identifier().classify(text)
    except Exception as exc:  # the classifier is an optional nicety: no answer is worse than an English one
        log.warning("language identification failed: %s", exc)
        return None
    return str(lang) if prob >= MIN_CONFIDENCE else None


def answer_language(question: str) -> str:
    """The language to answer in: the question's, English when unknown."""
    return detect(question) or "en"


def refusal(lang: str) -> str:
    return REFUSALS.get(lang, REFUSALS["en"])


def instruction(lang: str) -> str:
    """The line appended to the user message: empty for English (the prompts are written in it)."""
    if lang == "en" or lang not in NAMES:
        return ""
    return (f"Answer in {NAMES[lang]}, whatever the language of the segments. If they do not answer, "
            f"say exactly: {refusal(lang)}")
