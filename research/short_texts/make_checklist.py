"""Write the behavioural checklist of short, clear sentences (tests/data/short_checklist.csv).

CheckList-style minimum-functionality items (Ribeiro et al. 2020): templates filled with
clearly polar words, both polarities, with and without negation. Deterministic: rerun to
regenerate the same file. The invariance and direction tests build their pairs from these
items in the tests themselves.

Usage: python research/short_texts/make_checklist.py
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

POSITIVE = [
    "good",
    "great",
    "excellent",
    "wonderful",
    "amazing",
    "brilliant",
    "fantastic",
    "superb",
    "enjoyable",
    "delightful",
    "beautiful",
    "terrific",
    "outstanding",
    "lovely",
]
NEGATIVE = [
    "bad",
    "terrible",
    "awful",
    "boring",
    "dull",
    "horrible",
    "dreadful",
    "poor",
    "disappointing",
    "stupid",
    "tedious",
    "pointless",
    "lame",
    "mediocre",
]
NOUNS = ["movie", "film", "show", "story", "performance", "ending"]
TEMPLATES = [
    "{adj} {noun}",
    "{article} {adj} {noun}",
    "The {noun} was {adj}.",
    "What {article} {adj} {noun}!",
    "This {noun} is {adj}.",
    "Really {adj} {noun}.",
]
# Negated forms: the polarity flips. Only strongly polar adjectives: "not terrible" is
# not clearly positive, so the negative side negates positive words only, and the positive
# side uses fixed phrases whose meaning is clear.
NEGATED_TEMPLATES = ["The {noun} was not {adj}.", "This {noun} is not {adj}.", "It was not {adj}."]
NEGATED_POSITIVE_WORDS = ["good", "great", "enjoyable", "funny", "interesting", "worth it"]
VERBS = [
    ("I loved it.", 1),
    ("I hated it.", 0),
    ("I loved this movie.", 1),
    ("I hated this movie.", 0),
    ("I really enjoyed this film.", 1),
    ("I did not enjoy this film.", 0),
    ("I did not like it.", 0),
    ("I didn't like the movie.", 0),
    ("I liked it a lot.", 1),
    ("Highly recommended.", 1),
    ("Not recommended.", 0),
    ("I would not recommend it.", 0),
    ("I would recommend it to anyone.", 1),
    ("A waste of time.", 0),
    ("Worth watching.", 1),
    ("Not worth watching.", 0),
    ("Never boring.", 1),
    ("Not bad at all.", 1),
    ("It was not bad, actually quite good.", 1),
    ("The worst movie I have seen.", 0),
    ("The best movie of the year.", 1),
    ("A must see.", 1),
    ("Avoid this one.", 0),
    ("I want my money back.", 0),
    ("I can't wait to see it again.", 1),
    ("It made me laugh and cry.", 1),
    ("I fell asleep halfway through.", 0),
    ("I was not disappointed.", 1),
    ("Not boring for a second.", 1),
    ("I loved every minute.", 1),
    ("Nothing bad to say about it.", 1),
    ("It never gets dull.", 1),
    ("You will not regret it.", 1),
    ("A real joy to watch.", 1),
    ("Funny and touching.", 1),
    ("Great fun.", 1),
    ("Well worth the price of admission.", 1),
    ("A beautifully made film.", 1),
    ("I can't recommend it enough.", 1),
    ("Simply wonderful.", 1),
    ("Loved it!", 1),
    ("Two hours I will never get back.", 0),
    ("A masterpiece.", 1),
    ("A total mess.", 0),
]


def items() -> list[tuple[str, int, str]]:
    """(text, label, kind) rows: plain adjective sentences, negated ones, fixed phrases."""
    rows: list[tuple[str, int, str]] = []
    # Each adjective once per template, its noun cycling, so every word and template
    # appears without the full product.
    for label, words in ((1, POSITIVE), (0, NEGATIVE)):
        nouns = itertools.cycle(NOUNS)
        for template in TEMPLATES:
            for adjective in words[:: 2 if template.startswith("{") else 1][:7]:
                article = "an" if adjective[0] in "aeiou" else "a"
                text = template.format(adj=adjective, noun=next(nouns), article=article)
                rows.append((text[0].upper() + text[1:], label, "plain"))
    nouns = itertools.cycle(NOUNS[:3])
    for template in NEGATED_TEMPLATES:
        for adjective in NEGATED_POSITIVE_WORDS:
            text = template.format(adj=adjective, noun=next(nouns))
            rows.append((text[0].upper() + text[1:], 0, "negated"))
    rows.extend((text, label, "phrase") for text, label in VERBS)
    return rows


def main() -> None:
    path = Path(__file__).resolve().parents[2] / "tests" / "data" / "short_checklist.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["text", "label", "kind"])
        writer.writerows(items())
    print(path, len(items()))


if __name__ == "__main__":
    main()
