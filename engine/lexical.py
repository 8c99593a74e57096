"""BM25-style sparse vectors computed locally; Qdrant's IDF modifier supplies the IDF half.

Why: exact tokens - numbers, codes, names, extensions ("4471", "B12") - are where sentence embeddings
are weakest; a lexical index finds them. Terms hash to a stable 31-bit index (no vocabulary to store
or keep in sync across processes or machines).

Every script: text is case- and accent-folded ("Lucía" meets "Lucia", "Straße" meets "strasse"), Chinese
is folded to Simplified characters (Whisper often writes Mandarin in Traditional ones: "會議" meets "会议";
OpenCC's tables) and segmented into words by jieba (search mode: "会议室" also yields "会议"), and Japanese
kana / Korean runs, which jieba does not know, become overlapping character pairs.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
import zlib
from collections import Counter
from functools import lru_cache

from clipcite.domain import Segment
from engine.store import SparseVec

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[^\W_]+(?:[.,][0-9]+)*")
# Han, kana, Hangul: scripts written without spaces between words.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Function words of the other languages Clipcite is evaluated on; words that are also English content
# words ("die", "war", "son", "no", "dove", "hay", "den") are left out, so English behaves as before.
_FUNCTION_WORDS = """
    el la las un una unos unas de del y o que en es por para con se lo le su sus cual cuales
    cuando donde como quien cuanto cuanta cuantos cuantas esta este esto estos estas ese esa fue muy
    der das dem des ein eine einen einem einer und oder ist sind wie wo wer welche welcher welches
    wann im mit von zu auf fur nicht auch es sie er ich wir ihr hier dort
    les une des et ou est sont qui quoi quel quelle quels quelles quand comment combien dans sur pour avec
    du au aux ce cet cette ces il ils elle elles nous vous leur leurs pas
    o os um uma e em do da dos das na nos nas qual quais quanto quantos
    il lo gli della dei delle che di per con chi quando quanto quale sono
    的 了 是 在 吗 呢 吧 啊 和 与 及 也 都 就 这 那 这个 那个 什么 哪 哪里 哪儿 几 多少 怎么 怎样 我们 你们 他们
    我 你 他 她 它 有 没有 会 要 被 把 从 到 对 为 里 上 个
"""
FOREIGN_STOPWORDS = frozenset(_FUNCTION_WORDS.split())
STOPWORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does", "for",
    "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my",
    "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "then", "there", "these", "they",
    "this", "to", "was", "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with",
    "would", "you", "your", "about", "after", "all", "also", "any", "before", "being", "both", "each", "few", "more",
    "most", "other", "same", "some", "such", "only", "own", "just", "should", "now"
]) | FOREIGN_STOPWORDS
K1, B, AVG_LEN = 1.2, 0.75, 40.0
VERSION = 3  # bump when tokens() changes: stored lexical vectors are rebuilt at start-up (ingest.migrate)


_SPLIT_HUNDREDS = re.compile(r"\b([1-9])00 and ([1-9][0-9]?)\b")


def join_spoken_numbers(text: str) -> str:
    """Whisper writes "two hundred and twelve" as "200 and 12": join such pairs back into one number
    (an inverse-text-normalisation step), so "room 212" in a question meets "room 200 and 12" in speech."""
    return _SPLIT_HUNDREDS.sub(lambda m: str(int(m.group(1)) * 100 + int(m.group(2))), text)


_SPACED_GROUP = re.compile(r"(?<=\d) ([,.])(?=\d)")


def tidy_numbers(text: str) -> str:
    """Transcripts as a person writes them: Whisper sometimes spaces a digit group ("$650 ,000", "1 .8")."""
    return _SPACED_GROUP.sub(r"\1", text)


def _stem(tok: str) -> str:
    """A tiny suffix stripper: enough to meet 'goggles'/'goggle', 'required'/'requires'."""
    for suffix in ("ingly", "edly", "ing", "ies", "ed", "es", "s"):
        if len(tok) > len(suffix) + 2 and tok.endswith(suffix) and not tok[-len(suffix) - 1].isdigit():
            return tok[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return tok


def fold(text: str) -> str:
    """Case- and accent-folded (NFKD, combining marks dropped; full-width forms to ASCII via NFKC)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if text.isascii():
        return text
    return "".join(_fold_char(c) for c in text)


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    """Alphabets only (below U+2000: Latin, Greek, Cyrillic): kana voicing marks are part of the letter."""
    if ord(c) >= 0x2000:
        return c
    return "".join(d for d in unicodedata.normalize("NFKD", c) if not unicodedata.combining(d))


_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _jieba():
    """jieba, loaded once (its dictionary takes ~1.5 s); None when it is not installed."""
    with _jieba_lock:
        try:
            with warnings.catch_warnings():  # jieba imports pkg_resources, which warns on import
                warnings.simplefilter("ignore", DeprecationWarning)
                import jieba
        except ImportError as exc:  # a dependency; without it Chinese falls back to character pairs
            log.warning("jieba is not importable (%s): Chinese text is indexed as character pairs", exc)
            return None
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba


@lru_cache(maxsize=1)
def _simplified():
    """OpenCC's Traditional -> Simplified converter; None when it is not installed."""
    try:
        from opencc import OpenCC
    except ImportError as exc:
        log.warning("opencc is not importable (%s): Traditional and Simplified Chinese do not match", exc)
        return None
    return OpenCC("t2s")


def _cjk_words(run: str) -> list[str]:
    """Words of a run of Han / kana / Hangul characters."""
    jb = _jieba() if _HAN.search(run) else None
    if jb is not None and not re.search(r"[\u3040-\u30ff\uac00-\ud7af]", run):
        conv = _simplified()
        return [w for w in jb.cut_for_search(conv.convert(run) if conv else run) if w.strip()]
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


_CJK_CHAR = r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]"
_SPACED_CJK = re.compile(rf"(?<={_CJK_CHAR}) +(?={_CJK_CHAR})")


def _words(text: str) -> list[str]:
    """Raw words in reading order: CJK runs segmented, everything else split on non-word characters.
    Spaces between Han characters (Whisper's word timestamps join "公 司") are not word breaks."""
    text = _SPACED_CJK.sub("", text)
    out: list[str] = []
    pos = 0
    for m in _CJK.finditer(text):
        out.extend(_TOKEN.findall(text[pos:m.start()]))
        out.extend(_cjk_words(m.group()))
        pos = m.end()
    out.extend(_TOKEN.findall(text[pos:]))
    return out


def tokens(text: str) -> list[str]:
    out = []
    for raw in _words(fold(join_spoken_numbers(text))):
        if raw in STOPWORDS:
            continue
        out.append(raw if raw[0].isdigit() or not raw.isascii() else _stem(raw))
        if raw[0].isdigit() and any(c in raw for c in ".,"):  # "1,800" also matches "1" and "800"
            out.extend(p for p in re.split(r"[.,]", raw) if p)
    return out


def term_index(term: str) -> int:
    return zlib.crc32(term.encode()) & 0x7FFFFFFF


def doc_vector(text: str) -> SparseVec:
    counts = Counter(tokens(text))
    n = sum(counts.values())
    if not n:
        return SparseVec([], [])
    norm = K1 * (1 - B + B * n / AVG_LEN)
    weights: dict[int, float] = {}
    for term, tf in counts.items():
        idx = term_index(term)
        weights[idx] = weights.get(idx, 0.0) + tf * (K1 + 1) / (tf + norm)
    items = sorted(weights.items())
    return SparseVec([i for i, _ in items], [round(w, 5) for _, w in items])


def query_vector(text: str) -> SparseVec:
    terms = sorted({term_index(t) for t in tokens(text)})
    return SparseVec(terms, [1.0] * len(terms))


def has_term(term: str, terms: set[str]) -> bool:
    """Exact, or a shared 5-letter prefix for longer terms: the stemmer is crude ("goggl" vs "goggles")."""
    return term in terms or (len(term) >= 5 and any(t.startswith(term[:5]) for t in terms))


def segment_terms(seg: Segment, with_filename: bool = True) -> set[str]:
    """The terms of every modality of a segment (and its file name), as the index sees them."""
    parts = [seg.speech_text, " ".join(seg.scene_text), " ".join(seg.visual), seg.sound_text]
    if with_filename:
        parts.append(str(seg.file_info.get("filename") or ""))
    return set(tokens(" ".join(parts)))
