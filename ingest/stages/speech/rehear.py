"""Re-hearing unsure speech with the words on screen in mind (speech and screen reconciled at ingest).

Why: the recogniser writes a rare name or term it has not heard as common words ("Foxgle of Farms",
"all your castle") with low word probabilities, while a slide, caption or lower third visible at that
moment spells it. Feeding the visible words to Whisper as hotwords for that stretch alone turns most such
words into the screen's spelling; feeding them for the whole file biases every other stretch.

What is changed, and only that: an utterance with an unsure word whose letters resemble a word on screen
at the time is decoded again with the visible lines as hotwords; in the new decoding, a run of words that
differs from the old one replaces it only when the old run held an unsure word and every new word is a
word on screen. The hint can make the decoder write a screen word where it was not said (a slide's
heading over unrelated speech), so nothing the recogniser was sure of is replaced and nothing off screen
is accepted. Speech without text on screen, or heard surely, costs nothing.

Cost: the encoder reads 30-s windows, so unsure utterances are packed into shared windows (separated by
silence) and each window is one decode; their hints are the union of the packed utterances' lines (a
replacement still needs a word visible during its own utterance).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from clipcite.domain import FrameText, SpeechSpan, Word

REHEAR_VERSION = 1  # in the analysis cache key: a change to what is re-heard re-analyses files
SAMPLE_RATE = 16000
UNSURE = 0.5  # a word below this probability may be re-heard (the prompt marks words below 0.4)
RESEMBLES = 0.5  # letter similarity (difflib ratio) between an unsure run and a screen word
PAD = 0.3  # seconds of audio kept either side of an utterance
GAP = 0.6  # seconds of silence between utterances packed into one window
WINDOW = 28.0  # packed audio per decode (Whisper reads 30 s)
CONFIRMED = 1.0  # probability given to a word the screen and the re-hearing agree on

# (audio, hotwords) -> words with times in that audio: one Whisper decode of a packed window
Decode = Callable[[np.ndarray, str], list[Word]]


@dataclass(frozen=True)
class Candidate:
    index: int  # position in the analysis' speech list
    span: SpeechSpan
    lines: tuple[str, ...]  # screen lines visible during the utterance

    def clip(self, total: float) -> tuple[float, float]:
        """The stretch of audio decoded for it: the utterance and `PAD` either side, within the file."""
        return max(self.span.start - PAD, 0.0), min(self.span.end + PAD, total)


def _norm(word: str) -> str:
    return re.sub(r"[^\w]", "", word.casefold())


def _screen_words(lines: Sequence[str]) -> set[str]:
    return {w for w in (_norm(t) for line in lines for t in line.split()) if w}


def visible_lines(texts: Sequence[FrameText], start: float, end: float) -> tuple[str, ...]:
    """Lines on screen while the utterance is spoken (a little either side: a slide changes on a pause)."""
    lines = [line for t in texts if t.end > start - PAD and t.start < end + PAD for line in t.lines]
    return tuple(dict.fromkeys(lines))


def resembles_screen(span: SpeechSpan, lines: Sequence[str]) -> bool:
    """An unsure word (or two adjacent ones, written together) resembles a screen word not already said:
    the sign of a name written as common words. A screen that holds nothing like the unsure words gives
    the re-hearing nothing to use, so it is not paid for."""
    said = {_norm(w.text) for w in span.words}
    screen = {w for w in _screen_words(lines) - said if len(w) >= 3 or any(ch.isdigit() for ch in w)}
    low = [_norm(w.text) for w in span.words if w.probability < UNSURE]
    runs = [r for r in low + [a + b for a, b in zip(low, low[1:], strict=False)] if len(r) >= 2]
    return any(difflib.SequenceMatcher(None, r, s).ratio() >= RESEMBLES for r in runs for s in screen)


def candidates(speech: Sequence[SpeechSpan], texts: Sequence[FrameText]) -> list[Candidate]:
    out = []
    for i, span in enumerate(speech):
        if not span.words or all(w.probability >= UNSURE for w in span.words):
            continue
        lines = visible_lines(texts, span.start, span.end)
        if lines and resembles_screen(span, lines):
            out.append(Candidate(i, span, lines))
    return out


def merge(span: SpeechSpan, heard: Sequence[Word], lines: Sequence[str]) -> SpeechSpan:
    """The utterance with each differing run replaced by the re-heard one where the old run held an unsure
    word and every re-heard word is on screen; everything else stays as first heard."""
    screen = _screen_words(lines)
    old, new = list(span.words), [w for w in heard if _norm(w.text)]
    ops = difflib.SequenceMatcher(None, [_norm(w.text) for w in old], [_norm(w.text) for w in new],
                                  autojunk=False).get_opcodes()
    words: list[Word] = []
    changed = False
    for tag, i1, i2, j1, j2 in ops:
        run = new[j1:j2]
        if (tag == "replace" and any(w.probability < UNSURE for w in old[i1:i2])
                and all(_norm(w.text) in screen for w in run)):
            words += [replace(w, probability=CONFIRMED) for w in run]
            changed = True
        else:
            words += old[i1:i2]
    if not changed:
        return span
    return replace(span, text=joined(words), words=tuple(words))


# Scripts written without spaces between words (Han, kana, Thai, Lao, Khmer, Myanmar).
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"  # Thai, Lao, Myanmar, Khmer
                       "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"  # CJK marks, kana, Han
                       "\uf900-\ufaff\uff00-\uffef]")  # compatibility Han, full-width forms


def joined(words: Sequence[Word]) -> str:
    """The utterance's text from its words: a space between two words unless both sides of the gap are in
    a script written without spaces."""
    out = ""
    for w in words:
        if out and not (_UNSPACED.match(out[-1]) and _UNSPACED.match(w.text[:1])):
            out += " "
        out += w.text
    return out


def _windows(found: Sequence[Candidate], total: float) -> list[list[Candidate]]:
    groups: list[list[Candidate]] = []
    length = 0.0
    for c in found:
        start, end = c.clip(total)
        clip = end - start
        if groups and length + GAP + clip <= WINDOW:
            groups[-1].append(c)
            length += GAP + clip
        else:
            groups.append([c])
            length = clip
    return groups


def rehear(speech: list[SpeechSpan], texts: Sequence[FrameText], load: Callable[[], np.ndarray],
           decode: Decode) -> int:
    """Re-hear the unsure utterances of `speech` (in place) against the screen; returns how many changed.
    `load` gives the file's 16 kHz audio, read only when some utterance is re-heard."""
    found = candidates(speech, texts)
    if not found:
        return 0
    audio = load()
    total = len(audio) / SAMPLE_RATE
    changed = 0
    silence = np.zeros(int(GAP * SAMPLE_RATE), dtype=np.float32)
    for group in _windows(found, total):
        pieces: list[np.ndarray] = []
        offsets: list[tuple[float, float, float]] = []
        at = 0.0
        for c in group:
            start, end = c.clip(total)
            clip = audio[int(start * SAMPLE_RATE):int(end * SAMPLE_RATE)]
            if pieces:
                pieces.append(silence)
                at += GAP
            offsets.append((at, at + len(clip) / SAMPLE_RATE, start))
            pieces.append(clip.astype(np.float32, copy=False))
            at += len(clip) / SAMPLE_RATE
        hints = " ".join(dict.fromkeys(line for c in group for line in c.lines))
        heard = decode(np.concatenate(pieces), hints)
        for c, (lo, hi, start) in zip(group, offsets, strict=True):
            mine = [replace(w, start=round(w.start - lo + start, 3), end=round(w.end - lo + start, 3))
                    for w in heard if lo <= (w.start + w.end) / 2 < hi]
            new = merge(c.span, mine, c.lines)
            if new is not c.span:
                speech[c.index] = new
                changed += 1
    return changed
