/* cmd_fit.c — `automl fit`: options to session settings, fit, save, leaderboard. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define LEADERBOARD_ROWS 20

static const cli_option fit_options[] = {
    {"target", true},   {"task", true},       {"metric", true},   {"time-budget", true},
    {"max-trials", true}, {"exit-score", true}, {"patience", true}, {"learners", true},
    {"exclude-learners", true}, {"cv", true}, {"holdout", true},  {"seed", true},
    {"threads", true},  {"o", true},          {"output", true},   {"json", false},
    {"learner", true},  {"param", true},      {"verbose", false}, {"max-bin", true},
    {"column-types", true}, {"drop", true}, {"scaling", true},
    {NULL, false},
};

/* The first Ctrl-C asks the search to stop and keep the best model so far (it is still refitted
 * and saved); the handler is then reset, so a second Ctrl-C ends the process at once. */
static automl_session *volatile interrupted_session;

static void on_interrupt(int sig)
{
    (void)sig;
    if (interrupted_session)
        automl_session_cancel(interrupted_session);
}

static void catch_interrupt(automl_session *s)
{
    interrupted_session = s;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_interrupt;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* Session keys are the flag names with underscores. */
static automl_status apply_options(automl_session *s, const cli_args *a)
{
    for (int i = 0; i < a->n_opt; i++) {
        const char *name = a->opt_name[i];
        if (!strcmp(name, "o") || !strcmp(name, "output") || !strcmp(name, "json") ||
            !strcmp(name, "verbose"))
            continue;
        automl_status st;
        if (!strcmp(name, "param")) {
            st = automl_session_add_param(s, a->opt_value[i]);
        } else {
            char key[64];
            snprintf(key, sizeof(key), "%s", name);
            for (char *p = key; *p; p++)
                if (*p == '-')
                    *p = '_';
            st = automl_session_set(s, key, a->opt_value[i]);
        }
        if (st != AUTOML_OK)
            return st;
    }
    return AUTOML_OK;
}

/* The data report: one line per check. */
void cli_print_guardrails(FILE *out, const automl_model *m)
{
    int32_t n = automl_model_n_guardrails(m);
    if (n == 0)
        return;
    fprintf(out, "data guardrails:\n");
    for (int32_t i = 0; i < n; i++) {
        const char *check, *state, *detail;
        automl_model_guardrail(m, i, &check, &state, &detail);
        fprintf(out, "  %-20s %-8s %s\n", check, state, detail);
    }
}

static void print_leaderboard(FILE *out, const automl_model *m)
{
    int32_t n = automl_model_n_trials(m);
    if (n == 0) {
        fprintf(out, "no validation was run (estimator mode without --cv or --holdout)\n");
        return;
    }
    fprintf(out, "%4s  %-12s  %-44s  %12s  %8s\n", "rank", "learner", "parameters",
            automl_model_metric(m), "seconds");
    for (int32_t r = 1; r <= n && r <= LEADERBOARD_ROWS; r++) {
        automl_trial_info t;
        automl_model_trial(m, r, &t);
        char score[32];
        if (isnan(t.score))
            snprintf(score, sizeof(score), "%s", t.status);
        else
            snprintf(score, sizeof(score), "%.6g", t.score);
        fprintf(out, "%4d  %-12s  %-44.44s  %12s  %8.3f\n", t.rank, t.learner, t.params, score,
                t.seconds);
    }
    if (n > LEADERBOARD_ROWS)
        fprintf(out, "... %d more trials (automl inspect MODEL shows all)\n",
                n - LEADERBOARD_ROWS);
}

static void print_summary(FILE *out, const automl_model *m, const char *path)
{
    char score[32] = "not validated";
    if (!isnan(automl_model_best_score(m)))
        snprintf(score, sizeof(score), "%.6g", automl_model_best_score(m));
    fprintf(out, "best: %s (%s), validation %s %s; stopped by %s\nmodel written to %s\n",
            automl_model_learner(m), automl_model_params(m), automl_model_metric(m), score,
            automl_model_exit_reason(m), path);
}

int cmd_fit(int argc, char **argv)
{
    cli_args a;
    if (!cli_parse("fit", argc, argv, fit_options, 1, &a))
        return EXIT_USAGE;
    if (a.n_pos != 1)
        return cli_usage_error("fit", "fit needs one TRAIN.csv file");
    if (!cli_opt(&a, "target"))
        return cli_usage_error("fit", "fit needs --target COLUMN");
    const char *output = cli_opt(&a, "o") ? cli_opt(&a, "o") : cli_opt(&a, "output");
    if (!output)
        output = "model.automl";
    bool json = cli_flag(&a, "json"), verbose = cli_flag(&a, "verbose");

    automl_session *s = NULL;
    if (automl_session_new(&s) != AUTOML_OK) {
        fprintf(stderr, "automl: error: out of memory\n");
        return EXIT_FAILURE_OTHER;
    }
    automl_session_set_log(s, cli_log, &verbose);
    catch_interrupt(s);
    automl_model *m = NULL;
    automl_status st = apply_options(s, &a);
    if (st == AUTOML_OK)
        st = automl_fit_csv(s, a.pos[0], &m);
    if (st == AUTOML_OK)
        st = automl_model_save(s, m, output);
    int code = st == AUTOML_OK ? EXIT_OK : cli_fail(s, st);
    if (st == AUTOML_OK) {
        FILE *human = json ? stderr : stdout;
        cli_print_guardrails(human, m);
        print_leaderboard(human, m);
        print_summary(human, m, output);
        char *text = NULL;
        if (json && automl_model_summary_json(m, &text) == AUTOML_OK)
            printf("%s\n", text);
        automl_free(text);
    }
    signal(SIGINT, SIG_DFL);
    interrupted_session = NULL;
    automl_model_free(m);
    automl_session_free(s);
    return code;
}
