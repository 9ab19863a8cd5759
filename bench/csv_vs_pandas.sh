#!/usr/bin/env bash
# csv_vs_pandas.sh — our CSV reader (am_csv_read, via bench_csv) against pandas.read_csv, run
# alternately on the same files: one warm-up of each, then PAIRS pairs (ours, pandas).
#
# Usage: bench/csv_vs_pandas.sh [PAIRS]        (default 7, at least 5)
# Environment: BENCH_CSV  path to the bench_csv program (default build/bench/bench_csv)
#              DATASETS   folder holding fertility.csv, adult.csv, diamonds.csv
#                         (default ../shared/datasets next to the repository)
#
# Two times per run: "read", the reading call alone (am_csv_read timed inside bench_csv,
# pd.read_csv timed inside Python, so the interpreter and pandas import are not counted), and
# "process", the whole command as a user runs it. Prints, per file, the median of each and the
# median of the pairwise ratios ours/pandas (below 1: we are faster), and the peak resident
# memory of one more run of each (/usr/bin/time; pandas' figure includes the interpreter and the
# pandas import), as a Markdown table.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pairs=${1:-7}
bench=${BENCH_CSV:-$root/build/bench/bench_csv}
datasets=${DATASETS:-$root/../shared/datasets}
py=/usr/bin/python3
out=$root/bench/out
numeric=$out/numeric_1m_20.csv

if [ "$pairs" -lt 5 ]; then
    echo "csv_vs_pandas: at least 5 pairs" >&2
    exit 2
fi
if [ ! -x "$bench" ]; then
    echo "csv_vs_pandas: $bench not found; build it (cmake --build build --target bench_csv)" \
         "or set BENCH_CSV" >&2
    exit 1
fi
"$py" -c 'import pandas' 2>/dev/null || {
    echo "csv_vs_pandas: pandas missing (apt-get install -y python3-pandas)" >&2
    exit 1
}
mkdir -p "$out"
[ -f "$numeric" ] || "$py" "$root/bench/gen_numeric_csv.py" "$numeric"
# Neither side should spin idle OpenMP workers while the other runs.
export OMP_WAIT_POLICY=PASSIVE

pandas_read='import sys, time
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1])
print("read_s=%.6f rows=%d cols=%d" % (time.perf_counter() - t, df.shape[0], df.shape[1]))'

# Runs one side on one file; prints "read_s=... rows=... cols=... process_s=...".
run_once() {
    local side=$1 file=$2 t0 t1 line
    t0=$(date +%s.%N)
    if [ "$side" = ours ]; then
        line=$("$bench" "$file" 1 | tail -n 1)
    else
        line=$("$py" -c "$pandas_read" "$file")
    fi
    t1=$(date +%s.%N)
    echo "$line process_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')"
}

peak_mb() { # peak_mb COMMAND...: maximum resident set size of the command, in MB
    local kb
    kb=$( { /usr/bin/time -f "%M" "$@" >/dev/null; } 2>&1 | tail -n 1)
    awk -v k="$kb" 'BEGIN { printf "%.0f", k / 1024 }'
}

field() { # field NAME LINE
    sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"
}

echo "| file | size MB | rows x cols | ours read s | pandas read s | ratio read" \
     "| ours process s | pandas process s | ratio process | ours peak MB | pandas peak MB |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for file in "$datasets/fertility.csv" "$datasets/adult.csv" "$datasets/diamonds.csv" "$numeric"; do
    run_once ours "$file" >/dev/null # warm-up: page cache, first-touch costs
    run_once pandas "$file" >/dev/null
    samples=$(mktemp)
    for _ in $(seq "$pairs"); do
        a=$(run_once ours "$file")
        b=$(run_once pandas "$file")
        shape="$(field rows "$a") x $(field cols "$a")"
        if [ "$shape" != "$(field rows "$b") x $(field cols "$b")" ]; then
            echo "csv_vs_pandas: $file: shapes differ: ours $a / pandas $b" >&2
            exit 1
        fi
        echo "$(field read_s "$a") $(field read_s "$b")" \
             "$(field process_s "$a") $(field process_s "$b")" >>"$samples"
    done
    rss_ours=$(peak_mb "$bench" "$file" 1)
    rss_pandas=$(peak_mb "$py" -c "$pandas_read" "$file")
    "$py" - "$file" "$shape" "$samples" "$rss_ours" "$rss_pandas" <<'EOF'
import os, statistics, sys
path, shape, samples, rss_ours, rss_pandas = sys.argv[1:6]
rows = [list(map(float, line.split())) for line in open(samples) if line.strip()]
ours_r, pd_r, ours_p, pd_p = (list(c) for c in zip(*rows))
med = statistics.median
ratio_r = med([a / b for a, b in zip(ours_r, pd_r)])
ratio_p = med([a / b for a, b in zip(ours_p, pd_p)])
print("| %s | %.1f | %s | %.4f | %.4f | %.2f | %.4f | %.4f | %.2f | %s | %s |" % (
    os.path.basename(path), os.path.getsize(path) / 1e6, shape, med(ours_r), med(pd_r), ratio_r,
    med(ours_p), med(pd_p), ratio_p, rss_ours, rss_pandas))
EOF
    rm -f "$samples"
done
