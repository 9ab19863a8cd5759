/* test_params.c — parameter tables: defaults, the cheap start, key=value parsing with its exact
 * messages, validation of loaded values, sampling from search ranges, and text output. */
#include "../automl/base/params.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A table with one entry of every kind: a log-scale real, a log-scale and a linear integer, an
 * untuned bool and a tuned enum. */
enum { P_ALPHA, P_MAX_ITER, P_FIT_INTERCEPT, P_PENALTY, P_MAX_DEPTH, P_COUNT };

static const char *const penalties[] = {"l2", "none", NULL};

static const am_param_desc descs[P_COUNT] = {
    {"alpha", AM_P_REAL, 1.0, 0, 1e10, 1e-4, 1e3, 1e-2, NULL, AM_PF_TUNE | AM_PF_LOG,
     "regularisation strength"},
    {"max_iter", AM_P_INT, 100, 1, 10000, 10, 1000, 20, NULL, AM_PF_TUNE | AM_PF_LOG,
     "solver iterations"},
    {"fit_intercept", AM_P_BOOL, 1, 0, 1, 0, 1, 1, NULL, 0, "fit a bias term"},
    {"penalty", AM_P_ENUM, 0, 0, 0, 0, 0, 0, penalties, AM_PF_TUNE, "regularisation kind"},
    {"max_depth", AM_P_INT, 6, 1, 64, 3, 10, 3, NULL, AM_PF_TUNE, "tree depth"},
};

static const am_param_table ridge = {"ridge", descs, P_COUNT};
static const am_param_table logreg = {"logreg", descs, P_COUNT};

/* ---- defaults, cheap, find ------------------------------------------------------------------ */

START_TEST(defaults_and_cheap)
{
    am_params p;
    memset(&p, 0xAB, sizeof(p));
    am_params_defaults(&ridge, &p);
    ck_assert(p.v[P_ALPHA] == 1.0);
    ck_assert(p.v[P_MAX_ITER] == 100);
    ck_assert(p.v[P_FIT_INTERCEPT] == 1);
    ck_assert(p.v[P_PENALTY] == 0);
    ck_assert(p.v[P_MAX_DEPTH] == 6);
    ck_assert(p.v[P_COUNT] == 0); /* unused slots are cleared, so saved params are stable */
    ck_assert_int_eq(am_params_check(&ridge, &p, NULL), AM_OK);

    am_params_cheap(&ridge, &p);
    ck_assert(p.v[P_ALPHA] == 1e-2);
    ck_assert(p.v[P_MAX_ITER] == 20);
    ck_assert(p.v[P_FIT_INTERCEPT] == 1); /* untuned: stays at its default */
    ck_assert(p.v[P_PENALTY] == 0);
    ck_assert(p.v[P_MAX_DEPTH] == 3);
    ck_assert_int_eq(am_params_check(&ridge, &p, NULL), AM_OK);
}
END_TEST

START_TEST(find_keys)
{
    ck_assert_int_eq(am_params_find(&ridge, "alpha"), P_ALPHA);
    ck_assert_int_eq(am_params_find(&ridge, "max_depth"), P_MAX_DEPTH);
    ck_assert_int_eq(am_params_find(&ridge, "alph"), -1);
    ck_assert_int_eq(am_params_find(&ridge, "alphaa"), -1);
    ck_assert_int_eq(am_params_find(&ridge, ""), -1);
    ck_assert_int_eq(am_params_find(&ridge, NULL), -1);
}
END_TEST

/* ---- parsing ------------------------------------------------------------------------------ */

START_TEST(parse_good_values)
{
    am_params p;
    am_params_defaults(&ridge, &p);
    const char *items[] = {"alpha=0.5", " max_iter = 200 ", "fit_intercept=no", "penalty=none",
                           "max_depth=1e1"};
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_params_parse(&ridge, items, 5, &p, &d), AM_OK);
    ck_assert(p.v[P_ALPHA] == 0.5);
    ck_assert(p.v[P_MAX_ITER] == 200);
    ck_assert(p.v[P_FIT_INTERCEPT] == 0);
    ck_assert(p.v[P_PENALTY] == 1);
    ck_assert(p.v[P_MAX_DEPTH] == 10);

    /* Range ends are inclusive; numbers are read exactly. */
    const char *ends[] = {"alpha=0", "max_iter=10000", "max_depth=1"};
    ck_assert_int_eq(am_params_parse(&ridge, ends, 3, &p, &d), AM_OK);
    ck_assert(p.v[P_ALPHA] == 0 && p.v[P_MAX_ITER] == 10000 && p.v[P_MAX_DEPTH] == 1);
    const char *tenth[] = {"alpha=0.1"};
    ck_assert_int_eq(am_params_parse(&ridge, tenth, 1, &p, &d), AM_OK);
    ck_assert(p.v[P_ALPHA] == 0.1);

    /* No items: nothing changes. */
    am_params before = p;
    ck_assert_int_eq(am_params_parse(&ridge, NULL, 0, &p, &d), AM_OK);
    ck_assert(memcmp(&before, &p, sizeof(p)) == 0);
}
END_TEST

START_TEST(parse_bool_spellings)
{
    static const struct {
        const char *text;
        double want;
    } cases[] = {{"true", 1}, {"false", 0}, {"1", 1}, {"0", 0}, {"yes", 1},
                 {"no", 0},   {"TRUE", 1},  {"False", 0}, {"Yes", 1}};
    for (size_t i = 0; i < AM_COUNT(cases); i++) {
        char item[64];
        snprintf(item, sizeof(item), "fit_intercept=%s", cases[i].text);
        const char *items[] = {item};
        am_params p;
        am_params_defaults(&ridge, &p);
        p.v[P_FIT_INTERCEPT] = 0.5;
        ck_assert_int_eq(am_params_parse(&ridge, items, 1, &p, NULL), AM_OK);
        ck_assert_msg(p.v[P_FIT_INTERCEPT] == cases[i].want, "%s", item);
    }
}
END_TEST

typedef struct {
    const am_param_table *t;
    const char *items[2];
    const char *message;
} bad_case;

static const bad_case bad_cases[] = {
    {&ridge, {"alph=1"}, "ridge: unknown parameter \"alph\"; did you mean \"alpha\"?"},
    {&ridge, {"max_itr=5"}, "ridge: unknown parameter \"max_itr\"; did you mean \"max_iter\"?"},
    {&ridge, {"learning_rate=0.1"},
     "ridge: unknown parameter \"learning_rate\"; did you mean \"max_iter\"? (valid: alpha, "
     "max_iter, fit_intercept, penalty, max_depth)"},
    {&ridge, {"=5"},
     "ridge: unknown parameter \"\"; did you mean \"alpha\"? (valid: alpha, max_iter, "
     "fit_intercept, penalty, max_depth)"},
    {&ridge, {"alpha=1", "alpha=2"}, "ridge: parameter \"alpha\" given twice"},
    {&ridge, {"alpha=1", " alpha =2"}, "ridge: parameter \"alpha\" given twice"},
    {&ridge, {"alpha=-1"}, "ridge.alpha=-1: must be in [0, 1e+10]"},
    {&ridge, {"alpha=2e10"}, "ridge.alpha=2e10: must be in [0, 1e+10]"},
    {&ridge, {"alpha=abc"}, "ridge.alpha=abc: expected a number"},
    {&ridge, {"alpha="}, "ridge.alpha=: expected a number"},
    {&ridge, {"alpha=1,5"}, "ridge.alpha=1,5: expected a number"},
    {&ridge, {"alpha=nan"}, "ridge.alpha=nan: expected a number"},
    {&ridge, {"alpha=inf"}, "ridge.alpha=inf: expected a finite number"},
    {&logreg, {"max_iter=2.5"}, "logreg.max_iter=2.5: expected an integer"},
    {&logreg, {"max_iter=abc"}, "logreg.max_iter=abc: expected an integer"},
    {&logreg, {"max_iter=-inf"}, "logreg.max_iter=-inf: expected an integer"},
    {&logreg, {"max_iter=0"}, "logreg.max_iter=0: must be in [1, 10000]"},
    {&logreg, {"max_iter=1e300"}, "logreg.max_iter=1e300: must be in [1, 10000]"},
    {&logreg, {"max_depth=65"}, "logreg.max_depth=65: must be in [1, 64]"},
    {&logreg, {"penalty=l3"}, "logreg.penalty=l3: must be one of l2, none"},
    {&logreg, {"penalty=L2"}, "logreg.penalty=L2: must be one of l2, none"},
    {&logreg, {"penalty=0"}, "logreg.penalty=0: must be one of l2, none"},
    {&ridge, {"fit_intercept=maybe"}, "ridge.fit_intercept=maybe: expected true or false"},
    {&ridge, {"fit_intercept=2"}, "ridge.fit_intercept=2: expected true or false"},
    {&ridge, {"alpha"}, "ridge: \"alpha\" has no '=value'"},
    {&ridge, {"alpha=0.5", "fit_intercept"}, "ridge: \"fit_intercept\" has no '=value'"},
};

/* Each bad item fails with AM_ERR_CONFIG and exactly this message, and leaves the values the
 * caller had untouched (even when an earlier item in the same call was good). */
START_TEST(parse_bad_items)
{
    const bad_case *c = &bad_cases[_i];
    int32_t n = c->items[1] ? 2 : 1;
    am_params p, before;
    am_params_defaults(c->t, &p);
    before = p;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_params_parse(c->t, c->items, n, &p, &d), AM_ERR_CONFIG);
    ck_assert_int_eq(d.status, AM_ERR_CONFIG);
    ck_assert_str_eq(d.message, c->message);
    ck_assert(memcmp(&p, &before, sizeof(p)) == 0);
}
END_TEST

START_TEST(parse_bad_arguments)
{
    am_params p;
    am_params_defaults(&ridge, &p);
    const char *items[] = {NULL};
    ck_assert_int_eq(am_params_parse(&ridge, items, 1, &p, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_params_parse(&ridge, NULL, 1, &p, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_params_parse(&ridge, items, -1, &p, NULL), AM_ERR_ARG);
    /* A table without parameters rejects any key, saying so. */
    static const am_param_table empty = {"naive", NULL, 0};
    const char *one[] = {"alpha=1"};
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_params_parse(&empty, one, 1, &p, &d), AM_ERR_CONFIG);
    ck_assert_str_eq(d.message, "naive: unknown parameter \"alpha\" (it takes no parameters)");
    /* Very long keys and values are reported without overrunning anything. */
    char item[1200];
    memset(item, 'k', 600);
    item[600] = '=';
    memset(item + 601, '9', 590);
    item[1191] = '\0';
    const char *long_key[] = {item};
    ck_assert_int_eq(am_params_parse(&ridge, long_key, 1, &p, &d), AM_ERR_CONFIG);
    ck_assert(strstr(d.message, "unknown parameter") != NULL);
    snprintf(item, sizeof(item), "alpha=");
    memset(item + 6, '1', 1000);
    item[1006] = '\0';
    const char *long_value[] = {item};
    ck_assert_int_eq(am_params_parse(&ridge, long_value, 1, &p, &d), AM_ERR_CONFIG);
    ck_assert(strstr(d.message, "value too long") != NULL);
}
END_TEST

/* ---- check ------------------------------------------------------------------------------- */

typedef struct {
    int32_t index;
    double value;
    const char *message;
} check_case;

static const check_case check_cases[] = {
    {P_ALPHA, -1, "ridge.alpha=-1: must be in [0, 1e+10]"},
    {P_ALPHA, 2e10, "ridge.alpha=2e+10: must be in [0, 1e+10]"},
    {P_ALPHA, NAN, "ridge.alpha=nan: expected a finite number"},
    {P_ALPHA, INFINITY, "ridge.alpha=inf: expected a finite number"},
    {P_MAX_ITER, 2.5, "ridge.max_iter=2.5: expected an integer"},
    {P_MAX_ITER, 0, "ridge.max_iter=0: must be in [1, 10000]"},
    {P_MAX_ITER, NAN, "ridge.max_iter=nan: expected an integer"},
    {P_FIT_INTERCEPT, 0.5, "ridge.fit_intercept=0.5: expected true or false"},
    {P_PENALTY, 2, "ridge.penalty=2: must be one of l2, none"},
    {P_PENALTY, -1, "ridge.penalty=-1: must be one of l2, none"},
    {P_PENALTY, 0.5, "ridge.penalty=0.5: must be one of l2, none"},
    {P_MAX_DEPTH, 65, "ridge.max_depth=65: must be in [1, 64]"},
};

START_TEST(check_out_of_range)
{
    const check_case *c = &check_cases[_i];
    am_params p;
    am_params_defaults(&ridge, &p);
    p.v[c->index] = c->value;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_params_check(&ridge, &p, &d), AM_ERR_CONFIG);
    ck_assert_str_eq(d.message, c->message);
}
END_TEST

/* ---- sampling ---------------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

START_TEST(sample_ranges_and_shapes)
{
    enum { N = 20000 };
    static double alpha[N], iters[N];
    int64_t depth_count[11] = {0}, penalty_count[2] = {0};
    am_rng r;
    am_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        am_params p;
        am_params_defaults(&ridge, &p);
        p.v[P_FIT_INTERCEPT] = 0; /* untuned: must survive sampling */
        am_params_sample(&ridge, &r, &p);
        ck_assert(p.v[P_FIT_INTERCEPT] == 0);
        ck_assert(p.v[P_ALPHA] >= 1e-4 && p.v[P_ALPHA] <= 1e3);
        ck_assert(p.v[P_MAX_ITER] >= 10 && p.v[P_MAX_ITER] <= 1000);
        ck_assert(p.v[P_MAX_ITER] == floor(p.v[P_MAX_ITER]));
        ck_assert(p.v[P_MAX_DEPTH] >= 3 && p.v[P_MAX_DEPTH] <= 10);
        ck_assert(p.v[P_MAX_DEPTH] == floor(p.v[P_MAX_DEPTH]));
        ck_assert(p.v[P_PENALTY] == 0 || p.v[P_PENALTY] == 1);
        ck_assert_int_eq(am_params_check(&ridge, &p, NULL), AM_OK);
        alpha[i] = p.v[P_ALPHA];
        iters[i] = p.v[P_MAX_ITER];
        depth_count[(int)p.v[P_MAX_DEPTH]]++;
        penalty_count[(int)p.v[P_PENALTY]]++;
    }
    /* Log-uniform: the median sits at the geometric mean of the range (sqrt(1e-4 * 1e3)), and
     * a quarter of the draws fall in each quarter of the log range. A uniform draw would put
     * the median near 500. */
    qsort(alpha, N, sizeof(double), cmp_double);
    double log_span = log(1e3) - log(1e-4);
    ck_assert_msg(fabs(log(alpha[N / 2]) - log(sqrt(1e-4 * 1e3))) < 0.02 * log_span,
                  "median %g", alpha[N / 2]);
    ck_assert(fabs(log(alpha[N / 4]) - (log(1e-4) + 0.25 * log_span)) < 0.02 * log_span);
    qsort(iters, N, sizeof(double), cmp_double);
    ck_assert_msg(iters[N / 2] >= 90 && iters[N / 2] <= 110, "median %g", iters[N / 2]);
    /* Linear integers: every value in [3, 10], ends included, about equally often. */
    for (int v = 3; v <= 10; v++)
        ck_assert_msg(fabs((double)depth_count[v] - N / 8.0) < 0.1 * N / 8.0,
                      "max_depth=%d drawn %lld times", v, (long long)depth_count[v]);
    ck_assert(fabs((double)penalty_count[0] - N / 2.0) < 0.05 * N / 2.0);
}
END_TEST

START_TEST(sample_is_deterministic)
{
    am_rng a, b, c;
    am_rng_seed(&a, 3);
    am_rng_seed(&b, 3);
    am_rng_seed(&c, 4);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        am_params pa, pb, pc;
        am_params_defaults(&ridge, &pa);
        am_params_defaults(&ridge, &pb);
        am_params_defaults(&ridge, &pc);
        am_params_sample(&ridge, &a, &pa);
        am_params_sample(&ridge, &b, &pb);
        am_params_sample(&ridge, &c, &pc);
        ck_assert(memcmp(&pa, &pb, sizeof(pa)) == 0);
        differ += pa.v[P_ALPHA] != pc.v[P_ALPHA];
    }
    ck_assert_int_ge(differ, 99);
}
END_TEST

/* A tuned bool is drawn from {0, 1}; a search range wider than the valid range is cut to it. */
START_TEST(sample_bool_and_clipped_range)
{
    static const am_param_desc d2[] = {
        {"flag", AM_P_BOOL, 0, 0, 1, 0, 1, 0, NULL, AM_PF_TUNE, ""},
        {"k", AM_P_INT, 5, 1, 8, 0, 100, 1, NULL, AM_PF_TUNE, ""},
        {"x", AM_P_REAL, 0.5, 0, 1, -5, 5, 0, NULL, AM_PF_TUNE, ""},
    };
    static const am_param_table t = {"t", d2, 3};
    am_rng r;
    am_rng_seed(&r, 1);
    int ones = 0, saw_k1 = 0, saw_k8 = 0;
    for (int i = 0; i < 2000; i++) {
        am_params p;
        am_params_defaults(&t, &p);
        am_params_sample(&t, &r, &p);
        ck_assert(p.v[0] == 0 || p.v[0] == 1);
        ck_assert(p.v[1] >= 1 && p.v[1] <= 8 && p.v[1] == floor(p.v[1]));
        ck_assert(p.v[2] >= 0 && p.v[2] <= 1);
        ones += p.v[0] == 1;
        saw_k1 += p.v[1] == 1;
        saw_k8 += p.v[1] == 8;
    }
    ck_assert(ones > 800 && ones < 1200);
    ck_assert(saw_k1 > 0 && saw_k8 > 0);
}
END_TEST

/* ---- text ---------------------------------------------------------------------------------- */

/* Sampled reals have four significant digits and their text reads back to the same double,
 * so a trial can be reproduced exactly with --param. */
START_TEST(sampled_reals_are_typeable)
{
    am_rng r;
    am_rng_seed(&r, 11);
    for (int i = 0; i < 2000; i++) {
        am_params p;
        am_params_defaults(&ridge, &p);
        am_params_sample(&ridge, &r, &p);
        char text[64], item[80];
        am_params_value_text(&descs[P_ALPHA], p.v[P_ALPHA], text, sizeof(text));
        int digits = 0;
        for (const char *c = text; *c && *c != 'e'; c++)
            digits += *c >= '0' && *c <= '9';
        /* leading zeros of 0.00123 are not significant */
        for (const char *c = text; *c == '0' || *c == '.'; c++)
            digits -= *c == '0';
        ck_assert_msg(digits <= 4, "alpha=%s has more than 4 significant digits", text);
        am_params back;
        am_params_defaults(&ridge, &back);
        snprintf(item, sizeof(item), "alpha=%s", text);
        const char *items[] = {item};
        ck_assert_int_eq(am_params_parse(&ridge, items, 1, &back, NULL), AM_OK);
        ck_assert(back.v[P_ALPHA] == p.v[P_ALPHA]);
    }
}
END_TEST

START_TEST(format_and_value_text)
{
    am_params p;
    am_params_defaults(&ridge, &p);
    char buf[256];
    am_params_format(&ridge, &p, true, buf, sizeof(buf));
    ck_assert_str_eq(buf, "alpha=1 max_iter=100 fit_intercept=true penalty=l2 max_depth=6");
    p.v[P_ALPHA] = 0.1;
    p.v[P_PENALTY] = 1;
    p.v[P_FIT_INTERCEPT] = 0;
    am_params_format(&ridge, &p, false, buf, sizeof(buf));
    ck_assert_str_eq(buf, "alpha=0.1 max_iter=100 penalty=none max_depth=6");
    am_params_format(&ridge, &p, true, buf, sizeof(buf));
    ck_assert_str_eq(buf, "alpha=0.1 max_iter=100 fit_intercept=false penalty=none max_depth=6");

    /* What format writes, parse reads back to the same values. */
    p.v[P_ALPHA] = 1.0 / 3;
    am_params_format(&ridge, &p, true, buf, sizeof(buf));
    char *items[P_COUNT];
    int32_t n = 0;
    for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " "))
        items[n++] = tok;
    ck_assert_int_eq(n, P_COUNT);
    am_params back;
    am_params_defaults(&ridge, &back);
    ck_assert_int_eq(am_params_parse(&ridge, (const char *const *)items, n, &back, NULL), AM_OK);
    ck_assert(memcmp(&back, &p, sizeof(p)) == 0);

    ck_assert_str_eq(am_params_value_text(&descs[P_ALPHA], 0.1, buf, 32), "0.1");
    ck_assert_str_eq(am_params_value_text(&descs[P_ALPHA], 1e-4, buf, 32), "0.0001");
    ck_assert_str_eq(am_params_value_text(&descs[P_MAX_ITER], 12, buf, 32), "12");
    ck_assert_str_eq(am_params_value_text(&descs[P_MAX_ITER], 1e6, buf, 32), "1000000");
    ck_assert_str_eq(am_params_value_text(&descs[P_FIT_INTERCEPT], 1, buf, 32), "true");
    ck_assert_str_eq(am_params_value_text(&descs[P_FIT_INTERCEPT], 0, buf, 32), "false");
    ck_assert_str_eq(am_params_value_text(&descs[P_PENALTY], 1, buf, 32), "none");
    ck_assert_str_eq(am_params_value_text(&descs[P_PENALTY], 7, buf, 32), "7"); /* bad index */
}
END_TEST

START_TEST(format_truncates_safely)
{
    am_params p;
    am_params_defaults(&ridge, &p);
    char buf[32];
    memset(buf, 'Z', sizeof(buf));
    am_params_format(&ridge, &p, true, buf, 12);
    ck_assert_int_eq(strlen(buf), 11);
    ck_assert(strncmp(buf, "alpha=1 max", 11) == 0);
    ck_assert_int_eq(buf[12], 'Z');
    am_params_format(&ridge, &p, true, buf, 1);
    ck_assert_str_eq(buf, "");
    memset(buf, 'Z', sizeof(buf));
    am_params_value_text(&descs[P_ALPHA], 1.0 / 3, buf, 5);
    ck_assert_str_eq(buf, "0.33");
    ck_assert_int_eq(buf[5], 'Z');
}
END_TEST

static Suite *params_suite(void)
{
    Suite *s = suite_create("params");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, defaults_and_cheap);
    tcase_add_test(tc, find_keys);
    tcase_add_test(tc, parse_good_values);
    tcase_add_test(tc, parse_bool_spellings);
    tcase_add_loop_test(tc, parse_bad_items, 0, (int)AM_COUNT(bad_cases));
    tcase_add_test(tc, parse_bad_arguments);
    tcase_add_loop_test(tc, check_out_of_range, 0, (int)AM_COUNT(check_cases));
    suite_add_tcase(s, tc);

    tc = tcase_create("sample");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sample_ranges_and_shapes);
    tcase_add_test(tc, sample_is_deterministic);
    tcase_add_test(tc, sample_bool_and_clipped_range);
    suite_add_tcase(s, tc);

    tc = tcase_create("text");
    tcase_add_test(tc, sampled_reals_are_typeable);
    tcase_add_test(tc, format_and_value_text);
    tcase_add_test(tc, format_truncates_safely);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(params_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
