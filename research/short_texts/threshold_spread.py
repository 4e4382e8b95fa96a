"""How the decision of the `base` weights moves with the rows its Platt scaling is fitted on
(research/short_texts/README.md, "How stable is the mixed gain?").

Usage: python -m research.short_texts.threshold_spread (after `harness run --variants base`)
"""

from pathlib import Path

import numpy as np

from research.short_texts.harness import load, row_sums
from sentiment.modeling.calibration import fit_platt

W = Path("/work/homes/short/research")
w = np.load(W / "weights_base.npy").astype(np.float64)
val, yv, _ = load(W, "val")
vs, yvs, _ = load(W, "val_sent")
sst, ys, _ = load(W, "sst")
ck, yc, _ = load(W, "checklist")
te, yt, _ = load(W, "test")
zv, zvs, zs, zc, zt = (row_sums(*d, w) for d in (val, vs, sst, ck, te))


def acc(t):
    sets = {"sst": (zs, ys), "ck": (zc, yc), "test": (zt, yt), "valsent": (zvs, yvs)}
    return " ".join(f"{k} {np.mean((z >= t) == (y == 1)):.4f}" for k, (z, y) in sets.items())


def rep(name, c):
    t = -c.intercept / c.slope
    print(name, f"slope {c.slope:.3f} int {c.intercept:.3f} thr {t:.3f}", acc(t))


rep("reviews", fit_platt(zv, yv))
for seed in range(6):
    take = np.random.default_rng(seed).choice(len(zvs), 2500, replace=False)
    rep(
        f"mixed seed{seed}",
        fit_platt(np.concatenate([zv, zvs[take]]), np.concatenate([yv, yvs[take]])),
    )
rep("all sentences", fit_platt(np.concatenate([zv, zvs]), np.concatenate([yv, yvs])))
rep("sentences only", fit_platt(zvs, yvs))
for t in (0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12):
    print(t, acc(t))
for weight in (0.5, 1.0, 2.0):
    n = len(zvs)
    rep(
        f"all sentences weighing {weight} x reviews",
        fit_platt(
            np.concatenate([zv, zvs]),
            np.concatenate([yv, yvs]),
            np.concatenate([np.ones(len(zv)), np.full(n, weight * len(zv) / n)]),
        ),
    )

from sentiment.modeling.calibration import expected_calibration_error as ece  # noqa: E402

for name, calibration in (
    ("reviews only", fit_platt(zv, yv)),
    (
        "sentences weighing 1.0",
        fit_platt(
            np.concatenate([zv, zvs]),
            np.concatenate([yv, yvs]),
            np.concatenate([np.ones(len(zv)), np.full(len(zvs), len(zv) / len(zvs))]),
        ),
    ),
):
    print(
        name,
        "ECE reviews {:.4f} sentences {:.4f} SST {:.4f} test {:.4f}".format(
            *tuple(
                ece(y, calibration.apply_logits(z))
                for y, z in ((yv, zv), (yvs, zvs), (ys, zs), (yt, zt))
            )
        ),
    )
