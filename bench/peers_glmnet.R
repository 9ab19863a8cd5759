#!/usr/bin/Rscript
# peers_glmnet.R — one glmnet path on a design written by `peers_linear.py design`, timed, as
# one JSON line on stdout. Driven by `peers_linear.py glmnet` (which scores the predictions).
#
# Usage: Rscript bench/peers_glmnet.R --design PREFIX --task binary|multiclass|regression
#            [--l1-ratio 0.5] [--nlambda 100] [--thresh 1e-7] [--t0 EPOCH] --pred-out PATH
#
# The design is our featurizer's output (every column standardised with the train mean and
# population sd), so glmnet gets standardize = FALSE; intercept = TRUE; alpha = l1-ratio;
# family gaussian (regression), binomial (binary) or multinomial (type.multinomial "ungrouped",
# the default); every other setting at glmnet's default (lambda.min.ratio 1e-4 when rows >
# features, else 0.01; maxit 1e5). glmnet may end the path early (deviance ratio above 0.999
# or its change below 1e-5), so the path's last lambda is read from the fit.
#
# Our parameters for that lambda (printed as "ours_params"), so both fit the same objective:
#  - binomial / multinomial: glmnet minimises -loglik/n + lambda ((1-a)/2 ||B||^2 + a ||B||_1),
#    ours C sum(loss) + (1-r)/2 ||W||^2 + r ||W||_1: C = 1 / (n lambda), r = a (penalty l1
#    when a = 1, elasticnet otherwise).
#  - gaussian: glmnet scales y by its population sd s before solving and reports lambda on
#    the original scale, so its solution minimises
#        1/(2n) ||y - b0 - X b||^2 + lambda a ||b||_1 + lambda (1 - a) / (2 s) ||b||^2,
#    i.e. ours (sklearn's ElasticNet) with l1 = lambda a, l2 = lambda (1 - a) / s:
#    alpha = l1 + l2, l1_ratio = l1 / alpha (the same as glmnet's when a = 1 or s = 1).
#
# Timings: read_s (readBin of the design), train_s (the glmnet() call: the whole path),
# predict_s (predictions at the last lambda), command_s (from --t0 to the fitted path; R's
# start and the library load included, but no CSV reading or encoding: the design is given).

t_start <- as.numeric(Sys.time())
suppressPackageStartupMessages(library(glmnet))

parse_args <- function(argv) {
    opt <- list(l1_ratio = "0.5", nlambda = "100", thresh = "1e-7", t0 = "0")
    for (i in seq(1, length(argv), by = 2)) {
        if (i == length(argv)) stop("option ", argv[i], " needs a value")
        opt[[gsub("-", "_", sub("^--", "", argv[i]))]] <- argv[i + 1]
    }
    for (k in c("design", "task", "pred_out"))
        if (is.null(opt[[k]])) stop("missing --", gsub("_", "-", k))
    opt
}

read_f64 <- function(path) readBin(path, "double", n = file.size(path) / 8, endian = "little")

read_matrix <- function(path, n) {
    v <- read_f64(path)
    matrix(v, nrow = n, ncol = length(v) / n)
}

json_line <- function(x) {
    fmt <- function(v) {
        if (is.character(v)) return(sprintf("\"%s\"", gsub("\"", "\\\\\"", v)))
        if (is.logical(v)) return(if (v) "true" else "false")
        if (is.na(v) || !is.finite(v)) return("null")
        sprintf("%.17g", v)
    }
    paste0("{", paste(sprintf("\"%s\": %s", names(x), vapply(x, fmt, "")), collapse = ", "),
           "}")
}

main <- function() {
    opt <- parse_args(commandArgs(trailingOnly = TRUE))
    a <- as.numeric(opt$l1_ratio)
    t0 <- as.numeric(opt$t0)
    if (t0 == 0) t0 <- t_start

    t <- proc.time()[["elapsed"]]
    y <- read_f64(paste0(opt$design, ".y_train.f64"))
    x <- read_matrix(paste0(opt$design, ".x_train.f64"), length(y))
    xt <- read_matrix(paste0(opt$design, ".x_test.f64"),
                      file.size(paste0(opt$design, ".y_test.f64")) / 8)
    levels <- readLines(paste0(opt$design, ".levels.txt"))
    read_s <- proc.time()[["elapsed"]] - t

    family <- switch(opt$task, regression = "gaussian", binary = "binomial",
                     multiclass = "multinomial")
    yfit <- if (family == "gaussian") y else factor(y, levels = seq_along(levels) - 1)
    t <- proc.time()[["elapsed"]]
    fit <- glmnet(x, yfit, family = family, alpha = a, nlambda = as.integer(opt$nlambda),
                  standardize = FALSE, intercept = TRUE, thresh = as.numeric(opt$thresh))
    train_s <- proc.time()[["elapsed"]] - t
    command_s <- as.numeric(Sys.time()) - t0

    n_lambda <- length(fit$lambda)
    lmin <- fit$lambda[n_lambda]
    t <- proc.time()[["elapsed"]]
    if (family == "gaussian") {
        pred <- predict(fit, newx = xt)[, n_lambda]
        out <- data.frame(prediction = pred)
    } else {
        p <- predict(fit, newx = xt, type = "response")
        p <- if (family == "binomial") cbind(1 - p[, n_lambda], p[, n_lambda]) else
            p[, , n_lambda]
        out <- data.frame(prediction = levels[max.col(p, ties.method = "first")])
        for (k in seq_along(levels)) out[[paste0("proba_", levels[k])]] <- p[, k]
    }
    predict_s <- proc.time()[["elapsed"]] - t
    data.table::fwrite(out, opt$pred_out)

    n <- length(y)
    if (family == "gaussian") {
        s <- sqrt(mean((y - mean(y))^2))
        l1 <- lmin * a
        l2 <- lmin * (1 - a) / s
        ours <- sprintf("alpha=%.17g l1_ratio=%.17g", l1 + l2, if (l1 + l2 > 0) l1 / (l1 + l2)
                        else 0)
    } else {
        penalty <- if (a == 1) "l1" else if (a == 0) "l2" else "elasticnet"
        ours <- sprintf("C=%.17g penalty=%s", 1 / (n * lmin), penalty)
        if (penalty == "elasticnet") ours <- paste0(ours, sprintf(" l1_ratio=%.17g", a))
    }
    nonzero <- if (family == "multinomial") sum(vapply(fit$beta, function(b)
        sum(b[, n_lambda] != 0), 0)) else sum(fit$beta[, n_lambda] != 0)
    cat(json_line(list(
        family = family, params = sprintf("alpha=%.17g nlambda=%s thresh=%s standardize=FALSE",
                                          a, opt$nlambda, opt$thresh),
        n_lambda = n_lambda, lambda_max = fit$lambda[1], lambda_min = lmin,
        dev_ratio = fit$dev.ratio[n_lambda], nonzero = nonzero, ours_params = ours,
        n_train = n, n_features = ncol(x), read_s = read_s, train_s = train_s,
        command_s = command_s, predict_s = predict_s, predict_rows_per_s = nrow(xt) / predict_s,
        glmnet = as.character(packageVersion("glmnet")), glmnet_threads = 1,
        r = paste(R.version$major, R.version$minor, sep = "."))), "\n")
}

main()
