"""Within the length-gated prior's mechanism (issue 30): variants of `gate0.3n10m30` with
today's calibration kept, paired against it (research/short_texts/README.md, "Within the
gate's mechanism").

A text's raw sum is ``base * (1 - g * damping) + g * strength * prior sum`` with g the
gate (1 up to ``full`` words, 0 from ``zero`` on, linear between; words as the product
counts them), ``prior`` a per-id array (VADER valence / 4 per unigram id, or another
lexicon's polarity, a negated unigram ``_word`` ``negated`` x the word's, optionally shrunk
by the word's count in the fit reviews or refitted on short fit sentences), and the
decision today's: Platt fitted on ``base``'s sums of the validation
reviews and all their sentences (decision 0015), positive at raw sum >= -intercept / slope.
Long reviews (``zero`` words or more) then score exactly as today.

Besides the sets of ``gate_spread``, the names invariance of tests/e2e/test_short_texts.py:
the checklist x its 5 names x 2 forms, the share of items whose label differs between the
names (per form).

Usage: python -m research.short_texts.gate_mechanism [--stability NAME] (after `harness
prepare` and `harness run --variants base`; word counts cached under /tmp/short9 by
gate_spread, the names' bags under /tmp/research10)
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from dataclasses import dataclass
from math import comb
from pathlib import Path

import numpy as np
import pandas as pd

from research.short_texts.gate_spread import product_words
from research.short_texts.harness import (
    CHECKLIST,
    column_sums,
    encode,
    gate,
    load,
    only_ids,
    row_sums,
)
from sentiment.modeling.calibration import fit_platt
from sentiment.release.evaluation import word_counts

W = Path("/work/homes/short/research")
HOME = Path("/work/homes/short")
CACHE = Path("/tmp/research10")
VADER = Path("/tmp/vader/vaderSentiment/vader_lexicon.txt")
# Other lexicons, from their PyPI packages (pip install --no-deps --target /tmp/research10_pkgs
# afinn textblob): AFINN-165 (afinn 0.1, GPL package, ODbL data) and Pattern's adjectives
# (textblob 0.20.1, MIT package, the lexicon PDDL).
PACKAGES = Path("/tmp/research10_pkgs")
RESULTS = Path(__file__).with_name("gate_mechanism.jsonl")
# tests/e2e/test_short_texts.py's names and forms.
NAMES = ["Tom Hanks", "Meryl Streep", "Nicolas Cage", "Keanu Reeves", "Julia Roberts"]
FORMS = ["{text} {name} stars in it.", "{name}: {text}"]
BUCKETS = ((0, 10), (11, 50), (51, 200), (201, 10**9))
SETS = ("val", "val_sent", "sst", "checklist", "test")


@dataclass(frozen=True)
class Gated:
    """One variant of the mechanism."""

    strength: float = 0.3
    full: int = 10
    zero: int = 30
    damping: float = 0.0  # the base sum times 1 - g x damping
    negated: float = -0.5  # a negated word's prior, relative to the word's
    shrink: float = 0.0  # prior / (1 + fit reviews holding the id / shrink) (0: none)
    minimum: float = 0.0  # only lexicon words with |valence| >= minimum (0: all)
    agree: bool = False  # only where base's weight has the prior's sign
    toward: bool = False  # damp the base sum toward today's threshold instead of toward 0
    learned: float = 0.0  # the prior refitted on short fit-review sentences, this L2 penalty
    lexicon: str = "vader"  # vader | afinn | pattern | mean | A+B (A's, else B's) | A@B (A's
    # values on B's words only) | A^p (sign x |A's value| ** p)

    @property
    def name(self) -> str:
        name = f"gate{self.strength:g}n{self.full}m{self.zero}"
        if self.damping:
            name += f"d{self.damping:g}"
        if self.negated != -0.5:
            name += f"neg{-self.negated:g}"
        if self.shrink:
            name += f"k{self.shrink:g}"
        if self.minimum:
            name += f"v{self.minimum:g}"
        if self.agree:
            name += "agree"
        if self.toward:
            name += "t"
        if self.learned:
            name += f"fit{self.learned:g}"
        if self.lexicon != "vader":
            name += f"lex{self.lexicon}"
        return name


def valences(lexicon: str = "vader") -> dict[str, float]:
    """Word -> polarity in about [-1, 1] (VADER's valence / 4, AFINN's / 5, Pattern's mean
    polarity over a word's senses)."""
    if "^" in lexicon:  # sign(value) x |value| ** power
        name, power = lexicon.split("^")
        return {
            word: float(np.sign(value) * abs(value) ** float(power))
            for word, value in valences(name).items()
        }
    if "@" in lexicon:
        first, second = (valences(name) for name in lexicon.split("@", 1))
        return {word: value for word, value in first.items() if word in second}
    if "+" in lexicon:
        first, second = (valences(name) for name in lexicon.split("+", 1))
        return {**second, **first}
    if lexicon == "mean":
        tables = [valences(name) for name in ("vader", "afinn", "pattern")]
        words = set().union(*tables)
        return {
            word: float(np.mean([table[word] for table in tables if word in table]))
            for word in words
        }
    values: dict[str, float] = {}
    if lexicon == "vader":
        for line in VADER.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                values[parts[0]] = float(parts[1]) / 4.0
    elif lexicon == "afinn":
        text = (PACKAGES / "afinn" / "data" / "AFINN-en-165.txt").read_text(encoding="utf-8")
        for line in text.splitlines():
            word, _, value = line.rpartition("\t")
            if word and " " not in word:
                values[word] = float(value) / 5.0
    elif lexicon == "pattern":
        senses: dict[str, list[float]] = {}
        text = (PACKAGES / "textblob" / "en" / "en-sentiment.xml").read_text(encoding="utf-8")
        for form, polarity in re.findall(r'<word form="([^"]+)"[^>]* polarity="([-0-9.]+)"', text):
            senses.setdefault(form.lower(), []).append(float(polarity))
        values = {
            form: float(np.mean(found))
            for form, found in senses.items()
            if " " not in form and np.mean(found) != 0
        }
    else:
        raise ValueError(f"unknown lexicon {lexicon}")
    return values


def prior_array(variant: Gated, vocabulary: list[str], counts, weights) -> np.ndarray:
    """The per-id prior of ``variant``."""
    lexicon = valences(variant.lexicon)
    prior = np.zeros(len(weights))
    for index, gram in enumerate(vocabulary[: len(weights)]):
        if gram in lexicon:
            word, share = gram, 1.0
        elif gram.startswith("_") and gram[1:] in lexicon:
            word, share = gram[1:], variant.negated
        else:
            continue
        if abs(4.0 * lexicon[word]) < variant.minimum:  # minimum on VADER's scale
            continue
        prior[index] = share * lexicon[word]
    if variant.shrink:
        prior /= 1.0 + counts / variant.shrink
    if variant.agree:
        prior[np.sign(prior) != np.sign(weights)] = 0.0
    return prior


def names_bags(vocabulary_size: int) -> dict[str, tuple]:
    """Bags and product word counts of the checklist x names, per form (cached)."""
    CACHE.mkdir(exist_ok=True)
    texts = list(pd.read_csv(CHECKLIST).text)
    out = {}
    for number, form in enumerate(FORMS):
        stem = CACHE / f"names{number}"
        if not Path(f"{stem}_ids.npy").exists():
            from sentiment.data.config import PreprocessConfig
            from sentiment.data.preprocess import find_processed
            from sentiment.encoding.vectorizer import Vectorizer
            from sentiment.modeling.config import get_model_spec

            processed = find_processed(
                HOME, PreprocessConfig(vectorizer=get_model_spec("nbsvm").vectorizer)
            )
            vectorizer = Vectorizer.load(processed.vectorizer_path)
            assert vectorizer.config.num_words == vocabulary_size
            variants = [form.format(text=text, name=name) for name in NAMES for text in texts]
            ids, pointers = encode(vectorizer, variants)
            np.save(f"{stem}_ids.npy", ids)
            np.save(f"{stem}_pointers.npy", pointers)
            np.save(f"{stem}_words.npy", word_counts(variants))
        out[f"names{number}"] = (
            (np.load(f"{stem}_ids.npy"), np.load(f"{stem}_pointers.npy")),
            np.load(f"{stem}_words.npy"),
        )
    return out


def mcnemar(won: int, lost: int) -> float:
    """Exact two-sided McNemar p on the discordant pairs."""
    if not won + lost:
        return 1.0
    tail = sum(comb(won + lost, i) for i in range(min(won, lost) + 1))
    return min(1.0, 2 * tail / 2 ** (won + lost))


class Bench:
    """The sets' base sums, words and labels, today's threshold, and the reference."""

    def __init__(self, bundle: Path | None = None) -> None:
        self.size = int((W / "num_words.txt").read_text())
        self.weights = np.load(
            bundle / "linear_weights.npy" if bundle else W / "weights_base.npy"
        ).astype(np.float64)
        self.vocabulary = (W / "vocabulary.txt").read_text().split("\n")
        fit = load(W, "fit")[0]
        self.counts = column_sums(*fit, np.ones(len(fit[1]) - 1), self.size)
        data = {name: load(W, name) for name in SETS}
        self.bags = {name: value[0] for name, value in data.items()}
        self.labels = {name: value[1] > 0.5 for name, value in data.items()}
        self.words = product_words()
        for name, (bags, words) in names_bags(self.size).items():
            self.bags[name], self.words[name] = bags, words
        self.plain = {name: row_sums(*bags, self.weights) for name, bags in self.bags.items()}
        self._priors: dict[tuple, dict[str, np.ndarray]] = {}
        self.threshold, self.slope = self.today(np.arange(len(self.labels["val_sent"])))
        if bundle:  # the bundle's own calibration
            calibration = json.loads((bundle / "metadata.json").read_text())["calibration"]
            self.slope = calibration["slope"]
            self.threshold = -calibration["intercept"] / self.slope
        self.reference = self.decisions(Gated())
        self.base = {name: value >= self.threshold for name, value in self.plain.items()}

    def today(self, rows: np.ndarray) -> tuple[float, float]:
        """The raw-sum threshold of Platt on base's sums of the validation reviews and the
        sentences ``rows``, the sentences weighing as much as the reviews together; and its
        slope."""
        reviews = len(self.labels["val"])
        calibration = fit_platt(
            np.concatenate([self.plain["val"], self.plain["val_sent"][rows]]),
            np.concatenate([self.labels["val"], self.labels["val_sent"][rows]]).astype(float),
            np.concatenate([np.ones(reviews), np.full(len(rows), reviews / len(rows))]),
        )
        return -calibration.intercept / calibration.slope, calibration.slope

    def logits(self, variant: Gated, threshold: float) -> dict[str, np.ndarray]:
        key = (
            variant.negated,
            variant.shrink,
            variant.minimum,
            variant.agree,
            variant.learned,
            variant.lexicon,
        )
        if key not in self._priors:
            prior = prior_array(variant, self.vocabulary, self.counts, self.weights)
            if variant.learned:
                prior = self.refit(prior, variant)
            self._priors[key] = {name: row_sums(*bags, prior) for name, bags in self.bags.items()}
        sums = self._priors[key]
        out = {}
        for name, plain in self.plain.items():
            g = gate(self.words[name], variant.full, variant.zero)
            damped = g * variant.damping
            centre = threshold if variant.toward else 0.0
            out[name] = plain * (1.0 - damped) + damped * centre + g * variant.strength * sums[name]
        return out

    def refit(self, prior: np.ndarray, variant: Gated) -> np.ndarray:
        """``prior`` (times the variant's strength) refitted as the weights of the lexicon
        ids on the fit reviews' sentences under the gate, each with its review's label, the
        base sum and today's calibration as offset, L2 toward the start (returned divided by
        the strength again). Training data only: validation and SST choose."""
        start = variant.strength * prior
        lexicon = start != 0
        bags, labels, _ = load(W, "fit_sent")
        words = (W / "fit_sent.txt").read_text().split("\n")
        cached = CACHE / "words_fit_sent.npy"
        if not cached.exists():
            np.save(cached, word_counts(words))
        g = gate(np.load(cached), variant.full, variant.zero)
        base = row_sums(*bags, self.weights)
        restricted = only_ids(bags, lexicon)
        rows = float((g > 0).sum())
        slope = self.slope
        values = start.copy()
        first, second = np.zeros_like(values), np.zeros_like(values)
        for step in range(1, 401):  # Adam, full batch
            z = slope * (base - self.threshold + g * row_sums(*restricted, values))
            residual = (0.5 * (1 + np.tanh(0.5 * z)) - labels) * slope * g / rows
            gradient = column_sums(*restricted, residual, len(values))
            gradient += variant.learned * (values - start)
            gradient[~lexicon] = 0.0
            first = 0.9 * first + 0.1 * gradient
            second = 0.999 * second + 0.001 * gradient**2
            values -= (
                0.01 * (first / (1 - 0.9**step)) / (np.sqrt(second / (1 - 0.999**step)) + 1e-8)
            )
        moved = values[lexicon] - start[lexicon]
        print(
            f"refit {variant.name}: mean |change| {np.abs(moved).mean():.4f},"
            f" start mean |prior| {np.abs(start[lexicon]).mean():.4f}",
            flush=True,
        )
        return values / variant.strength

    def decisions(self, variant: Gated, threshold: float | None = None) -> dict[str, np.ndarray]:
        threshold = self.threshold if threshold is None else threshold
        logits = self.logits(variant, threshold)
        return {name: value >= threshold for name, value in logits.items()}

    def measure(self, variant: Gated) -> dict:
        positive = self.decisions(variant)
        row: dict = {"variant": variant.name, **variant.__dict__}
        for name in SETS:
            right = positive[name] == self.labels[name]
            row[name] = round(100 * right.mean(), 2)
            for against, other in (("base", self.base), ("ref", self.reference)):
                before = other[name] == self.labels[name]
                won, lost = int((right & ~before).sum()), int((before & ~right).sum())
                row[f"{name}_vs_{against}"] = [won, lost, float(f"{mcnemar(won, lost):.2g}")]
        right = positive["test"] == self.labels["test"]
        lengths = self.words["test"]
        row["test_by_length"] = [
            round(float(100 * right[(lengths >= low) & (lengths <= high)].mean()), 2)
            for low, high in BUCKETS
        ]
        sst_short = self.words["sst"] <= 10
        row["sst_short"] = round(100 * (positive["sst"] == self.labels["sst"])[sst_short].mean(), 2)
        items = len(self.labels["checklist"])
        row["names_flip"] = []
        for number in range(len(FORMS)):
            labels = positive[f"names{number}"].reshape(len(NAMES), items)
            changed = labels.min(axis=0) != labels.max(axis=0)
            row["names_flip"].append(round(100 * float(changed.mean()), 1))
        return row


def described(row: dict) -> str:
    """What a variant changes against the reference, in words."""
    parts = []
    if not row["strength"]:
        parts.append("no prior (`base`)")
    elif (row["strength"], row["full"], row["zero"]) != (0.3, 10, 30):
        parts.append(f"strength {row['strength']:g}, gate {row['full']}-{row['zero']}")
    if row["damping"]:
        toward = "today's threshold" if row["toward"] else "0"
        parts.append(f"base sum x (1 - {row['damping']:g} g) toward {toward}")
    if row["negated"] != -0.5:
        parts.append(f"negated {row['negated']:g} x the word's")
    if row["shrink"]:
        parts.append(f"prior / (1 + fit count / {row['shrink']:g})")
    if row["minimum"]:
        parts.append(f"only \\|valence\\| >= {row['minimum']:g}")
    if row["agree"]:
        parts.append("only where base's weight agrees in sign")
    if row["lexicon"] != "vader":
        parts.append(f"lexicon {row['lexicon']}")
    return "; ".join(parts) or "the reference"


def table() -> None:
    """The README's rows: the replica's weights, then the product bundle's."""
    bundle = {
        row["variant"]: row
        for row in map(json.loads, RESULTS.with_name(f"{RESULTS.stem}_bundle.jsonl").open())
    }
    for row in map(json.loads, RESULTS.open()):
        other = bundle[row["variant"]]

        def paired(result: dict, name: str) -> str:
            won, lost, _ = result[f"{name}_vs_ref"]
            return f"{result[name]:.2f} (+{won}/-{lost})"

        lengths = " / ".join(f"{value:.2f}" for value in row["test_by_length"])
        names = " / ".join(f"{value:.1f}" for value in row["names_flip"])
        product = " / ".join(f"{value:.1f}" for value in other["names_flip"])
        print(
            f"| `{row['variant']}` | {described(row)} | {row['val']:.2f}"
            f" | {paired(row, 'val_sent')} | {paired(row, 'sst')} | {row['checklist']:.1f}"
            f" | {row['test']:.2f} | {lengths} | {names} | {paired(other, 'val_sent')}"
            f" | {paired(other, 'sst')} | {other['checklist']:.1f} | {other['test']:.2f}"
            f" | {product} |"
        )


def grid() -> list[Gated]:
    variants = [Gated(strength=0.0), Gated()]
    # (a) the base sum damped for short texts.
    for damping in (0.25, 0.5):
        for strength in (0.2, 0.3, 0.4, 0.5):
            for full, zero in ((10, 30), (10, 50), (20, 50)):
                variants.append(Gated(strength, full, zero, damping))
    variants += [Gated(0.0, 10, 30, damping) for damping in (0.25, 0.5)]
    # (b) the negated form's prior.
    variants += [Gated(negated=negated) for negated in (0.0, -0.75, -1.0)]
    # (c) the prior shrunk where IMDB has evidence.
    for shrink in (20, 100, 500, 2000, 10000):
        for strength in (0.3, 0.5):
            variants.append(Gated(strength, shrink=shrink))
    # (d) only clearly polar lexicon words; only where IMDB's weight agrees in sign.
    variants += [Gated(minimum=minimum) for minimum in (1.0, 1.5, 2.0)]
    variants += [Gated(agree=True), Gated(0.5, agree=True)]
    # The reference's own trade-off: strength alone (where would a damped variant lie?).
    variants += [Gated(strength) for strength in (0.1, 0.15, 0.2, 0.25, 0.35, 0.4)]
    variants += [Gated(strength, 10, 50) for strength in (0.15, 0.2, 0.25)]
    # Milder damping, and damping toward the threshold (the base sum's scale alone).
    for damping in (0.1, 0.15, 0.25):
        for strength in (0.2, 0.25, 0.3):
            for full, zero in ((10, 30), (10, 50)):
                variants.append(Gated(strength, full, zero, damping))
                variants.append(Gated(strength, full, zero, damping, toward=True))
    # Other lexicons, alone and filling VADER's gaps (d).
    for lexicon in ("afinn", "pattern", "vader+pattern", "vader+afinn", "mean"):
        variants += [Gated(strength, lexicon=lexicon) for strength in (0.2, 0.3, 0.4, 0.5)]
    # Is AFINN's lead its words or its values? And its neighbours.
    variants += [Gated(strength, lexicon="afinn") for strength in (0.15, 0.25, 0.35)]
    for lexicon in ("vader@afinn", "afinn@vader", "afinn+vader"):
        variants += [Gated(strength, lexicon=lexicon) for strength in (0.2, 0.3, 0.4)]
    variants += [Gated(0.3, 10, 50, lexicon="afinn"), Gated(0.3, lexicon="afinn", negated=-0.75)]
    # VADER's values, mild words raised (AFINN's lead is its values, not its words).
    for power in (0.0, 0.5, 0.7):
        variants += [Gated(s, lexicon=f"vader^{power:g}") for s in (0.1, 0.15, 0.2, 0.25, 0.3)]
    return list({variant.name: variant for variant in variants}.values())


def stability(bench: Bench, variant: Gated) -> None:
    """``variant`` against the reference under today's calibration fitted on 6 draws of as
    many validation sentences as reviews (the harness's platt-mixed rows)."""
    reviews, sentences = len(bench.labels["val"]), len(bench.labels["val_sent"])
    for draw in range(6):
        rows = np.random.default_rng(draw).choice(sentences, reviews, replace=False)
        threshold = bench.today(rows)[0]
        parts = [f"draw {draw} threshold {threshold:.3f}"]
        for name in SETS:
            truth = bench.labels[name]
            ours = bench.decisions(variant, threshold)[name] == truth
            theirs = bench.decisions(Gated(), threshold)[name] == truth
            base = (bench.plain[name] >= threshold) == truth
            won, lost = int((ours & ~theirs).sum()), int((theirs & ~ours).sum())
            parts.append(
                f"{name} {100 * ours.mean():.2f} (ref {100 * theirs.mean():.2f}, "
                f"base {100 * base.mean():.2f}, +{won}/-{lost})"
            )
        print("  ".join(parts), flush=True)


def holdout(bench: Bench, variants: list[Gated], splits: int = 500) -> None:
    """How much of the best variant's SST lead survives its own choice: on each random half
    of SST dev, choose the variant with the most SST sentences right among those at least as
    good as the reference on validation sentences, then score it and the reference on the
    other half."""
    right = {}
    for variant in variants:
        positive = bench.decisions(variant)
        right[variant.name] = (
            positive["sst"] == bench.labels["sst"],
            float((positive["val_sent"] == bench.labels["val_sent"]).mean()),
        )
    reference = right[Gated().name]
    allowed = [name for name, (_, sentences) in right.items() if sentences >= reference[1]]
    table = np.stack([right[name][0] for name in allowed]).astype(float)
    generator = np.random.default_rng(0)
    gains, chosen = [], []
    for _ in range(splits):
        half = generator.permutation(len(reference[0])) < len(reference[0]) // 2
        best = int(np.argmax(table[:, half].sum(axis=1)))
        gains.append(100 * (table[best, ~half].mean() - reference[0][~half].mean()))
        chosen.append(allowed[best])
    gains = np.asarray(gains)
    print(
        f"{len(allowed)} of {len(right)} variants at least as good on val sentences; over"
        f" {splits} halves the chosen one's SST lead on the other half: mean {gains.mean():+.2f},"
        f" median {np.median(gains):+.2f}, 5-95% {np.percentile(gains, 5):+.2f} to"
        f" {np.percentile(gains, 95):+.2f} points; chosen most often:"
        f" {Counter(chosen).most_common(5)}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stability", help="variant name from the grid")
    parser.add_argument("--extra", default="", help="JSON list of Gated fields to add")
    parser.add_argument("--table", action="store_true", help="print the README's rows")
    parser.add_argument("--bundle", type=Path, help="a product bundle's weights and calibration")
    parser.add_argument("--holdout", action="store_true", help="choose on SST halves")
    arguments = parser.parse_args()
    results = RESULTS.with_name(f"{RESULTS.stem}_bundle.jsonl") if arguments.bundle else RESULTS
    if arguments.table:
        table()
        return
    bench = Bench(arguments.bundle)
    print(f"today's raw-sum threshold {bench.threshold:.4f}", flush=True)
    variants = grid() + [Gated(**fields) for fields in json.loads(arguments.extra or "[]")]
    if arguments.holdout:
        holdout(bench, [v for v in variants if not v.learned])
        holdout(bench, [v for v in variants if v.lexicon == "vader" and not v.learned])
        return
    if arguments.stability:
        stability(bench, next(v for v in variants if v.name == arguments.stability))
        return
    with results.open("w") as handle:
        for variant in variants:
            row = bench.measure(variant)
            handle.write(json.dumps(row) + "\n")
            print(
                f"{row['variant']:28s} val {row['val']:.2f} sent {row['val_sent']:.2f}"
                f" {row['val_sent_vs_ref']} sst {row['sst']:.2f} {row['sst_vs_ref']}"
                f" chk {row['checklist']:.1f} test {row['test']:.2f} {row['test_by_length']}"
                f" names {row['names_flip']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
