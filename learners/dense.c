/* dense.c — the matrix products of the linear learners with X and a few columns, with sums whose
 * order of additions is fixed: the bits of a result depend neither on the learner's thread
 * count nor on the BLAS library's.
 *
 * Why not dgemv and dgemm: OpenBLAS 0.3.21 splits a transposed tall matrix's rows among its
 * threads and adds the partial sums, so X'v changes in the last bits with the BLAS thread count
 * (checked: 30,000 x 73 and 160,000 x 100 differ, 4,435 x 36 does not); its dgemm does the same
 * for most shapes. With a few columns these products are memory-bound: plain loops that read X
 * once lose nothing to the library. */
#include "internal.h"

enum {
    DENSE_ROWS = 512,       /* rows of X W per block: the block of the result stays in L1 */
    DENSE_XT_ROWS = 512,   /* rows of X'Z per stretch: that stretch of Z stays in L1/L2 */
    DENSE_XT_COLS = 8,      /* columns of X per task of X'Z */
    DENSE_MAX_K = 64,       /* columns of Z accumulated per pass (more: several passes) */
    DENSE_SERIAL = 1 << 16  /* multiply-adds below which a product runs on one thread */
};

double am_dense_dot(const double *u, const double *v, int64_t n)
{
    double s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int k = 0; k < 4; k++)
            s[k] += u[i + k] * v[i + k];
    for (; i < n; i++)
        s[i & 3] += u[i] * v[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Threads for a product of `work` multiply-adds split into `tasks` pieces. */
static int dense_threads(int32_t n_threads, int64_t work, int64_t tasks)
{
    if (work < DENSE_SERIAL)
        return 1;
    return (int)AM_MAX(1, AM_MIN((int64_t)n_threads, tasks));
}

/* Rows [r0, r0 + nb) of Z = X W. The columns of X go four at a time, z += (w0 x0 + w1 x1) +
 * (w2 x2 + w3 x3), so that each pass over the block of Z does four columns' work; the grouping
 * is fixed from column 0 on, so each value's order of additions is too. */
static void x_w_block(const am_matrix *x, const double *w, int64_t ldw, int64_t k, double *z,
                      int64_t ldz, int64_t r0, int64_t nb)
{
    int64_t p = x->n_cols, j = 0;
    for (int64_t c = 0; c < k; c++)
        for (int64_t i = 0; i < nb; i++)
            z[r0 + i + c * ldz] = 0.0;
    for (; j + 4 <= p; j += 4) {
        const double *restrict x0 = x->data + j * x->ld + r0, *restrict x1 = x0 + x->ld,
                               *restrict x2 = x1 + x->ld, *restrict x3 = x2 + x->ld;
        for (int64_t c = 0; c < k; c++) {
            const double *wc = w + j + c * ldw;
            double w0 = wc[0], w1 = wc[1], w2 = wc[2], w3 = wc[3];
            double *restrict zc = z + r0 + c * ldz;
            for (int64_t i = 0; i < nb; i++)
                zc[i] += (w0 * x0[i] + w1 * x1[i]) + (w2 * x2[i] + w3 * x3[i]);
        }
    }
    for (; j < p; j++) {
        const double *restrict xj = x->data + j * x->ld + r0;
        for (int64_t c = 0; c < k; c++) {
            double wj = w[j + c * ldw];
            double *restrict zc = z + r0 + c * ldz;
            for (int64_t i = 0; i < nb; i++)
                zc[i] += wj * xj[i];
        }
    }
}

void am_dense_x_w(const am_matrix *x, const double *w, int64_t ldw, int64_t k, double *z,
                  int64_t ldz, int32_t n_threads)
{
    int64_t n_blocks = (x->n_rows + DENSE_ROWS - 1) / DENSE_ROWS;
    int nt = dense_threads(n_threads, x->n_rows * x->n_cols * k, n_blocks);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t b = 0; b < n_blocks; b++) {
        int64_t r0 = b * DENSE_ROWS;
        x_w_block(x, w, ldw, k, z, ldz, r0, AM_MIN(DENSE_ROWS, x->n_rows - r0));
    }
}

/* acc[0..4) += x_j' z over nb rows for the four columns x_j = x0 + j ld: one pass over z for
 * four columns, two interleaved partial sums each, combined in a fixed order. */
static void dot4_columns(const double *restrict x0, int64_t ld, const double *restrict z,
                         int64_t nb, double *acc)
{
    const double *restrict x1 = x0 + ld, *restrict x2 = x1 + ld, *restrict x3 = x2 + ld;
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2)
        for (int h = 0; h < 2; h++) {
            double zi = z[i + h];
            s[0 + h] += x0[i + h] * zi;
            s[2 + h] += x1[i + h] * zi;
            s[4 + h] += x2[i + h] * zi;
            s[6 + h] += x3[i + h] * zi;
        }
    if (i < nb) {
        s[0] += x0[i] * z[i];
        s[2] += x1[i] * z[i];
        s[4] += x2[i] * z[i];
        s[6] += x3[i] * z[i];
    }
    for (int c = 0; c < 4; c++)
        acc[c] += s[2 * c] + s[2 * c + 1];
}

/* Columns [j0, j1) of G = alpha X'Z + beta G for Z's columns [c0, c1): each value is the sum, in
 * row order, of its dot products over stretches of DENSE_XT_ROWS rows (four columns of X at a
 * time from j0, a multiple of 4, so the grouping does not depend on the threads). */
static void xt_z_columns(const am_matrix *x, const double *z, int64_t ldz, int64_t c0,
                         int64_t c1, double alpha, double beta, double *g, int64_t ldg,
                         int64_t j0, int64_t j1)
{
    double acc[DENSE_XT_COLS * DENSE_MAX_K] = {0}; /* acc[c * DENSE_XT_COLS + (j - j0)] */
    int64_t kc = c1 - c0;
    for (int64_t r0 = 0; r0 < x->n_rows; r0 += DENSE_XT_ROWS) {
        int64_t nb = AM_MIN(DENSE_XT_ROWS, x->n_rows - r0);
        for (int64_t c = 0; c < kc; c++) {
            const double *zc = z + r0 + (c0 + c) * ldz;
            double *ac = acc + c * DENSE_XT_COLS;
            int64_t j = j0;
            for (; j + 4 <= j1; j += 4)
                dot4_columns(x->data + j * x->ld + r0, x->ld, zc, nb, ac + (j - j0));
            for (; j < j1; j++)
                ac[j - j0] += am_dense_dot(x->data + j * x->ld + r0, zc, nb);
        }
    }
    for (int64_t c = 0; c < kc; c++)
        for (int64_t j = j0; j < j1; j++) {
            double *out = g + j + (c0 + c) * ldg;
            *out = alpha * acc[c * DENSE_XT_COLS + (j - j0)] + (beta != 0.0 ? beta * *out : 0.0);
        }
}

void am_dense_xt_z(const am_matrix *x, const double *z, int64_t ldz, int64_t k, double alpha,
                   double beta, double *g, int64_t ldg, int32_t n_threads)
{
    int64_t n_tasks = (x->n_cols + DENSE_XT_COLS - 1) / DENSE_XT_COLS;
    int nt = dense_threads(n_threads, x->n_rows * x->n_cols * k, n_tasks);
    for (int64_t c0 = 0; c0 < k; c0 += DENSE_MAX_K) {
        int64_t c1 = AM_MIN(c0 + DENSE_MAX_K, k);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
        for (int64_t t = 0; t < n_tasks; t++) {
            int64_t j0 = t * DENSE_XT_COLS;
            xt_z_columns(x, z, ldz, c0, c1, alpha, beta, g, ldg, j0,
                         AM_MIN(j0 + DENSE_XT_COLS, x->n_cols));
        }
    }
}
