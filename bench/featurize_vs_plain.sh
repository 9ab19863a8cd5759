#!/usr/bin/env bash
# featurize_vs_plain.sh — what our featurization buys, and what it costs (issue 5; rules in
# ../shared/BENCH.md; what is compared and why in bench/featurize_README.md).
#
# Part A (PARTS has "score"): on each dataset, each learner, each seed, the same `automl fit
#   --learner L` twice: on the split as it is ("ours": whatever our featurizer does with its
#   strings, missing values, rare and high-cardinality categories) and on ordinal-encoded copies
#   of it ("plain": every non-numeric column replaced by integer codes fitted on the training
#   file, so our engine sees only numbers and only imputes and scales). The test metric of
#   both from `automl evaluate --json`, the gap ours − plain, and a paired bootstrap of the
#   first seed's gap.
# Part B (PARTS has "featurize"): featurization time and peak memory on one table (FEAT_DATASET,
#   optionally tiled SCALE times): ours `automl fit --learner constant` (the refit phase is the
#   featurizer alone) and a scaled learner with a trivial fit, against pandas.read_csv +
#   scikit-learn ColumnTransformer doing the same steps; alternating pairs after a warm-up.
#
# Usage: bench/featurize_vs_plain.sh                      (from anywhere; writes under bench/out/)
# Environment (all optional):
#   DATASETS   "name:target:task ..." (default: adult:income:binary bank_marketing:y:binary
#              credit_data:Status:binary ames:Sale_Price:regression
#              wine_quality:quality:regression)
#   PARTS      "score featurize" (default both)
#   LEARNERS   learners of part A for every dataset; "linear" means logreg on classification
#              and ridge on regression (default "linear gbdt"); knn is allowed. A learner that
#              does not take the task is skipped with a line in the log.
#   PARAMS     "learner:key=value ..." given to that learner on both sides (default
#              "gbdt:subsample=0.8 gbdt:colsample_bytree=0.8", so the seeds draw different
#              trees; PARAMS="" runs every learner at its defaults)
#   SEEDS      seeds of part A (default "0 1 2"); `--seed` to both sides
#   UNSEEN     the plain copies' unseen test values: nan (an empty cell, default) or -1
#   BOOT       bootstrap resamples for the noise of the first seed's gap (default 200)
#   FEAT_DATASET  part B's table, "name:target:task" (default adult:income:binary)
#   SCALE      part B: the training rows repeated k times, one or more k (default "1 10")
#   PAIRS      part B: alternating timed pairs per scale after the warm-up (default 5)
#   WARMUP     part B: 1: one untimed run of each side first (default 1)
#   SCALED_LEARNER  part B's second ours side, "learner key=value ..." (default "logreg
#              max_iter=1" for classification, "ridge" for regression): featurizer +
#              standardisation + that learner's (trivial) fit
#   SPARSE     part B: 1: the peer's one-hot output sparse (default 0: dense, as ours)
#   RUN_TIMEOUT  seconds after which one run is killed and recorded as failed (default 0: none)
#   THREADS    threads for every side (default: nproc)
#   AUTOML     our binary (default build/automl)
#   DATA       the shared datasets folder (default ../shared/datasets beside the repository)
#
# Every run appends one JSON line to bench/out/featurize/runs-<UTC stamp>.jsonl; at the end
# `peers_featurize.py report` turns them into Markdown (also saved as report-<stamp>.md, after
# the header of header-<stamp>.txt). Re-run the report alone with
#   /usr/bin/python3 bench/peers_featurize.py report bench/out/featurize/runs-<stamp>.jsonl
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=/usr/bin/python3
automl=${AUTOML:-$root/build/automl}
data=${DATA:-$root/../shared/datasets}
datasets=${DATASETS:-adult:income:binary bank_marketing:y:binary credit_data:Status:binary \
ames:Sale_Price:regression wine_quality:quality:regression}
parts=${PARTS:-score featurize}
learners=${LEARNERS:-linear gbdt}
params=${PARAMS-gbdt:subsample=0.8 gbdt:colsample_bytree=0.8}
seeds=${SEEDS:-0 1 2}
unseen=${UNSEEN:-nan}
boot=${BOOT:-200}
feat_dataset=${FEAT_DATASET:-adult:income:binary}
scales=${SCALE:-1 10}
pairs=${PAIRS:-5}
warmup=${WARMUP:-1}
scaled_learner=${SCALED_LEARNER:-}
sparse=${SPARSE:-0}
run_timeout=${RUN_TIMEOUT:-0}
threads=${THREADS:-$(nproc)}

out=$root/bench/out/featurize
work=$out/work
stamp=$(date -u +%Y%m%dT%H%M%SZ)
jsonl=$out/runs-$stamp.jsonl
mkdir -p "$work"
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads

log() { echo "featurize_vs_plain: $*" >&2; }
# shellcheck source=bench/harness_lib.sh
source "$root/bench/harness_lib.sh"

for tool in "$py" /usr/bin/time; do
    command -v "$tool" >/dev/null || { log "$tool missing"; exit 1; }
done
"$py" -c 'import sklearn, pandas, scipy' 2>/dev/null || {
    log "apt-get install -y python3-sklearn python3-pandas"; exit 1; }
[ -x "$automl" ] || { log "$automl missing (AUTOML=path/to/automl)"; exit 1; }

# learner_for NAME TASK: the learner to run ("linear" resolved), or nothing when NAME does not
# take TASK (from `automl help learner NAME`'s "tasks:" line).
learner_for() {
    local name=$1 task=$2 tasks
    if [ "$name" = linear ]; then
        if [ "$task" = regression ]; then name=ridge; else name=logreg; fi
    fi
    tasks=$("$automl" help learner "$name" 2>/dev/null | sed -n 's/^tasks: //p') || true
    [[ ",$tasks," == *",$task,"* ]] && echo "$name"
    return 0
}

# learner_params LEARNER: "--param k=v" for each PARAMS entry of that learner.
learner_params() {
    local entry
    for entry in $params; do
        [ "${entry%%:*}" = "$1" ] && printf '%s\n' --param "${entry#*:}"
    done
    return 0
}

# record_ours CMD...: record, with one more try when our binary was being rebuilt.
record_ours() {
    if ! record "$@" && { cat "$work/stderr.txt"; tail -n 1 "$jsonl"; } |
            grep -q -e "Permission denied" -e "Text file busy" -e "No such file"; then
        log "$cur_dataset $cur_side: retrying in 30 s (automl being rebuilt?)"
        sleep 30
        record "$@" || true
    fi
    return 0
}

# ---- the header ----------------------------------------------------------------------------

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')" \
         " commit: $(git rev-parse --short HEAD 2>/dev/null)" \
         "$(git diff --quiet HEAD -- 2>/dev/null || echo '(+ working tree changes)')"
    echo "machine: nproc $(nproc)," \
         "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
         "$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)," \
         "load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "threads: $threads  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=$threads"
    echo "ours: $automl ($("$automl" help 2>/dev/null | head -n 1 | cut -d' ' -f1-2), built" \
         "$(date -u -r "$automl" '+%Y-%m-%d %H:%M UTC'))"
    echo "peers: $("$py" -c 'import sklearn, numpy, pandas, sys
print("Python %s, scikit-learn %s, numpy %s, pandas %s" % (sys.version.split()[0],
      sklearn.__version__, numpy.__version__, pandas.__version__))')"
    echo "parts: $parts"
    if in_list score "$parts"; then
        echo "part A: learners '$learners', params '$params', seeds '$seeds'," \
             "plain unseen -> $unseen, boot $boot"
    fi
    if in_list featurize "$parts"; then
        echo "part B: $feat_dataset, scale '$scales', pairs $pairs, warm-up $warmup," \
             "scaled learner '${scaled_learner:-(by task)}', peer sparse=$sparse"
    fi
    echo "results: $jsonl"
} | tee "$out/header-$stamp.txt" >&2

# split_files NAME: cur_train and cur_test of a shared dataset, or exit.
split_files() {
    cur_train=$data/splits/${1}_train.csv
    cur_test=$data/splits/${1}_test.csv
    if [ ! -f "$cur_train" ] || [ ! -f "$cur_test" ]; then
        log "no split for $1 ($cur_train, $cur_test)"
        exit 1
    fi
}

# ---- part A: ours against plain ------------------------------------------------------------

# run_pair_a LEARNER SEED: ours on the split, then on the plain copies.
run_pair_a() {
    local learner=$1 seed=$2 side train test more=()
    mapfile -t more < <(learner_params "$learner")
    for side in ours plain; do
        if [ $side = ours ]; then train=$cur_train test=$cur_test
        else train=$work/$cur_dataset.plain_train.csv test=$work/$cur_dataset.plain_test.csv
        fi
        cur_side=$side cur_kind=single
        record_ours "$py" bench/peers_featurize.py ours --automl "$automl" --side $side \
            --learner "$learner" "${more[@]}" --dataset "$cur_dataset" --train "$train" \
            --test "$test" --target "$cur_target" --task "$cur_task" --threads "$threads" \
            --seed "$seed" --model-out "$work/$cur_dataset.$side.model" \
            --pred-out "$work/$cur_dataset.$learner.$side.$seed.pred.csv"
        rm -f "$work/$cur_dataset.$side.model"
    done
}

# noise LEARNER SEED: paired bootstrap of the gap between the two sides' predictions.
noise() {
    local a="$work/$cur_dataset.$1.ours.$2.pred.csv" b="$work/$cur_dataset.$1.plain.$2.pred.csv"
    [ -f "$a" ] && [ -f "$b" ] || return 0
    "$py" bench/peers_trees.py noise --dataset "$cur_dataset" --task "$cur_task" \
        --train "$cur_train" --test "$cur_test" --target "$cur_target" --a "$a" --b "$b" \
        --a-side "ours_$1" --b-side "plain_$1" --boot "$boot" >>"$jsonl" ||
        log "$cur_dataset: noise $1 failed"
}

part_a() {
    local spec learner name seed first
    for spec in $datasets; do
        IFS=: read -r cur_dataset cur_target cur_task <<<"$spec"
        split_files "$cur_dataset"
        rm -f "$work/$cur_dataset".*.pred.csv
        log "$cur_dataset: writing the plain copies"
        cur_side=plain_encode cur_kind=single
        record "$py" bench/peers_featurize.py plain --dataset "$cur_dataset" --task "$cur_task" \
            --train "$cur_train" --test "$cur_test" --target "$cur_target" --unseen "$unseen" \
            --out-train "$work/$cur_dataset.plain_train.csv" \
            --out-test "$work/$cur_dataset.plain_test.csv" || continue
        for name in $learners; do
            learner=$(learner_for "$name" "$cur_task")
            if [ -z "$learner" ]; then
                log "$cur_dataset: $name skipped (no such learner for $cur_task in $automl)"
                continue
            fi
            log "$cur_dataset: $learner, seeds $seeds (ours, plain)"
            for seed in $seeds; do run_pair_a "$learner" "$seed"; done
            first=${seeds%% *}
            noise "$learner" "$first"
        done
        rm -f "$work/$cur_dataset".*.pred.csv
    done
}

# ---- part B: featurization time and memory -------------------------------------------------

part_b() {
    local scale train pair kind i sides side more=() scaled
    IFS=: read -r cur_dataset cur_target cur_task <<<"$feat_dataset"
    split_files "$cur_dataset"
    scaled=$scaled_learner
    if [ -z "$scaled" ]; then
        if [ "$cur_task" = regression ]; then scaled=ridge; else scaled="logreg max_iter=1"; fi
    fi
    read -r -a more <<<"$scaled"
    local scaled_args=(--learner "${more[0]}")
    for i in "${more[@]:1}"; do scaled_args+=(--param "$i"); done
    local sk_args=()
    [ "$sparse" = 1 ] && sk_args=(--sparse)
    for scale in $scales; do
        train=$cur_train
        if [ "$scale" != 1 ]; then
            train=$work/${cur_dataset}_x${scale}_train.csv
            log "$cur_dataset: writing the training rows $scale times ($train)"
            "$py" bench/peers_featurize.py tile --src "$cur_train" --times "$scale" \
                --out "$train" >/dev/null
        fi
        local common=(--dataset "$cur_dataset" --train "$train" --test "$cur_test"
                      --target "$cur_target" --task "$cur_task" --threads "$threads"
                      --scale "$scale")
        log "$cur_dataset ×$scale: part B, $pairs pairs (ours constant, ours $scaled, peer)"
        sides="constant scaled sk"
        for pair in $(seq "$((1 - warmup))" "$pairs"); do
            kind=pair
            [ "$pair" = 0 ] && kind=warmup
            for side in $sides; do
                cur_kind=$kind
                case $side in
                constant) cur_side=ours_constant
                    record_ours "$py" bench/peers_featurize.py featurize_ours \
                        --automl "$automl" --learner constant "${common[@]}" --kind "$kind" \
                        --pair "$pair" --model-out "$work/$cur_dataset.b.model" ;;
                scaled) cur_side=ours_scaled
                    record_ours "$py" bench/peers_featurize.py featurize_ours \
                        --automl "$automl" "${scaled_args[@]}" "${common[@]}" --kind "$kind" \
                        --pair "$pair" --model-out "$work/$cur_dataset.b.model" ;;
                sk) cur_side=sk_columntransformer
                    record "$py" bench/peers_featurize.py featurize_sk "${common[@]}" \
                        "${sk_args[@]}" --kind "$kind" --pair "$pair" || true ;;
                esac
                rm -f "$work/$cur_dataset.b.model"
            done
        done
        [ "$scale" != 1 ] && rm -f "$train"
    done
    return 0
}

in_list score "$parts" && part_a
in_list featurize "$parts" && part_b

{
    cat "$out/header-$stamp.txt"
    "$py" bench/peers_featurize.py report "$jsonl"
} | tee "$out/report-$stamp.md"
