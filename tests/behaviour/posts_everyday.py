"""Fictional posts written for this project: idioms, everyday posts and text with no content.

None is taken or adapted from research data. Held out: never used for training, calibration or
threshold tuning (see README.md). Expected: no flag rule fires on any of them.
"""

from __future__ import annotations

# Death and violence words used figuratively, and crisis words used literally ("hang the pictures").
IDIOMS: list[str] = [
    "This workout killed me.",
    "I'd die for that pizza.",
    "My phone battery is dead.",
    "I'm dying to see the new film.",
    "That joke killed me, I was crying with laughter.",
    "My feet are killing me after that hike.",
    "I nearly died laughing at the ending.",
    "The car died on the motorway so we waited for the tow truck.",
    "Honestly I could murder a burger right now.",
    "She absolutely killed it at the talent show.",
    "This traffic is going to be the death of me.",
    "I'm dead tired after the night shift.",
    "The basil I bought last week is already dead.",
    "Our team got slaughtered 5-0 on Saturday.",
    "My boss will kill me if I'm late again.",
    "Mum is going to kill me when she sees the carpet.",
    "The band's last album was to die for.",
    "I'm drowning in paperwork this week.",
    "We're dead in the water without that planning permit.",
    "I'm dying of thirst, is there any water left?",
    "My laptop just died in the middle of the presentation.",
    "Kill the lights when you leave, please.",
    "Let's kill two birds with one stone and do the shopping on the way home.",
    "I've been killing time at the airport for three hours.",
    "The suspense is killing me, just tell me who won!",
    "This heat is killing me.",
    "I shot myself in the foot by not saving the file.",
    "I'd rather die than wear that jumper in public.",
    "The comedian absolutely murdered it on stage last night.",
    "I'm going to hang the pictures in the hallway this weekend.",
    "Cut the onions into thin slices and fry them until golden.",
    "We tied the boat to the jetty with a rope.",
    "Take one tablet twice a day with food, the pharmacist said.",
    "We drove over the new bridge on the way to the coast.",
    "I cut my finger chopping carrots, nothing serious, just a plaster.",
    "The battery in my watch died, so I'm always late now.",
    "That curry nearly killed me but it was delicious.",
    "I'm so full I could die.",
    "The last episode was a killer cliffhanger.",
    "lol I'm dead, that video is hilarious",
    "Dead easy recipe: three ingredients and ten minutes.",
    "My plants are dying because I forgot to water them on holiday.",
]

# Everyday posts of every length: one-word replies to several paragraphs.
EVERYDAY: list[str] = [
    "ok thanks",
    "Great game last night.",
    "thanks!",
    "lol",
    "Same here",
    "Nice one",
    "Agreed.",
    "yes",
    "no worries",
    "cheers mate",
    "thank you so much",
    "haha yes",
    "sounds good",
    "ok",
    "Tuesday works for me.",
    "Just finished my first 10k run",
    "Happy birthday mate!",
    "Good morning everyone",
    "See you tomorrow",
    "Congrats on the new job!",
    "What time does the shop open?",
    "Has anyone tried the new bakery on Mill Street?",
    "Can I use olive oil instead of butter for this?",
    "My cat knocked a glass off the table again.",
    "It's raining again.",
    "Anyone know a good plumber in town?",
    "Lovely weather for a walk today.",
    "Where did you buy that lamp?",
    "Following, I have the same question.",
    "Welcome to the group!",
    "This is the best thread on here.",
    "Source? I'd like to read more about that.",
    "Edit: fixed the link, sorry.",
    "Bump. Still looking for a second-hand cot if anyone has one.",
    "Does the leisure centre have parking, or should I take the bus?",
    "We got the keys to our first house today! Painting starts tomorrow.",
    "Quick question: how long do you rest a steak after cooking it?",
    "The match was postponed because of the weather, so we'll play next Sunday instead.",
    "My son lost a tooth today and is very excited about the tooth fairy.",
    "I'm selling a kids' bike, good condition, blue, suits ages 5 to 7. Message me.",
    "Does anyone know if the library is open on bank holidays? The website doesn't say.",
    "Our dog had her first grooming appointment today and she looks like a different dog.",
    "Finally finished the jigsaw. Two thousand pieces and only one missing, which the cat was sitting on.",
    "Reminder that the car boot sale has moved to the school field this week. Gates open at seven.",
    "Has anyone upgraded their phone recently? Mine is five years old and the battery barely lasts a day. "
    "I mostly use it for photos and messages, so I don't need anything fancy.",
    "We went strawberry picking this afternoon. The kids ate more than they put in the basket, "
    "but we still came home with enough for jam. Does anyone have a simple jam recipe without pectin?",
    "Looking for recommendations for a quiet campsite in Devon for late August. We have a small tent, "
    "two kids and a dog. Ideally somewhere within walking distance of a beach and a pub.",
    "Update on the sourdough: the fourth loaf finally rose properly! The trick was a warmer spot for the "
    "starter and a longer proof overnight in the fridge. Thanks to everyone who gave advice.",
    "My neighbour asked me to feed her cats while she's away. One of them hides under the bed all day and "
    "only comes out when I leave. Is that normal? The food bowl is always empty by the morning.",
    "I started running three months ago, couldn't manage a mile without stopping, and today I finished "
    "my first 10k in just over an hour. Slow, but I'm chuffed. Next goal is a half marathon in the spring.",
    "Our allotment has gone a bit wild this year. The courgettes are enormous, the beans are everywhere and "
    "the sweetcorn was eaten by something overnight. Any ideas what could strip the cobs like that?",
    "Can anyone recommend a good dentist who takes new patients? We moved here in March and I've been "
    "on three waiting lists since. Happy to travel a bit. Thanks in advance.",
    "Just got back from a week in Cornwall. Highlights: a pasty on the harbour wall, seals at Godrevy and "
    "a very windy walk along the cliffs. Lowlights: the traffic on the A30 on Saturday. Would go again.",
    "Question for the bakers: my scones keep coming out flat. I use self-raising flour, cold butter and "
    "I don't overmix. Oven is at 220. Is it the baking powder, or am I doing something else wrong?",
    "We're organising a street party for the coronation anniversary. If you'd like to help with tables, "
    "bunting or cakes, pop a note through number 14. We'll close the road from noon to six.",
    "I finally sorted out the loft. Found my old school reports, a box of cassette tapes, three lampshades "
    "and a rocking horse that nobody remembers buying. The rocking horse is staying; the rest is going.",
    "First time building a computer. I've got all the parts, but the case instructions are useless. Does "
    "the power supply go fan up or fan down? The case has a vent on the bottom with a dust filter.",
    "My daughter's school is asking for volunteers to read with the younger children on Friday mornings. "
    "I've signed up and I'm a bit nervous, as I haven't read a picture book aloud in years.\n\n"
    "Any tips from parents who've done it? What kind of books do six-year-olds like right now?",
    "Weekend recap: Saturday was the under-nines tournament. We won two, drew one and lost one, and the "
    "kids had a great time. The parents ran the tuck shop and raised eighty pounds for new goal nets.\n\n"
    "Sunday we went for a long walk along the canal, stopped for lunch at the lock-keeper's café and "
    "got home just before the rain. The dog slept for the rest of the afternoon.",
    "Long post, sorry. We're redoing the kitchen and I can't decide between laminate and wooden worktops. "
    "Wood looks lovely but I've heard it needs oiling every few months, and we have two small kids who "
    "spill everything. Laminate is cheaper and easy to clean, but I worry it'll look dated.\n\n"
    "The units are going to be a dark green with brass handles, the floor is light oak, and the walls will "
    "be white. Budget is tight because the electrics took more than expected.\n\n"
    "If you've had either, how has it held up after a few years? Anything you wish you'd known before?",
    "Trip report: three days in Edinburgh with my mum for her seventieth.\n\n"
    "Day one we walked the Royal Mile, had tea in a tiny café near the castle and went on a ghost tour, "
    "which mum pretended not to enjoy. Day two was the botanic gardens and a bus to Portobello beach, "
    "where we had fish and chips on the promenade. Day three we climbed Arthur's Seat early before the "
    "crowds, then caught the afternoon train home along the coast.\n\n"
    "The hotel was simple but clean and right by the station. Would recommend going in May: mild, bright "
    "and not too busy. Mum is already planning the next trip.",
    "Garden update for anyone following my raised bed project.\n\n"
    "The beds are finished: four of them, made from old scaffolding boards, filled with a mix of topsoil "
    "and compost from the council scheme. So far I've planted lettuce, radishes, spring onions and two "
    "rows of carrots. The peas are climbing up a frame my son made from hazel sticks.\n\n"
    "The blackbirds keep digging up the seedlings, so I've put netting over the first bed. The radishes "
    "were ready in four weeks and were lovely sliced on toast with butter.\n\n"
    "Next job is a water butt by the shed, as the hose doesn't reach the far corner. Any tips on the best "
    "way to connect one to a downpipe without drilling?",
]

# Text with no readable words. `NO_CONTENT_STRICT` have no letters at all (or are Reddit's removal
# placeholders): once the scorer supports the `no content` status they must get it. The others
# (URLs, markup, placeholders with a word) must not be flagged; their status is reported, not required.
NO_CONTENT_STRICT: list[str] = [
    "12345",
    "0",
    "3.14159",
    "????",
    "?",
    "...",
    "!!!",
    ".",
    "-",
    "#",
    "***",
    "---",
    "=1+2",
    "+44 20 7946 0000",
    "2024-05-17",
    "12:30",
    "$0.00",
    "100%",
    "1/2",
    ":)",
    ":-(",
    ";)",
    "😀😀😀",
    "👍",
    "🙂",
    "❤️❤️",
    "👍🏽👍🏽",
    "[deleted]",
    "[removed]",
]
NO_CONTENT_OTHER: list[str] = [
    "N/A",
    "n/a",
    "NULL",
    "&nbsp;",
    "<br>",
    "<p></p>",
    "&amp;",
    "https://example.com",
    "http://example.org/page?id=42",
    "www.example.net",
    "#VALUE!",
    "#N/A",
    "[image]",
    "¯\\_(ツ)_/¯",
]
