#!/usr/bin/python3
"""Writes the generated tables of the linear / k-NN benchmark (bench/linear_vs_peers.sh).

Usage: gen_linear_table.py OUT_DIR [ROWS] [SEED]     (defaults: 200,000 rows, seed 20241126)

One draw of ROWS x 100 numeric features gives two tables that share the feature columns
f000..f099 and differ in the target column y (our CLI has no option to drop a column, so each
target gets its own file):

    OUT_DIR/gen200k_reg_{train,test}.csv   y = x.beta + noise               (regression)
    OUT_DIR/gen200k_bin_{train,test}.csv   y ~ Bernoulli(sigmoid(s x.beta)) (binary, 0/1)

train holds the first 80% of the rows, test the rest. Deterministic: the same ROWS and SEED
give the same bytes.

Features: an AR(1) chain across the columns, x_j = rho x_{j-1} + sqrt(1 - rho^2) e_j with
rho = 0.7 (every column standard normal, corr(x_i, x_j) = 0.7^|i-j|: neighbouring columns
are strongly correlated, as coordinate descent and L-BFGS find harder than independent ones),
then column j is scaled by 1 + j/25 and shifted by j/10 so the standardisation does something.
Written with 5 decimals.

Targets: 15 non-zero true coefficients (columns 0, 7, 14, ..., 98, alternating signs, sizes
from 2 down to 0.25), the rest zero, so the lasso has a true support to find. Regression noise
is normal with the sd that gives R^2 = 0.8; the binary target uses the same linear predictor,
standardised and multiplied by 2.5 (Bayes AUC about 0.9). The best possible test R^2 and AUC
are printed to stderr.
"""
import sys

import numpy as np

N_FEATURES = 100
RHO = 0.7
TRAIN_FRACTION = 0.8
CHUNK_ROWS = 50_000
R2_TARGET = 0.8
LOGIT_SCALE = 2.5


def make_features(rng, n):
    z = rng.standard_normal((n, N_FEATURES))
    x = np.empty_like(z)
    x[:, 0] = z[:, 0]
    c = np.sqrt(1.0 - RHO * RHO)
    for j in range(1, N_FEATURES):
        x[:, j] = RHO * x[:, j - 1] + c * z[:, j]
    j = np.arange(N_FEATURES)
    x = x * (1.0 + j / 25.0) + j / 10.0
    return np.round(x, 5)  # what the CSV holds, so the targets see what a reader parses


def true_coefficients():
    beta = np.zeros(N_FEATURES)
    support = np.arange(0, N_FEATURES, 7)
    sizes = np.linspace(2.0, 0.25, len(support))
    signs = np.where(np.arange(len(support)) % 2 == 0, 1.0, -1.0)
    beta[support] = signs * sizes
    return beta


def write_csv(path, x, y, y_fmt):
    header = ",".join("f%03d" % j for j in range(N_FEATURES)) + ",y"
    fmt = ["%.5f"] * N_FEATURES + [y_fmt]
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(header + "\n")
        for start in range(0, x.shape[0], CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, x.shape[0])
            np.savetxt(f, np.column_stack([x[start:stop], y[start:stop]]), fmt=fmt,
                       delimiter=",")


def auc(y, score):
    ranks = np.empty(len(score))
    ranks[np.argsort(score, kind="mergesort")] = np.arange(1, len(score) + 1)
    n_pos = int(y.sum())
    return (ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20241126
    rng = np.random.default_rng(seed)
    x = make_features(rng, rows)
    eta = x @ true_coefficients()
    eta -= eta.mean()
    signal_sd = eta.std()
    noise_sd = signal_sd * np.sqrt((1.0 - R2_TARGET) / R2_TARGET)
    y_reg = 1000.0 + eta + noise_sd * rng.standard_normal(rows)
    p = 1.0 / (1.0 + np.exp(-LOGIT_SCALE * eta / signal_sd))
    y_bin = (rng.random(rows) < p).astype(np.int64)
    n_train = int(rows * TRAIN_FRACTION)
    for name, y, y_fmt in (("gen200k_reg", np.round(y_reg, 4), "%.4f"),
                           ("gen200k_bin", y_bin, "%d")):
        write_csv("%s/%s_train.csv" % (out_dir, name), x[:n_train], y[:n_train], y_fmt)
        write_csv("%s/%s_test.csv" % (out_dir, name), x[n_train:], y[n_train:], y_fmt)
    test = slice(n_train, rows)
    resid = y_reg[test] - 1000.0 - eta[test]
    r2 = 1.0 - (resid ** 2).mean() / y_reg[test].var()
    print("gen_linear_table: %d rows (%d train) x %d features; Bayes test R^2 %.4f, "
          "%.1f%% positive, Bayes test AUC %.4f"
          % (rows, n_train, N_FEATURES, r2, 100.0 * y_bin.mean(), auc(y_bin[test], p[test])),
          file=sys.stderr)


if __name__ == "__main__":
    main()
