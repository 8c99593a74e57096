"""Evidence first, in one model call: the model names the numbered lines it relies on, then answers.

Why: asked to answer and cite in one breath, the 1.5B model wrote fluent sentences and attached markers
afterwards, to lines that did not hold what it said; a refusal needed a second, extractive call. Here a
grammar makes it write `Lines: 3, 5` (or `Lines: none`, the refusal, in the same call) before
`Answer: ...`, so the answer is generated conditioned on the evidence it picked, and the checks
(`engine.grounding`) compare the answer with exactly those lines.

Streaming and whole replies are one path: the answer is released sentence by sentence, each after it
passed the checks; a sentence that fails ends the answer there (the refusal when it was the first). So a
streamed answer is the same text as the whole one, and no unsupported sentence is ever sent.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from engine import languages, lexical
from engine.evidence import Evidence, Line
from engine.generation import GenerationParams, TextGenerator
from engine.grounding import Grounding, Verdict

log = logging.getLogger(__name__)

MAX_CITED = 6
SYSTEM_PROMPT = (
    "You answer questions about videos from numbered lines taken from them. Each line is something said "
    "(an automatic transcript: names and numbers may be misheard), text shown on screen, a description of "
    "the picture, a sound, or a tool result, with its time in the video.\n"
    "First write the numbers of the lines that state the answer, then the answer in one or two short "
    "sentences. Write the names and numbers as the lines do; when speech and on-screen text differ, use the "
    "on-screen spelling. If no line states the answer, write only: Lines: none\n\n"
    "Example lines:\n"
    "Video depot_update.mp4:\n"
    "[1] 00:04-00:09 said: The night bus now leaves from stop for.\n"
    "[2] 00:04-00:11 on screen: Night bus: stop 4\n"
    "[3] 00:12-00:15 said: Tickets are sold on board.\n"
    "[4] 00:16-00:20 picture: A picture of a bus in the centre.\n"
    "Question: Where does the night bus leave from?\nLines: 2, 1\nAnswer: The night bus leaves from stop 4.\n"
    "Question: When is the bus shown?\nLines: 4\nAnswer: The bus is shown at 00:16-00:20.\n"
    "Question: Who drives the night bus?\nLines: none"
)


def example_terms(prompt: str = SYSTEM_PROMPT) -> frozenset[str]:
    """The words only the system prompt's worked example uses: an answer holding them copied the example."""
    head, _, example = prompt.partition("Example lines:")
    return frozenset(lexical.tokens(example)) - frozenset(lexical.tokens(head))


def grammar(count: int) -> str:
    """GBNF of the reply: `Lines: none`, or up to MAX_CITED line numbers that exist, then the answer line."""
    if count == 0:
        return 'root ::= "Lines: none"'
    nums = " | ".join(f'"{n}"' for n in sorted(range(1, count + 1), key=lambda n: -len(str(n))))
    return ("root ::= \"Lines: \" ( \"none\" | nums \"\\nAnswer: \" answer )\n"
            f"nums ::= num (\", \" num){{0,{MAX_CITED - 1}}}\n"
            f"num ::= {nums}\n"
            "answer ::= [^\\n]+")


def user_message(question: str, evidence: Evidence, lang: str) -> str:
    text = f"Lines:\n{evidence.render()}\n\nQuestion: {question}"
    if lang != "en" and lang in languages.NAMES:
        text += f"\nWrite the answer in {languages.NAMES[lang]}."
    return text


_HEADER = re.compile(r"^Lines:\s*(none|[\d,\s]+?)\s*(?:\n|$)")


@dataclass
class Outcome:
    """What the call produced, once the reply has ended."""

    text: str
    cited: list[Line]
    verdict: Verdict | None
    refused: bool
    finish_reason: str
    completion_tokens: int
    dropped: int = 0  # sentences that failed the checks (cut there; the refusal when it was the first)
    numbers: list[int] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # prompt_eval, generation, checks (seconds)

    @property
    def grounded(self) -> bool:
        """Every released sentence passed the checks and none was cut; a refusal the model chose is grounded,
        one the checks forced is not."""
        return not self.dropped and (self.refused or self.verdict is None or self.verdict.supported)


@dataclass
class Answerer:
    generator: TextGenerator
    grounding: Grounding

    def run(self, messages: list[dict], evidence: Evidence, question: str, lang: str, params: GenerationParams,
            strict: bool = True) -> Iterator[str | Outcome]:
        """Yields the answer's text as it is released (verified sentences), then one `Outcome`."""
        gen = self.generator.stream(messages, GenerationParams(
            max_tokens=params.max_tokens + 24, temperature=params.temperature, top_p=params.top_p, seed=params.seed,
            presence_penalty=params.presence_penalty, frequency_penalty=params.frequency_penalty,
            grammar=grammar(len(evidence.lines))))
        raw, tokens, finish = "", 0, "stop"
        numbers: list[int] | None = None
        answer_from = -1
        released, pending, dropped = "", "", 0
        verdict: Verdict | None = None
        stopped = False
        t0 = time.perf_counter()
        first: float | None = None
        checking = 0.0
        try:
            for delta, reason in gen:
                if first is None:
                    first = time.perf_counter() - t0
                tokens += 1 if delta else 0
                finish = reason or finish
                raw += delta
                if numbers is None:
                    head = _HEADER.match(raw)
                    if head is None or (head.group(1) != "none" and "\nAnswer: " not in raw):
                        continue
                    numbers = [] if head.group(1) == "none" else [int(n) for n in re.findall(r"\d+", head.group(1))]
                    if not numbers:
                        break
                    answer_from = raw.index("\nAnswer: ") + len("\nAnswer: ")
                    pending = raw[answer_from:]
                else:
                    pending += delta
                while (cut := _sentence_end(pending)) is not None:
                    sentence, pending = pending[:cut], pending[cut:]
                    c0 = time.perf_counter()
                    ok, text, v = self._release(sentence, released, question, evidence, numbers, lang, strict)
                    checking += time.perf_counter() - c0
                    verdict = v
                    if not ok:
                        dropped += 1
                        stopped = True
                        break
                    released += text
                    yield text
                if stopped:
                    break
        finally:
            gen.close()
        model_s = time.perf_counter() - t0 - checking
        c0 = time.perf_counter()
        if not stopped and numbers and pending.strip():
            ok, text, v = self._release(pending, released, question, evidence, numbers, lang, strict)
            verdict = v
            if ok:
                released += text
                yield text
            else:
                dropped += 1
        numbers = numbers or []
        refused = not released.strip()
        if refused:
            text = languages.refusal(lang)
            yield text
            released = text
        cited = evidence.cited(numbers)
        if verdict is not None and verdict.supported:
            cited = verdict.used or cited
        log.info("answer lines %s, %s%s", numbers or "none", "refused" if refused else "answered",
                 f" ({verdict.failed})" if verdict is not None and verdict.failed else "")
        checking += time.perf_counter() - c0
        timings = {"prompt_eval": first or model_s, "generation": model_s - (first or model_s), "checks": checking}
        yield Outcome(released.strip(), cited, verdict, refused, "stop" if refused else finish, tokens, dropped,
                      numbers, timings)

    def _release(self, sentence: str, before: str, question: str, evidence: Evidence, numbers: Sequence[int],
                 lang: str, strict: bool) -> tuple[bool, str, Verdict]:
        """A sentence, checked against the cited lines; (released?, its text as released, the verdict)."""
        named = evidence.cited(numbers)
        verdict = self._check(sentence.strip(), question, evidence, named, lang)
        if not verdict.supported and (stating := self._stating(sentence, question, evidence, named, lang)):
            second = self._check(sentence.strip(), question, evidence, stating, lang)
            if second.supported:
                log.info("cited lines %s did not state the answer; lines %s do", numbers,
                         [evidence.lines.index(ln) + 1 for ln in stating])
                verdict = second
        lead = sentence[: len(sentence) - len(sentence.lstrip())]
        if not verdict.supported:
            log.info("sentence not supported (%s): %r", verdict.failed, sentence[:160])
        return verdict.supported or not strict, lead + verdict.text + sentence[len(sentence.rstrip()):], verdict

    def _check(self, sentence: str, question: str, evidence: Evidence, named: list[Line], lang: str) -> Verdict:
        cited = evidence.with_neighbours(named)
        return self.grounding.check(sentence, question, cited, lang, evidence.contexts(named), len(named),
                                    evidence.lines)

    def _stating(self, sentence: str, question: str, evidence: Evidence, named: list[Line], lang: str) -> list[Line]:
        """The shown lines that state the answer's figures, codes and names, when the named lines do not: a
        small model names the wrong line of the evidence now and then while its answer copies the right one.
        One video's lines, fewest first; none when no video states them all."""
        anchors = self.grounding.anchors(sentence, question, lang)
        if not anchors:
            return []
        best: list[Line] = []
        for file_id in dict.fromkeys(ln.file_id for ln in evidence.lines):
            lines = [ln for ln in evidence.lines if ln.file_id == file_id]
            holding = {a: [ln for ln in lines if self.grounding.states(ln, a, lang)] for a in anchors}
            if all(holding.values()):
                chosen = list(dict.fromkeys(ln for found in holding.values() for ln in found[:1]))
                if not best or len(chosen) < len(best):
                    best = chosen
        return [] if best == named else best


_END = re.compile(r"[.!?…。！？](?:['\")\]]*)(?=\s)|[。！？]")


def _sentence_end(text: str) -> int | None:
    """Where the first complete sentence of `text` ends (its terminator and what closes it), once the next
    sentence has begun; a dot between digits ("1.5") or after a single capital ("J. Smith") is no end."""
    for m in _END.finditer(text):
        i = m.start()
        if text[i] == "." and i > 0 and (text[i - 1].isdigit() and i + 1 < len(text) and text[i + 1].isdigit()):
            continue
        if text[i] == "." and i >= 1 and text[i - 1].isupper() and (i < 2 or not text[i - 2].isalpha()):
            continue
        return m.end()
    return None
