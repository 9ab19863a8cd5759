#!/usr/bin/python3
"""One run of a tree-ensemble learner on a train/test split, timed, as one JSON line.

Driven by bench/trees_vs_peers.sh; every subcommand can also be run by hand.

  peers_trees.py fit   --learner xgb|sklearn_hgb|sklearn_rf|sklearn_et  COMMON
        A peer in this process: read the CSVs with pandas, encode, train (timed alone), save the
        model, predict the test set (timed alone), score it.
  peers_trees.py ours  --automl BIN --learner gbdt|rf|extra_trees [--param k=v ...]
        [--max-bin B]  COMMON
        Our side as users run it: `automl fit ... --learner L --json -o MODEL`, then
        `automl predict MODEL TEST -o PRED [--proba]` and `automl evaluate MODEL TEST --json`,
        each a timed subprocess; then the bare prediction call with BIN's build of
        bench/bench_predict (median of 3), when it was built.
  peers_trees.py noise --task T --test CSV --target COL --a PRED_A --b PRED_B [--boot N]
        Paired bootstrap of the test metric difference between two prediction files.
  peers_trees.py report JSONL...
        Markdown tables (medians, median pairwise ratios) from the JSON lines of the runs.

COMMON: --dataset NAME --train CSV --test CSV --target COL --task binary|multiclass|regression
        --threads N [--seed S] [--kind warmup|pair|single|peak] [--pair I] [--t0 EPOCH]
        [--model-out PATH] [--pred-out PATH] [--fit-only]

Hyperparameters (the issue's: 100 rounds, 63 leaves, learning rate 0.1, 255 bins):
  xgb          XGBClassifier/XGBRegressor, tree_method=hist, grow_policy=lossguide, max_depth=0,
               max_leaves=63, learning_rate=0.1, n_estimators=100, max_bin=255, n_jobs=threads,
               enable_categorical=True on pandas category columns. XGBoost's max_bin=B gives at
               most B bins of non-missing values (B-1 split points: measured, 64 -> 63 distinct
               thresholds); missing values take no bin, they go to each split's learned default
               side. So 255 matches "255 value bins + a missing bin" (LightGBM, scikit-learn).
               Left at XGBoost's defaults, which differ from ours/LightGBM's: min_child_weight=1
               (hessian), reg_lambda=1, base_score=0.5, max_cat_to_onehot=4.
  sklearn_hgb  HistGradientBoosting*, max_iter=100, max_leaf_nodes=63, learning_rate=0.1,
               max_bins=255 (+1 bin for missing), early_stopping=False, categorical columns as
               ordinal codes marked in categorical_features; threads via OMP_NUM_THREADS.
               Defaults kept: min_samples_leaf=20, l2_regularization=0.
  sklearn_rf / sklearn_et  RandomForest* / ExtraTrees*, n_estimators=100, n_jobs=threads,
               default max_features (sqrt for classification, all features for regression).
               scikit-learn 1.2 trees take no NaN and no categories: categorical columns become
               ordinal codes of their sorted levels with missing as one more code (as ranger's
               factors with respect.unordered.factors="ignore"), numeric NaN the train median.

Metrics, defined as automl's (search/metrics.c): AUC from average ranks (binary); log loss with
probabilities clipped to [1e-15, 1-1e-15] and each row renormalised, and accuracy of the argmax
(classification); RMSE and R^2 (regression). Class labels are the target's strings sorted by
code point, as read from the train file.

Timings: read_s (pd.read_csv of the train file), prep_s (encoding), train_s (the training call
alone: fit(X, y), which for XGBoost includes building its DMatrix and bin index from the frame),
save_s (writing the model), command_s (from --t0, taken by the shell right before starting this
process, to the saved model: the user's view of "fit"), predict_s (the prediction call alone on
the encoded test frame), predict_e2e_s (read the test CSV, encode, predict, write the prediction
CSV: as close to `automl predict` as a Python session gets; no interpreter start, no model load).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

T_START = time.time()

PEERS = ("xgb", "sklearn_hgb", "sklearn_rf", "sklearn_et")
MISSING_LEVEL = "(missing)"


# ---- metrics (same definitions as search/metrics.c) ---------------------------------------

def metric_auc(y, score):
    """Binary AUC: y holds 0/1, score the probability of class 1; ties share their mean rank."""
    import numpy as np
    from scipy.stats import rankdata
    y = np.asarray(y)
    n_pos = int((y == 1).sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(score)  # average ranks for ties
    return float((ranks[y == 1].sum() - 0.5 * n_pos * (n_pos + 1)) / (n_pos * n_neg))


def metric_log_loss(y, proba):
    import numpy as np
    p = np.clip(np.asarray(proba, dtype=float), 1e-15, 1.0 - 1e-15)
    p_true = p[np.arange(len(y)), y] / p.sum(axis=1)
    return float(-np.log(p_true).mean())


def metric_accuracy(y, proba):
    import numpy as np
    return float((np.argmax(proba, axis=1) == y).mean())


def metric_rmse(y, pred):
    import numpy as np
    e = np.asarray(pred, dtype=float) - np.asarray(y, dtype=float)
    return float(np.sqrt((e * e).mean()))


def metric_r2(y, pred):
    import numpy as np
    y = np.asarray(y, dtype=float)
    sse = float(((y - np.asarray(pred, dtype=float)) ** 2).sum())
    sst = float(((y - y.mean()) ** 2).sum())
    if sst == 0.0:
        return 1.0 if sse == 0.0 else 0.0
    return 1.0 - sse / sst


def score_all(task, y, pred):
    """y: class codes (classification) or values; pred: n x k probabilities or n values."""
    if task == "regression":
        return {"rmse": metric_rmse(y, pred), "r2": metric_r2(y, pred)}
    out = {"log_loss": metric_log_loss(y, pred), "accuracy": metric_accuracy(y, pred)}
    if task == "binary":
        out["auc"] = metric_auc(y, pred[:, 1])
    return out


def main_metric(task):
    return {"binary": "auc", "multiclass": "log_loss", "regression": "rmse"}[task]


# ---- reading and encoding -------------------------------------------------------------------

def read_split(path, target):
    import pandas as pd
    df = pd.read_csv(path)
    if target not in df.columns:
        sys.exit("peers_trees: %s has no column %r" % (path, target))
    return df.drop(columns=[target]), df[target]


def class_levels(y_train):
    return sorted(set(y_train.astype(str)))


def encode_target(task, y, levels):
    import numpy as np
    if task == "regression":
        return y.to_numpy(dtype=float)
    index = {c: i for i, c in enumerate(levels)}
    codes = np.array([index.get(v, -1) for v in y.astype(str)], dtype=np.int64)
    if (codes < 0).any():
        sys.exit("peers_trees: the test set holds a class the train set lacks")
    return codes


class Encoder:
    """Turns the frame's text columns into what each learner takes; learned on the train set."""

    def __init__(self, learner, x_train):
        self.learner = learner
        self.text = [c for c in x_train.columns if x_train[c].dtype == object]
        self.levels = {c: sorted(set(x_train[c].dropna().astype(str))) for c in self.text}
        numeric = [c for c in x_train.columns if c not in self.text]
        self.medians = {c: float(x_train[c].median()) for c in numeric if x_train[c].isna().any()}

    def categorical_mask(self, x):
        return [c in self.text for c in x.columns] if self.text else None

    def __call__(self, x):
        import numpy as np
        import pandas as pd
        fill = self.medians if self.learner in ("sklearn_rf", "sklearn_et") else {}
        if not self.text and not fill:
            return x  # all numeric and nothing to fill: no copy
        x = x.copy()
        for c in self.text:
            cat = pd.Categorical(x[c], categories=self.levels[c])  # unseen level -> missing
            if self.learner == "xgb":
                x[c] = cat
            elif self.learner == "sklearn_hgb":
                x[c] = np.where(cat.codes < 0, np.nan, cat.codes).astype(float)
            else:  # forests: missing is one more code, after the sorted levels
                x[c] = np.where(cat.codes < 0, len(self.levels[c]), cat.codes)
        for c, m in fill.items():
            x[c] = x[c].fillna(m)
        return x


def make_model(learner, task, threads, seed, categorical_mask):
    common_forest = dict(n_estimators=100, n_jobs=threads, random_state=seed)
    if learner == "xgb":
        import xgboost as xgb
        cls = xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier
        return cls(n_estimators=100, learning_rate=0.1, max_leaves=63, max_depth=0,
                   grow_policy="lossguide", tree_method="hist", max_bin=255, n_jobs=threads,
                   enable_categorical=True, random_state=seed)
    if learner == "sklearn_hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier as HGBC
        from sklearn.ensemble import HistGradientBoostingRegressor as HGBR
        cls = HGBR if task == "regression" else HGBC
        return cls(max_iter=100, max_leaf_nodes=63, learning_rate=0.1, max_bins=255,
                   early_stopping=False, categorical_features=categorical_mask,
                   random_state=seed)
    if learner == "sklearn_rf":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
        cls = RandomForestRegressor if task == "regression" else RandomForestClassifier
        return cls(**common_forest)
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
    cls = ExtraTreesRegressor if task == "regression" else ExtraTreesClassifier
    return cls(**common_forest)


def save_model(model, learner, path):
    if learner == "xgb":
        # XGBoost's own format; the old binary one cannot hold categorical splits.
        model.save_model(path if path.endswith((".json", ".ubj")) else path + ".ubj")
    else:
        import pickle
        with open(path, "wb") as f:
            pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)


def write_predictions(path, task, levels, pred):
    """The layout of `automl predict --proba`: prediction[,proba_<label>...]."""
    import numpy as np
    import pandas as pd
    if task == "regression":
        frame = pd.DataFrame({"prediction": pred})
    else:
        frame = pd.DataFrame(pred, columns=["proba_" + c for c in levels])
        frame.insert(0, "prediction", np.asarray(levels, dtype=object)[np.argmax(pred, axis=1)])
    frame.to_csv(path, index=False, float_format="%.9g")


def peer_versions(learner):
    import pandas as pd
    v = {"pandas": pd.__version__}
    if learner == "xgb":
        import xgboost
        v["xgboost"] = xgboost.__version__
    else:
        import sklearn
        import sklearn.ensemble  # noqa: F401  (the import takes ~0.5 s: keep it off the clock)
        v["sklearn"] = sklearn.__version__
    return v


# ---- subcommand: fit (a peer) -------------------------------------------------------------

def run_peer(a):
    # Threads before the libraries load: scikit-learn's HGB reads OpenMP's setting.
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import numpy as np
    t0 = a.t0 if a.t0 else T_START
    rec = base_record(a, a.learner)
    rec["versions"] = peer_versions(a.learner)  # imports the learner's library, untimed

    t = time.perf_counter()
    x_train, y_train = read_split(a.train, a.target)
    rec["read_s"] = time.perf_counter() - t

    t = time.perf_counter()
    levels = class_levels(y_train) if a.task != "regression" else []
    y = encode_target(a.task, y_train, levels)
    enc = Encoder(a.learner, x_train)
    x = enc(x_train)
    model = make_model(a.learner, a.task, a.threads, a.seed, enc.categorical_mask(x))
    rec["prep_s"] = time.perf_counter() - t

    t = time.perf_counter()
    model.fit(x, y)
    rec["train_s"] = time.perf_counter() - t

    if a.model_out:
        t = time.perf_counter()
        save_model(model, a.learner, a.model_out)
        rec["save_s"] = time.perf_counter() - t
    rec["command_s"] = time.time() - t0
    rec["fit_peak_kb"] = peak_rss_kb()
    rec.update(n_train=int(len(y)), n_features=int(x.shape[1]))
    if a.fit_only:
        return rec
    del x, x_train

    t_e2e = time.perf_counter()
    x_test, y_test_raw = read_split(a.test, a.target)
    xt = enc(x_test)
    t = time.perf_counter()
    pred = model.predict(xt) if a.task == "regression" else model.predict_proba(xt)
    rec["predict_s"] = time.perf_counter() - t
    if a.pred_out:
        write_predictions(a.pred_out, a.task, levels, pred)
    rec["predict_e2e_s"] = time.perf_counter() - t_e2e
    n_test = len(xt)
    rec["n_test"] = n_test
    rec["predict_rows_per_s"] = n_test / rec["predict_s"]
    rec["predict_e2e_rows_per_s"] = n_test / rec["predict_e2e_s"]
    rec["metrics"] = score_all(a.task, encode_target(a.task, y_test_raw, levels), np.asarray(pred))
    return rec


def base_record(a, side):
    return {"dataset": a.dataset, "task": a.task, "side": side, "kind": a.kind, "pair": a.pair,
            "threads": a.threads, "seed": a.seed, "ok": True}


# ---- subcommand: ours ---------------------------------------------------------------------

class Finished:
    def __init__(self, returncode, stdout, stderr, maxrss_kb):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.maxrss_kb = maxrss_kb


def timed_run(argv):
    """Runs a command; its wall time and its own peak RSS (wait4's ru_maxrss, what
    /usr/bin/time -v reports as "Maximum resident set size")."""
    import tempfile
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        p = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return wall, Finished(p.returncode, out.read(), err.read(), usage.ru_maxrss)


def peak_rss_kb():
    """This process's peak resident set size so far (VmHWM), in kB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def parse_json_output(text):
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:  # something printed before the object: take the last line
        return json.loads(text.splitlines()[-1]) if text else {}


def run_ours(a):
    side = "ours_" + a.learner
    rec = base_record(a, side)
    model = a.model_out or "/tmp/peers_trees_%d.automl" % os.getpid()
    fit = [a.automl, "fit", a.train, "--target", a.target, "--task", a.task,
           "--learner", a.learner, "--threads", str(a.threads), "--seed", str(a.seed),
           "--json", "-o", model]
    if a.max_bin:
        fit += ["--max-bin", str(a.max_bin)]
    for p in a.param:
        fit += ["--param", p]
    rec["argv"] = " ".join(fit)
    wall, p = timed_run(fit)
    if p.returncode != 0:
        rec.update(ok=False, error="fit exit %d: %s" % (p.returncode, p.stderr.strip()[-400:]))
        return rec
    rec["command_s"] = wall
    rec["fit_peak_kb"] = p.maxrss_kb
    try:
        info = parse_json_output(p.stdout)
    except ValueError:
        info = {}
    phases = info.get("phases", {})
    rec["phases"] = phases
    if "fit_seconds" in info:
        rec["fit_seconds"] = info["fit_seconds"]
    # The training call's counterpart: encoding + training, without reading and saving (a
    # peer's fit() starts from a frame in memory and does not save).
    if phases:
        rec["train_s"] = sum(phases.get(k, 0.0) for k in ("featurize", "search", "refit"))
        rec["read_s"] = phases.get("read")
        rec["save_s"] = phases.get("save")
    else:
        rec["train_s"] = info.get("fit_seconds", wall)
    for key in ("n_features", "best_learner"):
        if key in info:
            rec[key] = info[key]
    if "n_rows" in info:
        rec["n_train"] = info["n_rows"]
    if a.fit_only:
        return rec

    pred_out = a.pred_out or model + ".pred.csv"
    predict = [a.automl, "predict", model, a.test, "-o", pred_out, "--threads", str(a.threads)]
    if a.task != "regression":
        predict.append("--proba")
    wall, p = timed_run(predict)
    if p.returncode != 0:
        rec.update(ok=False, error="predict exit %d: %s" % (p.returncode, p.stderr.strip()[-400:]))
        return rec
    rec["predict_e2e_s"] = wall  # the whole command: start, load, read, predict, write
    # The bare prediction call (median of 3), as the peers' predict_s: bench/bench_predict from
    # the same build, when it is there.
    bench = os.path.join(os.path.dirname(os.path.abspath(a.automl)), "bench", "bench_predict")
    if os.path.exists(bench):
        _, p = timed_run([bench, model, a.test, str(a.threads), "3"])
        m = re.search(r"predict_s=([0-9.]+)", p.stdout) if p.returncode == 0 else None
        if m and float(m.group(1)) > 0:
            rec["predict_s"] = float(m.group(1))
            rec["predict_rows_per_s"] = int(re.search(r"rows=(\d+)", p.stdout).group(1)) / \
                rec["predict_s"]
    wall, p = timed_run([a.automl, "evaluate", model, a.test, "--json"])
    if p.returncode == 0:
        try:
            rec["metrics"] = parse_json_output(p.stdout)
        except ValueError:
            rec["metrics_error"] = p.stdout[-200:]
    else:
        rec["metrics_error"] = p.stderr.strip()[-400:]
    # The same metrics recomputed here from the prediction file, with the peers' code.
    try:
        n_test, rec["metrics_py"] = score_prediction_file(a.task, a.test, a.target, a.train,
                                                         pred_out)
        rec["n_test"] = n_test
        rec["predict_e2e_rows_per_s"] = n_test / rec["predict_e2e_s"]
    except (ValueError, KeyError) as e:
        rec["metrics_py_error"] = str(e)
    if not a.pred_out:
        os.unlink(pred_out)
    if not a.model_out:
        os.unlink(model)
    return rec


def load_prediction_file(task, path, levels):
    """n x k probabilities (columns proba_<label> in `levels` order) or n values."""
    import pandas as pd
    df = pd.read_csv(path, keep_default_na=False)
    if task == "regression":
        return df["prediction"].to_numpy(dtype=float)
    return df[["proba_" + c for c in levels]].to_numpy(dtype=float)


def score_prediction_file(task, test, target, train, pred_path):
    import pandas as pd
    y_test = pd.read_csv(test, usecols=[target])[target]
    levels = []
    if task != "regression":
        levels = class_levels(pd.read_csv(train, usecols=[target])[target])
    pred = load_prediction_file(task, pred_path, levels)
    return len(y_test), score_all(task, encode_target(task, y_test, levels), pred)


# ---- subcommand: noise --------------------------------------------------------------------

def run_noise(a):
    """Paired bootstrap over test rows of metric(A) - metric(B): is the gap larger than noise?"""
    import numpy as np
    import pandas as pd
    y_raw = pd.read_csv(a.test, usecols=[a.target])[a.target]
    levels = class_levels(pd.read_csv(a.train, usecols=[a.target])[a.target]) \
        if a.task != "regression" else []
    y = encode_target(a.task, y_raw, levels)
    pa = load_prediction_file(a.task, a.a, levels)
    pb = load_prediction_file(a.task, a.b, levels)
    metric = main_metric(a.task)

    def score(p, idx):
        return score_all(a.task, y[idx], p[idx])[metric]

    full = np.arange(len(y))
    diff = score(pa, full) - score(pb, full)
    rng = np.random.default_rng(12345)
    boots = []
    for _ in range(a.boot):
        idx = rng.integers(0, len(y), len(y))
        boots.append(score(pa, idx) - score(pb, idx))
    se = float(np.std(boots, ddof=1))
    return {"kind": "noise", "dataset": a.dataset, "task": a.task, "a": a.a_side,
            "b": a.b_side, "metric": metric, "a_score": score(pa, full),
            "b_score": score(pb, full), "diff": float(diff), "se": se, "boot": a.boot,
            "within_noise": bool(abs(diff) <= 2.0 * se)}


# ---- subcommand: report -------------------------------------------------------------------

def median(v):
    import statistics
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fmt(x, digits=3):
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if abs(x) >= 1e5:
        return "%.3g" % x
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.*f" % (digits, x)


def fmt_rate(x):
    return "–" if x is None else "%.3g" % x


class Runs:
    def __init__(self, records):
        self.records = records

    def of(self, dataset, side, kinds=("pair", "single")):
        return [r for r in self.records if r.get("dataset") == dataset and
                r.get("side") == side and r.get("kind") in kinds and r.get("ok", True)]

    def med(self, dataset, side, key, kinds=("pair", "single")):
        return median([r.get(key) for r in self.of(dataset, side, kinds)])

    def metric(self, dataset, side, name):
        rs = self.of(dataset, side)
        vals = [r.get("metrics", {}).get(name) for r in rs]
        vals = [v for v in vals if v is not None]
        if not vals:
            return "–"
        lo, hi, m = min(vals), max(vals), median(vals)
        if hi - lo < 5e-5 * max(1.0, abs(m)):
            return fmt(m, 4)
        return "%s (%s–%s)" % (fmt(m, 4), fmt(lo, 4), fmt(hi, 4))

    def pair_ratio(self, dataset, a, b, key):
        """Median over pair indices of a[key] / b[key]."""
        ra = {r["pair"]: r.get(key) for r in self.of(dataset, a, ("pair",))}
        rb = {r["pair"]: r.get(key) for r in self.of(dataset, b, ("pair",))}
        ratios = [ra[i] / rb[i] for i in ra if i in rb and ra[i] and rb[i]]
        return (median(ratios), len(ratios)) if ratios else (None, 0)

    def peak_mb(self, dataset, side):
        """Peak RSS of fitting, MB: "in-run (time -v)". In-run is the median over the timed
        runs of the fit's own peak (wait4 for ours, VmHWM at the saved model for a peer); the
        figure in parentheses is the separate fit-only run under /usr/bin/time -v."""
        v = [r.get("peak_kb") for r in self.records if r.get("kind") == "peak" and
             r.get("dataset") == dataset and r.get("side") == side]
        v = [x for x in v if x]
        in_run = self.med(dataset, side, "fit_peak_kb", ("warmup", "pair", "single"))
        text = "%.0f" % (in_run / 1024.0) if in_run else "–"
        if v:
            text += " (%.0f)" % (max(v) / 1024.0)
        return text

    def noise(self, dataset, a, b):
        for r in self.records:
            if r.get("kind") == "noise" and r.get("dataset") == dataset and \
                    r.get("a") == a and r.get("b") == b:
                return "%+.4f ± %.4f%s" % (r["diff"], r["se"], "" if r["within_noise"] else " !")
        return "–"

    def any_side(self, side, kind=None):
        return any(r.get("side") == side and (kind is None or r.get("kind") == kind)
                   for r in self.records)

    def datasets(self):
        seen = []
        for r in self.records:
            if r.get("dataset") and r["dataset"] not in seen and r.get("kind") != "noise":
                seen.append(r["dataset"])
        return seen

    def task(self, dataset):
        for r in self.records:
            if r.get("dataset") == dataset:
                return r.get("task")
        return None

    def n_rows(self, dataset):
        for r in self.records:
            if r.get("dataset") == dataset and r.get("n_train") and r.get("n_test"):
                return "%d / %d" % (r["n_train"], r["n_test"])
        return "–"


def metric_names(task):
    return {"binary": ["auc", "log_loss"], "multiclass": ["log_loss", "accuracy"],
            "regression": ["rmse", "r2"]}[task]


def report_timing(runs, ours, peer, extra_peers, extra_pairs, title):
    print("\n### %s: training time (seconds, medians; ratio = median of pairwise ours/%s)\n"
          % (title, peer))
    head = ["dataset", "rows train / test", "pairs", "ours cmd s", "ours train s",
            "%s train s" % peer, "ratio train", "%s cmd s" % peer, "ratio cmd",
            "ours read / featurize / search / refit / save"]
    head += ["%s train s" % p for p in extra_peers]
    head += ["ratio train %s / %s" % pr for pr in extra_pairs]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for d in runs.datasets():
        if not any(runs.of(d, s) for s in [ours, peer] + extra_peers):
            continue
        ratio_t, n = runs.pair_ratio(d, ours, peer, "train_s")
        ratio_c, _ = runs.pair_ratio(d, ours, peer, "command_s")
        phases = [median([r.get("phases", {}).get(k) for r in runs.of(d, ours)])
                  for k in ("read", "featurize", "search", "refit", "save")]
        row = [d, runs.n_rows(d), str(n), fmt(runs.med(d, ours, "command_s")),
               fmt(runs.med(d, ours, "train_s")), fmt(runs.med(d, peer, "train_s")),
               fmt(ratio_t, 2), fmt(runs.med(d, peer, "command_s")), fmt(ratio_c, 2),
               " / ".join(fmt(p) for p in phases) if any(p is not None for p in phases)
               else "–"]
        row += [fmt(runs.med(d, p, "train_s")) for p in extra_peers]
        row += [fmt(runs.pair_ratio(d, a, b, "train_s")[0], 2) for a, b in extra_pairs]
        print("| " + " | ".join(row) + " |")


def report_quality(runs, sides, noise_pairs, title):
    print("\n### %s: test metric, prediction throughput, peak memory\n" % title)
    sides = [s for s in sides if runs.any_side(s)]  # drop sides that never ran (ours absent)
    noise_pairs = [(a, b) for a, b in noise_pairs if a in sides and b in sides]
    peak_sides = sides
    head = ["dataset", "metric"] + sides
    head += ["%s − %s (± bootstrap SE)" % (a, b) for a, b in noise_pairs]
    head += ["%s predict rows/s (call / e2e)" % s for s in sides]
    head += ["%s fit peak MB" % s for s in peak_sides]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for d in runs.datasets():
        if not any(runs.of(d, s) for s in sides):
            continue
        task = runs.task(d)
        for i, m in enumerate(metric_names(task)):
            row = [d if i == 0 else "", m] + [runs.metric(d, s, m) for s in sides]
            if i == 0:
                row += [runs.noise(d, a, b) for a, b in noise_pairs]
                row += ["%s / %s" % (fmt_rate(runs.med(d, s, "predict_rows_per_s")),
                                     fmt_rate(runs.med(d, s, "predict_e2e_rows_per_s")))
                        for s in sides]
                row += [runs.peak_mb(d, s) for s in peak_sides]
            else:
                row += [""] * (len(noise_pairs) + len(sides) + len(peak_sides))
            print("| " + " | ".join(row) + " |")


def read_records(paths):
    """Every JSON line of the given runs-*.jsonl files, in order."""
    records = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    records.append(json.loads(line))
    return records


def run_report(a):
    records = read_records(a.files)
    runs = Runs(records)
    failed = [r for r in records if not r.get("ok", True)]
    sides = {r.get("side") for r in records}
    if sides & {"ours_gbdt", "xgb", "sklearn_hgb"}:
        report_timing(runs, "ours_gbdt", "xgb", ["sklearn_hgb"], [], "GBDT")
        report_quality(runs, ["ours_gbdt", "xgb", "sklearn_hgb"],
                       [("ours_gbdt", "xgb"), ("sklearn_hgb", "xgb")], "GBDT")
    if sides & {"ours_rf", "ranger", "sklearn_rf", "ours_extra_trees", "sklearn_et"}:
        report_timing(runs, "ours_rf", "ranger", ["sklearn_rf", "ours_extra_trees", "sklearn_et"],
                      [("ours_extra_trees", "sklearn_et")], "Forests")
        report_quality(runs, ["ours_rf", "ranger", "sklearn_rf", "ours_extra_trees",
                              "sklearn_et"],
                       [("ours_rf", "ranger"), ("ours_extra_trees", "sklearn_et"),
                        ("sklearn_rf", "ranger")], "Forests")
    if failed:
        print("\nFailed runs:\n")
        for r in failed:
            print("- %s %s %s: %s" % (r.get("dataset"), r.get("side"), r.get("kind"),
                                      r.get("error", "?")))


# ---- command line -------------------------------------------------------------------------

def add_common(p):
    p.add_argument("--dataset", required=True)
    p.add_argument("--train", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--task", required=True, choices=("binary", "multiclass", "regression"))
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--kind", default="single", choices=("warmup", "pair", "single", "peak"))
    p.add_argument("--pair", type=int, default=0)
    p.add_argument("--t0", type=float, default=0.0)
    p.add_argument("--model-out")
    p.add_argument("--pred-out")
    p.add_argument("--fit-only", action="store_true")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("fit")
    p.add_argument("--learner", required=True, choices=PEERS)
    add_common(p)
    p = sub.add_parser("ours")
    p.add_argument("--automl", required=True)
    p.add_argument("--learner", required=True)
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--max-bin", type=int, default=0, help="value bins (automl --max-bin)")
    add_common(p)
    p = sub.add_parser("noise")
    for k in ("dataset", "task", "train", "test", "target", "a", "b"):
        p.add_argument("--" + k, required=True)
    p.add_argument("--a-side", default="a")
    p.add_argument("--b-side", default="b")
    p.add_argument("--boot", type=int, default=200)
    p = sub.add_parser("report")
    p.add_argument("files", nargs="+")
    return ap.parse_args(argv)


def main(argv):
    a = parse_args(argv)
    if a.cmd == "report":
        run_report(a)
        return 0
    if a.cmd == "fit":
        rec = run_peer(a)
    elif a.cmd == "ours":
        rec = run_ours(a)
    else:
        rec = run_noise(a)
    print(json.dumps(rec, sort_keys=True))
    return 0 if rec.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
