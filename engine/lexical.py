"""BM25-style sparse vectors computed locally; Qdrant's IDF modifier supplies the IDF half.

Why: exact tokens - numbers, codes, names, extensions ("4471", "B12") - are where sentence embeddings
are weakest; a lexical index finds them. Terms hash to a stable 31-bit index (no vocabulary to store
or keep in sync across processes or machines).
"""

from __future__ import annotations

import re
import zlib
from collections import Counter

from clipcite.domain import Segment
from engine.store import SparseVec

_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*", re.I)
STOPWORDS = frozenset([
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does", "for",
    "from", "had", "has", "have", "he", "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my",
    "of", "on", "or", "our", "she", "so", "than", "that", "the", "their", "them", "then", "there", "these", "they",
    "this", "to", "was", "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will", "with",
    "would", "you", "your", "about", "after", "all", "also", "any", "before", "being", "both", "each", "few", "more",
    "most", "other", "same", "some", "such", "only", "own", "just", "should", "now"
])
K1, B, AVG_LEN = 1.2, 0.75, 40.0


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


def tokens(text: str) -> list[str]:
    out = []
    for raw in _TOKEN.findall(join_spoken_numbers(text).lower()):
        if raw in STOPWORDS:
            continue
        out.append(raw if raw[0].isdigit() else _stem(raw))
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
    parts = [seg.speech_text, " ".join(seg.scene_text), " ".join(seg.visual)]
    if with_filename:
        parts.append(str(seg.file_info.get("filename") or ""))
    return set(tokens(" ".join(parts)))
