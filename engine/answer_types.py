"""Does an answer say the kind of thing its question asks for? (answer typing, as in classic QA systems)

Why: the lexical grounding check passes an answer whose every word is in the segments, and a small model,
asked something the videos do not say, recombines those words: "the ticket costs 17:30" (a time for a
price), "the hull was repainted while out of the water" (no colour for "what colour"), "the last ferry
leaves shortly after" (no time for "what time"). When a question names the kind of its answer and the
answer holds nothing of that kind, it answered something else, and the honest reply is the refusal.

Only question forms whose answer kind is unambiguous are typed; "when", "where", "who" and "how long"
have too many right shapes ("first Saturday of the month", "at desk C") and stay untyped. One more form is
typed: the name of a person, asked as "the name of the captain" ("what is the name of the ferry's captain?"
was answered "TERN-58", the group code, and the farmer's name with "silver ladder", the bean he gave);
"who is the guest?" stays untyped, since "a farmer from the valley" may be right.
"""

from __future__ import annotations

import re

_NUMBER_WORDS = ("zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                 "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
                 "hundred|thousand|million|billion|dozen|half|a few|several|none|no|single|both|once|twice")
_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I)
_CLOCK = re.compile(r"\b\d{1,2}[:.h]\d{2}\b|\b(?:at|by|until|from) \d{1,2}\b(?![.,]?\d)(?!\s*[a-z%])|"
                    r"\b\d{1,2}\s*(?:a\.?m\.?|p\.?m\.?)(?!\w)|\bo'?clock\b|\bnoon\b|"
                    r"\bmidnight\b|\bhalf past\b|\bquarter (?:past|to)\b|\b(?:morning|afternoon|evening|night)\b",
                    re.I)
_MONEY = re.compile(r"[$€£¥₹]|\b(?:dollars?|euros?|pounds?|pence|cents?|yen|francs?|kronor|krona|kroner|"
                    r"rupees?|usd|eur|gbp|free|nothing|no charge|price|costs? nothing)\b", re.I)
_YEAR = re.compile(r"\b(?:1[5-9]|20)\d{2}s?\b|\b(?:nineteen|two thousand|twenty)\b", re.I)
_COLOURS = re.compile(
    r"\b(?:red|orange|yellow|green|blue|purple|violet|pink|brown|black|white|gr[ae]y|silver|gold(?:en)?|beige|"
    r"cream|navy|teal|turquoise|cyan|magenta|maroon|crimson|scarlet|olive|lime|ivory|tan|khaki|bronze|copper|"
    r"amber|indigo|lilac|lavender|mauve|ochre|rust|charcoal|coral|aqua|burgundy|dark|light|pale|bright)\b", re.I)

# (question pattern, kind, what an answer of that kind contains)
_KINDS: tuple[tuple[re.Pattern[str], str, re.Pattern[str]], ...] = (
    (re.compile(r"\b(?:what|which)\s+colou?rs?\b|\bcolou?r\s+(?:is|was|are|were|did|does)\b", re.I), "colour",
     _COLOURS),
    (re.compile(r"\b(?:what|which)\s+time\b|\bat what hour\b", re.I), "time", _CLOCK),
    (re.compile(r"\bhow much\b.*\b(?:cost|costs|pay|paid|charge|charged|spend|spent|price|fee|earn|earned|raise|"
                r"raised)\b|\b(?:what|how much) (?:is|was|are|were) the (?:price|cost|fee|fare)\b", re.I), "money",
     _MONEY),
    (re.compile(r"\b(?:in )?(?:what|which) year\b", re.I), "year", _YEAR),
    (re.compile(r"\bhow many\b", re.I), "count", _NUMBER),
)

# "When is a horse shown?", "at what point can you see a cow?", "when does the alarm go off?": a moment of
# the video itself, answered from its pictures and sounds (engine/extraction.find_moment).
_MOMENT_QUESTION = re.compile(
    r"\b(?:when|at (?:what|which) (?:point|moment))\b[^?]*(?:\b(?:shown|visible|displayed|pictured|appears?|"
    r"audible|go(?:es)? off|rings?)\b|\b(?:can|could|do|does|did) (?:we|you|i|one|viewers) (?:see|hear)\b|"
    r"\b(?:is|are|was|were) (?:\w+ ){1,4}?(?:seen|heard)\b)", re.I)

# Nouns for people by their role: "the name of the <role>" asks for a person's name.
_ROLES = ("captain|pilot|driver|farmer|teacher|manager|director|chef|cook|doctor|nurse|owner|founder|president|"
          "chair|chairman|chairwoman|chairperson|mayor|host|guest|speaker|presenter|narrator|author|writer|artist|"
          "designer|engineer|scientist|researcher|professor|student|coach|player|leader|head|boss|supervisor|"
          "secretary|treasurer|volunteer|worker|employee|assistant|guide|ranger|officer|inspector|architect|"
          "builder|baker|gardener|librarian|curator|instructor|trainer|organiser|organizer|coordinator|"
          "contact|winner|interviewer|interviewee|partner|client|customer|member|neighbour|neighbor|friend|"
          "person|man|woman|girl|boy|child|mother|father|wife|husband|son|daughter|sister|brother|singer|"
          "musician|actor|actress|reporter|journalist|editor|producer|ceo|cto|cfo|vet|dentist|lawyer|judge|"
          "minister|priest|lecturer|tutor|principal|dean|caretaker|janitor|technician|mechanic|electrician|"
          "plumber|carpenter|photographer|surgeon|pharmacist|receptionist|clerk|agent|representative|sponsor")
_PERSON_NAME_QUESTION = re.compile(
    rf"\bname of (?:the |a |an |this |that |their |its |his |her |our |your )?(?:[\w'’-]+ ){{0,3}}?(?P<a>{_ROLES})s?\b"
    rf"|\b(?P<b>{_ROLES})(?:'s|’s)? (?:full |first |last )?name\b", re.I)
# Words that are capitalised without being a name: sentence starters and titles.
_NOT_NAMES = frozenset(re.findall(r"\S+", """the a an it he she they his her their its this that these those there
here according in on at by for from to of with yes no name names called named captain doctor dr mr mrs ms miss sir
madam professor prof mister dame lord lady saint st segment video speaker"""))
_NAME_WORD = re.compile(r"(?<![\w'’-])[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ'’-]*[a-zà-öø-ÿ](?![\w-]*\d)")


def expected_kind(question: str) -> tuple[str, re.Pattern[str]] | None:
    """The kind of answer the question asks for, when its wording makes that unambiguous."""
    for pattern, kind, shape in _KINDS:
        if pattern.search(question):
            return kind, shape
    return None


def asks_moment(question: str) -> bool:
    return bool(_MOMENT_QUESTION.search(question))


def asks_person_name(question: str) -> bool:
    return bool(_PERSON_NAME_QUESTION.search(question))


def asked_role(question: str) -> str | None:
    """The role whose holder's name is asked ("farmer" in "the name of the farmer who ...")."""
    m = _PERSON_NAME_QUESTION.search(question)
    return (m.group("a") or m.group("b")).lower() if m else None


def given_names(question: str, answer: str) -> list[str]:
    """The capitalised names the answer gives of its own (see `names_a_person`), lower case."""
    asked = {_bare(w) for w in re.findall(r"[\w'’-]+", question)}
    found = []
    for sentence in re.split(r"(?<=[.!?:;])\s+|\n+", answer):
        first = len(sentence) - len(sentence.lstrip(' "“(['))
        for m in _NAME_WORD.finditer(sentence):
            word = _bare(m.group())
            if m.start() != first and word not in _NOT_NAMES and word not in asked:
                found.append(word)
    return found


def names_a_person(question: str, answer: str) -> bool:
    """Whether the answer holds a capitalised name of its own: a word in title case that does not start a
    sentence or line (where any word is capitalised), is no title ("Captain", "Dr"), no code ("TERN-58") and
    not one of the question's words. "The lab manager is Dr. Ines Okafor" names one; "the captain's name is
    Captain TERN-58" and "the farmer's name is silver ladder" do not."""
    return bool(given_names(question, answer))


ROLE_NAME_WINDOW_S = 10.0


def name_beside_role(question: str, answer: str, lines: list[tuple[str, str, float, float]]) -> bool:
    """For "what is the name of the farmer ...?": the name the answer gives is said or shown within
    `ROLE_NAME_WINDOW_S` of where the videos mention that farmer (`lines`: file, text, start, end of each
    utterance and on-screen line). Asked the farmer's name, the model answered "Olavas", a mishearing of
    "all of us" 25 seconds before the farmer was mentioned: a word of the segments, so the lexical check
    passed it, and capitalised, so it looked like a name. Where the videos never say the role ("the name
    of the speaker"), there is nothing to place the name against and the check passes."""
    role = asked_role(question)
    names = given_names(question, answer)
    if role is None or not names:
        return True

    def has(text: str, word: str) -> bool:
        return re.search(rf"\b{re.escape(word)}(?:s|'s|’s)?\b", text, re.I) is not None

    roles = [(f, a, b) for f, text, a, b in lines if has(text, role)]
    if not roles:
        return True
    for name in names:
        placed = [(f, a, b) for f, text, a, b in lines if has(text, name)]
        if not any(f == rf and a - ROLE_NAME_WINDOW_S <= rb and ra - ROLE_NAME_WINDOW_S <= b
                   for f, a, b in placed for rf, ra, rb in roles):
            return False
    return True


def _bare(word: str) -> str:
    """Lower case without a possessive ending: "Thomas's" and "Thomas" are one word ("Thomas" kept whole)."""
    return re.sub(r"['’]s?$", "", word.lower())


def answers_kind(question: str, answer: str) -> bool:
    """False when the question asks for a colour, time, price, year, count or a person's name and the answer
    holds none. Timestamps the answer quotes from segment headers ("at 01:20 in the video") are not the
    asked time."""
    if asks_person_name(question) and not names_a_person(question, answer):
        return False
    typed = expected_kind(question)
    if typed is None:
        return True
    kind, shape = typed
    text = re.sub(r"\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]", " ", answer)  # citation markers are not numbers
    if kind == "money" and _NUMBER.search(text) and not _CLOCK.search(text):
        # A bare amount ("spent 900 this month") is a price when nothing makes it a time.
        return bool(shape.search(text) or re.search(r"\d", text))
    return bool(shape.search(text))


_SCREEN_QUESTION = re.compile(r"\b(?:on (?:the )?screen|on (?:the )?slide|displayed|written on)\b", re.I)
_SCREEN_WORDS = frozenset({"screen", "shown", "show", "shows", "displayed", "written", "slide", "now", "please"})


def asks_about_screen(question: str) -> bool:
    return bool(_SCREEN_QUESTION.search(question))


def names_screen_text(question: str, answer: str, screen_lines: list[str]) -> bool:
    """A question about what is on screen is answered with on-screen text: the answer must share a word with
    a line shown in the segments beyond the question's own words. Speech that points at the screen ("the code
    is shown on screen now") repeated back is no answer, when the shown line ("Group code: TERN-58") is there."""
    if not _SCREEN_QUESTION.search(question) or not screen_lines:
        return True
    asked = set(_words(question)) | _SCREEN_WORDS
    shown = {w for line in screen_lines for w in _words(line)} - asked
    return bool(set(_words(answer)) & shown)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())
