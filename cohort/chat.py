"""A speaker's CHAT file: headers, the investigator's prompts, the participant's tiers, dependent tiers.

The files mix the notations real Pitt files have: old (``&uh``, ``&f``, CLAN-style ``%mor``)
and new (``&-uh``, ``&+f``, UD-style ``%mor`` with ``%wor`` word timings, ``@G`` gems), media
bullets, continuation lines, asides excluded with ``[+ exc]``, overlaps (``[>]`` on one word,
``+<`` on the reply). The header comment (``@Comment``) says the file is simulated.
"""

from __future__ import annotations

import random

from cohort import talk
from cohort.describe import describe
from cohort.disfluency import place, render_utterance
from cohort.grammar import Voice
from cohort.speakers import Speaker

SIMULATED_COMMENT = "@Comment:\tSIMULATED speech written by cohort (python -m cohort), not a real participant"


MOR_LEX: dict[str, str] = {
    "the": "det:art|the",
    "a": "det:art|a",
    "an": "det:art|a",
    "this": "det:dem|this",
    "that": "pro:dem|that",
    "some": "qn|some",
    "he": "pro:sub|he",
    "she": "pro:sub|she",
    "it": "pro:per|it",
    "they": "pro:sub|they",
    "I": "pro:sub|I",
    "you": "pro:per|you",
    "his": "det:poss|his",
    "her": "det:poss|her",
    "them": "pro:obj|them",
    "is": "aux|be&3S",
    "are": "aux|be&PRES",
    "and": "coord|and",
    "of": "prep|of",
    "in": "prep|in",
    "on": "prep|on",
    "out": "adv|out",
    "up": "adv|up",
    "to": "inf|to",
    "for": "prep|for",
    "from": "prep|from",
    "there": "adv|there",
    "with": "prep|with",
    "not": "neg|not",
    "at": "prep|at",
    "over": "prep|over",
    "into": "prep|into",
    "off": "prep|off",
    "all": "qn|all",
    "too": "adv|too",
    "something": "pro:indef|something",
    "looks": "cop|look&3S",
    "has": "v|have&3S",
    "wants": "v|want-3S",
    "doesn't": "mod|do&3S~neg|not",
    "gonna": "aux|go-PRESP~inf|to",
    "then": "adv|then",
    "now": "adv|now",
    "well": "co|well",
    "oh": "co|oh",
    "okay": "co|okay",
    "so": "coord|so",
    "what": "pro:int|what",
    "else": "post|else",
    "one": "pro:indef|one",
}


# CLAN part-of-speech codes -> the UD-style ones of current DementiaBank releases.
_UD_POS = {
    "det:art": "det",
    "det:dem": "det",
    "det:poss": "det",
    "qn": "det",
    "pro:sub": "pron",
    "pro:per": "pron",
    "pro:obj": "pron",
    "pro:dem": "pron",
    "pro:indef": "pron",
    "pro:int": "pron",
    "pro": "pron",
    "n": "noun",
    "v": "verb",
    "part": "verb",
    "aux": "aux",
    "cop": "aux",
    "mod": "aux",
    "prep": "adp",
    "coord": "cconj",
    "adv": "adv",
    "inf": "part",
    "neg": "part",
    "co": "intj",
    "post": "adv",
}
_UD_FEATURES = (
    ("-PRESP", "-Part-Pres-S"),
    ("-PL", "-Plur"),
    ("&3S", "-Fin-Ind-Pres-S3"),
    ("&PRES", "-Fin-Ind-Pres"),
    ("-3S", "-Fin-Ind-Pres-S3"),
)


def ud_mor(mor: str) -> str:
    """A CLAN-style %mor line in the UD-style notation (``n|cookie-PL`` -> ``noun|cookie-Plur``)."""
    items = []
    for item in mor.split(" "):
        parts = []
        for word in item.split("~"):
            pos, sep, rest = word.partition("|")
            for old, new in _UD_FEATURES:
                rest = rest.replace(old, new)
            parts.append(f"{_UD_POS.get(pos, pos)}{sep}{rest}" if sep else word)
        items.append("~".join(parts))
    return " ".join(items)


def mor_tiers(words: list[str], terminator: str) -> tuple[str, str]:
    """Plausible %mor and %gra lines for clean words (the reader ignores both)."""
    mor = []
    for w in words:
        base = w.split("'")[0]
        if w in MOR_LEX:
            mor.append(MOR_LEX[w])
        elif "'" in w:
            pos = "pro" if base in ("he", "she", "it", "that", "there") else "n"
            mor.append(f"{pos}|{base}~aux|be&3S")
        elif w.endswith("ing") and w not in ("thing", "something", "nothing", "anything", "everything"):
            stem = w[:-3]
            stem = stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "ls" else stem
            mor.append(f"part|{stem}-PRESP")  # getting -> get, spilling -> spill
        elif w.endswith(("shes", "ches", "sses")):
            mor.append(f"n|{w[:-2]}-PL")  # dishes -> dish
        elif w.endswith("s") and len(w) > 3:
            mor.append(f"n|{w[:-1]}-PL")
        else:
            mor.append(f"n|{w}")
    n = len(mor)
    root = next((i for i, m in enumerate(mor) if m.startswith("part|")), n - 1) + 1
    gra = []
    for i in range(1, n + 1):
        if i == root:
            gra.append(f"{i}|0|ROOT")
        else:
            rel = (
                "DET"
                if mor[i - 1].startswith("det")
                else "SUBJ"
                if mor[i - 1].startswith("pro:sub")
                else ("AUX" if mor[i - 1].startswith("aux") else "JCT" if mor[i - 1].startswith("prep") else "OBJ")
            )
            gra.append(f"{i}|{min(i + 1, root) if i < root else root}|{rel}")
    gra.append(f"{n + 1}|{root}|PUNCT")
    return " ".join([*mor, terminator]), " ".join(gra)


def wrap_tier(line: str, width: int = 78) -> str:
    """Wrap a long tier the CHAT way: continuation lines start with a TAB."""
    head, body = line.split("\t", 1)
    if len(line) <= width:
        return line
    parts, cur = [], ""
    # A terminator stays on the line of the word it ends.
    tokens: list[str] = []
    for tok in body.split(" "):
        if tokens and tok in (".", "?", "!", "+...", "+/."):
            tokens[-1] += " " + tok
        else:
            tokens.append(tok)
    for tok in tokens:
        if cur and len(cur) + 1 + len(tok) > width - 8:
            parts.append(cur)
            cur = tok
        else:
            cur = f"{cur} {tok}" if cur else tok
    parts.append(cur)
    return head + "\t" + "\n\t".join(parts)


def wor_tier(words: list[str], terminator: str, span: tuple[int, int]) -> str:
    """A %wor tier: each word said with its own media bullet, the utterance's time shared evenly."""
    start, end = span
    step = (end - start) // max(1, len(words))
    timed = [f"{w} \x15{start + i * step}_{start + (i + 1) * step}\x15" for i, w in enumerate(words)]
    return " ".join([*timed, terminator])


def write_chat(content: random.Random, rng: random.Random, sp: Speaker) -> str:
    """The speaker's whole .cha file: what is said drawn from ``content``, how (hesitations, the
    file's tiers and timings) from ``rng``, so that a change to one leaves the other as it was."""
    utterances = describe(content, sp)
    voice = Voice(rng, sp.loyalty, sp.convention)  # the speaker's hesitation habits (favourite fillers, pauses)
    group_label = "ProbableAD" if sp.label == "AD" else "Control"
    mmse_field = "" if sp.mmse is None else str(sp.mmse)
    lines = [
        "@UTF8",
        f"@PID:\t11312/t-{rng.randint(0, 99999):08d}-1",
        "@Begin",
        "@Languages:\teng",
        "@Participants:\tPAR Participant, INV Investigator",
        f"@ID:\teng|Pitt|PAR|{sp.age};|{sp.gender}|{group_label}||Participant|{mmse_field}||",
        "@ID:\teng|Pitt|INV|||||Investigator|||",
        f"@Media:\t{sp.id}, audio",
        SIMULATED_COMMENT,
    ]
    if sp.notation == "new" and rng.random() < 0.5:
        lines.append("@G:\tCookie")  # a gem: the task this stretch of talk belongs to
    t = rng.randint(0, 2500)

    def tier(speaker: str, text: str, with_bullet: bool) -> tuple[int, int] | None:
        """Appends a main tier; returns its media times (ms) when it got a bullet."""
        nonlocal t
        span = None
        if with_bullet:
            dur = 300 * max(1, len(text.split()))
            span = (t, t + dur)
            t += dur + rng.randint(150, 1200)
            text += f" \x15{span[0]}_{span[1]}\x15"
        lines.append(wrap_tier(f"*{speaker}:\t{text}"))
        return span

    use_bullets = rng.random() < 0.8
    prompt = rng.choice(talk.INV_PROMPTS)
    overlapped = rng.random() < 0.15
    if overlapped:
        # the participant starts while the investigator is still talking: an unscoped [>]
        # on one word, and a lazy overlap (+<) on the reply
        words = prompt.split()
        k = rng.randint(1, len(words) - 3)
        prompt = " ".join([*words[: k + 1], "[>]", *words[k + 1 :]])
    tier("INV", prompt, use_bullets)
    if overlapped:
        tier("PAR", f"+< {rng.choice(('okay', 'alright', 'mhm'))} [<] . [+ exc]", use_bullets)
    elif rng.random() < 0.25:
        tier("PAR", f"{rng.choice(talk.EXCLUDED)} [+ exc]", use_bullets)
    followups_left = 1 + int(rng.random() < 0.5 + 0.4 * sp.severity)
    marks = place(rng, utterances, sp.rates)
    for gi, words in enumerate(utterances):
        main, spoken = render_utterance(rng, voice, words, sp, marks[gi])
        span = tier("PAR", main, use_bullets and rng.random() < 0.85)
        if sp.with_mor and spoken and rng.random() < 0.7:
            mor, gra = mor_tiers(spoken, main.split()[-1])
            lines.append(wrap_tier(f"%mor:\t{ud_mor(mor) if sp.notation == 'new' else mor}"))
            lines.append(wrap_tier(f"%gra:\t{gra}"))
            if sp.notation == "new" and span is not None:
                lines.append(wrap_tier(f"%wor:\t{wor_tier(spoken, main.split()[-1], span)}"))
        if gi < len(utterances) - 1 and rng.random() < 0.07:
            tier("INV", f"+< {rng.choice(talk.BACKCHANNELS)}", use_bullets)
        if followups_left and gi in (len(utterances) // 2, len(utterances) - 2) and len(utterances) > 3:
            tier("INV", rng.choice(talk.INV_FOLLOWUPS), use_bullets)
            followups_left -= 1
            if rng.random() < 0.15:
                tier("PAR", f"{rng.choice(talk.EXCLUDED)} [+ exc]", use_bullets)
    lines.append("@End")
    return "\n".join(lines) + "\n"
