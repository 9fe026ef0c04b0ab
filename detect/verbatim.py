"""How verbatim text is read: sentences, words, marks, immediate repetitions.

Verbatim text is what was said, readable (``uh the boy the boy (.) the girl — the boy is
falling...``): a generator's output, the text column of a CSV. Besides words it carries the
few marks a reader of speech needs, none of CHAT's codes, so that a generator can learn every
disfluency the corpus counts and the counts read back the same: ``(.)`` a pause, ``—`` a
retracing with correction (CHAT ``[//]``; a plain repetition is just said twice), ``xxx`` an
unintelligible word, ``...`` a trailing off. :func:`detect.chat.clean_verbatim` reads it so
into clean text and counts; :mod:`augment.export` writes CHAT back from the same reading, so that a
transcript exported to CHAT reads back to the same text and counts.
"""

from __future__ import annotations

import re

SENTENCE = re.compile(r"[^.?!]+(?:\.\.\.|[.?!])?")  # a sentence with its terminator, '...' included
WORD = re.compile(r"[\w'-]+")
# A text holding these is CHAT after all: CHAT's codes by how they open (the CHAT manual), not any
# bracket. A generator writes stray brackets of written prose ("uh [sic]", "the girl.]"), and a
# quarter of the demo's AD texts read as CHAT lost every filler and dash (bench-results, B34).
CHAT_CODES = re.compile(
    r"&[-+=~*]?[^\W\d_]|&[{}]"  # &-uh filler, &+fr fragment, &=laughs, &~ nonword, &uh, &{l=X long event
    r"|\[(?:/{1,3}[-?]?\]|::? |\*[\] ]|\+ |=[!?]? |%|\^|!{1,2}\]|\?\]|x \d|[<>]\d?\]|- |\"\]|# |e\])"  # [/] [: x] ...
    r"|\x15"  # a media bullet
    r"|\+(?:\.\.[.?]|//?[.?]|/\?|!\?|\"/?\.|\+|,|<|\^)"  # +... +/. +//. +"/. ++ +, +< +^
)
UNINTELLIGIBLE = frozenset({"xxx", "yyy", "xx", "yy"})  # www is untranscribed, not unintelligible
PAUSE_MARK = "(.)"  # every CHAT pause, (.) to (2.5), is written so: the counts do not weigh length
PAUSE = re.compile(r"\(\.{1,3}\)")
PAUSE_SLOT = "\ue000"  # a pause's place while text is split at '.' or stripped of brackets
RETRACE_MARK = "—"  # CHAT [//] [///] [/-]: the speaker broke off and corrected
# A dash that joins no word (cookie-jar does): any en or em dash, a double hyphen, a hyphen by a space.
DASH = re.compile(r"[–—]+|-{2,}|(?<![\w'])-+|-+(?![\w'])")


def hold_pauses(text: str) -> str:
    """``text`` with each pause as :data:`PAUSE_SLOT`, a token of its own that holds no '.': the
    text can then be split at sentence ends or stripped of brackets, and the slot read as a pause.

    >>> hold_pauses("the boy (.) fell.").split() == ["the", "boy", PAUSE_SLOT, "fell."]
    True
    """
    return PAUSE.sub(f" {PAUSE_SLOT} ", text)


def release_pauses(text: str) -> str:
    """The inverse of :func:`hold_pauses`: each :data:`PAUSE_SLOT` written as the pause mark again.

    >>> release_pauses(hold_pauses("the boy (..) fell.")).split()
    ['the', 'boy', '(.)', 'fell.']
    """
    return text.replace(PAUSE_SLOT, PAUSE_MARK)


def without_marks(text: str) -> str:
    """``text`` with its pause and correction marks gone: the words, as a count of words wants them.

    >>> without_marks("the girl — the boy (.) fell").split()
    ['the', 'girl', 'the', 'boy', 'fell']
    """
    return DASH.sub(" ", PAUSE.sub(" ", text))


def repeated_runs(words: list[str], longest: int = 3) -> list[tuple[int, int]]:
    """Immediate repetitions of 1..longest words ('the the', 'on the on the'), each counted once:
    ``(start, length)`` of the first saying, the longest run first.

    >>> repeated_runs("on the on the stool stool".split())
    [(0, 2), (4, 1)]
    """
    runs, i = [], 0
    while i < len(words):
        for n in range(longest, 0, -1):
            if i + 2 * n <= len(words) and words[i : i + n] == words[i + n : i + 2 * n]:
                runs.append((i, n))
                i += n
                break
        else:
            i += 1
    return runs
