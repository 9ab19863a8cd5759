#!/usr/bin/python3
"""Our featurization against a plain ordinal encoding, and against scikit-learn's
ColumnTransformer: one run as one JSON line.

Driven by bench/featurize_vs_plain.sh (issue 5); every subcommand can also be run by hand.

  peers_featurize.py plain --train CSV --test CSV --target COL --out-train CSV --out-test CSV
        [--unseen nan|-1]
        Writes the "plain" copies of a split: every non-numeric column (strings, dates, text)
        replaced by the integer code of its value among the training file's distinct values
        (sorted by code point: code 0 is the smallest); numeric columns and the target column
        byte for byte as they were. A missing value stays missing (an empty cell); a test value
        the training file lacks becomes an empty cell too (--unseen nan, the default) or -1.
        Prints one JSON line: the columns encoded, their level counts, unseen cells.
  peers_featurize.py ours --automl BIN --learner L [--param k=v ...] --side ours|plain COMMON
        `automl fit TRAIN --target T --task K --learner L --threads N --seed S --json -o MODEL`
        (timed, its peak RSS from wait4), `automl predict MODEL TEST -o PRED [--proba]`,
        `automl evaluate MODEL TEST --json`; the metric is evaluate's. --side only labels the
        line (the plain side gets the plain copies as TRAIN and TEST).
  peers_featurize.py featurize_ours --automl BIN --learner L [--param k=v ...] COMMON
        One `automl fit` under /usr/bin/time -f %M (whole-process peak RSS); its phases (read,
        refit: with --learner constant the refit is the featurizer alone).
  peers_featurize.py featurize_sk COMMON [--sparse]
        Runs itself under /usr/bin/time -f %M as `sk_child`: pandas.read_csv (timed), then a
        scikit-learn ColumnTransformer fit_transform on the frame (timed): numbers SimpleImputer
        (median, add_indicator=True), categories OneHotEncoder(handle_unknown="ignore",
        min_frequency=5, max_categories=21), then StandardScaler on every output column.
  peers_featurize.py tile --src CSV --times K --out CSV
        The training file's rows K times over (one header): the SCALE copy.
  peers_featurize.py report JSONL...
        The Markdown report.

COMMON: --dataset NAME --train CSV --test CSV --target COL --task binary|multiclass|regression
        --threads N [--seed S] [--kind warmup|pair|single] [--pair I] [--scale K]
        [--model-out PATH] [--pred-out PATH]
"""
import argparse
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no bench/__pycache__ in the working tree
import peers_trees as pt  # noqa: E402  (metrics, timed runs, prediction files, median, fmt)

# Our CSV reader's missing markers (blanks around a value ignored).
NA_VALUES = ["", "NA", "N/A", "NaN", "nan", "?", "null", "NULL"]
BLANKS = " \t\r\n"
PEER_ONEHOT = {"handle_unknown": "ignore", "min_frequency": 5, "max_categories": 21}


def base_record(a, side):
    rec = pt.base_record(a, side)
    rec["scale"] = getattr(a, "scale", 1)
    return rec


def vm_kb(key):
    """A line of /proc/self/status in kB (VmRSS: now, VmHWM: the peak so far)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


# ---- subcommand: plain (the ordinal-encoded copies) -------------------------------------

def read_raw(path):
    """Every cell as the string written in the file (quotes removed by the CSV parser)."""
    import pandas as pd
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)


def missing_mask(col):
    return col.str.strip(BLANKS).isin(NA_VALUES)


def numeric_column(col):
    """Whether every non-missing value of a raw column reads as a number."""
    import pandas as pd
    present = ~missing_mask(col)
    values = pd.to_numeric(col[present].str.strip(BLANKS), errors="coerce")
    return bool(values.notna().all())


def encode_column(col, levels, unseen):
    """Codes of a raw column's values among `levels` (a dict value -> code), as strings."""
    s = col.str.strip(BLANKS)
    missing = s.isin(NA_VALUES)
    codes = s.map(levels)
    n_unseen = int((codes.isna() & ~missing).sum())
    fill = "" if unseen == "nan" else "-1"
    out = codes.map(lambda v: "" if v != v else "%d" % v)  # NaN (missing or unseen) -> ""
    if unseen != "nan":
        out = out.where(missing | codes.notna(), fill)
    return out, n_unseen


def run_plain(a):
    t = time.perf_counter()
    train, test = read_raw(a.train), read_raw(a.test)
    if a.target not in train.columns or a.target not in test.columns:
        sys.exit("peers_featurize: %s or %s has no column %r" % (a.train, a.test, a.target))
    encoded, numeric, unseen_cells, non_numeric_test = {}, [], {}, {}
    for c in train.columns:
        if c == a.target:
            continue
        if numeric_column(train[c]):
            numeric.append(c)
            if c in test.columns and not numeric_column(test[c]):
                # The train file decides the type; a word in a numeric test column would make
                # the copy fail to read as the model's schema: counted, and left for automl.
                non_numeric_test[c] = int((~missing_mask(test[c])).sum())
            continue
        values = train[c].str.strip(BLANKS)
        levels = sorted(set(values[~values.isin(NA_VALUES)]))
        index = {v: i for i, v in enumerate(levels)}
        train[c], _ = encode_column(train[c], index, a.unseen)
        if c in test.columns:
            test[c], n_unseen = encode_column(test[c], index, a.unseen)
            if n_unseen:
                unseen_cells[c] = n_unseen
        encoded[c] = len(levels)
    train.to_csv(a.out_train, index=False)
    test.to_csv(a.out_test, index=False)
    return {"kind": "plain_encode", "dataset": a.dataset, "task": a.task, "ok": True,
            "encoded": encoded, "numeric": numeric, "unseen": a.unseen,
            "unseen_cells": unseen_cells, "non_numeric_test": non_numeric_test,
            "n_train": len(train), "n_test": len(test),
            "seconds": time.perf_counter() - t}


# ---- subcommand: ours (one side of part A) ----------------------------------------------

def fail(rec, what, p):
    rec.update(ok=False, error="%s exit %d: %s" % (what, p.returncode, p.stderr.strip()[-400:]))
    return rec


def run_ours(a):
    rec = base_record(a, a.side)
    rec.update(learner=a.learner, params=" ".join(a.param))
    model = a.model_out or "/tmp/peers_featurize_%d.automl" % os.getpid()
    fit = [a.automl, "fit", a.train, "--target", a.target, "--task", a.task,
           "--learner", a.learner, "--threads", str(a.threads), "--seed", str(a.seed),
           "--json", "-o", model]
    for p in a.param:
        fit += ["--param", p]
    rec["argv"] = " ".join(fit)
    wall, p = pt.timed_run(fit)
    if p.returncode != 0:
        return fail(rec, "fit", p)
    rec.update(command_s=wall, fit_peak_kb=p.maxrss_kb)
    try:
        info = pt.parse_json_output(p.stdout)
    except ValueError:
        info = {}
    rec["phases"] = info.get("phases", {})
    for key in ("fit_seconds", "n_features", "n_rows", "guardrails", "best_params"):
        if key in info:
            rec[key] = info[key]
    if "n_rows" in info:
        rec["n_train"] = info["n_rows"]

    pred_out = a.pred_out or model + ".pred.csv"
    predict = [a.automl, "predict", model, a.test, "-o", pred_out, "--threads", str(a.threads)]
    if a.task != "regression":
        predict.append("--proba")
    wall, p = pt.timed_run(predict)
    if p.returncode != 0:
        return fail(rec, "predict", p)
    rec["predict_s"] = wall
    wall, p = pt.timed_run([a.automl, "evaluate", model, a.test, "--json",
                            "--threads", str(a.threads)])
    if p.returncode != 0:
        return fail(rec, "evaluate", p)
    try:
        rec["metrics"] = pt.parse_json_output(p.stdout)
    except ValueError:
        rec.update(ok=False, error="evaluate printed no JSON: " + p.stdout[-200:])
        return rec
    rec["n_test"] = rec["metrics"].get("n_rows")
    # The same metric from the prediction file with the peers' code: a check on evaluate.
    try:
        _, rec["metrics_py"] = pt.score_prediction_file(a.task, a.test, a.target, a.train,
                                                        pred_out)
    except (ValueError, KeyError) as e:
        rec["metrics_py_error"] = str(e)
    if not a.pred_out:
        os.unlink(pred_out)
    if not a.model_out:
        os.unlink(model)
    return rec


# ---- subcommands: featurize_ours, featurize_sk (part B) ---------------------------------

def under_time(argv):
    """Runs argv under /usr/bin/time -f %M: (wall s, Finished, whole-process peak kB)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        wall, p = pt.timed_run(["/usr/bin/time", "-f", "%M", "-o", tf.name] + argv)
        text = tf.read().strip().splitlines()
    peak = int(text[-1]) if text and text[-1].isdigit() else None
    return wall, p, peak


def run_featurize_ours(a):
    side = "ours_" + a.learner + ("(%s)" % " ".join(a.param) if a.param else "")
    rec = base_record(a, side)
    rec.update(learner=a.learner, params=" ".join(a.param))
    model = a.model_out or "/tmp/peers_featurize_%d.automl" % os.getpid()
    fit = [a.automl, "fit", a.train, "--target", a.target, "--task", a.task,
           "--learner", a.learner, "--threads", str(a.threads), "--seed", str(a.seed),
           "--json", "-o", model]
    for p in a.param:
        fit += ["--param", p]
    rec["argv"] = " ".join(fit)
    wall, p, peak = under_time(fit)
    if not a.model_out and os.path.exists(model):
        os.unlink(model)
    if p.returncode != 0:
        return fail(rec, "fit", p)
    info = pt.parse_json_output(p.stdout)
    phases = info.get("phases", {})
    # What `automl fit` spends outside its phases: process start and exit, the target, the
    # column roles and the guardrail checks (run before the refit, timed by no phase).
    rec["outside_phases_s"] = wall - sum(v for v in phases.values() if v)
    rec.update(command_s=wall, peak_kb=peak, phases=phases, read_s=phases.get("read"),
               featurize_s=phases.get("refit"), save_s=phases.get("save"),
               n_features=info.get("n_features"), n_train=info.get("n_rows"))
    if rec["n_features"] and rec["n_train"]:
        rec["matrix_mb"] = rec["n_train"] * rec["n_features"] * 8 / 2**20
    return rec


def run_featurize_sk(a):
    """The parent: this script as `sk_child` under /usr/bin/time; its line plus the peak."""
    argv = [sys.executable, os.path.abspath(__file__), "sk_child"] + a.child_argv
    rec = base_record(a, "sk_columntransformer")
    wall, p, peak = under_time(argv)
    if p.returncode != 0:
        return fail(rec, "sk_child", p)
    rec.update(pt.parse_json_output(p.stdout))
    # cmd s as ours': the whole process (interpreter start, imports, read, featurize, exit).
    rec.update(side="sk_columntransformer", kind=a.kind, pair=a.pair, command_s=wall,
               peak_kb=peak)
    return rec


def run_sk_child(a):
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import numpy as np
    import pandas as pd
    import sklearn
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    rec = base_record(a, "sk_columntransformer")
    rec["versions"] = {"sklearn": sklearn.__version__, "pandas": pd.__version__,
                       "numpy": np.__version__}
    rec["rss_after_imports_kb"] = vm_kb("VmRSS")
    t = time.perf_counter()
    df = pd.read_csv(a.train, keep_default_na=False, na_values=NA_VALUES)
    rec["read_s"] = time.perf_counter() - t
    rec["peak_after_read_kb"] = vm_kb("VmHWM")
    t = time.perf_counter()
    y = df[a.target]
    x = df.drop(columns=[a.target])
    num = [c for c in x.columns
           if pd.api.types.is_numeric_dtype(x[c]) and not pd.api.types.is_bool_dtype(x[c])]
    cat = [c for c in x.columns if c not in num]
    x[cat] = x[cat].astype(object)
    ct = Pipeline([
        ("columns", ColumnTransformer([
            ("num", SimpleImputer(strategy="median", add_indicator=True), num),
            ("cat", OneHotEncoder(sparse_output=a.sparse, **PEER_ONEHOT), cat)],
            sparse_threshold=1.0 if a.sparse else 0.0)),
        ("scale", StandardScaler(with_mean=not a.sparse))])
    z = ct.fit_transform(x, y)
    rec["featurize_s"] = time.perf_counter() - t
    rec["peak_after_featurize_kb"] = vm_kb("VmHWM")
    rec.update(n_train=int(z.shape[0]), n_features=int(z.shape[1]), n_numeric=len(num),
               n_categorical=len(cat), sparse=bool(a.sparse))
    if not a.sparse:
        rec["matrix_mb"] = z.nbytes / 2**20
    return rec


# ---- subcommand: tile --------------------------------------------------------------------

def run_tile(a):
    with open(a.src, "rb") as f:
        header = f.readline()
        body = f.read()
    if body and not body.endswith(b"\n"):
        body += b"\n"
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(header)
        for _ in range(a.times):
            f.write(body)
    os.replace(tmp, a.out)
    return {"kind": "tile", "src": a.src, "times": a.times, "out": a.out, "ok": True}


# ---- subcommand: report -------------------------------------------------------------------

HIGHER_IS_BETTER = {"auc": True, "accuracy": True, "r2": True, "log_loss": False,
                    "rmse": False}


def ok_runs(records, **match):
    return [r for r in records if r.get("ok", True) and
            all(r.get(k) == v for k, v in match.items())]


def spread(vals, digits=4):
    """"median (min–max)", or the median alone when every value is the same."""
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    m, lo, hi = pt.median(vals), min(vals), max(vals)
    if pt.fmt(lo, digits) == pt.fmt(hi, digits):  # no spread at the printed digits
        return pt.fmt(m, digits)
    return "%s (%s–%s)" % (pt.fmt(m, digits), pt.fmt(lo, digits), pt.fmt(hi, digits))


def count(x):
    return "–" if x is None else "%d" % round(x)


def signed(x, digits=4):
    if x is None:
        return "–"
    if abs(x) >= 100:
        return "%+.0f" % x
    return "%+.*f" % (digits, x)


def signed_spread(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    m, lo, hi = pt.median(vals), min(vals), max(vals)
    if signed(lo) == signed(hi):
        return signed(m)
    return "%s (%s … %s)" % (signed(m), signed(lo), signed(hi))


def part_a(records):
    runs = [r for r in records if r.get("side") in ("ours", "plain")]
    if not runs:
        return
    keys = []
    for r in runs:
        k = (r["dataset"], r["learner"])
        if k not in keys:
            keys.append(k)
    print("\n### Part A — the same learner on our featurization and on a plain ordinal "
          "encoding\n")
    print("Test metric from `automl evaluate --json` (AUC: higher is better; RMSE: lower is "
          "better), median over seeds (min–max); Δ = ours − plain, per seed, then median "
          "(min … max); ± SE: paired bootstrap over test rows of the first seed's gap; "
          "\"fit s\": the whole `automl fit` command, median over seeds.\n")
    head = ["dataset", "learner", "metric", "seeds", "ours", "plain", "**Δ ours − plain**",
            "± SE", "verdict", "features ours / plain",
            "fit s ours / plain", "peak MB ours / plain"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for d, learner in keys:
        ours = ok_runs(runs, dataset=d, learner=learner, side="ours")
        plain = ok_runs(runs, dataset=d, learner=learner, side="plain")
        task = (ours or plain or [{}])[0].get("task")
        metric = pt.main_metric(task) if task else "?"
        mo = {r["seed"]: r.get("metrics", {}).get(metric) for r in ours}
        mp = {r["seed"]: r.get("metrics", {}).get(metric) for r in plain}
        deltas = [mo[s] - mp[s] for s in mo if s in mp and mo[s] is not None and
                  mp[s] is not None]
        noise = next((r for r in records if r.get("kind") == "noise" and r.get("dataset") == d
                      and r.get("a") == "ours_" + learner), None)
        se = "± " + pt.fmt(noise["se"], 4) if noise else "–"
        verdict = "–"
        if deltas:
            m = pt.median(deltas)
            better = (m > 0) == HIGHER_IS_BETTER.get(metric, True)
            if all(v == 0 for v in deltas):
                verdict = "no change"
            elif noise and abs(m) <= 2.0 * noise["se"]:
                verdict = "within noise"
            else:
                verdict = "**ours better**" if better else "**plain better**"
            if noise is None and verdict != "no change":
                verdict += " (no SE)"
        nf = "%s / %s" % (count(pt.median([r.get("n_features") for r in ours])),
                          count(pt.median([r.get("n_features") for r in plain])))
        fs = "%s / %s" % (pt.fmt(pt.median([r.get("command_s") for r in ours]), 2),
                          pt.fmt(pt.median([r.get("command_s") for r in plain]), 2))
        pk = [pt.median([r.get("fit_peak_kb") for r in rs]) for rs in (ours, plain)]
        mb = " / ".join("%.0f" % (v / 1024.0) if v else "–" for v in pk)
        print("| " + " | ".join([d, learner, metric, str(len(deltas)),
                                 spread(mo.values()), spread(mp.values()),
                                 signed_spread(deltas), se, verdict, nf, fs, mb]) + " |")
    report_encoding(records)
    report_checks(runs)
    report_guardrails(runs)


def report_encoding(records):
    rs = [r for r in records if r.get("kind") == "plain_encode"]
    if not rs:
        return
    print("\nThe plain copies (codes fitted on the training file; unseen test values → %s):\n"
          % ("an empty cell (missing)" if rs[0].get("unseen") == "nan" else "-1"))
    print("| dataset | columns encoded (levels) | numeric columns kept | unseen test cells |")
    print("| --- | --- | --- | --- |")
    for r in rs:
        enc = ", ".join("%s (%d)" % kv for kv in r["encoded"].items()) or "none"
        unseen = ", ".join("%s: %d" % kv for kv in r["unseen_cells"].items()) or "0"
        print("| %s | %s | %d | %s |" % (r["dataset"], enc, len(r["numeric"]), unseen))
        if r.get("non_numeric_test"):
            print("\n(%s: numeric in train, words in test: %s)\n"
                  % (r["dataset"], r["non_numeric_test"]))


def report_checks(runs):
    """evaluate's metric against the one recomputed from the prediction file."""
    bad = []
    for r in runs:
        task = r.get("task")
        if not task or "metrics" not in r or "metrics_py" not in r:
            continue
        m = pt.main_metric(task)
        a, b = r["metrics"].get(m), r["metrics_py"].get(m)
        if a is not None and b is not None and abs(a - b) > 1e-6 * max(1.0, abs(a)):
            bad.append("%s %s %s seed %s: evaluate %s %.6g, from predictions %.6g"
                       % (r["dataset"], r["learner"], r["side"], r["seed"], m, a, b))
    if bad:
        print("\nevaluate and the prediction file disagree:\n")
        for line in bad:
            print("- " + line)
    else:
        print("\nCheck: evaluate's metric equals the one recomputed from `automl predict`'s file"
              " (peers_trees.py's code) on every run.")


def report_guardrails(runs):
    """Ours' guardrails that did something (done / alerted), first seed of each dataset."""
    lines = []
    seen = set()
    for r in runs:
        if r.get("side") != "ours" or r["dataset"] in seen or "guardrails" not in r:
            continue
        seen.add(r["dataset"])
        for g in r["guardrails"]:
            if g.get("state") in ("done", "alerted"):
                lines.append("- %s (%s): %s %s — %s" % (r["dataset"], r["learner"],
                                                        g.get("check"), g.get("state"),
                                                        g.get("detail", "")))
    if lines:
        print("\nOurs' guardrails that acted (`fit --json`, first learner and seed):\n")
        print("\n".join(lines))
    elif not seen:
        print("\n(This build's `fit --json` has no `guardrails` array.)")


def part_b(records):
    rs = [r for r in records if r.get("kind") in ("pair", "warmup") and
          (r.get("side") or "").startswith(("ours_", "sk_")) and "featurize_s" in r]
    fails = [r for r in records if r.get("part") == "B" and not r.get("ok", True)]
    if not rs and not fails:
        return
    print("\n### Part B — featurization time and memory on one table\n")
    print("Medians over the timed pairs (warm-up excluded). read s: ours the `read` phase, the"
          " peer `pandas.read_csv`; featurize s: ours the `refit` phase of `automl fit` (with"
          " `constant` the featurizer alone, no scaling; with the scaled learner featurizer +"
          " standardisation + that learner's fit), the peer `ColumnTransformer.fit_transform`"
          " + StandardScaler on the frame in memory; cmd s: the whole process (ours: `automl"
          " fit`, reading, featurizing, saving; the peer: interpreter start, imports, read,"
          " featurize); ours outside phases s: `automl fit`'s time in no phase (process start"
          " and exit, the target, column roles, the guardrail checks); peak MB: the **whole"
          " process**'s maximum RSS (`/usr/bin/time -f %M`), for the peer interpreter and"
          " imports included (its RSS after the imports shown apart); ratio: median over pairs"
          " of ours / peer featurize s.\n")
    head = ["dataset", "rows", "side", "pairs", "read s", "featurize s", "read + featurize s",
            "cmd s", "ours outside phases s", "peak MB (whole process)",
            "peer RSS after imports MB", "features", "matrix MB",
            "**ratio featurize ours / peer**", "ratio read + featurize"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for r in rs:
        if "outside_phases_s" not in r and r.get("phases") and r.get("command_s"):
            r["outside_phases_s"] = r["command_s"] - sum(v for v in r["phases"].values() if v)
    groups = []
    for r in rs:
        k = (r["dataset"], r.get("scale", 1))
        if k not in groups:
            groups.append(k)
    for d, scale in groups:
        g = [r for r in rs if r["dataset"] == d and r.get("scale", 1) == scale]
        sides = []
        for r in g:
            if r["side"] not in sides:
                sides.append(r["side"])
        peer = "sk_columntransformer"
        for side in sides:
            timed = [r for r in g if r["side"] == side and r["kind"] == "pair"]
            if not timed:
                continue

            def med(key, t=timed):
                return pt.median([r.get(key) for r in t])

            rf = [(r.get("read_s") or 0) + (r.get("featurize_s") or 0) for r in timed]
            row = [d + (" ×%d" % scale if scale != 1 else ""), count(med("n_train")), side,
                   str(len(timed)), pt.fmt(med("read_s")), pt.fmt(med("featurize_s")),
                   pt.fmt(pt.median(rf)), pt.fmt(med("command_s")),
                   pt.fmt(med("outside_phases_s")),
                   count(med("peak_kb") / 1024.0 if med("peak_kb") else None),
                   count(med("rss_after_imports_kb") / 1024.0
                         if med("rss_after_imports_kb") else None),
                   count(med("n_features")), count(med("matrix_mb"))]
            if side == peer:
                row += ["1", "1"]
            else:
                row += [pair_ratio(g, side, peer, "featurize_s"),
                        pair_ratio(g, side, peer, None)]
            print("| " + " | ".join(row) + " |")
    for r in fails:
        print("\n- failed: %s %s: %s" % (r.get("dataset"), r.get("side"), r.get("error")))


def pair_ratio(g, a, b, key):
    def val(r):
        if key:
            return r.get(key)
        return (r.get("read_s") or 0) + (r.get("featurize_s") or 0)
    ra = {r["pair"]: val(r) for r in g if r["side"] == a and r["kind"] == "pair"}
    rb = {r["pair"]: val(r) for r in g if r["side"] == b and r["kind"] == "pair"}
    ratios = [ra[i] / rb[i] for i in ra if i in rb and ra[i] and rb[i]]
    return pt.fmt(pt.median(ratios), 2) if ratios else "–"


def run_report(a):
    records = pt.read_records(a.files)
    part_a(records)
    part_b(records)
    failed = [r for r in records if not r.get("ok", True) and r.get("part") != "B"]
    if failed:
        print("\nFailed runs:\n")
        for r in failed:
            print("- %s %s %s seed %s: %s" % (r.get("dataset"), r.get("learner", ""),
                                               r.get("side"), r.get("seed"),
                                               r.get("error", "?")))


# ---- command line ------------------------------------------------------------------------

def add_common(p):
    pt.add_common(p)
    p.add_argument("--scale", type=int, default=1, help="the train file is the SCALE copy")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("plain")
    for k in ("dataset", "task", "train", "test", "target", "out-train", "out-test"):
        p.add_argument("--" + k, required=True)
    p.add_argument("--unseen", default="nan", choices=("nan", "-1"))
    p = sub.add_parser("ours")
    p.add_argument("--automl", required=True)
    p.add_argument("--learner", required=True)
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--side", required=True, choices=("ours", "plain"))
    add_common(p)
    p = sub.add_parser("featurize_ours")
    p.add_argument("--automl", required=True)
    p.add_argument("--learner", required=True)
    p.add_argument("--param", action="append", default=[])
    add_common(p)
    for name in ("featurize_sk", "sk_child"):
        p = sub.add_parser(name)
        p.add_argument("--sparse", action="store_true",
                       help="sparse one-hot output (StandardScaler without centring)")
        add_common(p)
    p = sub.add_parser("tile")
    p.add_argument("--src", required=True)
    p.add_argument("--times", type=int, required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("report")
    p.add_argument("files", nargs="+")
    a = ap.parse_args(argv)
    if a.cmd == "featurize_sk":
        a.child_argv = argv[1:]  # the same options, for the child
    return a


def main(argv):
    a = parse_args(argv)
    if a.cmd == "report":
        run_report(a)
        return 0
    rec = {"plain": run_plain, "ours": run_ours, "featurize_ours": run_featurize_ours,
           "featurize_sk": run_featurize_sk, "sk_child": run_sk_child,
           "tile": run_tile}[a.cmd](a)
    if a.cmd in ("featurize_ours", "featurize_sk"):
        rec["part"] = "B"
    print(json.dumps(rec, sort_keys=True))
    return 0 if rec.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
