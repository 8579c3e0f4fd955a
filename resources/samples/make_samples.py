"""Write the fictional sample inputs forum_posts.xlsx and forum_posts.csv (run from anywhere).

Every post below is fictional, written for this project; none is taken from any data set. They mix
everyday posts with low mood, anxiety, bipolar-like swings and a few with passive or explicit
suicidal thoughts, plus the awkward cells a real export has (empty, whitespace only, a leading "=",
emoji, one long post).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

LONG_POST = " ".join(
    [
        "This is going to be long, sorry in advance, I just need to get it out somewhere.",
        "About eight months ago my team at work was merged with another department and since then",
        "everything has felt like it is slipping. My new manager schedules calls at seven in the",
        "morning and again at eight at night because half the team is in another time zone, and",
        "somehow I am the one expected to be on all of them. I used to cycle to work and cook proper",
        "dinners. Now I eat cereal standing at the counter and fall asleep on the sofa with my laptop",
        "open. My partner has started saying I am not really present even when I am home, and they are",
        "right, I can feel my head still being in the spreadsheet while they are telling me about their",
        "day. I snap at small things. Last week I cried in the car park because the ticket machine",
        "would not take my card, which is ridiculous, it was one pound twenty.\n\n",
        "I went to my GP in the spring and they said it sounded like burnout and gave me a leaflet",
        "about sleep hygiene. I have read it. I have tried the no-screens-after-ten thing. I have tried",
        "the app with the rain sounds. What happens is I lie there and my brain runs through every email",
        "I have not answered, every mistake from the week, every time I said something stupid in a",
        "meeting, and then it is three in the morning and I am doing maths about how many hours I can",
        "still sleep if I fall asleep right now. Then it is five. Then the alarm.\n\n",
        "The thing that scares me a bit is that I have stopped caring about the stuff I loved. I used",
        "to paint miniatures on Sunday afternoons, I had a whole shelf of them, and I have not opened",
        "the paint box since February. My friends from the club message me and I leave them on read",
        "because I do not have the energy to explain why I am not coming. I tell myself I will reply",
        "tomorrow. It has been months of tomorrow.\n\n",
        "I do not want to make this sound more dramatic than it is. I am not in danger or anything like",
        "that. I just feel flat and grey most days, like someone turned the saturation down on",
        "everything, and I am tired in a way that sleep does not fix. On Saturdays I sometimes feel",
        "almost normal by the afternoon and then Sunday evening the dread comes back like a tide.\n\n",
        "I have been thinking about asking for a few weeks off, or even about looking for another job,",
        "but the idea of writing a CV and doing interviews feels like climbing a mountain in the state",
        "I am in. Money is okay for now but not great, we have the mortgage and the car, and I keep",
        "thinking that if I quit and cannot find anything I will have made it all worse for both of us.",
        "My partner says they would rather have me unemployed for a while than like this. I know they",
        "mean it but I still feel like I would be letting them down.\n\n",
        "If anyone has been in a similar place, how did you decide it was time to step back? Did",
        "talking to occupational health at your work actually help, or did it just put a target on your",
        "back? And did the flatness lift once the stress was gone, or did you need something more, like",
        "therapy or medication? I have an appointment with a different doctor in two weeks and I want to",
        "go in knowing what to ask for instead of just nodding and leaving with another leaflet.\n\n",
        "Thanks for reading this far if you did. Writing it down has actually helped a little.",
    ]
)

# (author_alias, post_text); ids and dates are assigned below.
POSTS: list[tuple[str, str]] = [
    ("kettle_on", "Does anyone else batch-cook on Sundays? Looking for freezer meals that are not chilli."),
    (
        "quietfern",
        "I can't remember the last time I felt happy. I get up, go to work, come home, sleep. Repeat.",
    ),
    ("budget_bea", "Finally paid off my credit card after two years of overpaying every month. Small win!"),
    (
        "night_owl_22",
        "Heart pounding again before the team meeting. I rehearse every sentence and still freeze.",
    ),
    ("tomasz_r", "Anyone know if the bike shop on the high street does wheel truing while you wait?"),
    (
        "grey_sky",
        "Lately I keep thinking everyone would be better off without me. I'm not going to do anything, "
        "I just can't shake the thought.",
    ),
    (
        "highs_and_lows",
        "Three days with almost no sleep and I feel amazing, started four projects and bought a keyboard. "
        "Last time this happened I crashed hard for weeks after.",
    ),
    ("plant_dad", "My monstera finally has a new leaf with holes in it. Unreasonably proud."),
    (
        "anon_4471",
        "I've written goodbye letters to my family. I think tonight is the night. I'm so tired of fighting.",
    ),
    ("jess_m", "Got the job!!! After 30 applications and 6 interviews. Thank you all for the CV tips 🎉🎉"),
    (
        "worrywart",
        "What if I left the stove on? I went back twice this morning and still can't stop checking.",
    ),
    ("slow_runner", "Did my first 10k today, slowest time on the board but I finished 🏃‍♀️💪"),
    ("", ""),
    ("spaces_only", "   "),
    ("formula_fan", "=SUM(A1:A9) is how my brain feels doing the monthly budget, just adding up worries"),
    ("plusone", "+1 to everything said above, the waiting list for therapy here is eight months"),
    (
        "overthinker",
        "I cancelled plans again because my chest felt tight and I was sure something bad would happen.",
    ),
    (
        "moodswing_mo",
        "One week I'm on top of the world, spending money I don't have and talking a mile a minute, "
        "the next I can't get out of bed. My sister says it's not normal. Is it?",
    ),
    (
        "retired_rita",
        "The grandchildren are visiting next week, any ideas for rainy-day activities for a 6 and 9 year old?",
    ),
    ("numb_and_done", "I don't really feel sad anymore, I just feel nothing. Food tastes like cardboard."),
    ("student_sam", "Exam in two days and I haven't started revising. Panicking and scrolling instead."),
    (
        "lost_in_nov",
        "Sometimes I wish I could just go to sleep and not wake up. Not planning anything, just so tired of "
        "waking up to the same heaviness.",
    ),
    (
        "carfix_carl",
        "Dashboard light came on, garage says the sensor is faulty, £180. Does that sound right?",
    ),
    ("sunny_side", "Had a good day today for the first time in ages. Went for a walk and sat in the sun."),
    (
        "midnight_thoughts",
        "I keep looking up ways to end it. I know I should tell someone but I don't know who.",
    ),
    ("pay_rise_please", "How do you ask for a raise without sounding ungrateful? Two years, no change."),
    (
        "racing_brain",
        "My thoughts are so fast I can't finish one before the next starts. Haven't slept since Tuesday.",
    ),
    (
        "cat_lady_cath",
        "The cat learned to open the treat cupboard. I am no longer in charge of this household.",
    ),
    (
        "hollow_h",
        "Everyone at work thinks I'm fine. I smile all day and then sit in the car for an hour before going inside.",
    ),
    (
        "rent_woes",
        "Landlord is putting the rent up by 15% and I already spend half my wage on it. Don't know what to do.",
    ),
    (
        "panic_pete",
        "Had a panic attack in the supermarket queue. Left my shopping and ran out. So embarrassed.",
    ),
    (
        "gardener_g",
        "Tomatoes are finally ripening. Anyone got a good green tomato chutney recipe for the rest?",
    ),
    ("مريم", "أشعر بالتعب طوال الوقت ولا أعرف لماذا. hard to explain to my family in English or Arabic."),
    ("dov_k", "שבוע קשה בעבודה, but the weekend hike helped a lot. Anyone know quiet trails up north?"),
    ("burnt_out_ben", LONG_POST),
    ("lowbattery", "Crying in the work toilets again 😞 I don't know how much longer I can keep pretending."),
    (
        "dad_of_three",
        "School run, work, dinner, bath, bed. I love them but I haven't had an hour to myself in a year.",
    ),
    (
        "manic_monday",
        "Booked flights to three countries at 4am last night. Can't afford it. Felt like a genius at the time.",
    ),
    (
        "steady_now",
        "Six months on the new meds and the swings are much smaller. Worth sticking through the first weeks.",
    ),
    (
        "-dash-",
        "-- not sure where to post this, but does anyone else feel worse in winter? Dark at 4pm is killing me.",
    ),
]

NOTES_SHEET = [
    ("note",),
    ("Every post in this workbook is fictional, written for the CMHL Desktop project.",),
    ("Open the sheet 'posts' and choose the column 'post_text' to score them.",),
]


def rows() -> list[tuple[int, dt.date, str, str]]:
    start = dt.date(2024, 1, 8)
    return [
        (i, start + dt.timedelta(days=3 * i), alias, text) for i, (alias, text) in enumerate(POSTS, start=1)
    ]


def write_xlsx(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "posts"
    ws.append(["post_id", "date", "author_alias", "post_text"])
    for c in ws[1]:
        c.font = Font(bold=True)
    for post_id, date, alias, text in rows():
        ws.append([post_id, date, alias or None, text or None])
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd"
        ws.cell(ws.max_row, 4).data_type = "s"  # "=SUM(...)" is a post, not a formula
    ws.column_dimensions["D"].width = 90
    notes = wb.create_sheet("notes")
    for r in NOTES_SHEET:
        notes.append(r)
    wb.properties.created = dt.datetime(2024, 6, 1)
    wb.save(path)
    _make_reproducible(path)


def _make_reproducible(path: Path) -> None:
    """openpyxl stamps the save time into the file; fix it so regenerating gives identical bytes."""
    with zipfile.ZipFile(path) as z:
        parts = [(i.filename, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2024-06-01T00:00:00Z", data)
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 6, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)


def write_csv(path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["post_id", "date", "author_alias", "post_text"])
        for post_id, date, alias, text in rows():
            w.writerow([post_id, date.isoformat(), alias, text])


if __name__ == "__main__":
    write_xlsx(HERE / "forum_posts.xlsx")
    write_csv(HERE / "forum_posts.csv")
    print(f"wrote {len(POSTS)} posts to {HERE / 'forum_posts.xlsx'} and {HERE / 'forum_posts.csv'}")
