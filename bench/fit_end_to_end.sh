#!/usr/bin/env bash
# End-to-end `automl fit` on datasets from ../shared/datasets: the whole command as users run it,
# its phases (from --json), and the test-set score of the saved model on the fixed split.
# Usage: bash bench/fit_end_to_end.sh [BUDGET_SECONDS] [THREADS]
# DATASETS="name:target ..." picks the datasets (default: the five below).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-30}
threads=${2:-$(nproc)}
data=${AUTOML_DATASETS:-../shared/datasets}
out=bench/out
mkdir -p "$out"
export OMP_WAIT_POLICY=PASSIVE

echo "date: $(date -u +%Y-%m-%d)  commit: $(git rev-parse --short HEAD)  nproc: $(nproc)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "budget: ${budget}s  threads: $threads"
printf '| dataset | task | rows | wall s | read | featurize | search | refit | save | trials | exit | best learner | valid | test |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n'
datasets=${DATASETS:-adult:income diamonds:price bank_marketing:y satellite:classes fertility:morekids}
for spec in $datasets; do
  name=${spec%%:*}
  target=${spec#*:}
  train=$data/splits/${name}_train.csv
  test=$data/splits/${name}_test.csv
  start=$(date +%s.%N)
  ./build/automl fit "$train" --target "$target" --time-budget "$budget" --threads "$threads" \
      --json -o "$out/$name.automl" > "$out/$name.json" 2> "$out/$name.log"
  end=$(date +%s.%N)
  ./build/automl evaluate "$out/$name.automl" "$test" --json > "$out/$name.eval.json"
  /usr/bin/python3 - "$name" "$start" "$end" "$out/$name.json" "$out/$name.eval.json" <<'PY'
import json, sys
name, start, end, fit_path, eval_path = sys.argv[1:]
fit = json.load(open(fit_path)); ev = json.load(open(eval_path))
p = fit["phases"]; metric = fit["metric"]
print(f'| {name} | {fit["task"]} | {fit["n_rows"]} | {float(end) - float(start):.2f} | '
      f'{p["read"]:.2f} | {p["featurize"]:.2f} | {p["search"]:.2f} | {p["refit"]:.2f} | '
      f'{p["save"]:.3f} | {fit["n_trials"]} | {fit["exit_reason"]} | {fit["best_learner"]} | '
      f'{metric} {fit["best_score"]:.4f} | {metric} {ev[metric]:.4f} |')
PY
done
