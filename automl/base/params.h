/* params.h — parameter tables: the single source of truth for a learner's (or any pluggable
 * component's) hyperparameters: defaults, key=value parsing, validation messages, help text,
 * default search ranges and saving.
 *
 * Values live in an am_params: one double per table entry, in table order (an enum choice is
 * stored as its index, a bool as 0/1, an integer as an integral double). Learners read them by
 * their own index constants. Tables are const and shared by all threads. */
#ifndef AM_PARAMS_H
#define AM_PARAMS_H

#include "base.h"

#define AM_PARAMS_MAX 32

typedef enum am_param_kind { AM_P_INT = 1, AM_P_REAL = 2, AM_P_BOOL = 3, AM_P_ENUM = 4 } am_param_kind;

enum {
    AM_PF_TUNE = 1u << 0, /* searched by default */
    AM_PF_LOG = 1u << 1   /* search on a log scale (lo > 0) */
};

typedef struct am_param_desc {
    const char *key;            /* "alpha"; scikit-learn's name where it has one */
    am_param_kind kind;
    double def;                 /* default (enum: index) */
    double lo, hi;              /* valid range, inclusive (ignored for enum and bool) */
    double tune_lo, tune_hi;    /* default search range, when AM_PF_TUNE */
    double cheap;               /* low-cost starting value for cost-frugal search */
    const char *const *choices; /* AM_P_ENUM: NULL-terminated names */
    unsigned flags;
    const char *doc;            /* one line for `automl help learner NAME` */
} am_param_desc;

typedef struct am_param_table {
    const char *owner; /* "ridge": prefixes messages, "ridge.alpha=-1: must be in [0, 1e+10]" */
    const am_param_desc *desc;
    int32_t n;
} am_param_table;

typedef struct am_params {
    double v[AM_PARAMS_MAX];
} am_params;

void am_params_defaults(const am_param_table *t, am_params *p);
/* The cheap starting point: defaults with each tuned entry at its `cheap` value. */
void am_params_cheap(const am_param_table *t, am_params *p);
/* Index of key in t, or -1. */
int32_t am_params_find(const am_param_table *t, const char *key);
/* Parses "key=value" items onto p (which holds defaults or earlier values). Errors
 * (AM_ERR_CONFIG): missing '=', unknown key (message suggests the nearest key), a key given twice,
 * a value that is not of the kind, out of range, or not one of the choices (message lists them). */
am_status am_params_parse(const am_param_table *t, const char *const *items, int32_t n_items,
                          am_params *p, am_diag *d);
/* Checks every value against its range/choices (used on values read from a model file). */
am_status am_params_check(const am_param_table *t, const am_params *p, am_diag *d);
/* Draws the tuned entries from their search ranges (log-uniform where AM_PF_LOG; integers
 * rounded); untuned entries keep p's values. */
void am_params_sample(const am_param_table *t, am_rng *r, am_params *p);
/* "alpha=0.1 fit_intercept=true": tuned entries, or all entries when all is true. */
void am_params_format(const am_param_table *t, const am_params *p, bool all, char *buf,
                      size_t size);
/* Text of one value: "0.1", "12", "true", "l2". */
const char *am_params_value_text(const am_param_desc *desc, double v, char *buf, size_t size);

#endif
