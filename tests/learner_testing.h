/* learner_testing.h — what the learner test suites share: parameters from "key=value" items,
 * fit arguments for a dense matrix, a fit that must succeed, and Gaussian noise. Header-only
 * (static inline), for tests/test_*.c built against automl_learners and check. */
#ifndef AM_LEARNER_TESTING_H
#define AM_LEARNER_TESTING_H

#include <check.h>
#include <math.h>
#include <string.h>

#include "../learners/internal.h"

/* t's defaults with items ("key=value") parsed onto them; the parse must succeed. */
static inline am_params lt_params(const am_learner_type *t, const char *const *items, int32_t n)
{
    am_params p;
    am_diag d;
    am_diag_clear(&d);
    am_params_defaults(t->params, &p);
    ck_assert_msg(am_params_parse(t->params, items, n, &p, &d) == AM_OK, "%s", d.message);
    return p;
}

/* Fit arguments for the rows of a dense matrix: seed 1, one thread, no stop, no log. */
static inline am_fit_args lt_dense_args(const am_matrix *x, const double *y, const double *w,
                                        am_task task, int32_t n_classes, const am_params *p)
{
    am_fit_args a;
    memset(&a, 0, sizeof(a));
    a.x = x;
    a.y = y;
    a.weight = w;
    a.task = task;
    a.n_classes = n_classes;
    a.params = p;
    a.seed = 1;
    a.n_threads = 1;
    return a;
}

/* Fit arguments for every row of shared binned data (tree learners): seed 7, one thread. */
static inline am_fit_args lt_binned_args(const am_binned *b, const double *y, const double *w,
                                         am_task task, int32_t n_classes, const am_params *p)
{
    am_fit_args a;
    memset(&a, 0, sizeof(a));
    a.binned = b;
    a.n_rows = b->n_rows;
    a.y = y;
    a.weight = w;
    a.task = task;
    a.n_classes = n_classes;
    a.params = p;
    a.seed = 7;
    a.n_threads = 1;
    return a;
}

/* Fits through am_learner_fit; the fit must succeed. */
static inline am_model *lt_fit_ok(const am_learner_type *t, const am_fit_args *a)
{
    am_model *m = NULL;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_learner_fit(t, a, &m, &d);
    ck_assert_msg(st == AM_OK, "%s fit: %s: %s", t->name, am_status_name(st), d.message);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* A standard normal draw (Box-Muller). */
static inline double lt_gauss(am_rng *r)
{
    double u = am_rng_uniform(r), v = am_rng_uniform(r);
    return sqrt(-2 * log(1 - u)) * cos(6.283185307179586 * v);
}

#endif
