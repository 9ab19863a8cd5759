#!/usr/bin/python3
"""Writes a large, purely numeric CSV for the CSV-reading benchmark (bench/csv_vs_pandas.sh).

Usage: gen_numeric_csv.py OUT [ROWS] [COLS]     (defaults: 1,000,000 rows, 20 columns)

Deterministic (fixed seed), so every run measures the same bytes. The columns mix what real
numeric tables hold: small and large integers, decimals with 2 to 6 places, negative values and
one column in scientific notation.
"""
import random
import sys


def column_formats(cols):
    kinds = [
        lambda r: str(r.randrange(0, 100)),                     # small integer (age, count)
        lambda r: str(r.randrange(-10**6, 10**6)),              # large signed integer
        lambda r: "%.2f" % r.uniform(0, 1000),                  # price-like
        lambda r: "%.6f" % r.gauss(0, 1),                       # standardised measurement
        lambda r: "%.4f" % r.uniform(-90, 90),                  # coordinate-like
        lambda r: "%.3f" % r.lognormvariate(0, 1),              # skewed positive
    ]
    formats = [kinds[j % len(kinds)] for j in range(cols)]
    formats[-1] = lambda r: "%.6e" % r.uniform(-1e5, 1e5)       # one scientific column
    return formats


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    cols = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    rng = random.Random(20240607)
    formats = column_formats(cols)
    with open(out, "w", encoding="ascii", newline="\n") as f:
        f.write(",".join("c%d" % j for j in range(cols)) + "\n")
        batch = []
        for _ in range(rows):
            batch.append(",".join(fmt(rng) for fmt in formats))
            if len(batch) == 10000:
                f.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            f.write("\n".join(batch) + "\n")


if __name__ == "__main__":
    main()
