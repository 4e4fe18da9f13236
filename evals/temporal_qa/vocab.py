"""Word pools of the generated temporal-QA videos: speech lines, repeated words, slide titles, backgrounds.

Every speech line names one *topic* (what questions search for) and one *key* (what an answer that quotes
the line must contain). All topic and key words were checked to be recognised by faster-whisper ``tiny.en``
and ``base`` in espeak-ng speech with the three voices below; words that failed there or too often in the
generator's own checks were dropped ("wolves", "piano", "bakery", "knight", "mars", "weather", "president",
"newspaper", "chocolate", "books", "spaghetti", "dragon"). The generator checks every video it makes again.
"""

from __future__ import annotations

from typing import NamedTuple


class LineSpec(NamedTuple):
    topic: str  # searched word (lowercase)
    phrase: str  # how a question names it ("the budget")
    key: str  # answer word of the line (lowercase)
    text: str  # what is spoken


#: lines with a topic that occurs once per video
SINGLE: tuple[LineSpec, ...] = (
    LineSpec("budget", "the budget", "london", "The budget meeting takes place in London."),
    LineSpec("office", "the office", "berlin", "Our new office opens in Berlin next spring."),
    LineSpec("garden", "the garden", "roses", "The garden is full of red roses."),
    LineSpec("train", "the train", "station", "The train leaves from the central station."),
    LineSpec("music", "music", "guitar", "She plays music on an old guitar."),
    LineSpec("doctor", "the doctor", "hospital", "The doctor works at the city hospital."),
    LineSpec("computer", "the computer", "keyboard", "My computer needs a new keyboard."),
    LineSpec("river", "the river", "bridge", "A long bridge crosses the river."),
    LineSpec("football", "football", "stadium", "The football match starts at the stadium."),
    LineSpec("winter", "winter", "mountains", "In winter we go skiing in the mountains."),
    LineSpec("airport", "the airport", "flight", "Our flight leaves the airport at noon."),
    LineSpec("camera", "the camera", "pictures", "This camera takes beautiful pictures."),
    LineSpec("ocean", "the ocean", "island", "We sailed across the ocean to a small island."),
    LineSpec("market", "the market", "apples", "The market sells fresh apples."),
    LineSpec("museum", "the museum", "paintings", "The museum shows famous paintings."),
    LineSpec("bicycle", "the bicycle", "park", "I ride my bicycle in the park."),
    LineSpec("elephant", "the elephant", "africa", "The elephant came from Africa."),
    LineSpec("telephone", "the telephone", "message", "The telephone rang with an urgent message."),
    LineSpec("hotel", "the hotel", "breakfast", "The hotel serves breakfast at seven."),
    LineSpec("rocket", "the rocket", "moon", "The rocket flew all the way to the moon."),
    LineSpec("concert", "the concert", "tickets", "The concert tickets are sold out."),
    LineSpec("village", "the village", "church", "The village has an old church."),
    LineSpec("police", "the police", "thief", "The police caught the thief."),
    LineSpec("holiday", "the holiday", "spain", "We spent our holiday in Spain."),
    LineSpec("garage", "the garage", "truck", "The truck is parked in the garage."),
    LineSpec("factory", "the factory", "workers", "The factory hired new workers."),
    LineSpec("forest", "the forest", "mushrooms", "We found mushrooms in the forest."),
    LineSpec("wedding", "the wedding", "flowers", "The wedding had beautiful flowers."),
    LineSpec("teacher", "the teacher", "student", "The teacher helps the students every day."),
    LineSpec("umbrella", "an umbrella", "rain", "Take an umbrella because of the rain."),
)

#: words said in several lines of a video (first / last / n-th / count questions): topic -> (phrase, lines)
REPEAT: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "coffee": (
        "coffee",
        (
            ("morning", "I drink coffee every morning."),
            ("paris", "The coffee in Paris is very strong."),
            ("team", "We bought coffee for the whole team."),
        ),
    ),
    "summer": (
        "summer",
        (
            ("beach", "In summer we go to the beach."),
            ("festival", "The summer festival was fun."),
            ("vacation", "Our summer vacation was too short."),
        ),
    ),
    "soccer": (
        "soccer",
        (
            ("school", "We play soccer after school."),
            ("ball", "The soccer ball is new."),
            ("champions", "Our soccer team are the champions."),
        ),
    ),
}

#: on-screen slide titles (read by OCR); none of them is a spoken word of any line
TITLES: tuple[str, ...] = (
    "AGENDA",
    "RESULTS",
    "SUMMARY",
    "TIMELINE",
    "PARTNERS",
    "STRATEGY",
    "HISTORY",
    "OVERVIEW",
    "FINANCE",
    "SCIENCE",
    "NATURE",
    "HEALTH",
    "TRAVEL",
    "SPORTS",
    "DESIGN",
    "SECURITY",
)

#: slide backgrounds: lavfi colours (white text on them), and one moving test pattern
BACKGROUNDS: tuple[str, ...] = (
    "navy",
    "darkgreen",
    "maroon",
    "purple",
    "teal",
    "saddlebrown",
    "darkslategray",
    "indigo",
    "smptebars",
)

#: espeak-ng voices; the n-th voice heard in a video is labelled SPEAKER_n
VOICES: tuple[str, ...] = ("en-us+m3", "en-gb+f2", "en+m7")

ORDINALS: tuple[str, ...] = ("first", "second", "third", "fourth", "fifth")
