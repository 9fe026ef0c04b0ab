"""The picture's setting as events a speaker may mention (the window and the yard, the kitchen, the
cupboard, counter, cloth, faucet and clothes): less salient than the people's actions, listed after
them in :data:`cohort.scene.EVENTS`. Simulated speech, written for this cohort: no real transcript.
"""

from __future__ import annotations

from cohort.event import Event

SETTING: tuple[Event, ...] = (
    Event(
        "window",
        0.8,
        "back",
        (
            "{present} {@window.n}",
            "{@window} {is} open",
            "{@curtains} are {open}",
            "there are {@curtains.o} on {@window.o}",
            "{@woman} {is} standing {by_window}",
            "{@window} has {@curtains.o}",
            "{@window} is open and {@curtains} are {open}",
            "you can see out {@window.o}",
            "there's {@window} with {@curtains.o}",
        ),
        (
            "{@window.n} and {@curtains.n}",
            "{@curtains.n}",
            "{@window.n}",
            "{@curtains.n} on {@window.o}",
        ),
        (
            "behind her",
            "and the sun is coming in",
            "and it's open",
            "and you can see outside",
            "above the sink",
            "and it looks like a nice day out",
        ),
        (
            "{@window.n} open",
            "{@curtains.n} blowing",
        ),
    ),
    Event(
        "outside",
        0.0,
        "back",
        (
            "you can see {@outside.o} {through_window}",
            "outside there's {@outside.o}",
            "out {@window.o} there's {@outside.o}",
            "{@outside} looks {nice}",
            "there's {@outside.o} and {@outside.o} outside",
            "it looks {nice} outside",
            "outside {@window.o} you can see {@outside.o}",
            "there's {@outside.o} out there",
        ),
        (
            "{@outside.n} outside",
            "{@outside.n} and {@outside.n}",
            "{@outside.n}",
        ),
        (
            "in the back",
            "across the way",
            "and it looks nice",
            "and the grass is green",
            "and there are flowers",
            "and it looks like summer",
        ),
        ("{@outside.n} outside",),
    ),
    Event(
        "kitchen",
        0.3,
        "all",
        (
            "it's {a_kitchen}",
            "this is {a_kitchen}",
            "they're in {a_kitchen}",
            "the picture is {a_kitchen}",
            "the family is in {a_kitchen}",
            "it looks like {a_kitchen}",
            "it's a picture of {a_kitchen}",
        ),
        ("{a_kitchen}",),
        (),
        ("{a_kitchen}",),
    ),
    Event(
        "cupboard",
        -0.3,
        "left",
        (
            "the door of {@cupboard.o} is open",
            "{@jar} {is} up in {@cupboard.o}",
            "{@cupboard} {is} open",
            "there are {things} in {@cupboard.o}",
            "{@cupboard} door is open",
            "{@boy} left {@cupboard.o} open",
        ),
        (
            "{@cupboard.n}",
            "{@cupboard.n} open",
            "{@cupboard.n} door",
        ),
        (),
        (
            "{@cupboard.n} open",
            "{@cupboard.n} door open",
        ),
    ),
    Event(
        "counter",
        -0.8,
        "right",
        (
            "there's {@dishes.o} on {@counter.o}",
            "there are {cups_plate} on {@counter.o}",
            "{@dishes} are sitting on {@counter.o}",
            "{cups_plate} on {@counter.o}",
            "{present} {cups_plate} on {@counter.o}",
        ),
        (
            "{cups_plate} on {@counter.o}",
            "{@counter.n}",
            "{@dishes.n} on {@counter.o}",
        ),
        (),
        ("{@dishes.n} on {@counter.o}",),
    ),
    Event(
        "cloth",
        -0.5,
        "right",
        (
            "{@woman} {is} holding {@cloth.o}",
            "{@woman} has {@plate.o} in one hand and {@cloth.o} in the other",
            "{@woman} has got {@cloth.o} in her hand",
            "{present} {@cloth.n} in her hand",
        ),
        (
            "{@cloth.n}",
            "{@plate.n} and {@cloth.n}",
        ),
        (),
        ("{@woman.n} holding {@cloth.o}",),
    ),
    Event(
        "faucet",
        -0.4,
        "right",
        (
            "{@faucet} {is} {on}",
            "{@faucet} {is} running",
            "{@woman} left {@faucet.o} on",
            "nobody turned off {@faucet.o}",
            "{@faucet} is still on",
        ),
        (
            "{@faucet.n}",
            "{@faucet.n} on",
        ),
        (),
        (
            "{@faucet.n} running",
            "{@faucet.n} on",
        ),
    ),
    Event(
        "clothes",
        -1.2,
        "all",
        (
            "{@woman} has {clothing} on",
            "{@woman} {is} wearing {clothing}",
            "{@boy} {is} wearing {boy_clothes}",
            "{@woman} has got {clothing}",
        ),
        ("{clothing}",),
        (),
        ("{@woman.n} wearing {clothing}",),
    ),
)
