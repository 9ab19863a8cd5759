/* bench_predict.c — times a model's bare prediction call, apart from reading the CSV, featurizing
 * and writing: the counterpart of a peer's predict() call in bench/trees_vs_peers.sh.
 *
 * Usage: bench_predict MODEL DATA.csv [THREADS] [REPEATS]
 * Loads MODEL, reads and featurizes DATA.csv once, then predicts all its rows REPEATS times
 * (default 5) with THREADS threads (default 1) and prints one summary line:
 *   rows=<n> threads=<t> predict_s=<median seconds per call> min_s=<fastest>
 *   rows_per_s=<rows / median> load_s=<model load> read_s=<CSV read> featurize_s=<...> */
#include <stdio.h>
#include <stdlib.h>

#include "../automl/api_internal.h"

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 5) {
        fprintf(stderr, "usage: bench_predict MODEL DATA.csv [THREADS] [REPEATS]\n");
        return 2;
    }
    int threads = argc > 3 ? atoi(argv[3]) : 1, repeats = argc > 4 ? atoi(argv[4]) : 5;
    if (threads < 1 || threads > 1024 || repeats < 1 || repeats > 1000) {
        fprintf(stderr, "bench_predict: THREADS in [1, 1024], REPEATS in [1, 1000]\n");
        return 2;
    }
    automl_session *s;
    automl_model *m = NULL;
    if (automl_session_new(&s) != AUTOML_OK)
        return 1;
    double t0 = am_now();
    if (automl_model_load(s, argv[1], &m) != AUTOML_OK) {
        fprintf(stderr, "bench_predict: %s\n", automl_session_errmsg(s));
        return 1;
    }
    double t1 = am_now();
    am_diag d = {0};
    am_frame *f = NULL;
    am_matrix x;
    if (am_api_read_for_model(m, argv[2], NULL, &f, &d) != AM_OK) {
        fprintf(stderr, "bench_predict: %s\n", d.message);
        return 1;
    }
    double t2 = am_now();
    if (am_featurizer_transform(m->featurizer, f, NULL, f->n_rows, &x, &d) != AM_OK) {
        fprintf(stderr, "bench_predict: %s\n", d.message);
        return 1;
    }
    double t3 = am_now();
    double *pred = malloc((size_t)(x.n_rows + 1) * (size_t)m->model->n_outputs * sizeof(double));
    double *seconds = calloc((size_t)repeats, sizeof(double));
    if (!pred || !seconds)
        return 1;
    am_blas_set_threads(1); /* as `automl predict` does (see api_predict.c) */
    for (int r = 0; r < repeats; r++) {
        double a = am_now();
        if (m->learner->predict(m->model, &x, threads, NULL, pred, &d) != AM_OK) {
            fprintf(stderr, "bench_predict: %s\n", d.message);
            return 1;
        }
        seconds[r] = am_now() - a;
    }
    qsort(seconds, (size_t)repeats, sizeof(double), compare_doubles);
    double median = seconds[repeats / 2];
    printf("rows=%lld threads=%d predict_s=%.6f min_s=%.6f rows_per_s=%.0f load_s=%.4f "
           "read_s=%.4f featurize_s=%.4f\n",
           (long long)x.n_rows, threads, median, seconds[0], (double)x.n_rows / median, t1 - t0,
           t2 - t1, t3 - t2);
    free(seconds);
    free(pred);
    am_matrix_fini(&x);
    am_frame_free(f);
    automl_model_free(m);
    automl_session_free(s);
    return 0;
}
