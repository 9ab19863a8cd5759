#!/usr/bin/env bash
# linear_vs_peers.sh — our linear learners and k-NN against scikit-learn and glmnet, in one run,
# same machine, same threads, same design matrix, same hyperparameters (issue 4; rules in
# ../shared/BENCH.md; what is compared and why in bench/linear_README.md).
#
#   ridge      ours `--learner ridge --param alpha=A`            scikit-learn Ridge(alpha=A)
#   enet       ours `--learner elasticnet` alpha, l1_ratio, tol   ElasticNet(same)
#   lasso      ours `--learner elasticnet --param l1_ratio=1`     Lasso(same)
#   logreg_l2  ours `--learner logreg --param penalty=l2` C, tol  LogisticRegression lbfgs
#   logreg_l1  ours `--learner logreg --param penalty=l1`         LogisticRegression saga
#   logreg_en  ours `penalty=elasticnet` (not run by default)     LogisticRegression saga
#   glmnet     glmnet's whole path (nlambda=100) against ours fitted at the path's last lambda
#              (elasticnet for regression, logreg for classification; the parameters come from
#              one glmnet run made first on each dataset)
#   knn        ours `--learner knn` prediction                    KNeighbors* algorithm="brute"
# Regression datasets get ridge, enet, lasso, glmnet, knn; classification ones logreg_*, glmnet,
# knn. Alternating pairs (ours, peer) after a warm-up of each.
#
# Usage: bench/linear_vs_peers.sh                         (from anywhere; writes under bench/out/)
# Environment (all optional):
#   DATASETS   "name:target:task ..." (default: the eight below; gen200k_reg and gen200k_bin
#              are the generated 200,000 x 100 table with its two targets)
#   PARTS      parts to run (default "ridge enet lasso logreg_l2 logreg_l1 glmnet knn")
#   PAIRS      alternating pairs per dataset and part after the warm-up (default 5)
#   PAIRS_BIG  pairs on the BIG datasets (default 3)
#   BIG        datasets that take PAIRS_BIG (default "gen200k_reg gen200k_bin")
#   WARMUP     1: one untimed run of each side first (default 1; 0 to skip; glmnet's first run,
#              which gives our parameters, is made anyway)
#   KNN_DATASETS  datasets the knn part runs on (default: all but gen200k_reg, whose features
#              are gen200k_bin's)
#   OURS       0: skip our side (default 1). A learner or parameter choice ours lacks is
#              recorded as skipped (kind "skipped") and the peer still runs.
#   RUN_TIMEOUT  seconds after which one run is killed and recorded as failed (default 0: none)
#   THREADS    threads for every side (default: nproc)
#   AUTOML     our binary (default build/automl); bench_predict and bench_design are taken
#              from its bench/
#   DATA       the shared datasets folder (default ../shared/datasets beside the repository)
#   GEN_ROWS   rows of the generated table (default 200000; written by bench/gen_linear_table.py
#              when GEN_DIR lacks it, and reused as it is afterwards)
#   GEN_DIR    where the generated tables live (default bench/out)
#   BOOT       bootstrap resamples for the metric-gap noise estimate (default 200)
#   GEMM       1: run the dgemm peak probe when knn is in PARTS (default 1)
#   FEATURIZE_PROBE  1: one `automl fit --learner constant` per dataset, whose refit phase is
#              our featurizer's cost (no scaling), the part of ours' train s a peer does not pay
#              (default 1)
#   GEMM_CORETYPES  OPENBLAS_CORETYPE values the probe tries besides the configured one
#              (default "SkylakeX Haswell"; one the CPU cannot run is recorded as failed)
# Hyperparameters (the same value goes to both sides):
#   RIDGE_ALPHA (1)   ENET_L1_RATIO (0.5)   ENET_ALPHA / LASSO_ALPHA ("auto": the problem glmnet
#   solves at lambda = ALPHA_FRAC x lambda_max with alpha = ENET_L1_RATIO, as (alpha, l1_ratio)
#   for ours and scikit-learn — see linear_README.md; a number: that alpha with ENET_L1_RATIO)
#   ALPHA_FRAC (0.01)
#   ENET_TOL (1e-4)   ENET_MAX_ITER (1000)   SK_PRECOMPUTE (0; 1: ElasticNet/Lasso
#   precompute=True, scikit-learn's Gram mode)
#   LOGREG_C (1)   LOGREG_TOL (1e-4)   LOGREG_MAX_ITER (1000)   LOGREG_L1_RATIO (0.5)
#   GLMNET_L1_RATIO (ENET_L1_RATIO)   GLMNET_NLAMBDA (100)   GLMNET_THRESH (1e-7)
#   PATH_TOL (1e-4: ours' tol at the path's last lambda)   PATH_MAX_ITER (1000)
#   KNN_K (5)   KNN_ONE_THREAD (1: also time our bare k-NN prediction on one thread)
#
# Every run appends one JSON line to bench/out/linear/runs-<UTC stamp>.jsonl; at the end
# `peers_linear.py report` turns them into Markdown (also saved as report-<stamp>.md). Re-run the
# report alone with
#   /usr/bin/python3 bench/peers_linear.py report bench/out/linear/runs-<stamp>.jsonl
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=/usr/bin/python3
automl=${AUTOML:-$root/build/automl}
bench_design=$(dirname "$automl")/bench/bench_design
data=${DATA:-$root/../shared/datasets}
datasets=${DATASETS:-adult:income:binary bank_marketing:y:binary digits:target:multiclass \
satellite:classes:multiclass ames:Sale_Price:regression diamonds:price:regression \
gen200k_reg:y:regression gen200k_bin:y:binary}
parts=${PARTS:-ridge enet lasso logreg_l2 logreg_l1 glmnet knn}
pairs=${PAIRS:-5}
pairs_big=${PAIRS_BIG:-3}
big=${BIG:-gen200k_reg gen200k_bin}
warmup=${WARMUP:-1}
knn_datasets=${KNN_DATASETS:-adult bank_marketing digits satellite ames diamonds gen200k_bin}
use_ours=${OURS:-1}
run_timeout=${RUN_TIMEOUT:-0}
threads=${THREADS:-$(nproc)}
gen_rows=${GEN_ROWS:-200000}
gen_dir=${GEN_DIR:-$root/bench/out}
boot=${BOOT:-200}
gemm=${GEMM:-1}
gemm_coretypes=${GEMM_CORETYPES:-SkylakeX Haswell}
featurize_probe=${FEATURIZE_PROBE:-1}
ridge_alpha=${RIDGE_ALPHA:-1}
enet_l1=${ENET_L1_RATIO:-0.5}
enet_alpha=${ENET_ALPHA:-auto}
lasso_alpha=${LASSO_ALPHA:-auto}
alpha_frac=${ALPHA_FRAC:-0.01}
enet_tol=${ENET_TOL:-1e-4}
enet_max_iter=${ENET_MAX_ITER:-1000}
sk_precompute=${SK_PRECOMPUTE:-0}
lr_c=${LOGREG_C:-1}
lr_tol=${LOGREG_TOL:-1e-4}
lr_max_iter=${LOGREG_MAX_ITER:-1000}
lr_l1=${LOGREG_L1_RATIO:-0.5}
glmnet_l1=${GLMNET_L1_RATIO:-$enet_l1}
glmnet_nlambda=${GLMNET_NLAMBDA:-100}
glmnet_thresh=${GLMNET_THRESH:-1e-7}
path_tol=${PATH_TOL:-1e-4}
path_max_iter=${PATH_MAX_ITER:-1000}
knn_k=${KNN_K:-5}
knn_one_thread=${KNN_ONE_THREAD:-1}

out=$root/bench/out/linear
work=$out/work
stamp=$(date -u +%Y%m%dT%H%M%SZ)
jsonl=$out/runs-$stamp.jsonl
mkdir -p "$work"
# Every side gets `threads`: OpenMP (ours, scikit-learn's k-NN) and OpenBLAS (ours, numpy);
# nobody spins idle workers while the other side runs.
export OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads

log() { echo "linear_vs_peers: $*" >&2; }
# shellcheck source=bench/harness_lib.sh
source "$root/bench/harness_lib.sh"

json_get() { # json_get KEY < one JSON line: the value, or nothing
    "$py" -c 'import json, sys
v = json.loads(sys.stdin.read() or "{}").get(sys.argv[1])
print("" if v is None else v)' "$1"
}

for tool in "$py" Rscript /usr/bin/time; do
    command -v "$tool" >/dev/null || { log "$tool missing"; exit 1; }
done
"$py" -c 'import sklearn, pandas, scipy, threadpoolctl' 2>/dev/null || {
    log "apt-get install -y python3-sklearn python3-pandas"; exit 1; }
Rscript -e 'library(glmnet); library(data.table)' >/dev/null 2>&1 || {
    log "apt-get install -y r-cran-glmnet r-cran-data.table"; exit 1; }


# ours_lacks LEARNER [PARAM CHOICE]: why our side cannot run it (nothing when it can). A choice
# counts when `automl help learner L` lists it in the parameter's "valid" column.
ours_lacks() {
    if [ "$use_ours" != 1 ]; then echo "OURS=0"; return; fi
    if [ ! -x "$automl" ]; then echo "$automl missing"; return; fi
    local help
    if ! help=$("$automl" help learner "$1" 2>/dev/null); then
        echo "no learner $1 in $automl"; return
    fi
    if [ $# -eq 3 ] && ! awk -v p="$2" '$1 == p { print $4 }' <<<"$help" | tr '|' '\n' |
            grep -qx -- "$3"; then
        echo "learner $1 has no $2=$3"
    fi
}

# ---- one run of each side; each appends one JSON line --------------------------------------

# set_part PART: our learner and parameters (ours_learner, ours_args) and the peer's side and
# arguments (peer, peer_args) for the current dataset; lacks: why ours cannot run, if so.
set_part() {
    local p params=()
    peer_args=() lacks=""
    case $1 in
    ridge) ours_learner=ridge peer=sk_ridge params=(alpha="$ridge_alpha")
           peer_args=(--alpha "$ridge_alpha") ;;
    enet) ours_learner=elasticnet peer=sk_enet
          params=(alpha="$cur_enet_alpha" l1_ratio="$cur_enet_l1" tol="$enet_tol"
                  max_iter="$enet_max_iter")
          peer_args=(--alpha "$cur_enet_alpha" --l1-ratio "$cur_enet_l1" --tol "$enet_tol"
                     --max-iter "$enet_max_iter") ;;
    lasso) ours_learner=elasticnet peer=sk_lasso
           params=(alpha="$cur_lasso_alpha" l1_ratio=1 tol="$enet_tol"
                   max_iter="$enet_max_iter")
           peer_args=(--alpha "$cur_lasso_alpha" --tol "$enet_tol" --max-iter "$enet_max_iter") ;;
    logreg_l2|logreg_l1|logreg_en)
        local pen=${1#logreg_}
        [ "$pen" = en ] && pen=elasticnet
        ours_learner=logreg peer=sk_$1
        params=(C="$lr_c" penalty="$pen" tol="$lr_tol" max_iter="$lr_max_iter")
        peer_args=(--C "$lr_c" --tol "$lr_tol" --max-iter "$lr_max_iter")
        if [ "$pen" = elasticnet ]; then
            params+=(l1_ratio="$lr_l1")
            peer_args+=(--l1-ratio "$lr_l1")
        fi
        lacks=$(ours_lacks logreg penalty "$pen") ;;
    glmnet) peer=glmnet
        if [ "$cur_task" = regression ]; then
            ours_learner=elasticnet
            params=(tol="$path_tol" max_iter="$path_max_iter")
        else
            ours_learner=logreg
            params=(tol="$path_tol" max_iter="$path_max_iter")
        fi
        read -r -a more <<<"$cur_glmnet_ours"
        params+=("${more[@]}")
        peer_args=(--design "$work/$cur_dataset" --l1-ratio "$glmnet_l1"
                   --nlambda "$glmnet_nlambda" --thresh "$glmnet_thresh")
        local pen
        pen=$(tr ' ' '\n' <<<"$cur_glmnet_ours" | sed -n 's/^penalty=//p')
        [ -n "$pen" ] && lacks=$(ours_lacks logreg penalty "$pen") ;;
    knn) ours_learner=knn peer=sk_knn params=(n_neighbors="$knn_k")
         peer_args=(--k "$knn_k") ;;
    esac
    if [ -z "$lacks" ]; then
        lacks=$(ours_lacks "$ours_learner")
    fi
    if [[ $1 == enet || $1 == lasso ]] && [ "$sk_precompute" = 1 ]; then
        peer_args+=(--precompute)
    fi
    ours_args=()
    for p in "${params[@]}"; do ours_args+=(--param "$p"); done
}

# run_side SIDE KIND PAIR: one run of ours_<part> or the part's peer.
run_side() {
    local side=$1 kind=$2 pair=$3 model="$work/$cur_dataset.$1.model"
    local pred="$work/$cur_dataset.$1.pred.csv" extra=()
    cur_side=$side cur_kind=$kind
    local args=("${common[@]}" --kind "$kind" --pair "$pair" --seed "$pair"
                --model-out "$model" --pred-out "$pred")
    case $side in
    ours_*)
        if [ "$cur_part" = knn ] && [ "$knn_one_thread" = 1 ]; then
            extra+=(--knn-one-thread)
        fi
        if [ "$design_checked" = 0 ]; then extra+=(--check-design); design_checked=1; fi
        local ours=("$py" bench/peers_linear.py ours --automl "$automl"
                    --learner "$ours_learner" --part "$cur_part" "${ours_args[@]}" "${extra[@]}"
                    "${args[@]}")
        if ! record "${ours[@]}" && { cat "$work/stderr.txt"; tail -n 1 "$jsonl"; } |
                grep -q -e "Permission denied" -e "Text file busy" -e "No such file"; then
            # Our binary was being rebuilt: the failure line stays, and one more try follows.
            log "$cur_dataset $side: retrying in 30 s (automl being rebuilt?)"
            sleep 30
            record "${ours[@]}" || true
        fi ;;
    glmnet) record "$py" bench/peers_linear.py glmnet "${peer_args[@]}" "${args[@]}" \
                --t0 "$(date +%s.%N)" || true ;;
    *) record "$py" bench/peers_linear.py fit --learner "$side" "${peer_args[@]}" "${args[@]}" \
           --t0 "$(date +%s.%N)" || true ;;
    esac
    rm -f "$model"
}

# alternate PART N: a warm-up of each side (WARMUP=1), then N pairs (ours, peer); ours is left
# out, with a "skipped" line, when it lacks the learner or the choice.
alternate() {
    local part=$1 n=$2 i with_ours=1
    if [ -n "$lacks" ]; then
        with_ours=0
        json_obj dataset "$cur_dataset" task "$cur_task" side "ours_$part" kind skipped \
            ok false reason "$lacks" >>"$jsonl"
        log "$cur_dataset: ours_$part skipped: $lacks"
    fi
    if [ "$warmup" = 1 ]; then
        [ $with_ours = 1 ] && run_side "ours_$part" warmup 0
        [ "$part" = glmnet ] || run_side "$peer" warmup 0  # glmnet's first run was the warm-up
    fi
    for i in $(seq "$n"); do
        [ $with_ours = 1 ] && run_side "ours_$part" pair "$i"
        run_side "$peer" pair "$i"
    done
    return 0
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

# design: our featurizer's design written for glmnet, and alpha_max for the "auto" alphas.
design() {
    "$py" bench/peers_linear.py design "${common[@]}" --out "$work/$cur_dataset" \
        --l1-ratio "$enet_l1" --alpha-frac "$alpha_frac" >"$work/$cur_dataset.design.json"
}

design_value() { # KEY: a number from the design step's JSON line, to 10 digits
    awk -v v="$(json_get "$1" <"$work/$cur_dataset.design.json")" 'BEGIN { printf "%.10g", v }'
}

# ---- the run ------------------------------------------------------------------------------

openblas_core=$("$py" -c 'import numpy, threadpoolctl
print(" ".join(l.get("architecture") or "?" for l in threadpoolctl.threadpool_info()
               if l.get("internal_api") == "openblas"))' 2>/dev/null || echo "?")
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')" \
         " commit: $(git rev-parse --short HEAD 2>/dev/null)" \
         "$(git diff --quiet HEAD -- 2>/dev/null || echo '(+ working tree changes)')"
    echo "machine: nproc $(nproc)," \
         "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')," \
         "$(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo)," \
         "load average $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "threads: $threads  pairs: $pairs ($pairs_big on $big)  warm-up: $warmup" \
         " OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=$threads" \
         " OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} -> OpenBLAS core $openblas_core"
    echo "hyperparameters: ridge alpha=$ridge_alpha; enet l1_ratio=$enet_l1 alpha=$enet_alpha" \
         "lasso alpha=$lasso_alpha (auto = $alpha_frac x alpha_max) tol=$enet_tol" \
         "max_iter=$enet_max_iter sk_precompute=$sk_precompute; logreg C=$lr_c tol=$lr_tol" \
         "max_iter=$lr_max_iter (en l1_ratio=$lr_l1); glmnet alpha=$glmnet_l1" \
         "nlambda=$glmnet_nlambda thresh=$glmnet_thresh, ours tol=$path_tol" \
         "max_iter=$path_max_iter; knn k=$knn_k"
    echo "peers: $("$py" -c 'import sklearn, numpy, pandas
print("scikit-learn %s, numpy %s, pandas %s" % (sklearn.__version__, numpy.__version__,
      pandas.__version__))'), glmnet $(Rscript -e \
      'cat(as.character(packageVersion("glmnet")))'), $(Rscript --version 2>&1 | head -n 1)"
    if [ "$use_ours" = 1 ]; then echo "ours: $automl"; else echo "ours: skipped (OURS=0)"; fi
    echo "parts: $parts"
    echo "results: $jsonl"
} | tee "$out/header-$stamp.txt" >&2

# gemm_probe: dgemm GFLOP/s on 1 and `threads` threads, as configured and per OpenBLAS core
# type; run at the start and at the end, the report takes the best of both.
gemm_probe() {
    in_list knn "$parts" && [ "$gemm" = 1 ] || return 0
    local probe_threads=1
    if [ "$threads" != 1 ]; then probe_threads="1 $threads"; fi
    log "dgemm peak probe (threads $probe_threads)"
    "$py" bench/peers_linear.py gemm --threads "$probe_threads" \
        --coretypes "$gemm_coretypes" >>"$jsonl" || log "the dgemm probe failed"
}
gemm_probe

for spec in $datasets; do
    IFS=: read -r cur_dataset cur_target cur_task <<<"$spec"
    case $cur_dataset in
    gen200k_*)
        cur_train=$gen_dir/${cur_dataset}_train.csv
        cur_test=$gen_dir/${cur_dataset}_test.csv
        if [ ! -f "$cur_train" ] || [ ! -f "$cur_test" ]; then
            log "writing the generated tables ($gen_rows rows) into $gen_dir"
            mkdir -p "$gen_dir"
            "$py" bench/gen_linear_table.py "$gen_dir" "$gen_rows"
        fi ;;
    *)  cur_train=$data/splits/${cur_dataset}_train.csv
        cur_test=$data/splits/${cur_dataset}_test.csv ;;
    esac
    if [ ! -f "$cur_train" ] || [ ! -f "$cur_test" ]; then
        log "no split for $cur_dataset ($cur_train, $cur_test)"
        exit 1
    fi
    set_common "$cur_dataset" "$cur_train" "$cur_test" "$cur_target" "$cur_task"
    n=$pairs
    in_list "$cur_dataset" "$big" && n=$pairs_big
    design_checked=0
    rm -f "$work/$cur_dataset".*.pred.csv

    if [ "$cur_task" = regression ]; then
        todo="ridge enet lasso glmnet knn"
    else
        todo="logreg_l2 logreg_l1 logreg_en glmnet knn"
    fi
    # Every side reads our featurizer's own output for this split (bench_design).
    log "$cur_dataset: our design (bench_design)"
    if ! "$bench_design" "$cur_train" "$cur_test" "$cur_target" "$cur_task" \
            "$work/$cur_dataset.ours" >"$work/$cur_dataset.ours.txt"; then
        log "$cur_dataset: bench_design failed"
        continue
    fi
    export AM_DESIGN_DUMP="$work/$cur_dataset.ours"
    needs_design=0
    for part in $todo; do
        in_list "$part" "$parts" || continue
        [[ $part == enet || $part == lasso || $part == glmnet ]] && needs_design=1
    done
    if [ $needs_design = 1 ]; then
        log "$cur_dataset: encoding the design (for glmnet and alpha_max)"
        design || { log "$cur_dataset: the design step failed"; continue; }
        cur_enet_alpha=$enet_alpha cur_enet_l1=$enet_l1 cur_lasso_alpha=$lasso_alpha
        if [ "$enet_alpha" = auto ]; then
            cur_enet_alpha=$(design_value enet_alpha) cur_enet_l1=$(design_value enet_l1_ratio)
        fi
        if [ "$lasso_alpha" = auto ]; then cur_lasso_alpha=$(design_value lasso_alpha); fi
    fi

    if [ "$featurize_probe" = 1 ] && [ -z "$(ours_lacks constant)" ]; then
        cur_side=ours_featurize cur_kind=single
        record "$py" bench/peers_linear.py ours --automl "$automl" --learner constant \
            --part featurize --fit-only --model-out "$work/$cur_dataset.constant.model" \
            "${common[@]}" || true
        rm -f "$work/$cur_dataset.constant.model"
    fi

    for part in $todo; do
        in_list "$part" "$parts" || continue
        [ "$part" = knn ] && ! in_list "$cur_dataset" "$knn_datasets" && continue
        cur_part=$part
        if [ "$part" = glmnet ]; then
            # glmnet first: its path's last lambda sets our parameters.
            cur_glmnet_ours=""
            set_part glmnet
            run_side glmnet warmup 0
            cur_glmnet_ours=$(tail -n 1 "$jsonl" | json_get ours_params)
            if [ -z "$cur_glmnet_ours" ]; then
                log "$cur_dataset: glmnet's first run failed; no path comparison"
                continue
            fi
        fi
        set_part "$part"
        log "$cur_dataset: $part, $n pairs (ours_$part, $peer)"
        alternate "$part" "$n"
        noise "ours_$part" "$peer"
    done
done

gemm_probe
cat "$out/header-$stamp.txt"
"$py" bench/peers_linear.py report "$jsonl" | tee "$out/report-$stamp.md"
