#!/usr/bin/Rscript
# peers_ranger.R — one ranger run on a train/test split, timed, as one JSON line on stdout.
# Driven by bench/trees_vs_peers.sh (the forest side); the counterpart of peers_trees.py fit.
#
# Usage: Rscript bench/peers_ranger.R --dataset NAME --train CSV --test CSV --target COL
#            --task binary|multiclass|regression --threads N [--trees 100] [--seed S]
#            [--kind K] [--pair I] [--t0 EPOCH] [--model-out PATH] [--pred-out PATH]
#            [--fit-only]
#
# The forest: ranger(num.trees = 100, num.threads = N, probability = TRUE for classification),
# every other setting at ranger's default: mtry = floor(sqrt(features)), min.node.size = 10 for
# probability forests and 5 for regression, bootstrap with replacement, splitrule gini/variance,
# respect.unordered.factors = "ignore" (a factor is split as an ordered variable on its levels'
# sorted order).
#
# ranger 0.14 takes no missing values, so the data are made complete the way peers_trees.py
# does for scikit-learn's forests: a text column becomes a factor whose levels are the train
# set's sorted values (C-locale order) plus "(missing)" last, which missing and unseen values
# take; a numeric column's missing values become the train median.
#
# Timings: read_s (data.table::fread of the train file), prep_s, train_s (the ranger() call
# alone), save_s (saveRDS, uncompressed), command_s (from --t0 to the saved model), predict_s
# (the predict() call alone), predict_e2e_s (read the test CSV, encode, predict, write the
# predictions). Metrics as automl defines them (search/metrics.c): AUC from average ranks,
# log loss with probabilities clipped to [1e-15, 1 - 1e-15] and rows renormalised, accuracy of
# the argmax, RMSE, R^2.

t_start <- as.numeric(Sys.time())
suppressPackageStartupMessages({
    library(data.table)
    library(ranger)
})

missing_level <- "(missing)"

parse_args <- function(argv) {
    opt <- list(trees = "100", seed = "0", kind = "single", pair = "0", t0 = "0",
                fit_only = FALSE)
    i <- 1
    while (i <= length(argv)) {
        key <- gsub("-", "_", sub("^--", "", argv[i]))
        if (key == "fit_only") {
            opt$fit_only <- TRUE
            i <- i + 1
        } else {
            if (i == length(argv)) stop("option ", argv[i], " needs a value")
            opt[[key]] <- argv[i + 1]
            i <- i + 2
        }
    }
    for (k in c("dataset", "train", "test", "target", "task", "threads"))
        if (is.null(opt[[k]])) stop("missing --", k)
    opt
}

# Sorted levels in code-point order, as Python's sorted() gives.
sorted_levels <- function(v) sort(unique(v[!is.na(v)]), method = "radix")

read_split <- function(path, threads) {
    # Empty fields are the datasets' only missing marker; read them as NA in every column.
    fread(path, na.strings = "", data.table = FALSE, showProgress = FALSE,
          nThread = threads, check.names = FALSE)
}

learn_encoding <- function(x) {
    enc <- list(levels = list(), medians = list())
    for (col in names(x)) {
        v <- x[[col]]
        if (is.character(v)) {
            enc$levels[[col]] <- c(sorted_levels(as.character(v)), missing_level)
        } else if (anyNA(v)) {
            enc$medians[[col]] <- median(v, na.rm = TRUE)
        }
    }
    enc
}

apply_encoding <- function(x, enc) {
    for (col in names(enc$levels)) {
        v <- as.character(x[[col]])
        lv <- enc$levels[[col]]
        v[is.na(v) | !(v %in% lv)] <- missing_level
        x[[col]] <- factor(v, levels = lv)
    }
    for (col in names(enc$medians)) {
        v <- x[[col]]
        v[is.na(v)] <- enc$medians[[col]]
        x[[col]] <- v
    }
    x
}

metric_auc <- function(y, score) {
    n_pos <- sum(y == 1)
    n_neg <- length(y) - n_pos
    if (n_pos == 0 || n_neg == 0) return(NaN)
    r <- rank(score, ties.method = "average")
    (sum(r[y == 1]) - 0.5 * n_pos * (n_pos + 1)) / (as.numeric(n_pos) * n_neg)
}

metric_log_loss <- function(y, p) {
    p <- pmin(pmax(p, 1e-15), 1 - 1e-15)
    p_true <- p[cbind(seq_along(y), y + 1)] / rowSums(p)
    -mean(log(p_true))
}

score_all <- function(task, y, pred) {
    if (task == "regression") {
        sse <- sum((pred - y)^2)
        sst <- sum((y - mean(y))^2)
        r2 <- if (sst == 0) (if (sse == 0) 1 else 0) else 1 - sse / sst
        return(list(rmse = sqrt(mean((pred - y)^2)), r2 = r2))
    }
    out <- list(log_loss = metric_log_loss(y, pred),
                accuracy = mean(max.col(pred, ties.method = "first") - 1 == y))
    if (task == "binary") out$auc <- metric_auc(y, pred[, 2])
    out
}

# This process's peak resident set size so far (VmHWM), in kB: what /usr/bin/time -v reports.
peak_rss_kb <- function() {
    line <- grep("^VmHWM:", readLines("/proc/self/status"), value = TRUE)
    as.numeric(strsplit(trimws(sub("VmHWM:", "", line)), " +")[[1]][1])
}

json_value <- function(v) {
    if (is.list(v)) {
        keys <- names(v)
        return(paste0("{", paste0("\"", keys, "\": ", vapply(v, json_value, ""),
                                  collapse = ", "), "}"))
    }
    if (is.logical(v)) return(if (v) "true" else "false")
    if (is.character(v)) return(paste0("\"", gsub("\"", "\\\\\"", v), "\""))
    if (is.na(v) || !is.finite(v)) return("null")
    if (v == round(v) && abs(v) < 1e15) return(format(v, scientific = FALSE))
    trimws(formatC(v, digits = 17, format = "g"))
}

write_predictions <- function(path, task, levels, pred) {
    if (task == "regression") {
        out <- data.frame(prediction = pred)
    } else {
        out <- as.data.frame(pred)
        names(out) <- paste0("proba_", levels)
        out <- cbind(data.frame(prediction = levels[max.col(pred, ties.method = "first")]), out)
    }
    fwrite(out, path, nThread = 1L)
}

main <- function() {
    opt <- parse_args(commandArgs(trailingOnly = TRUE))
    threads <- as.integer(opt$threads)
    t0 <- as.numeric(opt$t0)
    if (t0 == 0) t0 <- t_start
    task <- opt$task
    classify <- task != "regression"
    rec <- list(dataset = opt$dataset, task = task, side = "ranger", kind = opt$kind,
                pair = as.integer(opt$pair), threads = threads, seed = as.integer(opt$seed),
                ok = TRUE)

    t <- as.numeric(Sys.time())
    train <- read_split(opt$train, threads)
    rec$read_s <- as.numeric(Sys.time()) - t

    t <- as.numeric(Sys.time())
    features <- setdiff(names(train), opt$target)
    enc <- learn_encoding(train[features])
    x <- apply_encoding(train[features], enc)
    levels <- character(0)
    if (classify) {
        levels <- sorted_levels(as.character(train[[opt$target]]))
        x[[".y"]] <- factor(as.character(train[[opt$target]]), levels = levels)
    } else {
        x[[".y"]] <- as.numeric(train[[opt$target]])
    }
    rm(train)
    rec$prep_s <- as.numeric(Sys.time()) - t

    t <- as.numeric(Sys.time())
    forest <- ranger(dependent.variable.name = ".y", data = x, num.trees = as.integer(opt$trees),
                     num.threads = threads, probability = classify, seed = as.integer(opt$seed),
                     verbose = FALSE)
    rec$train_s <- as.numeric(Sys.time()) - t
    if (!is.null(opt$model_out)) {
        t <- as.numeric(Sys.time())
        saveRDS(forest, opt$model_out, compress = FALSE)
        rec$save_s <- as.numeric(Sys.time()) - t
    }
    rec$command_s <- as.numeric(Sys.time()) - t0
    rec$fit_peak_kb <- peak_rss_kb()
    rec$n_train <- nrow(x)
    rec$n_features <- length(features)
    rec$versions <- list(ranger = as.character(packageVersion("ranger")),
                         R = paste(R.version$major, R.version$minor, sep = "."))
    rm(x)
    if (!opt$fit_only) {
        t_e2e <- as.numeric(Sys.time())
        test <- read_split(opt$test, threads)
        xt <- apply_encoding(test[features], enc)
        t <- as.numeric(Sys.time())
        pred <- predict(forest, data = xt, num.threads = threads)$predictions
        rec$predict_s <- as.numeric(Sys.time()) - t
        if (classify) pred <- pred[, levels, drop = FALSE]
        if (!is.null(opt$pred_out)) write_predictions(opt$pred_out, task, levels, pred)
        rec$predict_e2e_s <- as.numeric(Sys.time()) - t_e2e
        rec$n_test <- nrow(xt)
        rec$predict_rows_per_s <- nrow(xt) / rec$predict_s
        rec$predict_e2e_rows_per_s <- nrow(xt) / rec$predict_e2e_s
        y <- test[[opt$target]]
        if (classify) {
            y <- match(as.character(y), levels) - 1
            if (anyNA(y)) stop("the test set holds a class the train set lacks")
        }
        rec$metrics <- score_all(task, y, pred)
    }
    cat(json_value(rec), "\n", sep = "")
}

main()
