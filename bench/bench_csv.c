/* bench_csv.c — times am_csv_read on one file.
 *
 * Usage: bench_csv FILE [REPEATS]
 * Reads FILE REPEATS times (default 1) and prints one line per read, then a summary line:
 *   read_s=<median seconds per read> min_s=<fastest> rows=<n> cols=<n> num=<numeric columns>
 *   cat=<categorical> text=<text> time=<datetime>
 * The script bench/csv_vs_pandas.sh parses the summary line. */
#include <stdio.h>
#include <stdlib.h>

#include "../automl/base/csv.h"

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_csv FILE [REPEATS]\n");
        return 2;
    }
    int repeats = argc == 3 ? atoi(argv[2]) : 1;
    if (repeats < 1 || repeats > 1000) {
        fprintf(stderr, "bench_csv: REPEATS must be in [1, 1000]\n");
        return 2;
    }
    double *seconds = calloc((size_t)repeats, sizeof(double));
    if (!seconds)
        return 1;
    int counts[5] = {0};
    int64_t rows = 0;
    int32_t cols = 0;
    for (int r = 0; r < repeats; r++) {
        am_frame *f = NULL;
        am_diag d;
        am_diag_clear(&d);
        double t0 = am_now();
        am_status st = am_csv_read(argv[1], NULL, &f, &d);
        seconds[r] = am_now() - t0;
        if (st != AM_OK) {
            char buf[1024];
            fprintf(stderr, "bench_csv: %s\n", am_diag_format(&d, buf, sizeof(buf)));
            free(seconds);
            return 1;
        }
        rows = f->n_rows;
        cols = f->n_cols;
        for (int k = 0; k < 5; k++)
            counts[k] = 0;
        for (int32_t j = 0; j < f->n_cols; j++)
            counts[f->cols[j].type]++;
        am_frame_free(f);
        printf("read %d: %.6f s\n", r + 1, seconds[r]);
    }
    qsort(seconds, (size_t)repeats, sizeof(double), compare_doubles);
    double median = repeats % 2 ? seconds[repeats / 2]
                                : 0.5 * (seconds[repeats / 2 - 1] + seconds[repeats / 2]);
    printf("read_s=%.6f min_s=%.6f rows=%lld cols=%d num=%d cat=%d text=%d time=%d\n", median,
           seconds[0], (long long)rows, cols, counts[AM_COL_NUM], counts[AM_COL_CAT],
           counts[AM_COL_TEXT], counts[AM_COL_TIME]);
    free(seconds);
    return 0;
}
