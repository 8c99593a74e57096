"""Is an answer supported by the lines it cites? The same checks in every language and script.

Why these checks: a small model asked about videos recombines the words it was shown into near misses
stated as fact (one company's figure for another's, a misheard name copied, an unrelated line cited for
something the videos never give). Each check names a failure that holds for any content:

- anchors: every figure, code and proper name the answer states (beyond the question's own) is in a line
  it cites. Figures are compared as numbers, whatever their spelling: number words in the eight languages
  `text2num` reads, digit grouping ("1,200" / "1.200" / "1 200"), leading zeros ("09:00"). Names are checked
  where answer and lines share a language (a translation may rename a common noun, never a figure);
- meaning: the answer says what a cited line says, by the multilingual embedding's similarity (a
  recombination of shown words scores under the embedder's unrelated floor);
- subject: the cited lines are about what the question asks: their video names the names the question
  gives and the lines the model named hold one of its other words (what it asks of that name), or, for a
  question naming no one, the cited lines hold one of its content words (across languages: the embedding's
  similarity instead). "Who heads safety at <company A>?" answered from a line about company B, "how many
  drivers did <company A> hire?" from A's line about nurses, or "how much did <metric> fall?" from a line
  about another metric, fails here;
- use: a cited line that shares nothing with the answer is dropped from the citations.

A failure says which check failed (logged, and returned in the response's `grounding` extension), so
false refusals can be counted by cause.
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from clipcite.domain import ScoredSegment
from engine import languages, lexical
from engine.embedding import Embedder
from engine.evidence import Line
from engine.prompting import fmt_time

log = logging.getLogger(__name__)

_NUMBER = re.compile(r"\d+(?:[,.'’]\d+|:\d\d|\s\d{3}(?!\d))*")
# Letters and digits mixed; never the tail of a decimal ("1.8M" is a figure, not a code "8m").
_CODE = re.compile(r"(?<![\w-])(?<!\d[.,])(?=[\w-]*\d)(?=[\w-]*[^\W\d_])[\w]+(?:-[\w]+)*")
_NAME = re.compile(r"(?<![\w'’-])[A-ZÀ-ÖØ-ÞĀ-ſА-ЯΑ-Ω][\w'’-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n]\s*|[\"“(\[¿¡]\s*)$")
TEXT2NUM_LANGS = ("en", "fr", "es", "pt", "de", "nl", "da", "it")


@lru_cache(maxsize=4096)
def digits(text: str, lang: str | None = None) -> str:
    """Number words as digits in `lang` (or English), the way an answer and a transcript may differ."""
    try:
        from text_to_num import alpha2digit
    except ImportError:  # the checks still compare digits as written
        return text
    code = lang if lang in TEXT2NUM_LANGS else "en"
    try:
        return alpha2digit(text, code)
    except Exception:  # noqa: BLE001 - an unparseable phrase stays as written
        return text


def number_value(token: str) -> str:
    """One spelling per number: "1,200", "1.200", "1 200" -> "1200"; "09:00" -> "9:00"; "1,5" -> "1.5"."""
    t = token.replace("’", "'")
    if ":" in t:
        first, *rest = t.split(":")
        return ":".join([first.lstrip("0") or "0", *rest])
    groups = re.split(r"[ ,.']", t)
    if len(groups) > 1 and all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3:
        return "".join(groups).lstrip("0") or "0"
    if len(groups) == 2:
        return f"{groups[0].lstrip('0') or '0'}.{groups[1]}"
    return t.lstrip("0") or "0"


def _grouped(token: str) -> bool:
    groups = re.split(r"[ ,.'’]", token)
    return len(groups) > 1 and 1 <= len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:])


# A figure times a scale: "1.8 million", "1,8 millones", "2.5 Mrd", "$1.8M", "40k" (number_value's spelling
# of the product), and text2num's "1.8 1000000" for "1.8 million". Scale words of the languages text2num reads.
_SCALES = {"thousand": 3, "thousands": 3, "k": 3, "mille": 3, "mil": 3, "tausend": 3, "mila": 3, "duizend": 3,
           "million": 6, "millions": 6, "m": 6, "mio": 6, "millón": 6, "millones": 6, "millon": 6, "milhão": 6,
           "milhões": 6, "millionen": 6, "milione": 6, "milioni": 6, "miljoen": 6, "millioner": 6,
           "billion": 9, "billions": 9, "bn": 9, "milliard": 9, "milliards": 9, "milliarde": 9, "milliarden": 9,
           "mrd": 9, "miliardo": 9, "miliardi": 9, "miljard": 9, "1000": 3, "1000000": 6, "1000000000": 9}
_SCALED = re.compile(r"(?<![\d.,])(\d+(?:[.,]\d+)?)(?:(k|m|bn|mrd|mio)\b|\s(\w+)\b)", re.I)


def _scaled(text: str) -> str:
    def product(m: re.Match[str]) -> str:
        word = (m.group(2) or m.group(3) or "").casefold()
        if word not in _SCALES or (m.group(3) and word in ("k", "m")):  # "10 m" is ten metres
            return m.group(0)
        value = float(m.group(1).replace(",", ".")) * 10 ** _SCALES[word]
        return f"{value:.0f}" if value == int(value) else f"{value:g}"

    return _SCALED.sub(product, text)


def numbers(text: str, lang: str | None = None) -> set[str]:
    """Every number the text states, one spelling each ("1 200" is one number, "2024 100" two; "1.8 million"
    and "$1.8M" are both 1800000)."""
    out: set[str] = set()
    for m in _NUMBER.finditer(_scaled(digits(text, lang))):
        token = m.group()
        parts = [token] if " " not in token or _grouped(token) else token.split()
        out.update(number_value(p) for p in parts)
    return out


def fold(text: str) -> str:
    """Case- and accent-free, for comparing names and codes across spellings."""
    nfkd = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in nfkd if not unicodedata.combining(c))


# An ordinal is a figure in any of its spellings ("6th", "6e", "6º", "6.º"), never a code.
_ORDINAL = re.compile(r"\d+(?:st|nd|rd|th|e|er|re|eme|ème|º|ª|o|a|te|ten|de|ste)", re.I)


def _strip_codes(text: str) -> str:
    """The text without its codes (a code's digits are not figures); ordinals stay."""
    return _CODE.sub(lambda m: m.group() if _ORDINAL.fullmatch(m.group()) else " ", text)


def codes(text: str) -> set[str]:
    return {re.sub(r"[\W_]", "", fold(m.group())) for m in _CODE.finditer(text) if not _ORDINAL.fullmatch(m.group())}


def _name_matches(text: str) -> Iterator[tuple[re.Match[str], str]]:
    """Capitalised words that do not start a sentence (a name, not a sentence's first word), each with its
    folded spelling without a possessive."""
    for m in _NAME.finditer(text):
        if not _SENTENCE_START.search(text[:m.start()]):
            yield m, fold(re.sub(r"['’]s?$", "", m.group()))


def names(text: str) -> set[str]:
    return {name for _, name in _name_matches(text)}


def name_runs(text: str) -> list[str]:
    """The question's multi-word names as one folded string each ("Quillborne Maritime" ->
    "quillbornemaritime")."""
    runs: list[list[str]] = []
    last_end = -2
    for m, name in _name_matches(text):
        word = re.sub(r"[\W_]", "", name)
        if runs and text[last_end:m.start()].strip() == "":
            runs[-1].append(word)
        else:
            runs.append([word])
        last_end = m.end()
    return ["".join(r) for r in runs if len(r) > 1]


def mentions(context: str, asked: set[str], runs: Sequence[str] = ()) -> bool:
    """Does `context` name one of the `asked` names? Written as asked, or spelt much alike: a recogniser
    writes a rare name as the nearest words it knows ("Tellarvex" as "Telar Vex", "Quillborne Maritime" as
    "Quill Bourne Maritim"), so a name is matched against runs of one to three words with spaces and hyphens
    dropped. Long names only, and close spellings only (a multi-word name at 0.8 of its letters, a single
    word of six letters or more at 0.85): "Northfield" is not "Northwind"."""
    folded = fold(context)
    if any(n in folded for n in asked):
        return True
    targets = [(r, 0.8) for r in runs if len(r) >= 8] + [(n, 0.85) for n in asked if len(n) >= 6]
    if not targets:
        return False
    toks = [t for t in (re.sub(r"[\W_]", "", w) for w in folded.split()) if t]
    windows = {"".join(toks[i:i + k]) for k in (1, 2, 3) for i in range(len(toks) - k + 1)}
    for target, floor in targets:
        matcher = difflib.SequenceMatcher(None, b=target)
        for w in windows:
            if abs(len(w) - len(target)) * 3 > len(target):
                continue
            matcher.set_seq1(w)
            if matcher.real_quick_ratio() >= floor and matcher.quick_ratio() >= floor and matcher.ratio() >= floor:
                return True
    return False


@dataclass
class Verdict:
    supported: bool
    failed: str | None = None  # which check failed, in words ("figure 42 is in no cited line")
    text: str = ""  # the answer as checked (screen spellings applied)
    used: list[Line] = field(default_factory=list)  # cited lines the answer uses


@dataclass
class Grounding:
    """The checks, with the embedder that judges meaning across languages."""

    embedder: Embedder | None = None
    foreign: frozenset[str] = frozenset()  # the prompt's own example words: never evidence

    def check(self, answer: str, question: str, cited: Sequence[Line], lang: str,
              contexts: Sequence[str] = (), named: int | None = None, shown: Sequence[Line] = ()) -> Verdict:
        """`cited`: the lines the answer names (tool results included); `lang`: the answer's language;
        `contexts`: what is known around the cited lines, per video (its name and other lines shown), where
        the question's subject may be named; `named`: how many of `cited` the model named (the rest are
        their neighbours); `shown`: every line the model was shown."""
        text = reconcile(answer, cited)
        if not cited:
            return Verdict(False, "the answer cites no line", text)
        if not lexical.tokens(text):
            return Verdict(False, "the answer says nothing", text)
        evidence = " ".join(ln.text for ln in cited)
        said_in = languages.detect(evidence) or next((ln.lang for ln in cited if ln.lang), None)
        written_in = languages.detect(text) or lang
        q_numbers, q_codes, q_names = numbers(question, lang), codes(question), names(question)
        have_codes = codes(evidence)
        for c in sorted(codes(text) - q_codes):
            if c not in have_codes and not any(c in x for x in have_codes):
                return Verdict(False, f"code {c} is in no cited line", text)
        # A line's time is a figure it states too ("shown at 00:46"), in both of its spellings.
        times = " ".join(f"{fmt_time(ln.start)} {fmt_time(ln.end)} {round(ln.start)} {round(ln.end)}"
                         for ln in cited if ln.kind != "tool")
        have_numbers = numbers(evidence, said_in) | numbers(evidence, written_in) | numbers(times)
        for n in sorted(numbers(_strip_codes(text), written_in) - q_numbers):  # a code's digits are its own
            if n not in have_numbers:
                return Verdict(False, f"figure {n} is in no cited line", text)
        if not said_in or not written_in or said_in == written_in:
            folded, terms = fold(evidence), set(lexical.tokens(evidence))
            asked_words = set(_WORD.findall(fold(question)))  # "the east quay" asked, "the East Quay" answered
            for name in sorted(names(text) - q_names - asked_words):
                if name not in folded and not lexical.has_term(name, terms):
                    return Verdict(False, f"name {name!r} is in no cited line", text)
        if (off := self.words(text, question, evidence, said_in, written_in)) is not None:
            return Verdict(False, off, text)
        if (off := self.subject(question, cited, lang, said_in, contexts, named, shown)) is not None:
            return Verdict(False, off, text)
        used = used_lines(text, question, cited, lang, named)
        if (low := self.meaning(text, used or cited)) is not None:
            return Verdict(False, low, text, used)
        return Verdict(True, None, text, used)

    def words(self, text: str, question: str, evidence: str, said_in: str | None, written_in: str | None
              ) -> str | None:
        """None when the answer's own words come from the cited lines; else the reason. An answer must add
        something to the question (a reply that restates it, "the project was installed", answers nothing);
        in the lines' language, most of the words it adds are the lines' (a small model fills gaps with
        words from nowhere, its prompt's example among them, which no check of figures or names sees)."""
        asked = set(lexical.tokens(question))
        added = [t for t in dict.fromkeys(lexical.tokens(_strip_codes(text)))
                 if not t[0].isdigit() and not lexical.has_term(t, asked)]
        if not added and not self.anchors(text, question, written_in or "en"):
            return "the answer adds nothing to the question"
        have = set(lexical.tokens(evidence))
        missing = [t for t in added if not _shares_stem(t, have)]
        if len(leaked := [t for t in missing if t in self.foreign]) >= 2:
            return f"the answer copies the prompt's example: {', '.join(leaked)}"
        # One stray word is an inflection or a unit ("euros" for "€"); two and most of what it adds are not.
        same = not said_in or not written_in or said_in == written_in
        if same and len(missing) >= 2 and len(missing) * 2 > len(added):
            return f"the answer's words are in no cited line: {', '.join(missing)}"
        return None

    @staticmethod
    def anchors(answer: str, question: str, lang: str) -> set[str]:
        """The figures, codes and names the answer states beyond the question's (folded, one spelling each)."""
        return ((numbers(_strip_codes(answer), lang) - numbers(question, lang)) | (codes(answer) - codes(question))
                | (names(answer) - names(question)))

    @staticmethod
    def states(line: Line, anchor: str, lang: str) -> bool:
        return anchor in numbers(line.text, line.lang) | numbers(line.text, lang) or anchor in codes(line.text) \
            or anchor in fold(line.text)

    def subject(self, question: str, cited: Sequence[Line], lang: str, said_in: str | None,
                contexts: Sequence[str] = (), named: int | None = None, shown: Sequence[Line] = ()
                ) -> str | None:
        """None when the cited lines are about what the question asks (see the module doc); else the reason.
        A name the question gives must be named by each cited video (in the cited lines, its other lines or
        its file name: a figure from another company's video is no answer), and the lines the model named
        (`named`: the first of `cited`, before their neighbours) must hold one of the question's other words
        that some `shown` line holds: what it asks of that name ("how many drivers did <company> hire" is not
        answered by the company's line about nurses when another line speaks of drivers). Words no shown line
        holds ("what did <person> say?", a language's capitalised nouns read as names) tell no line from
        another and ask nothing. A question naming no one needs one of its words in the cited lines."""
        if any(ln.kind == "tool" for ln in cited):
            return None  # a tool result answers the request it was called for
        asked = names(question)
        if not asked:
            return self._about(question, set(lexical.tokens(question)), cited, lang, said_in,
                               "the cited lines share no word with the question")
        runs = name_runs(question)
        evidence = " ".join(ln.text for ln in cited)
        for ctx in contexts or [evidence]:
            if not mentions(ctx, asked, runs):
                return f"the cited lines do not mention {', '.join(sorted(asked))}"
        name_terms = set(lexical.tokens(" ".join(asked)))
        everywhere = set(lexical.tokens(" ".join(ln.text for ln in shown or cited)))
        rest = {t for t in lexical.tokens(_POSSESSIVE.sub("", question))
                if len(t) >= 3 and not lexical.has_term(t, name_terms) and _shares_stem(t, everywhere)}
        return self._about(question, rest, cited[:named] if named else cited, lang, said_in,
                           "the cited lines do not say what the question asks of "
                           f"{', '.join(sorted(asked))}", _shares_stem)

    def _about(self, question: str, terms: set[str], lines: Sequence[Line], lang: str, said_in: str | None,
               reason: str, holds: Callable[[str, set[str]], bool] = lexical.has_term) -> str | None:
        """None when the lines hold one of the question's `terms` (or, asked in another language than the
        lines', when one line is about the question by the multilingual embedding); else `reason`."""
        if not terms or not lines:
            return None
        have = set(lexical.tokens(" ".join(ln.text for ln in lines)))
        if any(holds(t, have) for t in terms):
            return None
        if said_in != lang and self.embedder is not None:  # asked in another language (or the lines' is unknown)
            vecs = self.embedder.embed_cached([question] + [ln.text for ln in lines], persist=False, query=False)
            floor = getattr(self.embedder, "related_floor", 0.3)
            return None if float((vecs[1:] @ vecs[0]).max()) >= floor else "the cited lines are not about the question"
        return reason

    def meaning(self, text: str, lines: Sequence[Line]) -> str | None:
        """None when one cited line says what the answer says (cosine at or above the embedder's floor for
        unrelated text); else the reason."""
        if self.embedder is None or not lines:
            return None
        floor = getattr(self.embedder, "related_floor", 0.3)
        vecs = self.embedder.embed_cached([text] + [ln.text for ln in lines], persist=False)
        best = float((vecs[1:] @ vecs[0]).max())
        if best < floor:
            return f"the answer's meaning is far from its cited lines (similarity {best:.2f} < {floor:.2f})"
        return None


def used_lines(answer: str, question: str, cited: Sequence[Line], lang: str, named: int | None = None
               ) -> list[Line]:
    """The cited lines the answer takes something from (a term, a figure or code, a line's time, beyond the
    question's), in citation order; when none shares anything (a translated answer shares no words), the
    first `named` of them (the lines the model named, before their neighbours)."""
    own = set(lexical.tokens(answer)) - set(lexical.tokens(question))
    figs = (numbers(answer, lang) | codes(answer)) - numbers(question, lang)

    def shares(ln: Line) -> bool:
        # A line's time is its start: the line that ends when the answer's moment begins gives nothing.
        stated = numbers(ln.text, lang) | codes(ln.text) | numbers(fmt_time(ln.start))
        return ln.kind == "tool" or bool(own & set(lexical.tokens(ln.text))) or bool(figs & stated)

    used = [ln for ln in cited if shares(ln)]
    return used or list(cited[:named])


_WORD = re.compile(r"[\w'’-]+")
_POSSESSIVE = re.compile(r"['’]s?\b")
_MARKERS = re.compile(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]")


def reconcile(answer: str, cited: Sequence[Line]) -> str:
    """Speech and screen at the same moment, one spelling: a word the answer took from a cited utterance is
    replaced by the screen's word where a screen line visible while it was said has that word's neighbour
    beside another word that reads as a name or figure (a digit, a capital or a hyphen: "stop for" said,
    "stop 4" shown; "teotow boots" said, "steel-toe boots" shown) and could have been heard as it. Function
    words are never replaced."""
    said = [ln for ln in cited if ln.kind == "said"]
    shown = [ln for ln in cited if ln.kind == "screen"]
    if not said or not shown:
        return answer
    words = _WORD.findall(answer)
    swaps: dict[str, str] = {}
    for line in said:
        spoken = _WORD.findall(line.text)
        folded_spoken = [fold(w) for w in spoken]
        for screen in (s for s in shown if s.start < line.end + 1 and line.start - 1 < s.end):
            written = _WORD.findall(screen.text)
            folded_written = [fold(w) for w in written]
            for i, word in enumerate(spoken):
                low = folded_spoken[i]
                if low in folded_written or low in lexical.STOPWORDS or word not in words or low[0].isdigit():
                    continue  # a figure said is compared by its value, never respelt
                for j, other in enumerate(written):
                    if folded_written[j] in folded_spoken or not _nameish(other) \
                            or not (_heard_as(low, folded_written[j])
                                    or (i > 0 and _heard_as(folded_spoken[i - 1] + low, folded_written[j]))):
                        continue
                    before = i > 0 and j > 0 and folded_spoken[i - 1] == folded_written[j - 1]
                    after = i + 1 < len(spoken) and j + 1 < len(written) and \
                        folded_spoken[i + 1] == folded_written[j + 1]
                    if before or after:
                        swaps[word] = other
                        break
    for old, new in swaps.items():
        answer = re.sub(rf"(?<![\w'’-]){re.escape(old)}(?![\w'’-])", new, answer)
    return answer


def _shares_stem(term: str, terms: set[str]) -> bool:
    """`lexical.has_term`, and a term that begins another of three letters or more ("hir" and "hire",
    "eur" and "euro": the stemmer is crude)."""
    return lexical.has_term(term, terms) or any(
        len(a) >= 3 and b.startswith(a) for t in terms for a, b in ((term, t), (t, term)))


def _heard_as(spoken: str, written: str) -> bool:
    """Could the recogniser have heard `written` as `spoken`? A figure is heard as a short word ("4" as
    "for"), anything else as a word spelt much alike ("steel-toe" as "teotow"); "Sales reached" beside
    "Sales: $2.4M" is no mishearing of the figure."""
    if any(c.isdigit() for c in written):
        return len(spoken) <= 5
    return difflib.SequenceMatcher(None, spoken, written).ratio() >= 0.5


def _nameish(word: str) -> bool:
    return any(c.isdigit() for c in word) or word[:1].isupper() or "-" in word


def lexically_grounded(answer: str, question: str, segments: list[ScoredSegment],
                       max_unsupported: float = 0.5) -> bool:
    """The lexical check for text without cited lines (summary chapters, deep-search syntheses): its own
    words (beyond the question's) are mostly in the segments, and every figure it states is."""
    context = set().union(*(lexical.segment_terms(s.segment) for s in segments)) if segments else set()
    new = set(lexical.tokens(_MARKERS.sub("", answer))) - set(lexical.tokens(question))
    if not new:
        return True
    unsupported = {t for t in new if not lexical.has_term(t, context)}
    seg_numbers = set().union(*(numbers(s.segment.speech_text + " " + " ".join(s.segment.scene_text))
                                for s in segments)) if segments else set()
    if numbers(answer) - numbers(question) - seg_numbers:
        return False
    return len(unsupported) / len(new) <= max_unsupported
