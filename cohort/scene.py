"""What there is to say about the Cookie Theft picture: the events, each in many wordings.

Every event (the boy taking cookies, the stool tipping, the sink overflowing ...) is a list of
clause templates (:mod:`cohort.grammar` syntax) built from the shared symbols of
:mod:`cohort.lexicon`, so the wordings multiply: a boy phrase x a verb x an object x a place.
``salience`` is the logit that a typical healthy speaker mentions the event; ``area`` is where
it is in the picture (left: the children and the cupboard, right: the mother and the sink,
back: the window and the yard), which a speaker's scan order follows. Besides its full
``frames``, an event has ``bare`` forms (only naming things, as a listing speaker does),
``terse`` ones (few words, for a speaker short of words) and ``tails`` (details a speaker may
add). Simulated speech, written for this cohort: no real transcript.
"""

from __future__ import annotations

from dataclasses import dataclass

@dataclass(frozen=True)
class Event:
    """One thing a speaker can say about the picture, in ``frames`` (templates)."""

    name: str
    salience: float  # logit that a typical healthy speaker mentions it
    area: str  # "left", "right", "back", "all": where it is, for the scan order
    frames: tuple[str, ...]
    bare: tuple[str, ...] = ()  # the event as a listing speaker names it: noun phrases, no verb
    tails: tuple[str, ...] = ()  # details a speaker may add to a clause about it, each speaker their own
    terse: tuple[str, ...] = ()  # the event in few words, as a speaker short of words says it ("boy taking cookies")


EVENTS: tuple[Event, ...] = (
    Event("boy_cookie", 3.2, "left", (
        "{@boy} {is} {take_ing} {@cookie.o} {from_jar}",
        "{@boy} {is} up on {@stool.o} {take_ing} {@cookie.o}",
        "{@boy} has his hand in {@jar.o}",
        "{@boy} {is} {reach_ing} into {@jar.o}",
        "{@boy} {is} trying to {take} {@cookie.o} {from_jar}",
        "{@boy} {is} helping himself to {@cookie.o}",
        "{@boy} {is} raiding {@jar.o}",
        "{present} {@boy.n} {take_ing} {@cookie.o} {from_jar}",
        "{@boy} {took} {@cookie.o} {from_jar}",
        "{@boy} {is} into {@jar.o} {sneaky}",
        "{@boy} {is} {take_ing} {@cookie.o} {sneaky}",
        "{@boy} {is} up there {take_ing} {@cookie.o}",
        "{@boy} {is} getting into {@jar.o}",
        "{@boy} has got his hand in {@jar.o}",
        "{present} {@boy.n} up on {@stool.o} after {@cookie.o}",
        "{@boy} {is} stealing {@cookie.o} for himself and {@girl.o}",
        "{@boy} {is} climbing up to get {@cookie.o}",
        "{@boy} {is} standing on {@stool.o} {take_ing} {@cookie.o}",
        "{@boy} wants to get {@cookie.o} {from_jar}",
        "{@boy} {is} trying to reach {@jar.o}",
        "{@boy} climbed up on {@stool.o} to get {@cookie.o}",
        "{@boy} {is} stealing {@cookie.o} while {@woman} {is} not looking",
    ), (
        "{@boy.n} and {@jar.n}", "{@boy.n} in {@jar.o}", "{@cookie.n} in {@jar.o}", "{@boy.n} with {@cookie.o}",
        "{@jar.n} and {@cookie.n}",
    ), (
        "while she's not looking", "when nobody's looking", "on the sly", "while mom isn't looking", "without asking",
        "so he can eat them", "as fast as he can", "while her back is turned", "and eating one",
        "to give to his sister", "and handing one down", "and stuffing his pockets", "and he's got one in his hand",
        "and passing them down", "so nobody sees him", "before his mother catches him", "like he's done it before",
        "and he's going to get caught", "because he's hungry", "and dropping one", "and grinning", "while he can",
        "and sharing them", "because he wants a snack",
    ), (
        "{@boy.n} taking {@cookie.o}", "{@boy.n} reaching for {@cookie.o}",
        "{@boy.n} getting {@cookie.o} out of {@jar.o}", "{@boy.n} stealing {@cookie.o}",
        "{@boy.n} in {@jar.o} getting {@cookie.o}",
    )),
    Event("boy_shares", 0.0, "left", (
        "{@boy} {is} {give_ing} {@cookie.o} to {@girl.o}",
        "{@boy} {is} handing {@cookie.o} down to {@girl.o}",
        "{@boy} {is} passing {@cookie.o} to {@girl.o}",
        "{@girl} {is} getting {@cookie.o} from {@boy.o}",
        "{@boy} {is} sharing with {@girl.o}",
        "{@boy} has {@cookie.o} in his other hand for {@girl.o}",
    ), (
        "{@cookie.n} for {@girl.o}", "{@boy.n} and {@girl.n}",
    ), (
    ), (
        "{@boy.n} handing {@cookie.o} to {@girl.o}", "{@boy.n} giving {@girl.o} one",
    )),
    Event("stool_falls", 2.3, "left", (
        "{@stool} {is} {tip_ing}",
        "{@boy} {is} {falling_off} {@stool.o}",
        "{@boy} {is} standing on {@stool.o} and {@stool} {is} {tip_ing}",
        "{@stool} {is} {tip_ing} and {@boy} {is} {going_to} fall",
        "{@boy} {is} {going_to} fall {and_hurt}",
        "{@stool} {is} {going_to} {go_over}",
        "{@boy} is on {@stool.o} and it's {tip_ing}",
        "one leg of {@stool.o} is off the floor",
        "{@stool} {is} {tip_ing} {out_from_under}",
        "{@boy} {is} {going_to} land on the floor",
        "{@boy} {is} on {@stool.o} that is {tip_ing}",
        "{@boy} {is} losing his balance",
        "{@stool} {is} about to {go_over} {out_from_under}",
        "if he's not careful {@boy} {is} {going_to} fall",
        "{@boy} {is} {going_to} fall and hurt himself",
        "{@stool} {is} tipping and he's going to fall",
        "{@boy} {is} leaning over and {@stool} {is} tipping",
        "{@boy} {is} going to get hurt when {@stool} falls",
    ), (
        "{@boy.n} on {@stool.o}",
    ), (
        "any second now", "and he's going to get hurt", "and he doesn't even know it", "because he's leaning too far",
        "while he's reaching", "and he'll land on the floor", "and he's going to go down with it",
        "because it's only got three legs", "and nobody's holding it", "and he's about to crash",
        "because he's not careful", "when he reaches over", "and it's going to crash",
        "and he's going to hit his head",
    ), (
        "{@stool.n} tipping over", "{@boy.n} falling off {@stool.o}", "{@stool.n} falling", "{@stool.n} going over",
    )),
    Event("girl_reaches", 1.7, "left", (
        "{@girl} {is} reaching {up_for} {@cookie.o}",
        "{@girl} {is} {asking} for {@cookie.o}",
        "{@girl} {is} holding out her hand",
        "{@girl} wants {@cookie.o} too",
        "{@girl} {is} waiting for {@cookie.o}",
        "{@girl} {is} {shushing}",
        "{@girl} has her finger on her lips",
        "{@girl} {is} laughing at {@boy.o}",
        "{@girl} {is} standing there {with_hand_up}",
        "{@girl} {is} telling {@boy.o} to be quiet",
        "{@girl} {is} reaching up to get {@cookie.o} from {@boy.o}",
        "{present} {@girl.n} {with_hand_up}",
        "{@girl} {is} saying {give_me}",
        "{@girl} {is} standing by {@boy.o} {asking} for {@cookie.o}",
        "{@girl} {is} reaching up and asking for {@cookie.o}",
        "{@girl} wants him to give her {@cookie.o}",
        "{@girl} {is} laughing and holding out her hand",
    ), (
        "{@girl.n} with her hand up", "{@girl.n} and {@boy.n}", "{@girl.n} there",
    ), (
        "and laughing", "and giggling", "to get her share", "like she wants one", "and waiting her turn",
        "so mother won't hear", "and she's got her arm up", "because she wants one too", "and telling him to hurry",
        "and holding out her hand", "and trying not to laugh", "while he hands them down", "and watching her mother",
        "with her hand out", "on her tiptoes",
    ), (
        "{@girl.n} reaching up", "{@girl.n} asking for one", "{@girl.n} wanting {@cookie.o}", "{@girl.n} laughing",
    )),
    Event("mother_dishes", 2.4, "right", (
        "{@woman} {is} {wash_ing} {@dishes.o}",
        "{@woman} {is} {wash_ing} {@dishes.o} {at_sink}",
        "{@woman} {is} {dry_ing} {@plate.o} {with_cloth}",
        "{@woman} {is} doing {the_dishes}",
        "{@woman} {is} standing {at_sink} {wash_ing} {@dishes.o}",
        "{@woman} {is} busy {with_dishes}",
        "{present} {@woman.n} {wash_ing} {@dishes.o}",
        "{@woman} {is} wiping {@plate.o}",
        "{@woman} {washed} {@dishes.o}",
        "{@woman} {is} {dry_ing} {@plate.o}",
        "{@woman} {is} working {at_sink}",
        "{@woman} {is} {at_sink} {dry_ing} {@dishes.o}",
        "{@woman} {is} standing there drying {@dishes.o}",
        "{@woman} {is} washing and drying {@dishes.o}",
        "{@woman} {is} trying to dry {@dishes.o}",
    ), (
        "{@woman.n} and {@dishes.n}", "{@woman.n} at {@sink.o}", "{@dishes.n} and {@cloth.n}",
    ), (
        "after supper", "with her back to the kids", "and humming a tune", "like she always does",
        "and putting them away", "and stacking them", "and looking out the window", "and daydreaming",
        "while the kids are stealing", "and she's got a plate in her hand", "and thinking about something else",
        "and not watching the kids", "while the water runs", "and drying them off", "because they just ate",
    ), (
        "{@woman.n} drying {@dishes.o}", "{@woman.n} washing {@dishes.o}", "{@woman.n} doing dishes",
    )),
    Event("sink_overflows", 2.1, "right", (
        "{@water} {is} {overflow_ing}",
        "{@sink} {is} {overflow_ing}",
        "{@water} {is} running over {@sink.o}",
        "{@water} {is} {spill_ing} {onto_floor}",
        "the faucet is {on} and {@sink} {is} {overflow_ing}",
        "{@water} {is} {spill_ing} out of {@sink.o} {onto_floor}",
        "there's water all over {@floor.o}",
        "{@sink} is full and {@water} {is} {spill_ing} {onto_floor}",
        "{@water} {is} running and {@sink} {is} {overflow_ing}",
        "{@water} {is} {spill_ing} down onto {@floor.o}",
        "she left {@water.o} running",
        "{@sink} {is} {overflow_ing} {onto_floor}",
        "{present} water {spill_ing} {onto_floor}",
        "{@water} {is} running over and spilling {onto_floor}",
        "{@sink} {is} overflowing and the water is running {onto_floor}",
        "she left the water running and it's overflowing",
    ), (
        "{@water.n} on {@floor.o}", "{@water.n} and {@sink.n}", "water all over {@floor.o}",
    ), (
        "all over the floor", "and making a puddle", "and nobody turned it off", "and splashing",
        "and she's standing in it", "and it's going to ruin the floor", "and she doesn't even see it",
        "because she left the tap on", "and running down the cabinet", "and it's getting her feet wet",
        "because the drain is plugged", "and it keeps coming", "like a waterfall", "and dripping everywhere",
    ), (
        "{@water.n} running over", "{@sink.n} overflowing", "{@water.n} spilling {onto_floor}",
        "{@water.n} overflowing",
    )),
    Event("mother_unaware", 0.7, "right", (
        "{@woman} {is} {not_noticing} {@water.o}",
        "{@woman} {does_not} {notice} {it_what}",
        "{@woman} {is} {daydream_ing}",
        "{@woman} {is} paying no attention",
        "{@woman} {is} not watching {@kids.o}",
        "{@woman} {does_not} {notice} what {@kids} are doing",
        "{@woman} {does_not} {notice} {@sink.o} running over",
        "{@woman} seems {daydream_ing}",
        "{@woman} {does_not} even know {@water} {is} {overflow_ing}",
        "{@woman} {does_not} {notice} {@boy.o}",
        "{@woman} {is} not paying attention to what's going on",
        "{@woman} {does_not} see what is happening",
        "{@woman} {does_not} know what is going on",
    ), (
       
    ), (
        "at all", "because she's daydreaming", "because she's looking out the window", "because she's so busy",
        "while the kids are stealing cookies", "and she's getting wet", "and she just keeps drying",
        "and the water keeps running",
    ), (
        "{@woman.n} daydreaming", "{@woman.n} not noticing", "{@woman.n} not looking",
    )),
    Event("wet_feet", -0.3, "right", (
        "{@woman} {is} standing in {a_puddle}",
        "her feet are getting {wet}",
        "{@floor} {is} {wet}",
        "there's {a_puddle} on {@floor.o}",
        "{@woman} {is} {going_to} slip in {@water.o}",
        "{@woman} {is} getting her feet {wet}",
    ), (
        "{a_puddle} on {@floor.o}", "wet feet",
    ), (
    ), (
        "{@woman.n} standing in water", "feet getting wet",
    )),
    Event("window", 0.8, "back", (
        "{present} {@window.n}",
        "{@window} {is} open",
        "{@curtains} are {open}",
        "there are {@curtains.o} on {@window.o}",
        "{@woman} {is} standing {by_window}",
        "{@window} has {@curtains.o}",
        "{@window} is open and {@curtains} are {open}",
        "you can see out {@window.o}",
        "there's {@window} with {@curtains.o}",
    ), (
        "{@window.n} and {@curtains.n}", "{@curtains.n}", "{@window.n}", "{@curtains.n} on {@window.o}",
    ), (
        "behind her", "and the sun is coming in", "and it's open", "and you can see outside", "above the sink",
        "and it looks like a nice day out",
    ), (
        "{@window.n} open", "{@curtains.n} blowing",
    )),
    Event("outside", 0.0, "back", (
        "you can see {@outside.o} {through_window}",
        "outside there's {@outside.o}",
        "out {@window.o} there's {@outside.o}",
        "{@outside} looks {nice}",
        "there's {@outside.o} and {@outside.o} outside",
        "it looks {nice} outside",
        "outside {@window.o} you can see {@outside.o}",
        "there's {@outside.o} out there",
    ), (
        "{@outside.n} outside", "{@outside.n} and {@outside.n}", "{@outside.n}",
    ), (
        "in the back", "across the way", "and it looks nice", "and the grass is green", "and there are flowers",
        "and it looks like summer",
    ), (
        "{@outside.n} outside",
    )),
    Event("kitchen", 0.3, "all", (
        "it's {a_kitchen}",
        "this is {a_kitchen}",
        "they're in {a_kitchen}",
        "the picture is {a_kitchen}",
        "the family is in {a_kitchen}",
        "it looks like {a_kitchen}",
        "it's a picture of {a_kitchen}",
    ), (
        "{a_kitchen}",
    ), (
    ), (
        "{a_kitchen}",
    )),
    Event("cupboard", -0.3, "left", (
        "the door of {@cupboard.o} is open",
        "{@jar} {is} up in {@cupboard.o}",
        "{@cupboard} {is} open",
        "there are {things} in {@cupboard.o}",
        "{@cupboard} door is open",
        "{@boy} left {@cupboard.o} open",
    ), (
        "{@cupboard.n}", "{@cupboard.n} open", "{@cupboard.n} door",
    ), (
    ), (
        "{@cupboard.n} open", "{@cupboard.n} door open",
    )),
    Event("counter", -0.8, "right", (
        "there's {@dishes.o} on {@counter.o}",
        "there are {cups_plate} on {@counter.o}",
        "{@dishes} are sitting on {@counter.o}",
        "{cups_plate} on {@counter.o}",
        "{present} {cups_plate} on {@counter.o}",
    ), (
        "{cups_plate} on {@counter.o}", "{@counter.n}", "{@dishes.n} on {@counter.o}",
    ), (
    ), (
        "{@dishes.n} on {@counter.o}",
    )),
    Event("cloth", -0.5, "right", (
        "{@woman} {is} holding {@cloth.o}",
        "{@woman} has {@plate.o} in one hand and {@cloth.o} in the other",
        "{@woman} has got {@cloth.o} in her hand",
        "{present} {@cloth.n} in her hand",
    ), (
        "{@cloth.n}", "{@plate.n} and {@cloth.n}",
    ), (
    ), (
        "{@woman.n} holding {@cloth.o}",
    )),
    Event("faucet", -0.4, "right", (
        "{@faucet} {is} {on}",
        "{@faucet} {is} running",
        "{@woman} left {@faucet.o} on",
        "nobody turned off {@faucet.o}",
        "{@faucet} is still on",
    ), (
        "{@faucet.n}", "{@faucet.n} on",
    ), (
    ), (
        "{@faucet.n} running", "{@faucet.n} on",
    )),
    Event("clothes", -1.2, "all", (
        "{@woman} has {clothing} on",
        "{@woman} {is} wearing {clothing}",
        "{@boy} {is} wearing {boy_clothes}",
        "{@woman} has got {clothing}",
    ), (
        "{clothing}",
    ), (
    ), (
        "{@woman.n} wearing {clothing}",
    )),
)

EVENT_BY_NAME: dict[str, Event] = {e.name: e for e in EVENTS}

# What an impaired speaker says instead of an event: the gist, no names, no specifics.
VAGUE_FRAMES: tuple[str, ...] = (
    "he's getting something up there",
    "he's doing something up there",
    "there's something going on there",
    "she's doing something with that",
    "that's falling",
    "it's coming down there",
    "they're doing that",
    "the thing is going over",
    "she's working there",
    "that one wants some",
    "it's running over there",
    "she's got something in her hand",
    "he's up on that thing",
    "there's stuff all over",
    "somebody is going to fall",
    "that thing is open",
    "it's going all over the place",
    "she's not looking",
    "he's taking them",
    "the other one is there",
)
