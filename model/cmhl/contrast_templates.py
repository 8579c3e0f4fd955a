"""Contrast templates for training: the same crisis wording stated, negated, placed in a resolved
past, and death words used as everyday idioms, so that the model learns that the wording alone is not
the signal (the contrast-set idea of Gardner et al., Findings of EMNLP 2020; the CheckList kinds of
Ribeiro et al., ACL 2020).

Written for this project's training only. The behaviour suite under tests/behaviour was written
separately and is never used for training; its negated / past-resolved / idiom pass rates still
overstate how well these phenomena generalise, which the model card says (the stb test split's
real negated comments are the independent check).
"""

from __future__ import annotations

import random

# Crisis acts as verb phrases (after "to"/"will") and as -ing phrases; plain wording, first person.
ACTS: list[tuple[str, str]] = [
    ("kill myself", "killing myself"),
    ("end my life", "ending my life"),
    ("take my own life", "taking my own life"),
    ("hurt myself", "hurting myself"),
    ("cut myself again", "cutting myself"),
    ("overdose on my meds", "overdosing"),
    ("jump off the overpass", "jumping off something high"),
    ("hang myself", "hanging myself"),
    ("end it all", "ending it all"),
    ("die", "dying"),
    ("go to sleep and never wake up", "not waking up"),
    ("shoot myself", "shooting myself"),
    ("drive into a wall", "crashing the car on purpose"),
    ("swallow every pill in the cabinet", "taking all my pills"),
    ("commit suicide", "suicide"),
    ("stop being alive", "not being alive"),
]

STATED = [
    "I'm going to {act} tonight.",
    "I want to {act}.",
    "i really just want to {act}",
    "I've decided to {act} this weekend.",
    "Honestly I think I will {act} soon.",
    "I keep planning how to {act}.",
    "I can't stop thinking about {ing}.",
    "Tomorrow I'm going to {act}, I've got it all worked out.",
    "I wrote the letters, now I'm ready to {act}.",
    "Nobody would notice if I {act_past}.",
]

NEGATED = [
    "I'm not going to {act}.",
    "I would never {act}, I love my kids too much.",
    "Don't worry, I won't {act}.",
    "i dont want to {act}, i want to get better",
    "I have no plans to {act}, I just needed to vent.",
    "I'm not thinking about {ing} at all, just tired from work.",
    "To be clear, I'm not suicidal and I'm not going to {act}.",
    "I will not {act}. I have too much to live for.",
    "Never in a million years would I {act}.",
    "I promised my sister I'd never {act}, and I meant it.",
]

PAST = [
    "{years} years ago I wanted to {act}. Today I'm doing well and back at work.",
    "Back in {year} I thought about {ing} a lot, but therapy helped and that's behind me now.",
    "There was a time I planned to {act}; now I run a support group and I'm happy.",
    "When I was a teenager I tried to {act}. I'm {age} now and life is good.",
    "I used to think about {ing} every day. It's been {years} years since I last did.",
    "After my divorce I almost wanted to {act}, but I got help and I'm in a much better place.",
    "Looking back, the year I wanted to {act} was the worst of my life. Things are great now.",
]

IDIOMS = [
    "That hill sprint nearly killed me.",
    "My feet are killing me after a double shift.",
    "I'm dying to try the new ramen place downtown.",
    "My phone died halfway through the call.",
    "You absolutely killed it at the talent show!",
    "I could murder a cup of tea right now.",
    "This traffic is going to be the death of me.",
    "I'd kill for a day off this week.",
    "That joke was so bad I wanted to die of embarrassment.",
    "The battery in the smoke alarm is dead again.",
    "Leg day at the gym always destroys me.",
    "If I have to sit through one more budget meeting I'll scream.",
    "My sister will kill me if I forget her birthday again.",
    "These brownies are to die for.",
    "I'm dead tired, going to bed early.",
    "We were dying of laughter the whole movie.",
    "The plant I bought last month is already dead.",
    "Our team got slaughtered in the second half.",
    "That exam was brutal, it basically killed me.",
    "I'm so full I could die.",
    "Killing time at the airport, flight's delayed.",
    "The band's new album slays.",
    "My laptop fan sounds like it's dying.",
    "I nearly died when I saw the price of the tickets.",
    "The suspense in that final episode was killing me.",
    "Grandpa says the old tractor finally gave up the ghost.",
    "I'm shooting for a new personal best on Saturday.",
    "The lawn mower is on its last legs.",
    "That spicy curry almost finished me off.",
    "My boss will have my head if the report is late.",
]


def _fill(template: str, rng: random.Random) -> str:
    act, ing = rng.choice(ACTS)
    past = {"die": "died", "end it all": "ended it all"}.get(act, act)
    if past == act and act.split()[0] in ("kill", "end", "take", "hurt", "cut", "jump", "hang", "shoot"):
        head, _, rest = act.partition(" ")
        irregular = {"take": "took", "cut": "cut", "hurt": "hurt", "hang": "hanged", "shoot": "shot"}
        past = f"{irregular.get(head, head + 'ed')} {rest}".strip()
    return template.format(
        act=act,
        ing=ing,
        act_past=past,
        years=rng.randint(2, 15),
        year=rng.randint(2001, 2019),
        age=rng.randint(25, 60),
    )


def contrast_sentence(kind: str, rng: random.Random) -> str:
    """One sentence (or two) of a contrast kind: "stated" (a crisis statement), "negated", "past"
    (resolved) or "idiom"."""
    if kind == "idiom":
        return rng.choice(IDIOMS)
    table = {"stated": STATED, "negated": NEGATED, "past": PAST}[kind]
    return _fill(rng.choice(table), rng)
