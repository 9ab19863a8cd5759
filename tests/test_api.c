/* test_api.c — the public C API as a host program uses it: only automl.h. */
#define _GNU_SOURCE
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../automl/automl.h"

#define DATA AM_SOURCE_DIR "/datasets/"

static char tmpdir[64];

static void setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/automl_api_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static automl_session *session_for(const char *target, const char *max_trials)
{
    automl_session *s = NULL;
    ck_assert_int_eq(automl_session_new(&s), AUTOML_OK);
    ck_assert_int_eq(automl_session_set(s, "target", target), AUTOML_OK);
    ck_assert_int_eq(automl_session_set(s, "max_trials", max_trials), AUTOML_OK);
    ck_assert_int_eq(automl_session_set(s, "threads", "1"), AUTOML_OK);
    return s;
}

START_TEST(version_and_names)
{
    ck_assert_uint_eq(automl_version(), (AUTOML_VERSION_MAJOR << 16) |
                                            (AUTOML_VERSION_MINOR << 8) | AUTOML_VERSION_PATCH);
    ck_assert_str_eq(automl_status_name(AUTOML_ERR_DATA), "AUTOML_ERR_DATA");
    ck_assert_str_eq(automl_status_name((automl_status)99), "AUTOML_ERR_UNKNOWN");
    automl_session_free(NULL);
    automl_model_free(NULL);
    automl_free(NULL);
    ck_assert(automl_learner_count() >= 3);
    bool has_ridge = false;
    for (int32_t i = 0; i < automl_learner_count(); i++)
        has_ridge |= strcmp(automl_learner_name(i), "ridge") == 0;
    ck_assert(has_ridge);
    ck_assert_ptr_null(automl_learner_name(-1));
}
END_TEST

START_TEST(session_options_are_checked)
{
    automl_session *s = NULL;
    ck_assert_int_eq(automl_session_new(&s), AUTOML_OK);
    ck_assert_int_eq(automl_session_set(s, "time_budgte", "5"), AUTOML_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(automl_session_errmsg(s), "did you mean \"time_budget\""));
    ck_assert_int_eq(automl_session_set(s, "threads", "0"), AUTOML_ERR_CONFIG);
    ck_assert_int_eq(automl_session_set(s, "cv", "2.5"), AUTOML_ERR_CONFIG);
    ck_assert_int_eq(automl_session_set(s, "task", "ranking"), AUTOML_ERR_CONFIG);
    ck_assert_int_eq(automl_session_set(s, "metric", "precision"), AUTOML_ERR_CONFIG);
    ck_assert_int_eq(automl_session_set(s, "holdout", "1.5"), AUTOML_ERR_CONFIG);
    ck_assert_int_eq(automl_session_set(s, "holdout", "0.25"), AUTOML_OK);
    ck_assert_int_eq(automl_session_set(s, "max_bin", "1"), AUTOML_ERR_CONFIG);
    ck_assert_int_eq(automl_session_set(s, "max_bin", "256"), AUTOML_ERR_CONFIG);
    ck_assert_int_eq(automl_session_set(s, "max_bin", "63"), AUTOML_OK);
    automl_model *m = NULL;
    ck_assert_int_eq(automl_fit_csv(s, DATA "concrete_train.csv", &m), AUTOML_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(automl_session_errmsg(s), "target"));
    ck_assert_ptr_null(m);
    automl_session_free(s);
}
END_TEST

/* Fit → predict in memory → save → load → predict again: identical bits. */
START_TEST(save_load_predict_identical)
{
    automl_session *s = session_for("species", "6");
    automl_model *m = NULL;
    ck_assert_msg(automl_fit_csv(s, DATA "penguins_train.csv", &m) == AUTOML_OK, "%s",
                  automl_session_errmsg(s));
    ck_assert_str_eq(automl_model_task(m), "multiclass");
    ck_assert_int_eq(automl_model_n_outputs(m), 3);
    ck_assert_str_eq(automl_model_class_label(m, 0), "Adelie");
    ck_assert_ptr_null(automl_model_class_label(m, 3));
    ck_assert_int_eq(automl_model_n_trials(m), 6);
    automl_trial_info best;
    ck_assert_int_eq(automl_model_trial(m, 1, &best), AUTOML_OK);
    ck_assert_double_eq(best.score, automl_model_best_score(m));
    ck_assert_int_eq(automl_model_trial(m, 7, &best), AUTOML_ERR_ARG);

    int64_t n = 0;
    ck_assert_int_eq(automl_predict_csv_values(s, m, DATA "penguins_test.csv", NULL, 0, &n),
                     AUTOML_ERR_ARG);
    ck_assert_int_eq(n, 86);
    double *a = calloc((size_t)n * 3, sizeof(double)), *b = calloc((size_t)n * 3, sizeof(double));
    ck_assert_int_eq(automl_predict_csv_values(s, m, DATA "penguins_test.csv", a, n * 3, &n),
                     AUTOML_OK);
    for (int64_t i = 0; i < n; i++)
        ck_assert_double_eq_tol(a[3 * i] + a[3 * i + 1] + a[3 * i + 2], 1.0, 1e-12);

    char path[128];
    snprintf(path, sizeof(path), "%s/p.automl", tmpdir);
    ck_assert_int_eq(automl_model_save(s, m, path), AUTOML_OK);
    automl_model *loaded = NULL;
    ck_assert_int_eq(automl_model_load(s, path, &loaded), AUTOML_OK);
    ck_assert_int_eq(automl_predict_csv_values(s, loaded, DATA "penguins_test.csv", b, n * 3, &n),
                     AUTOML_OK);
    ck_assert_msg(memcmp(a, b, sizeof(double) * (size_t)n * 3) == 0,
                  "predictions differ after save and load");
    ck_assert_str_eq(automl_model_params(loaded), automl_model_params(m));
    ck_assert_int_eq(automl_model_n_trials(loaded), 6);

    char *json = NULL;
    ck_assert_int_eq(automl_evaluate_csv(s, loaded, DATA "penguins_test.csv", &json), AUTOML_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"accuracy\":"));
    double acc = atof(strstr(json, "\"accuracy\":") + 11);
    ck_assert_msg(acc > 0.9, "penguins test accuracy %g", acc);
    automl_free(json);
    ck_assert_int_eq(automl_model_inspect_json(loaded, &json), AUTOML_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"classes\":[\"Adelie\",\"Chinstrap\",\"Gentoo\"]"));
    automl_free(json);

    free(a);
    free(b);
    automl_model_free(loaded);
    automl_model_free(m);
    automl_session_free(s);
}
END_TEST

START_TEST(cancel_before_fit_stops_quickly)
{
    /* A budget so small that at most the first batch runs: either a model or a clear
     * AUTOML_ERR_CANCELLED, never a hang or a crash. */
    automl_session *s = session_for("Status", "0");
    ck_assert_int_eq(automl_session_set(s, "time_budget", "0.01"), AUTOML_OK);
    automl_model *m = NULL;
    automl_status st = automl_fit_csv(s, DATA "credit_data_train.csv", &m);
    ck_assert_msg(st == AUTOML_OK || st == AUTOML_ERR_CANCELLED, "%s: %s",
                  automl_status_name(st), automl_session_errmsg(s));
    if (st == AUTOML_OK)
        ck_assert_str_eq(automl_model_exit_reason(m), "time_budget");
    else
        ck_assert_ptr_nonnull(strstr(automl_session_errmsg(s), "budget"));
    automl_model_free(m);
    automl_session_free(s);
}
END_TEST

START_TEST(errors_leave_nothing_behind)
{
    automl_session *s = session_for("Status", "2");
    automl_model *m = NULL;
    ck_assert_int_eq(automl_fit_csv(s, DATA "credit_data_train.csv", &m), AUTOML_OK);
    char path[160];
    snprintf(path, sizeof(path), "%s/no/such/dir/m.automl", tmpdir);
    ck_assert_int_eq(automl_model_save(s, m, path), AUTOML_ERR_IO);
    ck_assert_ptr_nonnull(strstr(automl_session_errmsg(s), "no/such/dir"));
    snprintf(path, sizeof(path), "%s/pred.csv", tmpdir);
    ck_assert_int_eq(automl_predict_csv(s, m, "/nonexistent.csv", path, 0), AUTOML_ERR_IO);
    ck_assert_int_eq(access(path, F_OK), -1);
    automl_model_free(m);
    automl_session_free(s);
}
END_TEST

/* ---- coefficients of linear models --------------------------------------------------------- */

/* Three numeric columns a, b, c and a target y = 2 + 1.5 a - 0.7 b + 0.2 c + noise; the raw
 * values go to `raw` (n x 3, row-major) when it is not NULL. */
static void write_linear_csv(const char *path, int n, int first, double *raw, double *y)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "a,b,c,y\n");
    for (int r = 0; r < n; r++) {
        int i = first + r;
        double v[3] = {(double)(i % 7) + 0.1 * i, 3.0 * cos((double)i), (double)((i * i) % 11)};
        double t = 2.0 + 1.5 * v[0] - 0.7 * v[1] + 0.2 * v[2] + 0.3 * sin(3.0 * i);
        fprintf(f, "%.17g,%.17g,%.17g,%.17g\n", v[0], v[1], v[2], t);
        for (int j = 0; raw && j < 3; j++)
            raw[3 * r + j] = v[j];
        if (y)
            y[r] = t;
    }
    fclose(f);
}

/* A ridge model exposes one column of coefficients on the standardised features: applied by
 * hand to test rows standardised with the training rows' mean and population sd (what the
 * featurizer documents), they reproduce the model's predictions; with centred features the
 * intercept is the mean of y. A gbdt model has none. */
START_TEST(linear_coefficients)
{
    enum { N = 60, T = 8 };
    char train[128], test[128];
    snprintf(train, sizeof(train), "%s/lin_train.csv", tmpdir);
    snprintf(test, sizeof(test), "%s/lin_test.csv", tmpdir);
    double xtr[3 * N], ytr[N], xte[3 * T];
    write_linear_csv(train, N, 0, xtr, ytr);
    write_linear_csv(test, T, 1000, xte, NULL);

    automl_session *s = session_for("y", "0");
    ck_assert_int_eq(automl_session_set(s, "learner", "ridge"), AUTOML_OK);
    ck_assert_int_eq(automl_session_add_param(s, "alpha=0.3"), AUTOML_OK);
    automl_model *m = NULL;
    ck_assert_msg(automl_fit_csv(s, train, &m) == AUTOML_OK, "%s", automl_session_errmsg(s));
    ck_assert_int_eq(automl_model_n_features(m), 3);

    int32_t k = -1;
    ck_assert_int_eq(automl_model_coefficients(m, &k, NULL, NULL), AUTOML_OK);
    ck_assert_int_eq(k, 1);
    double coef[3], b;
    ck_assert_int_eq(automl_model_coefficients(m, &k, coef, &b), AUTOML_OK);
    ck_assert_int_eq(k, 1);

    double mean[3] = {0}, sd[3] = {0}, ymean = 0;
    for (int i = 0; i < N; i++) {
        ymean += ytr[i] / N;
        for (int j = 0; j < 3; j++)
            mean[j] += xtr[3 * i + j] / N;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < 3; j++)
            sd[j] += (xtr[3 * i + j] - mean[j]) * (xtr[3 * i + j] - mean[j]) / N;
    ck_assert_double_eq_tol(b, ymean, 1e-10 * fabs(ymean));
    /* The planted slopes, times each column's sd, shrunk a little by alpha. */
    ck_assert(fabs(coef[0] / sqrt(sd[0]) - 1.5) < 0.05);
    ck_assert(fabs(coef[1] / sqrt(sd[1]) + 0.7) < 0.05);

    double pred[T];
    int64_t n = 0;
    ck_assert_int_eq(automl_predict_csv_values(s, m, test, pred, T, &n), AUTOML_OK);
    ck_assert_int_eq(n, T);
    for (int i = 0; i < T; i++) {
        double want = b;
        for (int j = 0; j < 3; j++)
            want += coef[j] * (xte[3 * i + j] - mean[j]) / sqrt(sd[j]);
        ck_assert_msg(fabs(pred[i] - want) <= 1e-9 * (1 + fabs(want)),
                      "row %d: prediction %.17g, coefficients give %.17g", i, pred[i], want);
    }

    char *json = NULL;
    ck_assert_int_eq(automl_model_inspect_json(m, &json), AUTOML_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"coefficients\":[{\"feature\":\"a\",\"value\":"));
    ck_assert_ptr_nonnull(strstr(json, "{\"feature\":\"c\",\"value\":"));
    ck_assert_ptr_nonnull(strstr(json, "],\"intercept\":"));
    automl_free(json);

    ck_assert_int_eq(automl_model_coefficients(NULL, &k, coef, &b), AUTOML_ERR_ARG);
    ck_assert_int_eq(k, 0);
    ck_assert_int_eq(automl_model_coefficients(m, NULL, coef, &b), AUTOML_ERR_ARG);
    automl_model_free(m);
    automl_session_free(s);

    s = session_for("y", "0");
    ck_assert_int_eq(automl_session_set(s, "learner", "gbdt"), AUTOML_OK);
    ck_assert_int_eq(automl_session_add_param(s, "n_estimators=5"), AUTOML_OK);
    m = NULL;
    ck_assert_msg(automl_fit_csv(s, train, &m) == AUTOML_OK, "%s", automl_session_errmsg(s));
    k = -1;
    ck_assert_int_eq(automl_model_coefficients(m, &k, coef, &b), AUTOML_ERR_ARG);
    ck_assert_int_eq(k, 0);
    ck_assert_int_eq(automl_model_inspect_json(m, &json), AUTOML_OK);
    ck_assert_ptr_null(strstr(json, "\"coefficients\""));
    automl_free(json);
    automl_model_free(m);
    automl_session_free(s);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, version_and_names);
    tcase_add_test(tc, session_options_are_checked);
    tcase_add_test(tc, save_load_predict_identical);
    tcase_add_test(tc, cancel_before_fit_stops_quickly);
    tcase_add_test(tc, errors_leave_nothing_behind);
    tcase_add_test(tc, linear_coefficients);
    suite_add_tcase(suite, tc);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
