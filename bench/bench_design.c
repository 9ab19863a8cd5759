/* bench_design.c — writes the design matrices a linear model or k-NN sees inside `automl fit`,
 * so that bench/linear_vs_peers.sh can hand its peers exactly the same input.
 *
 * Usage: bench_design TRAIN.csv TEST.csv TARGET TASK PREFIX
 * TASK: binary | multiclass | regression. Runs the engine's own steps, as a single fit does:
 * the target (rows with a missing target dropped), the column roles, the featurizer fitted on
 * every training row with standardisation (the training matrix with out-of-fold target
 * statistics), then the test file read with the training schema and transformed. Writes
 *   PREFIX.names.txt     one feature name per line
 *   PREFIX.x_train.f64   the training matrix, column-major float64 (n_train x p)
 *   PREFIX.x_test.f64    the test matrix, likewise
 * and prints "n_train=<n> n_test=<n> n_features=<p>". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../automl/base/csv.h"
#include "../featurize/featurize.h"

static int fail(const char *what, const am_diag *d)
{
    char buf[1200];
    fprintf(stderr, "bench_design: %s: %s\n", what, am_diag_format(d, buf, sizeof(buf)));
    return 1;
}

/* Writes x column by column (its own layout) to path. */
static bool write_matrix(const char *prefix, const char *suffix, const am_matrix *x)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s%s", prefix, suffix);
    FILE *f = fopen(path, "wb");
    if (!f)
        return false;
    bool ok = true;
    for (int64_t j = 0; j < x->n_cols && ok; j++)
        ok = fwrite(x->data + j * x->ld, sizeof(double), (size_t)x->n_rows, f) ==
             (size_t)x->n_rows;
    return fclose(f) == 0 && ok;
}

static bool write_names(const char *prefix, const am_featurizer *fz)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s.names.txt", prefix);
    FILE *f = fopen(path, "w");
    if (!f)
        return false;
    for (int64_t j = 0; j < am_featurizer_n_features(fz); j++)
        fprintf(f, "%s\n", am_featurizer_feature_name(fz, j));
    return fclose(f) == 0;
}

/* The test file, each model input forced to its training type (and date format). */
static am_status read_test(const char *path, const char *target, const am_featurizer *fz,
                           am_frame **out, am_diag *d)
{
    int32_t n = am_featurizer_n_inputs(fz);
    am_csv_force *force = calloc((size_t)n + 1, sizeof(am_csv_force));
    if (!force)
        return AM_ERR_NOMEM;
    for (int32_t i = 0; i < n; i++)
        force[i] = (am_csv_force){.name = am_featurizer_input_name(fz, i),
                                  .type = am_featurizer_input_type(fz, i),
                                  .time_format = am_featurizer_input_time_format(fz, i)};
    am_csv_options o = {.force = force, .n_force = n, .keep_levels = target};
    am_status st = am_csv_read(path, &o, out, d);
    free(force);
    return st;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_design TRAIN.csv TEST.csv TARGET TASK PREFIX\n");
        return 2;
    }
    const char *target = argv[3], *prefix = argv[5];
    am_task task = am_task_parse(argv[4]);
    if (!task) {
        fprintf(stderr, "bench_design: TASK must be binary, multiclass or regression\n");
        return 2;
    }
    am_diag d;
    am_diag_clear(&d);
    am_frame *f = NULL, *g = NULL;
    am_csv_options co = {.keep_levels = target};
    if (am_csv_read(argv[1], &co, &f, &d) != AM_OK)
        return fail("train", &d);
    int32_t tc = am_frame_col_find(f, target), gc;
    if (tc < 0) {
        fprintf(stderr, "bench_design: no column %s\n", target);
        return 1;
    }
    am_target t;
    double *y = NULL, *y_test = NULL;
    int64_t *rows = NULL, *rows_test = NULL, n = 0, n_test = 0;
    am_target_options to = {.task = task};
    if (am_target_fit(f, tc, &to, NULL, &t, &y, &rows, &n, &d) != AM_OK)
        return fail("target", &d);
    am_column_role *roles = calloc((size_t)f->n_cols, sizeof(am_column_role));
    if (!roles || am_roles_infer(f, tc, NULL, 2, roles, &d) != AM_OK)
        return fail("roles", &d);
    am_feat_options fo = {.standardize = true, .n_threads = 2, .roles = roles, .y = y,
                          .task = t.task, .n_classes = t.task == AM_TASK_REGRESSION ? 0
                                                                                 : t.n_classes};
    am_featurizer *fz = NULL;
    am_matrix x, xt;
    if (am_featurizer_fit_transform(f, tc, rows, n, &fo, NULL, &fz, &x, &d) != AM_OK)
        return fail("featurizer", &d);
    if (read_test(argv[2], target, fz, &g, &d) != AM_OK)
        return fail("test", &d);
    if ((gc = am_frame_col_find(g, target)) < 0 ||
        am_target_apply(&t, g, gc, NULL, &y_test, &rows_test, &n_test, &d) != AM_OK)
        return fail("test target", &d);
    if (am_featurizer_transform(fz, g, rows_test, n_test, &xt, &d) != AM_OK)
        return fail("test transform", &d);
    if (!write_names(prefix, fz) || !write_matrix(prefix, ".x_train.f64", &x) ||
        !write_matrix(prefix, ".x_test.f64", &xt)) {
        fprintf(stderr, "bench_design: cannot write %s.*\n", prefix);
        return 1;
    }
    printf("n_train=%lld n_test=%lld n_features=%lld\n", (long long)n, (long long)n_test,
           (long long)x.n_cols);
    am_matrix_fini(&x);
    am_matrix_fini(&xt);
    am_featurizer_free(fz);
    am_target_fini(&t);
    free(roles);
    am_free(y);
    am_free(y_test);
    am_free(rows);
    am_free(rows_test);
    am_frame_free(f);
    am_frame_free(g);
    return 0;
}
