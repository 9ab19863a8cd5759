# shellcheck shell=bash disable=SC2034,SC2154
# harness_lib.sh — what the peer-comparison harnesses share (sourced by trees_vs_peers.sh and
# linear_vs_peers.sh after they set py, work, jsonl, threads, run_timeout and define log).
# The current run is described by the globals cur_dataset, cur_task, cur_side, cur_kind.

# json_obj KEY VALUE ...: one JSON line; digits become numbers, true/false booleans.
json_obj() {
    "$py" -c 'import json, sys
a = sys.argv[1:]
conv = lambda v: int(v) if v.isdigit() else {"true": True, "false": False}.get(v, v)
print(json.dumps({k: conv(v) for k, v in zip(a[::2], a[1::2])}))' "$@"
}

# in_list WORD "LIST": whether WORD is one of the words of LIST.
in_list() { [[ " $2 " == *" $1 "* ]]; }

# set_common NAME TRAIN TEST TARGET TASK: the options every run shares (the array `common`).
set_common() {
    common=(--dataset "$1" --train "$2" --test "$3" --target "$4" --task "$5"
            --threads "$threads")
}

# record CMD...: runs a side and appends its JSON line to the results; on failure appends the
# side's own failure line, or one made here from its standard error, and returns 1.
record() {
    local line limit=()
    # timeout signals its whole process group: ours' automl child goes with its Python wrapper.
    [ "$run_timeout" != 0 ] && limit=(timeout "$run_timeout")
    if line=$("${limit[@]}" "$@" 2>"$work/stderr.txt" | tail -n 1) && [ -n "$line" ]; then
        echo "$line" >>"$jsonl"
        return 0
    fi
    local err
    err=$(tail -c 300 "$work/stderr.txt" | tr '\n' ' ')
    [ -z "$err" ] && err="no output (killed after RUN_TIMEOUT=${run_timeout}s?)"
    if [ -n "$line" ]; then
        echo "$line" >>"$jsonl" # the run printed its own failure line
    else
        json_obj dataset "$cur_dataset" task "$cur_task" side "$cur_side" kind "$cur_kind" \
            ok false error "$err" >>"$jsonl"
    fi
    log "$cur_dataset $cur_side failed: $err"
    return 1
}
