#!/usr/bin/python3
"""Writes the generated numeric table of the tree-ensemble benchmark (bench/trees_vs_peers.sh).

Usage: gen_table.py OUT_DIR [ROWS] [SEED]     (defaults: 1,000,000 rows, seed 20240607)

Writes OUT_DIR/gen1m_train.csv (the first 80% of the rows) and OUT_DIR/gen1m_test.csv (the
rest): 50 numeric feature columns f00..f49 and a binary target y (0/1).

Deterministic: the same ROWS and SEED give the same bytes. The features mix what real numeric
tables hold, so binning and split finding meet more than one shape of distribution:

    f00-f19  standard normal, 6 decimals
    f20-f29  uniform on [0, 1), 6 decimals
    f30-f39  log-normal (skewed, positive), 4 decimals
    f40-f44  small integers 0..9 (few distinct values, like counts or codes)
    f45-f49  noisy copies of f00..f04 (correlated, partly redundant columns)

The target follows a fixed nonlinear rule with interactions, thresholds and smooth terms, plus
noise: y ~ Bernoulli(sigmoid(logit)) with logit built from 12 of the 50 columns. The other 38
columns carry no signal, as in most wide tables. About 40% of the rows are positive; the best
possible test AUC (the rule's own probabilities) is printed to stderr.
"""
import sys

import numpy as np

N_FEATURES = 50
TRAIN_FRACTION = 0.8
CHUNK_ROWS = 100_000


def make_features(rng, n):
    x = np.empty((n, N_FEATURES))
    x[:, 0:20] = rng.standard_normal((n, 20))
    x[:, 20:30] = rng.random((n, 10))
    x[:, 30:40] = rng.lognormal(0.0, 1.0, (n, 10))
    x[:, 40:45] = rng.integers(0, 10, (n, 5))
    x[:, 45:50] = x[:, 0:5] + 0.5 * rng.standard_normal((n, 5))
    # Round to what the CSV will hold, so the rule sees the same values a reader parses.
    x[:, 0:30] = np.round(x[:, 0:30], 6)
    x[:, 30:40] = np.round(x[:, 30:40], 4)
    x[:, 45:50] = np.round(x[:, 45:50], 6)
    return x


def logit_of(x):
    """The fixed rule: interactions, steps, smooth and saturating terms on 12 columns."""
    return (1.2 * x[:, 0] * x[:, 1]                    # interaction
            + np.sin(3.0 * x[:, 2])                     # smooth, non-monotone
            + 1.5 * (x[:, 20] > 0.7)                    # threshold
            - 1.0 * (x[:, 21] < 0.2) * (x[:, 3] > 0.0)  # threshold interaction
            + 0.8 * np.abs(x[:, 4])                     # V shape
            + 0.6 * np.log(x[:, 30])                    # skewed column, log scale
            - 0.5 * np.minimum(x[:, 31], 3.0)           # saturating
            + 0.3 * (x[:, 40] - 4.5)                    # integer column, linear
            + 0.7 * ((x[:, 41] == 3) | (x[:, 41] == 7)) # integer column, like a category
            + 0.5 * np.tanh(2.0 * x[:, 5])
            + 0.4 * x[:, 6] * (x[:, 22] - 0.5) * 4.0
            - 0.9)


def write_csv(path, x, y):
    fmt = ["%.6f"] * 30 + ["%.4f"] * 10 + ["%d"] * 5 + ["%.6f"] * 5 + ["%d"]
    header = ",".join("f%02d" % j for j in range(N_FEATURES)) + ",y"
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(header + "\n")
        for start in range(0, x.shape[0], CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, x.shape[0])
            block = np.column_stack([x[start:stop], y[start:stop]])
            np.savetxt(f, block, fmt=fmt, delimiter=",")


def auc(y, score):
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    ranks[order] = np.arange(1, len(score) + 1)  # scores are continuous: ties do not matter
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    return (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20240607
    rng = np.random.default_rng(seed)
    x = make_features(rng, rows)
    p = 1.0 / (1.0 + np.exp(-logit_of(x)))
    y = (rng.random(rows) < p).astype(np.int64)
    n_train = int(rows * TRAIN_FRACTION)
    write_csv(out_dir + "/gen1m_train.csv", x[:n_train], y[:n_train])
    write_csv(out_dir + "/gen1m_test.csv", x[n_train:], y[n_train:])
    print("gen_table: %d rows (%d train), %.1f%% positive, Bayes test AUC %.4f"
          % (rows, n_train, 100.0 * y.mean(), auc(y[n_train:], p[n_train:])), file=sys.stderr)


if __name__ == "__main__":
    main()
