/* tree.h — decision trees shared by the tree learners (gbdt, rf, extra_trees): the flattened
 * form a fitted tree is stored, predicted and saved in. Internal to learners/.
 *
 * A forest is a list of trees whose nodes live in shared flat arrays (structure of arrays, so
 * prediction walks small, dense arrays). Node i of tree t is nodes[tree_first[t] + i]; node 0 of
 * each tree is its root. An internal node tests one feature of the native matrix (numbers as
 * they are, categories as codes, NaN = missing):
 *   numeric:     go left when x <= threshold;
 *   categorical: go left when the code's bit is set in the node's bitset (cat_bits + cat_first,
 *                cat_words 64-bit words; codes past the bitset go right);
 *   missing (NaN, or a code out of range): go left when default_left.
 * A leaf holds n_values values starting at leaf_values[value_first] (one per output: a score
 * for gbdt, class probabilities or a mean for forests).
 *
 * Loading checks every child index (forward only, inside its tree), feature index, bitset range
 * and value range, so a crafted file cannot make prediction read out of bounds or loop. */
#ifndef AM_TREE_H
#define AM_TREE_H

#include "learner.h"

typedef struct am_tree_node {
    int32_t feature;     /* -1 for a leaf */
    int32_t left, right; /* child node indices within the tree (left > self, right > self) */
    double threshold;    /* numeric split */
    uint32_t cat_first;  /* categorical split: first word in cat_bits */
    uint32_t cat_words;  /* 0 for a numeric split */
    uint8_t default_left;
    int64_t value_first; /* leaf: first of n_values values in leaf_values */
    double gain;         /* split gain (for importance); 0 for a leaf */
} am_tree_node;

/* Prediction's compact copy of a tree (built when the tree ends, and on load): its reachable
 * nodes in breadth-first order, so a split's two children are adjacent and one index finds
 * both; 16 bytes a node instead of 48. A leaf routes every value to itself (threshold +inf,
 * missing goes left, left = its own index), so a group of rows can walk a tree in lockstep
 * without asking each row whether it has arrived. */
enum {
    AM_HOT_FEATURE = 0x0fffffff,    /* meta: the feature index (a leaf reads feature 0) */
    AM_HOT_LEAF = 1u << 28,
    AM_HOT_CATEGORICAL = 1u << 29,
    AM_HOT_DEFAULT_LEFT = 1u << 30, /* missing values go left */
};
typedef struct am_hot_node {
    double threshold; /* numeric split: go left when x <= threshold; a leaf: +inf */
    uint32_t meta;    /* feature index | AM_HOT_* flags */
    int32_t left;     /* the left child's index among the tree's hot nodes (right = left + 1) */
} am_hot_node;

typedef struct am_forest {
    int32_t n_trees;
    int32_t n_values;     /* values per leaf */
    int64_t *tree_first;  /* n_trees + 1 offsets into nodes */
    am_tree_node *nodes;
    int64_t n_nodes, cap_nodes;
    uint64_t *cat_bits;
    int64_t n_cat_words, cap_cat_words;
    double *leaf_values;
    int64_t n_leaf_values, cap_leaf_values;
    int32_t cap_trees;
    /* The compact copy: tree t's hot nodes are hot[hot_first[t] .. hot_first[t + 1]); hot_aux
     * beside each holds a leaf's value_first, or a categorical split's cat_first |
     * cat_words << 32 (-1 for a numeric split), read only off the walk's hot path. */
    int64_t *hot_first;
    am_hot_node *hot;
    int64_t *hot_aux;
    int64_t n_hot, cap_hot, cap_hot_aux;
} am_forest;

void am_forest_init(am_forest *f, int32_t n_values);
void am_forest_fini(am_forest *f);

/* Building: begin a tree, add nodes (their index within the tree is returned, -1 on out of
 * memory), then end it. Node 0 added is the root. */
am_status am_forest_tree_begin(am_forest *f);
int32_t am_forest_add_leaf(am_forest *f, const double *values);
int32_t am_forest_add_split(am_forest *f, int32_t feature, double threshold, bool default_left,
                            double gain);
/* A categorical split: codes listed in left_codes go left. */
int32_t am_forest_add_cat_split(am_forest *f, int32_t feature, const int32_t *left_codes,
                                int32_t n_left, bool default_left, double gain);
void am_forest_set_children(am_forest *f, int32_t node, int32_t left, int32_t right);
am_status am_forest_tree_end(am_forest *f);
/* Turns a split node back into a leaf (used when pruning); values copied. */
am_status am_forest_make_leaf(am_forest *f, int32_t node, const double *values);

/* The leaf a row reaches in tree t. x_row(j) is feature j's value for the row: the row is given
 * as a pointer to the first feature and the stride between features (column-major: ld). */
const double *am_forest_leaf(const am_forest *f, int32_t t, const double *row, int64_t stride);

/* Adds every tree's leaf values to out (n_rows x n_values, row-major), rows in blocks of 256
 * walked by the compact trees eight at a time; used by gbdt (sum of scores) and forests (then
 * divided by n_trees). Each row's sum is taken in tree order, so the result is the sum of
 * am_forest_leaf's values whatever n_threads (>= 1) is. */
void am_forest_predict_sum(const am_forest *f, const am_matrix *x, int32_t first_tree,
                           int32_t n_trees, int32_t n_threads, double *out);

/* Per-feature total gain and split count over all trees (arrays of n_features, zeroed here). */
void am_forest_importance(const am_forest *f, int64_t n_features, double *gain, double *splits);

/* Saving and loading with full bounds checks (AM_ERR_FORMAT on anything inconsistent). */
void am_forest_save(const am_forest *f, am_buf *b);
am_status am_forest_load(am_reader *r, int64_t n_features, int32_t n_values, am_forest *f,
                         am_diag *d);

#endif
