#!/usr/bin/python3
"""One run of a linear or k-NN learner on a train/test split, timed, as one JSON line.

Driven by bench/linear_vs_peers.sh (issue 4); every subcommand can also be run by hand.

  peers_linear.py design COMMON --out PREFIX
        Encodes the split as our featurizer does (see Design) and writes it for the R side:
        PREFIX.x_train.f64 / PREFIX.x_test.f64 (column-major float64), PREFIX.y_train.f64 /
        PREFIX.y_test.f64 (values, or class codes in label order), PREFIX.levels.txt (class
        labels, one per line), and prints one JSON line of facts the harness needs (rows,
        features, y's sd, the elastic net's alpha_max for an l1_ratio, feature names).
  peers_linear.py fit --learner PEER [hyperparameters] COMMON
        A scikit-learn peer in this process: read the CSVs with pandas (for the targets), load
        our design (untimed), fit (timed alone), predict the test set (timed alone), score it.
  peers_linear.py glmnet --design PREFIX --l1-ratio A [--nlambda 100] [--thresh 1e-7] COMMON
        Runs bench/peers_glmnet.R on the design files (one subprocess) and scores its
        predictions here; its JSON line carries our parameters for the path's last lambda.
  peers_linear.py ours --automl BIN --learner L --part P [--param k=v ...] COMMON
        Our side as users run it, through bench/peers_trees.py's `ours` (automl fit --json,
        automl predict, bench_predict, automl evaluate); train_s is the fit's refit phase. For
        k-NN also the bare prediction on one thread (--knn-one-thread) and the distance step's
        flop count. --check-design compares `automl inspect`'s feature names with Design's.
  peers_linear.py gemm --threads "1 N" [--size 2048] [--coretypes "SkylakeX Haswell"]
        The dgemm peak probe: numpy's matmul (Debian's numpy calls OpenBLAS through
        libblas.so.3, the library ours links) on square matrices, one process per thread count
        and OpenBLAS core type; one JSON line each.
  peers_linear.py report JSONL...
        Markdown tables: medians, median pairwise ratios ours/peer, metrics with the paired
        bootstrap SE of the gap (from `peers_trees.py noise` lines), k-NN GFLOP/s against the
        GEMM peak.

COMMON: --dataset NAME --train CSV --test CSV --target COL --task binary|multiclass|regression
        --threads N [--seed S] [--kind warmup|pair|single] [--pair I] [--t0 EPOCH]
        [--model-out PATH] [--pred-out PATH] [--fit-only]

Peers (scikit-learn 1.2, Debian python3-sklearn), each given the same design matrix as ours:
  sk_ridge      Ridge(alpha)                      (solver auto: Cholesky on dense data)
  sk_enet       ElasticNet(alpha, l1_ratio, tol, max_iter)    Fortran-ordered X (its layout)
  sk_lasso      Lasso(alpha, tol, max_iter)                   Fortran-ordered X
  sk_logreg_l2  LogisticRegression(C, penalty="l2", solver="lbfgs", tol, max_iter)
  sk_logreg_l1  LogisticRegression(C, penalty="l1", solver="saga", tol, max_iter)
  sk_logreg_en  LogisticRegression(C, penalty="elasticnet", l1_ratio, solver="saga", ...)
  sk_knn        KNeighborsClassifier/Regressor(n_neighbors, algorithm="brute", n_jobs=threads)
multi_class is left at "auto": multinomial for more than two classes, as ours.

Design: every side sees the matrix our featurizer gives a linear or k-NN learner inside
`automl fit` (standardised; one-hot with rare levels grouped, indicators, dates, text, ...),
written by bench/bench_design from the engine itself (see the Design class).

Timings: train_s is the fit call alone (ours: the refit phase of `automl fit --json`, which
today includes fitting the featurizer and transforming the train rows); predict_s the
prediction call alone (ours: bench_predict, the median of 3); command_s the user's view of
"fit" (ours: the whole `automl fit` command; a peer: from --t0, taken by the shell right
before starting the interpreter, to the fitted model: interpreter start, imports, CSV read and
encoding included). Metrics as automl's (peers_trees.py holds them).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import warnings

T_START = time.time()
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no bench/__pycache__ in the working tree
import peers_trees as pt  # noqa: E402  (metrics, reading, timed runs, report helpers)

PEERS = ("sk_ridge", "sk_enet", "sk_lasso", "sk_logreg_l2", "sk_logreg_l1", "sk_logreg_en",
         "sk_knn")
NA_VALUES = ["", "NA", "N/A", "NaN", "nan", "?", "null", "NULL"]

# part -> (our learner, peer side, key of the pairwise ratio, title)
PARTS = {
    "ridge": ("ridge", "sk_ridge", "train_s", "Ridge: ours `ridge` against scikit-learn Ridge"),
    "enet": ("elasticnet", "sk_enet", "train_s",
             "Elastic net: ours `elasticnet` against scikit-learn ElasticNet"),
    "lasso": ("elasticnet", "sk_lasso", "train_s",
              "Lasso: ours `elasticnet` l1_ratio=1 against scikit-learn Lasso"),
    "logreg_l2": ("logreg", "sk_logreg_l2", "train_s",
                  "Logistic L2: ours `logreg` against scikit-learn LogisticRegression lbfgs"),
    "logreg_l1": ("logreg", "sk_logreg_l1", "train_s",
                  "Logistic L1: ours `logreg` penalty=l1 against LogisticRegression saga"),
    "logreg_en": ("logreg", "sk_logreg_en", "train_s",
                  "Logistic elastic net: ours `logreg` against LogisticRegression saga"),
    "glmnet": (None, "glmnet", "train_s",
               "Path: glmnet's whole path (nlambda=100) against ours fitted at its last lambda"),
    "knn": ("knn", "sk_knn", "predict_s",
            "k-NN: ours `knn` prediction against KNeighbors* algorithm=\"brute\""),
}


# ---- reading and the design -------------------------------------------------------------

def read_split(path, target):
    """The frame (target dropped) and the target, with our reader's missing markers."""
    import pandas as pd
    df = pd.read_csv(path, keep_default_na=False, na_values=NA_VALUES)
    if target not in df.columns:
        sys.exit("peers_linear: %s has no column %r" % (path, target))
    for c in df.columns:  # our reader trims blanks around values (and then finds markers)
        if df[c].dtype == object:
            s = df[c].astype(str).str.strip(" \t\r\n")
            df[c] = s.where(df[c].notna() & ~s.isin(NA_VALUES), None)
    y = df[target]
    keep = y.notna()  # ours drops rows whose target is missing
    return df.loc[keep].drop(columns=[target]).reset_index(drop=True), \
        y[keep].reset_index(drop=True)



class Design:
    """Our featurizer's output for a learner that needs scaled input, exactly as the engine
    computes it: bench/bench_design (the engine's own target, roles and featurizer, fitted on
    the train rows) wrote it to PREFIX.names.txt, PREFIX.x_train.f64, PREFIX.x_test.f64
    (column-major float64). PREFIX comes from the environment variable AM_DESIGN_DUMP, which
    bench/linear_vs_peers.sh sets per dataset. (Until issue 5 this class re-implemented the
    featurizer in pandas; the featurizer outgrew that.)"""

    def __init__(self, prefix=None):
        import numpy as np
        prefix = prefix or os.environ.get("AM_DESIGN_DUMP")
        if not prefix:
            sys.exit("peers_linear: AM_DESIGN_DUMP is not set (run bench/bench_design first)")
        with open(prefix + ".names.txt") as f:
            self.names = [line.rstrip("\n") for line in f]
        p = len(self.names)
        # Column-major on disk: read as p x n in C order, then transpose (an F-ordered view).
        self.train = np.fromfile(prefix + ".x_train.f64").reshape(p, -1).T
        self.test = np.fromfile(prefix + ".x_test.f64").reshape(p, -1).T


def load_split(a):
    """Design matrices, targets (values or codes) and class labels for a split."""
    x_train, y_train = read_split(a.train, a.target)
    x_test, y_test = read_split(a.test, a.target)
    levels = pt.class_levels(y_train) if a.task != "regression" else []
    design = Design()
    if len(design.train) != len(y_train) or len(design.test) != len(y_test):
        sys.exit("peers_linear: the design's rows (%d, %d) are not the split's (%d, %d)" % (
            len(design.train), len(design.test), len(y_train), len(y_test)))
    return (design, design.train, pt.encode_target(a.task, y_train, levels),
            design.test, pt.encode_target(a.task, y_test, levels), levels)


def alpha_max(x, y, l1_ratio):
    """The smallest elastic-net alpha with all coefficients zero (centred x and y)."""
    import numpy as np
    yc = y - y.mean()
    xc = x - x.mean(axis=0)
    return float(np.abs(xc.T @ yc).max() / (len(y) * max(l1_ratio, 1e-3)))


def run_design(a):
    import numpy as np
    t = time.perf_counter()
    design, x, y, xt, yt, levels = load_split(a)
    x.T.tofile(a.out + ".x_train.f64")  # x is column-major: x.T is its C-order view
    xt.T.tofile(a.out + ".x_test.f64")
    np.asarray(y, dtype=float).tofile(a.out + ".y_train.f64")
    np.asarray(yt, dtype=float).tofile(a.out + ".y_test.f64")
    with open(a.out + ".levels.txt", "w") as f:
        f.write("".join(v + "\n" for v in levels))
    rec = {"kind": "design", "dataset": a.dataset, "task": a.task, "n_train": len(y),
           "n_test": len(yt), "n_features": x.shape[1], "feature_names": design.names,
           "seconds": None}
    if a.task == "regression":
        # The "auto" penalties: the problem glmnet solves at lambda = alpha_frac x lambda_max
        # (y scaled by its sd s inside glmnet), written as ours' and scikit-learn's
        # (alpha, l1_ratio): l1 = lambda a, l2 = lambda (1 - a) / s. On the raw target the
        # elastic net is not scale-free: a fixed l1_ratio with alpha a fraction of alpha_max
        # would make the L2 part dominate when y's sd is large (ames: 80,000).
        s = float(np.std(y))
        lam = a.alpha_frac * alpha_max(x, y, a.l1_ratio)
        l1, l2 = lam * a.l1_ratio, lam * (1.0 - a.l1_ratio) / s
        rec.update(y_sd=s, alpha_max=alpha_max(x, y, a.l1_ratio), l1_ratio=a.l1_ratio,
                   alpha_frac=a.alpha_frac, enet_alpha=l1 + l2,
                   enet_l1_ratio=l1 / (l1 + l2) if l1 + l2 > 0 else 0.0,
                   lasso_alpha=a.alpha_frac * alpha_max(x, y, 1.0))
    rec["seconds"] = time.perf_counter() - t
    return rec


# ---- subcommand: fit (a scikit-learn peer) ---------------------------------------------

def make_peer(a):
    from sklearn import linear_model as lm
    from sklearn import neighbors
    if a.learner == "sk_ridge":
        return lm.Ridge(alpha=a.alpha)
    if a.learner == "sk_enet":
        return lm.ElasticNet(alpha=a.alpha, l1_ratio=a.l1_ratio, tol=a.tol, max_iter=a.max_iter,
                             precompute=a.precompute)
    if a.learner == "sk_lasso":
        return lm.Lasso(alpha=a.alpha, tol=a.tol, max_iter=a.max_iter, precompute=a.precompute)
    if a.learner.startswith("sk_logreg"):
        penalty = {"sk_logreg_l2": "l2", "sk_logreg_l1": "l1",
                   "sk_logreg_en": "elasticnet"}[a.learner]
        return lm.LogisticRegression(
            C=a.C, penalty=penalty, solver="lbfgs" if penalty == "l2" else "saga", tol=a.tol,
            max_iter=a.max_iter, l1_ratio=a.l1_ratio if penalty == "elasticnet" else None,
            random_state=a.seed)
    cls = neighbors.KNeighborsRegressor if a.task == "regression" else \
        neighbors.KNeighborsClassifier
    return cls(n_neighbors=a.k, algorithm="brute", n_jobs=a.threads)


def peer_params(a):
    keys = {"sk_ridge": ["alpha"], "sk_enet": ["alpha", "l1_ratio", "tol", "max_iter"],
            "sk_lasso": ["alpha", "tol", "max_iter"], "sk_logreg_l2": ["C", "tol", "max_iter"],
            "sk_logreg_l1": ["C", "tol", "max_iter"],
            "sk_logreg_en": ["C", "l1_ratio", "tol", "max_iter"], "sk_knn": ["k"]}[a.learner]
    return " ".join("%s=%r" % (k, getattr(a, k)) for k in keys)


def run_peer(a):
    # Threads before numpy loads OpenBLAS and scikit-learn reads OpenMP's setting.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(a.threads)
    import numpy as np
    import sklearn
    import sklearn.linear_model  # noqa: F401  (imports off the clock)
    import sklearn.neighbors  # noqa: F401
    from sklearn.exceptions import ConvergenceWarning
    t0 = a.t0 if a.t0 else T_START
    rec = pt.base_record(a, a.learner)
    rec["versions"] = {"sklearn": sklearn.__version__, "numpy": np.__version__}
    rec["params"] = peer_params(a)

    # Each estimator's own layout, so no copy lands inside fit(): coordinate descent works on
    # columns (Fortran order, as Design gives), the rest on rows.
    layout = (lambda m: m) if a.learner in ("sk_enet", "sk_lasso") else np.ascontiguousarray
    t = time.perf_counter()
    x_train, y_train = read_split(a.train, a.target)
    rec["read_s"] = time.perf_counter() - t
    t = time.perf_counter()
    levels = pt.class_levels(y_train) if a.task != "regression" else []
    y = pt.encode_target(a.task, y_train, levels)
    design = Design()
    x = layout(design.train)
    del x_train
    rec["prep_s"] = time.perf_counter() - t
    model = make_peer(a)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t = time.perf_counter()
        model.fit(x, y)
        rec["train_s"] = time.perf_counter() - t
    rec["converged"] = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    n_iter = getattr(model, "n_iter_", None)
    if n_iter is not None:
        rec["n_iter"] = int(np.max(n_iter))
    if hasattr(model, "coef_"):
        rec["nonzero_coef"] = int(np.count_nonzero(model.coef_))
    rec["command_s"] = time.time() - t0
    rec["fit_peak_kb"] = pt.peak_rss_kb()
    rec.update(n_train=int(len(y)), n_features=int(x.shape[1]))
    if a.fit_only:
        return rec
    del x

    # predict_e2e_s: read the test CSV, encode, predict, write (no interpreter start, no load).
    t_e2e = time.perf_counter()
    x_test, y_test = read_split(a.test, a.target)
    xt = layout(design.test)
    t = time.perf_counter()
    pred = model.predict(xt) if a.task == "regression" else model.predict_proba(xt)
    rec["predict_s"] = time.perf_counter() - t
    if a.pred_out:
        pt.write_predictions(a.pred_out, a.task, levels, pred)
    rec["predict_e2e_s"] = time.perf_counter() - t_e2e
    n_test = len(xt)
    rec.update(n_test=n_test, predict_rows_per_s=n_test / rec["predict_s"],
               predict_e2e_rows_per_s=n_test / rec["predict_e2e_s"])
    rec["metrics"] = pt.score_all(a.task, pt.encode_target(a.task, y_test, levels),
                                  np.asarray(pred))
    return rec


# ---- subcommand: glmnet (the R peer, scored here) --------------------------------------

def run_glmnet(a):
    import numpy as np
    rec = pt.base_record(a, "glmnet")
    pred_out = a.pred_out or a.design + ".glmnet.pred.csv"
    argv = ["Rscript", os.path.join(HERE, "peers_glmnet.R"), "--design", a.design,
            "--task", a.task, "--l1-ratio", repr(a.l1_ratio), "--nlambda", str(a.nlambda),
            "--thresh", repr(a.thresh), "--pred-out", pred_out]
    if a.t0:
        argv += ["--t0", repr(a.t0)]
    wall, p = pt.timed_run(argv)
    if p.returncode != 0:
        rec.update(ok=False, error="glmnet exit %d: %s" % (p.returncode, p.stderr[-400:]))
        return rec
    rec.update(pt.parse_json_output(p.stdout))
    rec["process_s"] = wall
    # Our parameters for the path's last lambda (see peers_glmnet.R for the mapping).
    yt = np.fromfile(a.design + ".y_test.f64")
    levels = []
    if a.task != "regression":
        with open(a.design + ".levels.txt") as f:
            levels = [line.rstrip("\n") for line in f]
    pred = pt.load_prediction_file(a.task, pred_out, levels)
    y = yt if a.task == "regression" else yt.astype(np.int64)
    rec["metrics"] = pt.score_all(a.task, y, pred)
    rec["n_test"] = int(len(yt))
    if not a.pred_out:
        os.unlink(pred_out)
    return rec


# ---- subcommand: ours ------------------------------------------------------------------

def bench_predict(a, threads):
    """bench_predict's median seconds of the bare prediction call, or None."""
    bench = os.path.join(os.path.dirname(os.path.abspath(a.automl)), "bench", "bench_predict")
    if not (a.model_out and os.path.exists(bench) and os.path.exists(a.model_out)):
        return None
    _, p = pt.timed_run([bench, a.model_out, a.test, str(threads), "3"])
    m = re.search(r"predict_s=([0-9.]+)", p.stdout) if p.returncode == 0 else None
    return float(m.group(1)) if m else None


def check_design(a, rec):
    """Compares our model's feature names with Design's (same names, same count)."""
    _, p = pt.timed_run([a.automl, "inspect", a.model_out, "--json"])
    if p.returncode != 0:
        rec["design_check"] = "inspect failed: " + p.stderr.strip()[-200:]
        return
    ours = pt.parse_json_output(p.stdout).get("features", [])
    mine = Design().names
    only_ours = sorted(set(ours) - set(mine))
    only_mine = sorted(set(mine) - set(ours))
    rec["design_match"] = len(ours) == len(mine) and not only_ours and not only_mine
    if not rec["design_match"]:
        rec["design_check"] = "ours %d features, peers %d; only ours: %s; only peers: %s" % (
            len(ours), len(mine), only_ours[:5], only_mine[:5])


def run_ours(a):
    # `automl predict` runs a learner's predict with single-threaded BLAS (k-NN shares query
    # blocks among its own threads) and `automl fit` sets BLAS to --threads itself, but
    # bench_predict calls predict bare, so OpenBLAS would take OPENBLAS_NUM_THREADS threads
    # inside each of k-NN's: give it what `automl predict` gives it.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    a.max_bin = 0
    rec = pt.run_ours(a)  # fit, predict, bench_predict at a.threads, evaluate, metrics_py
    rec["side"] = "ours_" + a.part
    rec["learner"] = a.learner
    rec["params"] = " ".join(a.param)
    phases = rec.get("phases") or {}
    if "refit" in phases:
        rec["train_s"] = phases["refit"]  # single fit: the refit is the fit (featurizer too)
    if not rec.get("ok", True):
        return rec
    if a.part == "knn" and rec.get("n_train") and rec.get("n_test") and rec.get("n_features"):
        # The distance step's cross term is one n_test x n_train x p product: 2 n m p flops.
        rec["distance_gflop"] = 2.0 * rec["n_train"] * rec["n_test"] * rec["n_features"] / 1e9
        if rec.get("predict_s"):
            rec["gflops"] = rec["distance_gflop"] / rec["predict_s"]
        if a.knn_one_thread:
            s = bench_predict(a, 1)
            if s:
                rec["predict_s_1t"] = s
                rec["gflops_1t"] = rec["distance_gflop"] / s
    if a.check_design and a.model_out:
        check_design(a, rec)
    return rec


# ---- subcommand: gemm (the peak probe) --------------------------------------------------

GEMM_CODE = r"""
import json, sys, time
import numpy as np
n, repeats = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
a, b = rng.standard_normal((n, n)), rng.standard_normal((n, n))
c = np.empty((n, n))
np.matmul(a, b, out=c)
best = []
for _ in range(repeats):
    t = time.perf_counter()
    np.matmul(a, b, out=c)
    best.append(time.perf_counter() - t)
info = {}
try:
    import threadpoolctl
    for lib in threadpoolctl.threadpool_info():
        if lib.get("user_api") == "blas":
            info = {k: lib.get(k) for k in ("internal_api", "version", "architecture",
                                            "filepath", "num_threads")}
except ImportError:
    pass
print(json.dumps({"seconds": sorted(best), "blas": info}))
"""


def run_gemm(a):
    out = []
    coretypes = [None] + a.coretypes.split()
    for threads in [int(t) for t in a.threads.split()]:
        for core in coretypes:
            env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads),
                       OMP_NUM_THREADS=str(threads))
            if core:
                env["OPENBLAS_CORETYPE"] = core
            rec = {"kind": "gemm", "threads": threads, "n": a.size,
                   "coretype": core or os.environ.get("OPENBLAS_CORETYPE", "(as configured)")}
            p = subprocess.run([sys.executable, "-c", GEMM_CODE, str(a.size), str(a.repeats)],
                               env=env, capture_output=True, text=True)
            if p.returncode != 0:  # a core type this CPU cannot run (SIGILL) ends here
                rec.update(ok=False, error=(p.stderr or "exit %d" % p.returncode)[-200:])
            else:
                r = json.loads(p.stdout.strip().splitlines()[-1])
                rec.update(ok=True, blas=r["blas"],
                           gflops=2.0 * a.size ** 3 / r["seconds"][0] / 1e9,
                           gflops_median=2.0 * a.size ** 3 / r["seconds"][len(r["seconds"]) // 2]
                           / 1e9)
                rec["as_configured"] = core is None
            out.append(rec)
    return out


# ---- subcommand: report ------------------------------------------------------------------

def cell(x, digits=3):
    return pt.fmt(x, digits)


def gemm_peaks(records):
    """threads -> ((GFLOP/s, core) as configured, (GFLOP/s, core) best over core types), each
    the best over every probe in the records (the harness probes at its start and its end)."""
    peaks = {}
    for r in records:
        if r.get("kind") != "gemm" or not r.get("ok"):
            continue
        conf, best = peaks.get(r["threads"], (None, None))
        if r.get("as_configured") and (conf is None or r["gflops"] > conf[0]):
            conf = (r["gflops"], (r.get("blas") or {}).get("architecture"))
        if best is None or r["gflops"] > best[0]:
            best = (r["gflops"], (r.get("blas") or {}).get("architecture"))
        peaks[r["threads"]] = (conf, best)
    return peaks


def report_gemm(records):
    rs = [r for r in records if r.get("kind") == "gemm"]
    if not rs:
        return
    print("\n### dgemm peak probe (numpy matmul, square n x n, best of the repeats; the harness"
          " probes at its start and end)\n")
    print("| threads | OPENBLAS_CORETYPE | OpenBLAS core | n | GFLOP/s best | GFLOP/s median |"
          " library |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rs:
        blas = r.get("blas") or {}
        if r.get("ok"):
            print("| %d | %s | %s | %d | %.1f | %.1f | %s %s |" % (
                r["threads"], r["coretype"], blas.get("architecture"), r["n"], r["gflops"],
                r["gflops_median"], blas.get("internal_api"), blas.get("version")))
        else:
            print("| %d | %s | failed | %d | – | – | %s |" % (
                r["threads"], r["coretype"], r["n"], r.get("error", "").replace("\n", " ")))


def ratio_cell(runs, d, a, b, key):
    ratio, n = runs.pair_ratio(d, a, b, key)
    return cell(ratio, 2), n


def report_part(runs, records, part):
    _, peer, key, title = PARTS[part]
    ours = "ours_" + part
    datasets = [d for d in runs.datasets() if runs.of(d, ours) or runs.of(d, peer)
                or skipped(records, d, ours)]
    if not datasets:
        return
    knn = part == "knn"
    what = "predict" if knn else "train"
    cmd = "predict_e2e_s" if knn else "command_s"
    print("\n### %s\n" % title)
    head = ["dataset", "rows train / test", "features", "pairs", "ours %s s" % what,
            "%s %s s" % (peer, what), "**ratio %s**" % what,
            "ours %s s" % ("predict cmd" if knn else "cmd"),
            "%s %s s" % (peer, "predict e2e" if knn else "cmd"), "ratio", "metric", "ours",
            peer, "ours − %s (± SE)" % peer]
    if knn:
        head += ["ours GFLOP/s (N thr / 1 thr)", "of GEMM peak (N / 1)"]
    elif part == "glmnet":
        head += ["glmnet lambdas", "ours params"]
    else:
        head += ["%s iter (converged)" % peer, "ours params"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    peaks = gemm_peaks(records)
    for d in datasets:
        task = runs.task(d)
        metric = pt.main_metric(task) if task else "–"
        note = skipped(records, d, ours)
        ratio, n = ratio_cell(runs, d, ours, peer, key)
        rc, _ = ratio_cell(runs, d, ours, peer, cmd)
        nf = runs.med(d, ours, "n_features") or runs.med(d, peer, "n_features")
        row = [d, runs.n_rows(d), "%d" % nf if nf else "–", str(n),
               note or cell(runs.med(d, ours, key)), cell(runs.med(d, peer, key)), ratio,
               cell(runs.med(d, ours, cmd)), cell(runs.med(d, peer, cmd)), rc,
               metric, runs.metric(d, ours, metric), runs.metric(d, peer, metric),
               runs.noise(d, ours, peer)]
        if knn:
            g, g1 = runs.med(d, ours, "gflops"), runs.med(d, ours, "gflops_1t")
            threads = runs.med(d, ours, "threads")
            row.append("%s / %s" % (cell(g, 1), cell(g1, 1)))
            row.append("%s / %s" % (peak_fraction(g, peaks.get(threads)),
                                    peak_fraction(g1, peaks.get(1))))
        else:
            its = [r.get("n_lambda" if part == "glmnet" else "n_iter") for r in runs.of(d, peer)]
            conv = all(r.get("converged", True) for r in runs.of(d, peer))
            its = [i for i in its if i is not None]
            row.append("%s%s" % (pt.median(its) if its else "–",
                                 "" if part == "glmnet" else " (yes)" if conv else " (NO)"))
            prm = [r.get("params") for r in runs.of(d, ours) if r.get("params")]
            row.append("`%s`" % prm[0] if prm else "–")
        print("| " + " | ".join(row) + " |")
    if part == "glmnet":
        report_glmnet_details(runs, datasets)


def peak_fraction(gflops, peak):
    """"a% (b%)": of the as-configured OpenBLAS peak (b: of the best core type's peak)."""
    if not gflops or not peak or not peak[0]:
        return "–"
    conf, best = peak
    text = "%.0f%%" % (100.0 * gflops / conf[0])
    if best and best[0] > conf[0] * 1.05:
        text += " (%.0f%% of %s)" % (100.0 * gflops / best[0], best[1])
    return text


def report_glmnet_details(runs, datasets):
    print("\nglmnet's path: lambdas fitted, the last lambda, the deviance explained there; our"
          " fit at that lambda (parameters above):\n")
    print("| dataset | family | lambdas | lambda min | dev ratio | nonzero at the end |")
    print("| --- | --- | --- | --- | --- | --- |")
    for d in datasets:
        rs = runs.of(d, "glmnet", ("warmup", "pair", "single"))
        if not rs:
            continue
        r = rs[-1]
        print("| %s | %s | %s | %.4g | %s | %s |" % (
            d, r.get("family"), r.get("n_lambda"), r.get("lambda_min", float("nan")),
            cell(r.get("dev_ratio"), 4), r.get("nonzero")))


def report_featurize(runs):
    """Our constant learner's refit: featurizing without scaling, the floor of ours' train_s."""
    rows = [(d, runs.med(d, "ours_featurize", "train_s")) for d in runs.datasets()]
    rows = [(d, v) for d, v in rows if v is not None]
    if not rows:
        return
    print("\nOurs' featurizer inside train s (the refit phase of `automl fit --learner constant`:"
          " impute + one-hot, no scaling, a trivial fit):\n")
    print("| dataset | " + " | ".join(d for d, _ in rows) + " |")
    print("|" + " --- |" * (len(rows) + 1))
    print("| featurize s | " + " | ".join(cell(v) for _, v in rows) + " |")


def skipped(records, dataset, side):
    for r in records:
        if r.get("kind") == "skipped" and r.get("dataset") == dataset and r.get("side") == side:
            return "skipped"
    return ""


def run_report(a):
    records = pt.read_records(a.files)
    runs = pt.Runs(records)
    report_gemm(records)
    for part in PARTS:
        report_part(runs, records, part)
    report_featurize(runs)
    bad = [r for r in records if r.get("design_match") is False or
           (r.get("design_check") and r.get("design_match") is not True)]
    if bad:
        print("\nDesign check (ours' features against the peers' design):\n")
        for r in bad:
            print("- %s: %s" % (r.get("dataset"), r.get("design_check")))
    else:
        checked = sorted({r["dataset"] for r in records if r.get("design_match")})
        if checked:
            print("\nDesign check: ours' feature names equal the peers' design on %s."
                  % ", ".join(checked))
    skips = [r for r in records if r.get("kind") == "skipped"]
    if skips:
        print("\nSkipped (ours lacks the learner or the choice):\n")
        for r in skips:
            print("- %s %s: %s" % (r.get("dataset"), r.get("side"), r.get("reason", "?")))
    failed = [r for r in records if not r.get("ok", True) and r.get("kind") not in
              ("skipped", "gemm")]
    if failed:
        print("\nFailed runs:\n")
        for r in failed:
            print("- %s %s %s: %s" % (r.get("dataset"), r.get("side"), r.get("kind"),
                                      r.get("error", "?")))


# ---- command line ------------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("design")
    pt.add_common(p)
    p.add_argument("--out", required=True)
    p.add_argument("--l1-ratio", type=float, default=0.5)
    p.add_argument("--alpha-frac", type=float, default=0.01)
    p = sub.add_parser("fit")
    p.add_argument("--learner", required=True, choices=PEERS)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--l1-ratio", type=float, default=0.5)
    p.add_argument("--C", type=float, default=1.0)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--max-iter", type=int, default=1000)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--precompute", action="store_true", help="ElasticNet/Lasso Gram matrix")
    pt.add_common(p)
    p = sub.add_parser("glmnet")
    p.add_argument("--design", required=True)
    p.add_argument("--l1-ratio", type=float, default=0.5)
    p.add_argument("--nlambda", type=int, default=100)
    p.add_argument("--thresh", type=float, default=1e-7)
    pt.add_common(p)
    p = sub.add_parser("ours")
    p.add_argument("--automl", required=True)
    p.add_argument("--learner", required=True)
    p.add_argument("--part", required=True, choices=sorted(PARTS) + ["featurize"])
    p.add_argument("--param", action="append", default=[])
    p.add_argument("--knn-one-thread", action="store_true")
    p.add_argument("--check-design", action="store_true")
    pt.add_common(p)
    p = sub.add_parser("gemm")
    p.add_argument("--threads", default="1")
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--coretypes", default="SkylakeX Haswell",
                   help="OPENBLAS_CORETYPE values tried besides the configured one")
    p = sub.add_parser("report")
    p.add_argument("files", nargs="+")
    return ap.parse_args(argv)


def main(argv):
    a = parse_args(argv)
    if a.cmd == "report":
        run_report(a)
        return 0
    if a.cmd == "gemm":
        for rec in run_gemm(a):
            print(json.dumps(rec, sort_keys=True))
        return 0
    rec = {"design": run_design, "fit": run_peer, "glmnet": run_glmnet,
           "ours": run_ours}[a.cmd](a)
    print(json.dumps(rec, sort_keys=True))
    return 0 if rec.get("ok", True) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
