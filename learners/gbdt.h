/* gbdt.h — what the files of the gbdt learner share: the tree grower (gbdt_grow.c: histograms,
 * split finding, leaf-wise growth on binned data) and the boosting driver (gbdt.c). Private to
 * gbdt*.c; the test-only entry points are declared in internal.h.
 *
 * The grower works on "training rows" 0..n-1, each mapped to a row of the shared binned data
 * (bin_row). One tree at a time: given one gradient and Hessian per training row and the rows in
 * the bag, it grows a tree leaf-wise and leaves, for every leaf, the bag rows that reached it
 * (a contiguous range of one partitioned index array, as LightGBM's data partition). */
#ifndef AM_GBDT_H
#define AM_GBDT_H

#include "internal.h"

/* One histogram bin: sums of gradients, Hessians and the row count (a double, exact below 2^53,
 * so parent - child stays exact). */
typedef struct gb_bin {
    double g, h, c;
} gb_bin;

/* A node of the tree being grown: splits are on bins (numeric: bins 1..bin go left, bin 0 is
 * missing and goes left when default_left; categorical: the bins in left_bins go left, bin 0
 * included when missing does). */
typedef struct gb_node {
    int32_t feature; /* -1 for a leaf */
    int32_t left, right;
    int32_t bin;
    bool default_left, categorical;
    uint64_t left_bins[4];
    double gain;
    double value; /* leaf: the score it adds (learning rate applied) */
} gb_node;

typedef struct gb_leaf {
    int64_t begin, count; /* its bag rows: part[begin .. begin + count) */
    double g, h;          /* sums over those rows */
    int32_t node;
    int32_t depth;
    int32_t slot;         /* histogram slot, or -1 */
    am_gbdt_split best;   /* feature -1 when it cannot be split */
} gb_leaf;

typedef struct gb_grower {
    const am_binned *b;
    const int32_t *bin_row; /* binned row of each training row */
    int64_t n;              /* training rows */
    am_gbdt_split_opts opts;
    int32_t num_leaves, max_depth;
    double learning_rate;
    int32_t n_threads;

    int64_t *offset;        /* n_features + 1: first histogram bin of each feature */
    int64_t total_bins;

    /* The partition: positions hold training rows (part) and their binned rows (part_bin). */
    int32_t *part, *part_bin, *tmp, *tmp_bin;
    double *og, *oh;        /* gradients and Hessians gathered in partition order */

    gb_bin *pool;           /* n_slots histograms of total_bins bins */
    int32_t n_slots;
    int32_t *slot_leaf;     /* the leaf holding each slot, -1 when free */

    gb_leaf *leaves;
    int32_t n_leaves;
    gb_node *nodes;
    int32_t n_nodes;
    int32_t *heap;          /* leaves that can be split, best gain first */
    int32_t heap_n;

    const int32_t *feats;   /* the features this tree may use, ascending */
    int32_t n_feats;
    am_gbdt_split *feat_best; /* scratch: the best split per used feature */
} gb_grower;

/* pool_bytes caps the histogram pool (0: the default, 256 MiB). */
am_status gb_grower_init(gb_grower *gr, const am_binned *b, const int32_t *bin_row, int64_t n,
                         const am_gbdt_split_opts *opts, int32_t num_leaves, int32_t max_depth,
                         double learning_rate, int32_t n_threads, size_t pool_bytes,
                         am_diag *d);
void gb_grower_fini(gb_grower *gr);

/* Grows one tree. g, h: one value per training row. bag: the training rows used (ascending),
 * or NULL for all n. feats: the features allowed (ascending). Afterwards gr->nodes holds the
 * tree (node 0 the root, children after parents) with leaf values set, and gr->leaves the leaves
 * with their rows in gr->part. AM_ERR_INTERNAL on an inconsistency (a bug). */
am_status gb_grow(gb_grower *gr, const double *g, const double *h, const int32_t *bag,
                  int64_t n_bag, const int32_t *feats, int32_t n_feats, am_diag *d);

/* The leaf (node index) that binned row r reaches in a grown tree. */
int32_t gb_route(const gb_node *nodes, const am_binned *b, int64_t r);

#endif
