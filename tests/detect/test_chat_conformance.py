"""CHAT conformance: one small self-written fixture per convention of the CHAT manual.

Organised by the chapters of the TalkBank CHAT manual (https://talkbank.org/0info/manuals/CHAT.html):
7 file headers, 8 words, 9 utterances, the scoped symbols and postcodes of the annotation
chapters, 11 dependent tiers, and the conversation-analysis (CA) notation. Each fixture is a
whole .cha file read by the real reader (:func:`detect.readers.load_corpus`, CHAT-folder
layout), and each case asserts the participant text, what was said (verbatim), and every
disfluency count. The CHAT table of docs/chat.md is checked against these cases: every example it
shows must be read here.

Validation (what is rejected, what is only noted) is in ``test_chat.py``; the TalkBank
reference corpus in ``test_talkbank_reference.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from detect.chat import clean_verbatim
from detect.readers import load_corpus
from detect.records import Label

HEAD = (
    "@UTF8\n@PID:\t11312/t-00000001-1\n@Begin\n@Languages:\teng\n"
    "@Participants:\tPAR Participant, INV Investigator\n"
    "@ID:\teng|Pitt|PAR|71;|female|ProbableAD||Participant|||\n"
    "@ID:\teng|Pitt|INV|||||Investigator|||\n"
    "@Media:\tS001, audio\n"
)
COUNTS = ("fillers", "retracings", "unintelligible", "pauses", "trailing_offs", "fragments")
READ_BACK = set(COUNTS) - {"fragments"}  # verbatim renders no fragment (&+fr): nothing to read back


@dataclass(frozen=True)
class Case:
    """A convention: the lines after the headers (bare text is a *PAR main tier) and what the reader makes of them."""

    name: str
    body: tuple[str, ...]
    text: str
    verbatim: str | None = None  # default: the same as text
    counts: dict[str, int] = field(default_factory=dict)  # the rest must be 0
    head: str = HEAD
    ambiguous: str = ""  # why plain verbatim cannot carry these counts; else they must read back

    def chat(self) -> str:
        lines = [line if line[:1] in ("@", "*", "%") else f"*PAR:\t{line}" for line in self.body]
        return (
            self.head + "*INV:\ttell me everything you see going on in that picture .\n" + "\n".join(lines) + "\n@End\n"
        )


def read(tmp_path: Path, case: Case):
    (tmp_path / "S001.cha").write_text(case.chat(), encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert len(corpus) == 1
    return corpus[0]


def check(tmp_path: Path, case: Case) -> None:
    t = read(tmp_path, case)
    assert t.text == case.text
    assert t.verbatim == (case.verbatim if case.verbatim is not None else case.text)
    counts = {name: getattr(t.disfluencies, name) for name in COUNTS}
    assert counts == {name: case.counts.get(name, 0) for name in COUNTS}
    said = [line for line in case.chat().splitlines() if line.startswith("*PAR:") and "[+ exc]" not in line]
    assert t.disfluencies.utterances == len(said) == len(t.utterances)
    read_back = clean_verbatim(t.verbatim)[1]  # what a generator that learned this verbatim is measured by
    same = read_back.model_dump(include=READ_BACK) == t.disfluencies.model_dump(include=READ_BACK)
    assert same != bool(case.ambiguous)


def ids(cases: list[Case]) -> list[str]:
    return [c.name for c in cases]


# -- 7 File headers --------------------------------------------------------------------------------

HEADERS = [
    Case(
        "7.1 hidden headers before @Begin (@UTF8, @PID, @Font, @Window, @ColorWords)",
        ("the boy is on the stool .",),
        "the boy is on the stool.",
        head="@UTF8\n@PID:\t11312/t-1\n@Font:\tCAfont:13:0\n@Window:\t0_0_800_600_-1_-1\n@ColorWords:\tboy 1\n"
        + HEAD.split("@PID:\t11312/t-00000001-1\n", 1)[1],
    ),
    Case(
        "7.2 @Participants continued on a tab-indented line",
        ("the girl laughs .",),
        "the girl laughs.",
        head=HEAD.replace("PAR Participant, INV Investigator", "PAR Participant,\n\tINV Investigator"),
    ),
    Case(
        "7.4 constant headers (@Date, @Location, @Situation, @Transcriber, @Comment, @Options)",
        ("the mother dries a plate .",),
        "the mother dries a plate.",
        head=HEAD + "@Date:\t12-MAR-1985\n@Location:\tPittsburgh, PA USA\n@Situation:\tCookie Theft picture\n"
        "@Transcriber:\tJD\n@Comment:\tsecond visit\n@Options:\tbullets\n",
    ),
    Case(
        "7.5 changeable headers between utterances (@G gems, @Bg/@Eg, @Comment over two lines, @New Episode)",
        (
            "@G:\tCookie",
            "the boy .",
            "@Bg:\tcookie",
            "the girl .",
            "@Eg:\tcookie",
            "@Comment:\tthe participant points\n\tat the window",
            "@New Episode",
            "the mother .",
        ),
        "the boy. the girl. the mother.",
    ),
]


@pytest.mark.parametrize("case", HEADERS, ids=ids(HEADERS))
def test_7_file_headers(tmp_path, case):
    check(tmp_path, case)


def test_7_2_id_header_gives_age_sex_and_group(tmp_path):
    t = read(tmp_path, HEADERS[0])
    assert (t.age, t.gender, t.label) == (71.0, "female", Label.AD)  # CHAT folder: the label from the @ID group


# -- 8 Words -------------------------------------------------------------------------------------

WORDS = [
    Case(
        "8.2 basic words and clitics",
        ("the boy's getting cookies and he don't see it .",),
        "the boy's getting cookies and he don't see it.",
    ),
    Case(
        "8.3 special form markers (@l letters, @o onomatopoeia, @s second language, @c @n @f forms)",
        ("a@l b@l c@l and woof@o and galletas@s:spa and gumma@c whatchamacallit@n nana@f .",),
        "a b c and woof and galletas and gumma whatchamacallit nana.",
    ),
    Case(
        "8.4 unintelligible xxx and yyy",
        ("the xxx is yyy falling .",),
        "the is falling.",
        verbatim="the xxx is yyy falling.",
        counts={"unintelligible": 2},
    ),
    Case("8.4 untranscribed www", ("the boy .", "www ."), "the boy."),
    Case(
        "8.5 fillers: &-uh (current) and &uh (older Pitt)",
        ("&-uh the boy &um is &-er falling .",),
        "the boy is falling.",
        verbatim="uh the boy um is er falling.",
        counts={"fillers": 3},
    ),
    Case(
        "8.5 multi-word filler &-you_know",
        ("the &-you_know boy .",),
        "the boy.",
        verbatim="the you know boy.",
        counts={"fillers": 1},
        ambiguous="'you know' reads as two words, not a filler",
    ),
    Case(
        "8.5 phonological fragments: &+st (current) and &st (older Pitt)",
        ("the &+st stool &f falls .",),
        "the stool falls.",
        counts={"fragments": 2},
    ),
    Case("8.5 nonwords &~", ("&~gaga the boy .",), "the boy."),
    Case("8.5 simple events &=", ("&=laughs the boy &=clears:throat falls .",), "the boy falls."),
    Case("8.5 interposed word of another speaker &*INV:", ("the boy &*INV:mhm is falling .",), "the boy is falling."),
    Case("8.5 long events &{l= ... &}l=", ("&{l=laughs the boy is falling &}l=laughs .",), "the boy is falling."),
    Case(
        "8.6 shortenings fallin(g) and (be)cause",
        ("he's fallin(g) (be)cause the stool's tippin(g) .",),
        "he's falling because the stool's tipping.",
    ),
    Case("8.6 omitted words 0is", ("the boy 0is falling .",), "the boy falling."),
    Case(
        "8.8 compounds a+b and _ joins",
        ("the cookie+jar and the Cookie_Monster .",),
        "the cookie jar and the Cookie Monster.",
    ),
]


@pytest.mark.parametrize("case", WORDS, ids=ids(WORDS))
def test_8_words(tmp_path, case):
    check(tmp_path, case)


# -- 9 Utterances ------------------------------------------------------------------------------------

UTTERANCES = [
    Case(
        "9.3 basic terminators . ? !",
        ("is that the boy ?", "oh my !", "that's it ."),
        "is that the boy? oh my! that's it.",
    ),
    Case(
        "9.4 separators , ; „ ‡",
        ("well , the boy ; he's falling „ isn't he ?", "mother ‡ look ."),
        "well the boy he's falling isn't he? mother look.",
    ),
    Case(
        "9.7 pauses (.) (..) (...) and timed (2.5) (1:02.5)",
        ("the (.) boy (..) is (...) on (2.5) the (1:02.5) stool .",),
        "the boy is on the stool.",
        verbatim="the (.) boy (.) is (.) on (.) the (.) stool.",
        counts={"pauses": 5},
    ),
    Case(
        "9.8 trailing off +... and +..?",
        ("the water is +...", "and the +..?"),
        "the water is. and the?",
        verbatim="the water is... and the...",
        counts={"trailing_offs": 2},
    ),
    Case(
        "9.8 interruptions +/. +/? +//. +//?",
        ("the boy +/.", "is it +/?", "she +//.", "what +//?"),
        "the boy. is it? she. what?",
    ),
    Case(
        '9.8 quotation terminators +"/. and +".',
        ('and she said +"/.', '+" get down .', 'get down she said +".'),
        "and she said. get down. get down she said.",
    ),
    Case("9.8 broken question +!? and break for coding +.", ("but why +!?", "the end +."), "but why? the end."),
    Case(
        "9.9 linkers +< ++ +^ +, +≈ +≋",
        ("+< the boy .", "++ is falling .", "+^ yes .", "+, and the girl .", "+≈ too .", "+≋ right ."),
        "the boy. is falling. yes. and the girl. too. right.",
    ),
    Case(
        "9.x main tier continued on tab-indented lines",
        ("the water is running\n\tover the sink\n\tonto the floor .",),
        "the water is running over the sink onto the floor.",
    ),
    Case("9.x terminator written against the last word (tolerated)", ("the boy is falling.",), "the boy is falling."),
]


@pytest.mark.parametrize("case", UTTERANCES, ids=ids(UTTERANCES))
def test_9_utterances(tmp_path, case):
    check(tmp_path, case)


# -- Scoped symbols, postcodes, precodes, freecodes ---------------------------------------------------

SCOPED = [
    Case("media bullets", ("the boy . \x15100_2000\x15",), "the boy."),
    Case("[=! x] paralinguistic material", ("<the boy> [=! laughs] is falling .",), "the boy is falling."),
    Case("[= x] explanation", ("that [= the stool] is falling .",), "that is falling."),
    Case(
        "[: x] replacement: the target in the text, the word said in verbatim",
        ("the cootie [: cookie] [* p:w] jar .",),
        "the cookie jar.",
        verbatim="the cootie jar.",
    ),
    Case("[:: x] replacement of a real word", ("the fishes [:: dishes] .",), "the dishes.", verbatim="the fishes."),
    Case("[=? x] alternative transcription", ("the stool [=? school] .",), "the stool."),
    Case("[% x] comment", ("the boy [% points at him] .",), "the boy."),
    Case("[?] best guess", ("the <jar is> [?] open .",), "the jar is open."),
    Case(
        "[>] [<] overlaps, scoped, on one word, with indices",
        ("the boy [>] is falling .", "<and the girl> [<] too .", "<the mother> [>1] is drying [<2] ."),
        "the boy is falling. and the girl too. the mother is drying.",
    ),
    Case("[x N] repetition", ("cookie [x 3] .",), "cookie cookie cookie.", counts={"retracings": 2}),
    Case("[/] repetition", ("the boy [/] boy .",), "the boy boy.", counts={"retracings": 1}),
    Case(
        "[//] retracing",
        ("<the girl> [//] the boy .",),
        "the girl the boy.",
        verbatim="the girl — the boy.",
        counts={"retracings": 1},
    ),
    Case(
        "[///] reformulation",
        ("<he is> [///] the stool falls .",),
        "he is the stool falls.",
        verbatim="he is — the stool falls.",
        counts={"retracings": 1},
    ),
    Case(
        "[/-] false start",
        ("<I wanted> [/-] the boy .",),
        "I wanted the boy.",
        verbatim="I wanted — the boy.",
        counts={"retracings": 1},
    ),
    Case(
        "[/?] uncertain retracing",
        ("the [/?] the boy .",),
        "the the boy.",
        verbatim="the — the boy.",
        counts={"retracings": 1},
    ),
    Case(
        "[e] excluded word",
        ("the boy [e] boy is falling .",),
        "the boy is falling.",
        verbatim="the boy boy is falling.",
        ambiguous="a word said twice reads as a repetition",
    ),
    Case("[* x] error codes", ("he fall [* m:+s] [*] off .",), "he fall off."),
    Case(
        "[+ exc] excluded utterance: left out of the text and the counts",
        ("&-uh should I start [/] start ? [+ exc]", "the boy is falling ."),
        "the boy is falling.",
    ),
    Case(
        "[+ x] other postcodes keep the utterance",
        ("mhm . [+ bch]",),
        "mhm.",
        ambiguous="'mhm' transcribed as a word reads as a filler",
    ),
    Case("[- lang] precode", ("[- spa] la galleta .",), "la galleta."),
    Case(
        "[^ x] freecode and [^c] clause delimiter",
        ("[^ points] the boy falls [^c] the girl laughs .",),
        "the boy falls the girl laughs.",
    ),
    Case("[!] [!!] stress", ("the boy [!] is falling [!!] .",), "the boy is falling."),
    Case("[# x] duration", ("the boy [# 1.5] .",), "the boy."),
    Case(
        "‹ › phonological groups and 〔 〕 sign groups",
        ("‹the boy› [/] the boy 〔falls〕 .",),
        "the boy the boy falls.",
        counts={"retracings": 1},
    ),
    Case("“ ” quotations", ("she said “get down” .",), "she said get down."),
]


@pytest.mark.parametrize("case", SCOPED, ids=ids(SCOPED))
def test_scoped_symbols_and_postcodes(tmp_path, case):
    check(tmp_path, case)


# -- 11 Dependent tiers --------------------------------------------------------------------------------

TIERS = [
    Case(
        "11 %mor (CLAN-style) and %gra",
        ("the boy .", "%mor:\tdet:art|the n|boy .", "%gra:\t1|2|DET 2|0|ROOT 3|2|PUNCT"),
        "the boy.",
    ),
    Case(
        "11 %mor (UD-style) continued on a second line",
        ("the boy is falling .", "%mor:\tdet|the-Def-Art noun|boy\n\taux|be-Fin-Ind-Pres-S3 verb|fall-Part-Pres-S ."),
        "the boy is falling.",
    ),
    Case(
        "11 %mor that does not match the main tier is ignored",
        ("the boy [/] boy is falling .", "%mor:\tdet|the"),
        "the boy boy is falling.",
        counts={"retracings": 1},
    ),
    Case(
        "11 %wor with a media bullet per word",
        ("the boy . \x150_900\x15", "%wor:\tthe \x150_400\x15 boy \x15400_900\x15 ."),
        "the boy.",
    ),
    Case(
        "11 %pho %com %act %exp %err %sit %add",
        (
            "the boy .",
            "%pho:\tðə bɔɪ",
            "%com:\tpoints at the picture",
            "%act:\tpoints",
            "%exp:\twww is small talk",
            "%err:\tcootie = cookie",
            "%sit:\tlooks away",
            "%add:\tINV",
        ),
        "the boy.",
    ),
    Case("11 user-defined %x tiers", ("the boy .", "%xcod:\t$IU:boy"), "the boy."),
]


@pytest.mark.parametrize("case", TIERS, ids=ids(TIERS))
def test_11_dependent_tiers(tmp_path, case):
    check(tmp_path, case)


# -- Conversation analysis (CA) and disfluency notation ---------------------------------------------------

CA = [
    Case(
        "CA delimiters and word marks: °softer° ∆faster∆ ↑pitch",
        ("the °boy° is ∆falling∆ ↑off .",),
        "the boy is falling off.",
    ),
    Case("CA overlap points ⌈ ⌉ ⌊ ⌋ with indices", ("⌈the boy⌉ is ⌊2 falling ⌋2 .",), "the boy is falling."),
    Case(
        "CA intonation and latching instead of terminators ⇘ ≡ → (@Options: CA)",
        ("the boy ⇘", "is falling ≡", "off →"),
        "the boy. is falling. off.",
        head=HEAD + "@Options:\tCA\n",
    ),
    Case(
        "lengthening wa:ter and syllable pause over^flowing",
        ("the wa:ter is over^flowing .",),
        "the water is overflowing.",
    ),
    Case(
        "stress ˈ, blocking ≠ and segment repetition ↫b-b↫",
        ("the ˈ≠stool and the ↫b-b↫boy .",),
        "the stool and the boy.",
    ),
]


@pytest.mark.parametrize("case", CA, ids=ids(CA))
def test_ca_and_disfluency_notation(tmp_path, case):
    check(tmp_path, case)


# -- the CHAT table of docs/chat.md -----------------------------------------------------------------------


def test_every_convention_in_the_readme_table_is_tested():
    readme = (Path(__file__).resolve().parents[2] / "docs" / "chat.md").read_text(encoding="utf-8")
    section = readme.split("## CHAT handling", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| convention")]
    assert len(rows) >= 20, "the CHAT table of docs/chat.md is missing"
    inputs = "\n".join(c.chat() for c in [*HEADERS, *WORDS, *UTTERANCES, *SCOPED, *TIERS, *CA])
    untested = []
    for row in rows:
        cells = re.split(r"(?<!\\)\|", row)  # a \| inside a cell is a pipe of the example
        examples = [
            e.replace("\\|", "|").replace("\\t", "\t").replace("\\x15", "\x15")
            for e in re.findall(r"`([^`]+)`", cells[2])
        ]
        assert examples, f"docs/chat.md CHAT table row without an example: {row}"
        untested += [e for e in examples if e not in inputs]
    assert not untested, f"docs/chat.md conventions without a conformance case: {untested}"
