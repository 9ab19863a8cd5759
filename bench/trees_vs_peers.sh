#!/usr/bin/env bash
# trees_vs_peers.sh — our tree ensembles against their peers, in one run, same machine, same
# threads, same hyperparameters (issue 3; rules in ../shared/BENCH.md).
#
#   GBDT    ours  `automl fit TRAIN --learner gbdt --param n_estimators=100 --param num_leaves=63
#                  --param learning_rate=0.1 --max-bin 255`
#           XGBoost 1.7 tree_method=hist (lossguide, max_leaves=63, max_bin=255)   alternating pairs
#           scikit-learn HistGradientBoosting (max_leaf_nodes=63, max_bins=255)    a few runs
#   Forests ours  `--learner rf --param n_estimators=100`  against ranger (num.trees=100)  pairs
#           scikit-learn RandomForest; ours `--learner extra_trees` against scikit-learn
#           ExtraTrees, alternating
#
# Usage: bench/trees_vs_peers.sh                         (from anywhere; writes under bench/out/)
# Environment (all optional):
#   DATASETS   "name:target:task ..." (default: the six below; gen1m is the generated table)
#   PARTS      "gbdt forests" (either or both)
#   PAIRS      alternating pairs per dataset after the warm-up (default 5)
#   PAIRS_BIG  GBDT pairs on the big datasets (default 3: a pair on gen1m takes over a minute on
#              2 cores)
#   FOREST_PAIRS_BIG  (ours rf, ranger) pairs on the big datasets, with no warm-up (default 1:
#              one ranger run on gen1m takes about 15 minutes of 2 cores and 5 GB)
#   BIG        datasets that take the _BIG counts (default "gen1m")
#   HGB_RUNS / HGB_RUNS_BIG          scikit-learn HGB runs (default 3 / 1)
#   SKF_RUNS / SKF_RUNS_BIG          scikit-learn RF and (ours ET, sklearn ET) runs (default 2 / 0:
#              scikit-learn's fully grown forests on 800,000 rows take many minutes and GBs;
#              set SKF_RUNS_BIG=1 to include them)
#   WARMUP     1: one untimed run of each side of a pair first (default 1; 0 to skip)
#   PEAK       datasets on which one more fit-only GBDT run of each side (ours, xgb) is measured
#              with /usr/bin/time -v for peak RSS (default "gen1m")
#   PEAK_FORESTS  the same for (ours rf, ranger) (default none: every run also records its own
#              fit's peak RSS, and a fit-only ranger run on gen1m costs another 15 minutes)
#   OURS       0: skip our side (default 1)
#   RUN_TIMEOUT  seconds after which one run is killed and recorded as failed (default 0: none)
#   THREADS    threads for every side (default: nproc)
#   AUTOML     our binary (default build/automl); our side is skipped, with a note, when it is
#              missing or does not know the learner
#   OURS_GBDT_PARAMS / OURS_RF_PARAMS / OURS_ET_PARAMS   "k=v ..." passed as --param (the rf
#              default matches ranger's node size and mtry: see set_rf_args)
#   OURS_MAX_BIN  our GBDT's --max-bin: value bins per feature, missing apart (default 255, the
#              match of XGBoost's max_bin=255 and scikit-learn's max_bins=255)
#   DATA       the shared datasets folder (default ../shared/datasets beside the repository)
#   GEN_ROWS   rows of the generated table (default 1000000; written once by bench/gen_table.py)
#   BOOT       bootstrap resamples for the metric-difference noise estimate (default 200)
#
# Every run appends one JSON line to bench/out/trees/runs-<UTC stamp>.jsonl; at the end
# `peers_trees.py report` turns them into Markdown tables (also saved as report-<stamp>.md):
# medians of each side, medians of the pairwise ratios ours/peer (below 1: we are faster), the
# test metric of each side with the paired-bootstrap difference ours − peer ± its standard error
# ("!" when the gap is larger than two standard errors), prediction rows per second, our
# phases, and peak memory. Re-run the report alone with
#   /usr/bin/python3 bench/peers_trees.py report bench/out/trees/runs-<stamp>.jsonl
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=/usr/bin/python3
automl=${AUTOML:-$root/build/automl}
data=${DATA:-$root/../shared/datasets}
datasets=${DATASETS:-fertility:morekids:binary adult:income:binary bank_marketing:y:binary \
diamonds:price:regression satellite:classes:multiclass gen1m:y:binary}
parts=${PARTS:-gbdt forests}
pairs=${PAIRS:-5}
pairs_big=${PAIRS_BIG:-3}
forest_pairs_big=${FOREST_PAIRS_BIG:-1}
big=${BIG:-gen1m}
hgb_runs=${HGB_RUNS:-3}
hgb_runs_big=${HGB_RUNS_BIG:-1}
skf_runs=${SKF_RUNS:-2}
skf_runs_big=${SKF_RUNS_BIG:-0}
warmup=${WARMUP:-1}
peak=${PEAK:-gen1m}
peak_forests=${PEAK_FORESTS:-}
use_ours=${OURS:-1}
run_timeout=${RUN_TIMEOUT:-0}
threads=${THREADS:-$(nproc)}
boot=${BOOT:-200}
gen_rows=${GEN_ROWS:-1000000}
max_bin=${OURS_MAX_BIN:-255}
read -r -a gbdt_params <<<"${OURS_GBDT_PARAMS:-n_estimators=100 num_leaves=63 learning_rate=0.1}"
read -r -a et_params <<<"${OURS_ET_PARAMS:-n_estimators=100}"
gbdt_args=() rf_args=() et_args=()
for p in "${gbdt_params[@]}"; do gbdt_args+=(--param "$p"); done
for p in "${et_params[@]}"; do et_args+=(--param "$p"); done

# Our rf against ranger at ranger's defaults, like for like (set per dataset, as the defaults
# depend on the task and the width): ranger 0.14 does not split a node of <= min.node.size rows
# (10 for probability forests, 5 for regression), i.e. our min_samples_split = min.node.size + 1,
# and tries mtry = floor(sqrt(p)) features for regression too, where our default (and
# scikit-learn's) is all of them. OURS_RF_PARAMS replaces all of this.
set_rf_args() {  # train.csv task
    local p params
    if [ -n "${OURS_RF_PARAMS:-}" ]; then
        params=$OURS_RF_PARAMS
    elif [ "$2" = regression ]; then
        p=$(($(head -n 1 "$1" | tr ',' '\n' | wc -l) - 1))
        params="n_estimators=100 min_samples_split=6 max_features=$("$py" -c \
            "import math; p=$p; print(round((math.isqrt(p) + 0.5) / p, 4))")"
    else
        params="n_estimators=100 min_samples_split=11"
    fi
    rf_args=()
    for p in $params; do rf_args+=(--param "$p"); done
}

out=$root/bench/out/trees
work=$out/work
stamp=$(date -u +%Y%m%dT%H%M%SZ)
jsonl=$out/runs-$stamp.jsonl
mkdir -p "$work"
# Neither side may spin idle OpenMP workers while the other runs; every side gets `threads`.
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$threads

log() { echo "trees_vs_peers: $*" >&2; }
# shellcheck source=bench/harness_lib.sh
source "$root/bench/harness_lib.sh"

for tool in "$py" Rscript /usr/bin/time; do
    command -v "$tool" >/dev/null || { log "$tool missing"; exit 1; }
done
"$py" -c 'import xgboost, sklearn, pandas, scipy' 2>/dev/null || {
    log "apt-get install -y python3-xgboost python3-sklearn python3-pandas"; exit 1; }
Rscript -e 'library(ranger); library(data.table)' >/dev/null 2>&1 || {
    log "apt-get install -y r-cran-ranger r-cran-data.table"; exit 1; }

# Our learners that can run: the binary exists and `automl help learner L` knows L.
have_ours() {
    [ -x "$automl" ] && "$automl" help learner "$1" >/dev/null 2>&1
}
ours_learners=""
for l in gbdt rf extra_trees; do
    if [ "$use_ours" != 1 ]; then break; fi
    if have_ours "$l"; then ours_learners="$ours_learners $l"; else
        log "our learner $l is not available in $automl: its runs are skipped"; fi
done
is_ours() { [[ " $ours_learners " == *" $1 "* ]]; }

# ---- one run of each side; each appends one JSON line -------------------------------------

# run_side SIDE KIND PAIR: one run; KIND is warmup, pair or single.
run_side() {
    local side=$1 kind=$2 pair=$3 model="$work/$cur_dataset.$1.model"
    local pred="$work/$cur_dataset.$1.pred.csv"
    cur_side=$side cur_kind=$kind
    local args=("${common[@]}" --kind "$kind" --pair "$pair" --seed "$pair"
                --model-out "$model" --pred-out "$pred")
    case $side in
    ours_gbdt) record "$py" bench/peers_trees.py ours --automl "$automl" --learner gbdt \
                   --max-bin "$max_bin" "${gbdt_args[@]}" "${args[@]}" ;;
    ours_rf) record "$py" bench/peers_trees.py ours --automl "$automl" --learner rf \
                 "${rf_args[@]}" "${args[@]}" ;;
    ours_extra_trees) record "$py" bench/peers_trees.py ours --automl "$automl" \
                          --learner extra_trees "${et_args[@]}" "${args[@]}" ;;
    ranger) record Rscript bench/peers_ranger.R "${args[@]}" --t0 "$(date +%s.%N)" ;;
    *) record "$py" bench/peers_trees.py fit --learner "$side" "${args[@]}" \
           --t0 "$(date +%s.%N)" ;;
    esac || true # a failed run is recorded; the harness goes on
    rm -f "$model" "$model".ubj
}

# peak_side SIDE: one fit-only run under /usr/bin/time -v; appends {"kind": "peak", ...}.
# Ours is the bare `automl fit` command; a peer is its process reading the train file,
# training and saving (the interpreter and library imports included: ~100-150 MB of it).
peak_side() {
    local side=$1 model="$work/$cur_dataset.$1.peak.model" cmd
    cur_side=$side cur_kind=peak
    case $side in
    ours_gbdt) cmd=("$automl" fit "$cur_train" --target "$cur_target" --task "$cur_task"
                    --learner gbdt --max-bin "$max_bin" "${gbdt_args[@]}"
                    --threads "$threads" -o "$model") ;;
    ours_rf) cmd=("$automl" fit "$cur_train" --target "$cur_target" --task "$cur_task"
                  --learner rf "${rf_args[@]}"
                  --threads "$threads" -o "$model") ;;
    ranger) cmd=(Rscript bench/peers_ranger.R "${common[@]}" --fit-only --model-out "$model") ;;
    *) cmd=("$py" bench/peers_trees.py fit --learner "$side" "${common[@]}" --fit-only
            --model-out "$model") ;;
    esac
    local kb secs
    if /usr/bin/time -v "${cmd[@]}" >/dev/null 2>"$work/time.txt"; then
        kb=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$work/time.txt")
        secs=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): *//p' "$work/time.txt")
        json_obj dataset "$cur_dataset" task "$cur_task" side "$side" kind peak peak_kb "$kb" \
            wall "$secs" threads "$threads" ok true >>"$jsonl"
    else
        log "$cur_dataset $side: peak-memory run failed: $(tail -n 3 "$work/time.txt")"
    fi
    rm -f "$model" "$model".ubj
}

# noise A B: paired bootstrap of the test-metric gap between the last predictions of A and B.
noise() {
    local a="$work/$cur_dataset.$1.pred.csv" b="$work/$cur_dataset.$2.pred.csv"
    [ -f "$a" ] && [ -f "$b" ] || return 0
    "$py" bench/peers_trees.py noise --dataset "$cur_dataset" --task "$cur_task" \
        --train "$cur_train" --test "$cur_test" --target "$cur_target" --a "$a" --b "$b" \
        --a-side "$1" --b-side "$2" --boot "$boot" >>"$jsonl" ||
        log "$cur_dataset: noise $1 $2 failed"
}

# alternate OURS PEER N WARMUP: a warm-up of each (WARMUP=1), then N pairs (OURS, PEER); OURS
# may be absent.
alternate() {
    local ours=$1 peer=$2 n=$3 warm=$4 learner=${1#ours_} with_ours=0 i
    is_ours "$learner" && with_ours=1
    if [ "$warm" = 1 ]; then
        [ $with_ours = 1 ] && run_side "$ours" warmup 0
        run_side "$peer" warmup 0
    fi
    for i in $(seq "$n"); do
        [ $with_ours = 1 ] && run_side "$ours" pair "$i"
        run_side "$peer" pair "$i"
    done
    return 0
}

singles() { # singles SIDE N
    local i
    for i in $(seq "$2"); do run_side "$1" single "$i"; done
}

# ---- the run ------------------------------------------------------------------------------

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')" \
         " commit: $(git rev-parse --short HEAD 2>/dev/null)" \
         "$(git diff --quiet HEAD -- 2>/dev/null || echo '(+ working tree changes)')"
    echo "machine: nproc $(nproc)," \
         "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
         "$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)," \
         "load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "threads: $threads  pairs: $pairs (on $big: $pairs_big GBDT, $forest_pairs_big forest)" \
         " warm-up: $warmup  HGB runs: $hgb_runs ($hgb_runs_big)" \
         " scikit-learn forest runs: $skf_runs ($skf_runs_big)" \
         " OMP_WAIT_POLICY=PASSIVE"
    echo "peers: $("$py" -c 'import xgboost, sklearn, pandas, numpy
print("xgboost %s, scikit-learn %s, pandas %s, numpy %s" % (xgboost.__version__,
      sklearn.__version__, pandas.__version__, numpy.__version__))'), ranger $(Rscript -e \
      'cat(as.character(packageVersion("ranger")))'), $(Rscript --version 2>&1 | head -n 1)"
    if [ "$use_ours" = 1 ]; then
        echo "ours: $automl (learners available:${ours_learners:- none})"
    else
        echo "ours: skipped (OURS=0)"
    fi
    echo "results: $jsonl"
} | tee "$out/header-$stamp.txt" >&2

for spec in $datasets; do
    IFS=: read -r cur_dataset cur_target cur_task <<<"$spec"
    if [ "$cur_dataset" = gen1m ]; then
        cur_train=$root/bench/out/gen1m_train.csv
        cur_test=$root/bench/out/gen1m_test.csv
        if [ ! -f "$cur_train" ] || [ ! -f "$cur_test" ]; then
            log "writing the generated table ($gen_rows rows) into bench/out/"
            "$py" bench/gen_table.py "$root/bench/out" "$gen_rows"
        fi
    else
        cur_train=$data/splits/${cur_dataset}_train.csv
        cur_test=$data/splits/${cur_dataset}_test.csv
    fi
    if [ ! -f "$cur_train" ] || [ ! -f "$cur_test" ]; then
        log "no split for $cur_dataset ($cur_train, $cur_test)"
        exit 1
    fi
    set_common "$cur_dataset" "$cur_train" "$cur_test" "$cur_target" "$cur_task"
    set_rf_args "$cur_train" "$cur_task"
    n=$pairs n_forest=$pairs n_hgb=$hgb_runs n_skf=$skf_runs forest_warmup=$warmup
    if in_list "$cur_dataset" "$big"; then
        n=$pairs_big n_forest=$forest_pairs_big n_hgb=$hgb_runs_big n_skf=$skf_runs_big
        forest_warmup=0  # the GBDT runs before have read the files into the page cache
    fi
    rm -f "$work/$cur_dataset".*.pred.csv

    if in_list gbdt "$parts"; then
        log "$cur_dataset: GBDT, $n pairs (ours, xgb), $n_hgb HGB runs"
        alternate ours_gbdt xgb "$n" "$warmup"
        singles sklearn_hgb "$n_hgb"
        noise ours_gbdt xgb
        noise sklearn_hgb xgb
        if in_list "$cur_dataset" "$peak"; then
            is_ours gbdt && peak_side ours_gbdt
            peak_side xgb
        fi
    fi
    if in_list forests "$parts"; then
        log "$cur_dataset: forests, $n_forest pairs (ours rf, ranger), $n_skf scikit-learn runs"
        alternate ours_rf ranger "$n_forest" "$forest_warmup"
        singles sklearn_rf "$n_skf"
        for i in $(seq "$n_skf"); do
            is_ours extra_trees && run_side ours_extra_trees pair "$i"
            run_side sklearn_et pair "$i"
        done
        noise ours_rf ranger
        noise ours_extra_trees sklearn_et
        noise sklearn_rf ranger
        if in_list "$cur_dataset" "$peak_forests"; then
            is_ours rf && peak_side ours_rf
            peak_side ranger
        fi
    fi
done

cat "$out/header-$stamp.txt"
"$py" bench/peers_trees.py report "$jsonl" | tee "$out/report-$stamp.md"
