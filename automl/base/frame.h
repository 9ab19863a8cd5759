/* frame.h — typed, columnar tables (what CSV reading produces) and dense numeric matrices (what
 * learners consume).
 *
 * Ownership: a frame owns its columns and every string in them; am_frame_free releases all of it.
 * A matrix owns its data when created with am_matrix_new. Frames and matrices are not modified
 * after they are built, so any number of threads may read them at once. */
#ifndef AM_FRAME_H
#define AM_FRAME_H

#include "base.h"

/* Saved in model files: explicit values, append only. */
typedef enum am_coltype {
    AM_COL_NUM = 1,  /* numbers; NaN = missing; may hold +-inf as read */
    AM_COL_CAT = 2,  /* categories: codes into levels; -1 = missing */
    AM_COL_TEXT = 3, /* free text: stored like categories (codes into distinct strings) */
    AM_COL_TIME = 4  /* date or date-time: seconds since 1970-01-01T00:00:00 UTC; NaN = missing */
} am_coltype;

const char *am_coltype_name(am_coltype t); /* "number", "category", "text", "datetime" */

/* A growable list of distinct strings with a hash index: the levels of a categorical column. */
typedef struct am_strset {
    char **items;     /* items[i], i < n: NUL-terminated, owned */
    int32_t n, cap;
    int32_t *table;   /* open addressing: index into items, -1 = empty */
    int32_t table_size;
} am_strset;

void am_strset_init(am_strset *s);
void am_strset_fini(am_strset *s);
/* Index of the string (len bytes, not necessarily NUL-terminated), or -1. */
int32_t am_strset_find(const am_strset *s, const char *str, size_t len);
/* Index of the string, adding it if new; -1 when out of memory. */
int32_t am_strset_add(am_strset *s, const char *str, size_t len);

typedef struct am_column {
    char *name;
    am_coltype type;
    double *num;     /* AM_COL_NUM, AM_COL_TIME: n_rows values */
    int32_t *codes;  /* AM_COL_CAT, AM_COL_TEXT: n_rows codes into levels, -1 = missing;
                        also set for the CSV reader's keep_levels column even when numeric */
    am_strset levels;
    int64_t n_missing;
    uint8_t time_format; /* AM_COL_TIME: how the values were written (am_time_format in csv.h) */
} am_column;

typedef struct am_frame {
    int64_t n_rows;
    int32_t n_cols;
    am_column *cols;
    int64_t *row_line; /* physical line (1-based) where each row starts, for messages; may be NULL */
    char *source;      /* file name the frame came from, for messages; may be NULL */
} am_frame;

void am_frame_free(am_frame *f); /* NULL ok */
/* Index of the column with this exact name, or -1. */
int32_t am_frame_col_find(const am_frame *f, const char *name);
/* The line of row i for messages (row + 2 when row_line is NULL: header is line 1). */
int64_t am_frame_row_line(const am_frame *f, int64_t row);
/* Is the value at (column, row) missing? */
bool am_column_missing(const am_column *c, int64_t row);

/* Dense, column-major: element (i, j) is data[i + j * ld]. */
typedef struct am_matrix {
    int64_t n_rows, n_cols;
    int64_t ld;
    double *data;
    bool owner;
} am_matrix;

am_status am_matrix_new(am_matrix *m, int64_t n_rows, int64_t n_cols, am_diag *d); /* zeroed */
void am_matrix_fini(am_matrix *m); /* frees data when owner; NULL ok */
#define AM_AT(m, i, j) ((m)->data[(int64_t)(i) + (int64_t)(j) * (m)->ld])

/* Binned data for histogram tree learners: every feature cut into at most 255 value bins plus
 * bin 0 for missing, stored as one uint8 code per (row, feature), column-major. Built once per
 * dataset (featurize/ builds it, learners read it) and shared read-only by every tree trial and
 * every fold, which select their rows by index.
 *
 * Numeric feature: value bin b (1 <= b < n_bins) holds the values v with
 * upper[b-2] < v <= upper[b-1] (upper[-1] = -inf); upper[n_bins-2] = +inf. So a split "bins
 * 1..b go left" is the raw-value test v <= upper[b-1], which is what a fitted tree stores.
 * Categorical feature (codes 0..n_categories-1 from the featurizer): cat_bin[c] is the bin of
 * category c (the most frequent categories get a bin each; the rarest share the last bin when
 * there are more than max_bin), and a category never seen maps to missing.
 * Edge cases: an all-missing numeric feature has n_bins = 1 and upper = NULL; a categorical
 * feature has n_bins = 1 + min(n_categories, max_bin); any categorical value that is not a whole
 * number in [0, n_categories) is bin 0. */
typedef struct am_bin_feature {
    int32_t n_bins;        /* including bin 0 (missing); 1 <= n_bins <= 256 */
    bool categorical;
    double *upper;         /* numeric: n_bins - 1 upper edges, the last +inf */
    int32_t n_categories;  /* categorical: codes the featurizer produces */
    int32_t *cat_bin;      /* categorical: n_categories entries in 1..n_bins-1 */
} am_bin_feature;

typedef struct am_binned {
    int64_t n_rows;
    int32_t n_features;
    uint8_t *codes;            /* codes[j * n_rows + i] */
    am_bin_feature *features;
} am_binned;

#define AM_BIN_CODES(b, j) ((b)->codes + (int64_t)(j) * (b)->n_rows)

#endif
