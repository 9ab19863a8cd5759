/* encoder.h — the featurizer's type objects: how one input column becomes output features.
 *
 * The featurizer (featurizer.c) decides each input column's role (roles.c) and, from the role and
 * the learner family it serves, the encoders of that column: a numeric column gets "numeric"
 * (imputation and a missing indicator), a low-cardinality category "onehot", a high-cardinality
 * one "target" and "frequency", a date "date", a text "text"; tree learners get the native
 * encoders instead. Each encoder is fitted on the training rows only, writes a fixed number of
 * output columns, and saves itself inside the featurizer's section of the model file. Scaling
 * (standard or robust) is not an encoder's business: the featurizer applies it to every output
 * column afterwards, for the families that want it.
 *
 * Adding an encoding = one file with one am_encoder_type, one entry in the registry
 * (encoder.c), and the rule in featurizer.c that chooses it.
 *
 * Contract every encoder keeps:
 *   - fit reads only the training rows (a->rows) of the column, and the target only of those
 *     rows (a->y): a validation row can never influence the fitted state;
 *   - transform never fails and never reads the target: a missing, unseen or out-of-range value
 *     has an encoding (an imputed value, an "unseen" slot, NaN for the native encoders);
 *   - output values are finite, except NaN from the native encoders (trees read it as missing);
 *   - results do not depend on thread counts; a fixed seed fixes every random choice;
 *   - load checks every count, length and value before use (a corrupt file is AM_ERR_FORMAT,
 *     never a crash), and save -> load -> transform gives the same bits as before saving. */
#ifndef AM_FEATURIZE_ENCODER_H
#define AM_FEATURIZE_ENCODER_H

#include "internal.h"

typedef struct am_encoder_type am_encoder_type;

/* The first member of every fitted encoder. The common fields are filled by the encoder's fit
 * and load (am_encoder_init_names helps); the featurizer reads them. */
typedef struct am_encoder {
    const am_encoder_type *type;
    int64_t width;          /* output columns this encoder writes (>= 1) */
    char **names;           /* width feature names, owned: "age", "color=red", "when.month" */
    int32_t *n_categories;  /* native encoders only: per output, the number of category codes
                               (0 for a numeric output); NULL when every output is numeric */
} am_encoder;

/* What fitting sees. rows are the training rows of the frame (ascending, n_rows > 0); y, when
 * not NULL, holds the target of each training row in the same order (class id 0..n_classes-1
 * as a double, or the regression value). */
typedef struct am_enc_fit_args {
    const am_frame *frame;  /* for messages (source file) */
    const am_column *col;   /* the input column, a column of frame */
    const int64_t *rows;
    int64_t n_rows;
    const double *y;        /* may be NULL: encoders that need it are then not chosen */
    am_task task;
    int32_t n_classes;      /* 2 or more for classification, 0 for regression */
    const am_feat_options *opts;
    uint64_t seed;          /* derived per column by the featurizer */
} am_enc_fit_args;

struct am_encoder_type {
    const char *name;       /* saved in the model file: never rename */
    uint32_t version;       /* payload format version, saved with it */
    /* Fits on a's training rows. AM_ERR_NOMEM; AM_ERR_DATA when the column gives nothing to
     * encode (the featurizer chooses encoders so that this does not happen). */
    am_status (*fit)(const am_enc_fit_args *a, am_encoder **out, am_diag *d);
    /* Writes the encodings of rows (rows NULL = rows 0..n-1) of col into out[0..width): out[k]
     * points to n doubles for output k. col has the training column's name and type but may
     * come from another frame (validation rows, a predict file). */
    void (*transform)(const am_encoder *e, const am_column *col, const int64_t *rows, int64_t n,
                      double *const *out);
    /* The training rows' own encodings, in fit's row order, where they must differ from
     * transform's: target statistics computed out of fold, so that no row's encoding has seen
     * its own target. NULL: the featurizer calls transform. a is the same as fit's. */
    void (*transform_train)(const am_encoder *e, const am_enc_fit_args *a, double *const *out);
    /* The whole state, names included, so that load needs nothing else. */
    am_status (*save)(const am_encoder *e, am_buf *b, am_diag *d);
    am_status (*load)(am_reader *r, uint32_t version, am_encoder **out, am_diag *d);
    void (*free)(am_encoder *e); /* NULL ok */
};

/* ---- the registry (encoder.c) -------------------------------------------------------------- */

/* Every encoder type, for loading by name. */
const am_encoder_type *am_encoder_find(const char *name);

extern const am_encoder_type am_enc_numeric;   /* imputed value (+ "<name>_missing") */
extern const am_encoder_type am_enc_onehot;    /* kept levels, then <rare>, <missing>, <unseen> */
extern const am_encoder_type am_enc_boolean;   /* two levels: 1 for the second, 0 for the first */
extern const am_encoder_type am_enc_target;    /* smoothed target mean(s), out of fold */
extern const am_encoder_type am_enc_frequency; /* share of training rows with the level */
extern const am_encoder_type am_enc_date;      /* calendar parts that vary, cyclic for linear */
extern const am_encoder_type am_enc_text;      /* hashed word and character n-grams, TF-IDF */
extern const am_encoder_type am_enc_native_numeric;     /* trees: the value, NaN when missing */
extern const am_encoder_type am_enc_native_categorical; /* trees: the level's rank, NaN if none */

/* ---- helpers for encoder files (encoder.c) ------------------------------------------------ */

/* Sets e->width and allocates e->names (width NULL pointers, filled by the caller). false when
 * out of memory. */
bool am_encoder_init_names(am_encoder *e, int64_t width);
/* Frees the common fields (names, n_categories), not e itself. */
void am_encoder_fini(am_encoder *e);
/* Saves / loads the common fields (width, names, n_categories). Loading checks width against
 * max_width and every name's length; AM_ERR_FORMAT on a bad value. */
void am_encoder_save_common(const am_encoder *e, am_buf *b);
am_status am_encoder_load_common(am_reader *r, int64_t max_width, am_encoder *e, am_diag *d);
/* "<a><b><c>" newly allocated, or NULL when out of memory. */
char *am_encoder_join(const char *a, const char *b, const char *c);
/* The row index of position i in a row list (rows NULL: i itself). */
static inline int64_t am_enc_row(const int64_t *rows, int64_t i)
{
    return rows ? rows[i] : i;
}
/* Inner fold (0..k-1) of training position i for out-of-fold statistics: a fixed shuffle by
 * seed, independent of threads, so the same rows and seed give the same folds. */
int32_t am_enc_inner_fold(uint64_t seed, int64_t i, int32_t k);

#endif
