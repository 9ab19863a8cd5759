/* cmd_use.c — the commands that use a saved model: predict, evaluate, inspect. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Opens a session with the command's --threads (when it has one) and loads the model; returns
 * an exit code (EXIT_OK on success). */
static int open_model(const char *path, const cli_args *a, automl_session **s, automl_model **m)
{
    *m = NULL;
    if (automl_session_new(s) != AUTOML_OK) {
        fprintf(stderr, "automl: error: out of memory\n");
        return EXIT_FAILURE_OTHER;
    }
    automl_session_set_log(*s, cli_log, NULL);
    automl_status st = AUTOML_OK;
    if (cli_opt(a, "threads"))
        st = automl_session_set(*s, "threads", cli_opt(a, "threads"));
    if (st == AUTOML_OK)
        st = automl_model_load(*s, path, m);
    return st == AUTOML_OK ? EXIT_OK : cli_fail(*s, st);
}

static const cli_option predict_options[] = {
    {"o", true}, {"output", true}, {"proba", false}, {"threads", true}, {NULL, false},
};

int cmd_predict(int argc, char **argv)
{
    cli_args a;
    if (!cli_parse("predict", argc, argv, predict_options, 2, &a))
        return EXIT_USAGE;
    if (a.n_pos != 2)
        return cli_usage_error("predict", "predict needs MODEL and DATA.csv");
    const char *output = cli_opt(&a, "o") ? cli_opt(&a, "o") : cli_opt(&a, "output");
    automl_session *s;
    automl_model *m;
    int code = open_model(a.pos[0], &a, &s, &m);
    if (code == EXIT_OK) {
        automl_status st = automl_predict_csv(s, m, a.pos[1], output ? output : "-",
                                              cli_flag(&a, "proba") ? AUTOML_PREDICT_PROBA : 0);
        if (st != AUTOML_OK)
            code = cli_fail(s, st);
    }
    automl_model_free(m);
    automl_session_free(s);
    return code;
}

static const cli_option json_options[] = {{"json", false}, {NULL, false}};
static const cli_option evaluate_options[] = {{"json", false}, {"threads", true}, {NULL, false}};

/* Prints {"auc":0.91,...} as "auc        0.91" lines. */
static void print_metrics_text(const char *json)
{
    const char *p = json;
    while ((p = strchr(p, '"')) != NULL) {
        const char *end = strchr(p + 1, '"');
        if (!end)
            break;
        const char *value = end + 2;
        const char *stop = value + strcspn(value, ",}");
        printf("%-10.*s %.*s\n", (int)(end - p - 1), p + 1, (int)(stop - value), value);
        p = stop;
    }
}

int cmd_evaluate(int argc, char **argv)
{
    cli_args a;
    if (!cli_parse("evaluate", argc, argv, evaluate_options, 2, &a))
        return EXIT_USAGE;
    if (a.n_pos != 2)
        return cli_usage_error("evaluate", "evaluate needs MODEL and DATA.csv");
    automl_session *s;
    automl_model *m;
    int code = open_model(a.pos[0], &a, &s, &m);
    if (code == EXIT_OK) {
        char *json = NULL;
        automl_status st = automl_evaluate_csv(s, m, a.pos[1], &json);
        if (st != AUTOML_OK)
            code = cli_fail(s, st);
        else if (cli_flag(&a, "json"))
            printf("%s\n", json);
        else
            print_metrics_text(json);
        automl_free(json);
    }
    automl_model_free(m);
    automl_session_free(s);
    return code;
}

/* The ten features with the most split gain, for tree models. */
static void print_importance(const automl_model *m)
{
    int64_t p = automl_model_n_features(m);
    double *gain = calloc((size_t)p + 1, sizeof(double));
    double *splits = calloc((size_t)p + 1, sizeof(double));
    if (gain && splits && automl_model_importance(m, gain, splits) == AUTOML_OK) {
        double total = 0;
        for (int64_t j = 0; j < p; j++)
            total += gain[j];
        printf("importance  (share of split gain, splits)\n");
        for (int shown = 0; shown < 10; shown++) {
            int64_t best = -1;
            for (int64_t j = 0; j < p; j++)
                if (gain[j] >= 0 && (best < 0 || gain[j] > gain[best]))
                    best = j;
            if (best < 0 || gain[best] <= 0)
                break;
            printf("  %-30s %6.1f%% %8.0f\n", automl_model_feature_name(m, best),
                   total > 0 ? 100.0 * gain[best] / total : 0.0, splits[best]);
            gain[best] = -1; /* shown */
        }
    }
    free(gain);
    free(splits);
}

/* Prints up to n_top of the p coefficients, largest magnitude first, with their sign; zeros
 * (features a lasso dropped) are left out. */
static void print_top_coefficients(const automl_model *m, const double *coef, int64_t p,
                                   int n_top, const char *indent)
{
    bool *shown = calloc((size_t)p + 1, sizeof(bool));
    if (!shown)
        return;
    for (int k = 0; k < n_top; k++) {
        int64_t best = -1;
        for (int64_t j = 0; j < p; j++)
            if (!shown[j] && (best < 0 || fabs(coef[j]) > fabs(coef[best])))
                best = j;
        if (best < 0 || coef[best] == 0)
            break;
        printf("%s%-30s %+12.6g\n", indent, automl_model_feature_name(m, best), coef[best]);
        shown[best] = true;
    }
    free(shown);
}

/* Linear models: the ten largest coefficients (three per class for multinomial models). They
 * apply to standardised features, so their sizes compare. */
static void print_coefficients(const automl_model *m)
{
    int32_t k = 0;
    if (automl_model_coefficients(m, &k, NULL, NULL) != AUTOML_OK || k < 1)
        return;
    int64_t p = automl_model_n_features(m);
    double *coef = calloc((size_t)p * (size_t)k + 1, sizeof(double));
    double *intercept = calloc((size_t)k, sizeof(double));
    if (coef && intercept && automl_model_coefficients(m, &k, coef, intercept) == AUTOML_OK) {
        int64_t nonzero = 0;
        for (int64_t j = 0; j < p * k; j++)
            nonzero += coef[j] != 0;
        printf("coefficients  (standardised features; %lld of %lld nonzero; largest first)\n",
               (long long)nonzero, (long long)(p * k));
        if (k == 1) {
            print_top_coefficients(m, coef, p, 10, "  ");
            printf("  %-30s %+12.6g\n", "(intercept)", intercept[0]);
        }
        for (int32_t c = 0; k > 1 && c < k; c++) {
            const char *label = automl_model_class_label(m, c);
            printf("  class %s  (intercept %+.6g)\n", label ? label : "?", intercept[c]);
            print_top_coefficients(m, coef + (int64_t)c * p, p, 3, "    ");
        }
    }
    free(coef);
    free(intercept);
}

static void print_model_text(const automl_model *m)
{
    printf("task        %s\ntarget      %s\n", automl_model_task(m), automl_model_target(m));
    if (automl_model_class_label(m, 0)) {
        printf("classes    ");
        for (int32_t k = 0; automl_model_class_label(m, k); k++)
            printf(" %s", automl_model_class_label(m, k));
        printf("\n");
    }
    printf("learner     %s\nparameters  %s\nmetric      %s\n", automl_model_learner(m),
           automl_model_params(m), automl_model_metric(m));
    if (!isnan(automl_model_best_score(m)))
        printf("validation  %.6g\n", automl_model_best_score(m));
    printf("stopped by  %s after %d trials\n", automl_model_exit_reason(m),
           automl_model_n_trials(m));
    printf("inputs      %d columns:", automl_model_n_inputs(m));
    for (int32_t i = 0; i < automl_model_n_inputs(m); i++)
        printf(" %s (%s)%s", automl_model_input_name(m, i), automl_model_input_type(m, i),
               i + 1 < automl_model_n_inputs(m) ? "," : "");
    printf("\nfeatures    %lld after featurization\n", (long long)automl_model_n_features(m));
    cli_print_guardrails(stdout, m);
    print_importance(m);
    print_coefficients(m);
    for (int32_t r = 1; r <= automl_model_n_trials(m) && r <= 10; r++) {
        automl_trial_info t;
        automl_model_trial(m, r, &t);
        printf("  #%-3d %-10s %-40s %.6g\n", t.rank, t.learner, t.params, t.score);
    }
}

int cmd_inspect(int argc, char **argv)
{
    cli_args a;
    if (!cli_parse("inspect", argc, argv, json_options, 1, &a))
        return EXIT_USAGE;
    if (a.n_pos != 1)
        return cli_usage_error("inspect", "inspect needs MODEL");
    automl_session *s;
    automl_model *m;
    int code = open_model(a.pos[0], &a, &s, &m);
    if (code == EXIT_OK && cli_flag(&a, "json")) {
        char *json = NULL;
        if (automl_model_inspect_json(m, &json) == AUTOML_OK)
            printf("%s\n", json);
        else
            code = EXIT_FAILURE_OTHER;
        automl_free(json);
    } else if (code == EXIT_OK) {
        print_model_text(m);
    }
    automl_model_free(m);
    automl_session_free(s);
    return code;
}
