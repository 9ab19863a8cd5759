/* tree.c — the flattened forest of tree.h: building, routing a row, batch prediction in row
 * blocks, importance, and saving/loading with every index checked.
 *
 * Invariants kept while building and checked when loading (so prediction needs no checks):
 * tree_first is strictly increasing from 0 to n_nodes (every tree has a root); a split node's
 * children lie after it inside its tree; a leaf's values and a categorical split's bitset lie
 * inside their arrays. Children pointing forward make every walk end within the tree's size. */
#include "tree.h"

#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define PREDICT_BLOCK 256
#define GROUP 8 /* rows that walk a tree together */
#define NODE_BYTES 45 /* saved size of one node, for bounding counts before allocating */

void am_forest_init(am_forest *f, int32_t n_values)
{
    memset(f, 0, sizeof(*f));
    f->n_values = n_values;
}

void am_forest_fini(am_forest *f)
{
    if (!f)
        return;
    am_free(f->tree_first);
    am_free(f->nodes);
    am_free(f->cat_bits);
    am_free(f->leaf_values);
    am_free(f->hot_first);
    am_free(f->hot);
    am_free(f->hot_aux);
    am_forest_init(f, f->n_values);
}

/* ---- building ------------------------------------------------------------------------------- */

/* Grows *p (elements of size elem) so it holds at least need elements; false on overflow or
 * out of memory (the array is left as it was). */
static bool grow(void **p, int64_t *cap, int64_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    int64_t c = AM_MAX(need, AM_MAX(*cap * 2, (int64_t)16));
    size_t bytes;
    if (c < 0 || !am_size_mul((size_t)c, elem, &bytes))
        return false;
    void *q = am_realloc(*p, bytes);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* Index of the next node within the open tree. */
static int64_t open_tree_size(const am_forest *f)
{
    return f->n_nodes - f->tree_first[f->n_trees];
}

am_status am_forest_tree_begin(am_forest *f)
{
    if (f->n_trees >= INT32_MAX - 1)
        return AM_ERR_NOMEM;
    /* Room for this tree's end offsets too (both arrays share cap_trees). */
    int64_t cap = f->cap_trees, cap_hot = f->cap_trees;
    if (!grow((void **)&f->tree_first, &cap, (int64_t)f->n_trees + 2, sizeof(int64_t)) ||
        !grow((void **)&f->hot_first, &cap_hot, cap, sizeof(int64_t)))
        return AM_ERR_NOMEM;
    f->cap_trees = (int32_t)AM_MIN(cap, (int64_t)INT32_MAX);
    f->tree_first[f->n_trees] = f->n_nodes;
    f->hot_first[f->n_trees] = f->n_hot;
    return AM_OK;
}

static int32_t add_node(am_forest *f, const am_tree_node *n)
{
    int64_t at = open_tree_size(f);
    if (at >= INT32_MAX || !grow((void **)&f->nodes, &f->cap_nodes, f->n_nodes + 1, sizeof(*n)))
        return -1;
    f->nodes[f->n_nodes++] = *n;
    return (int32_t)at;
}

/* Appends n_values values; their first index, or -1 when out of memory. */
static int64_t add_values(am_forest *f, const double *values)
{
    int64_t first = f->n_leaf_values;
    if (!grow((void **)&f->leaf_values, &f->cap_leaf_values, first + f->n_values,
              sizeof(double)))
        return -1;
    memcpy(f->leaf_values + first, values, (size_t)f->n_values * sizeof(double));
    f->n_leaf_values += f->n_values;
    return first;
}

int32_t am_forest_add_leaf(am_forest *f, const double *values)
{
    int64_t first = add_values(f, values);
    if (first < 0)
        return -1;
    am_tree_node n = {.feature = -1, .left = -1, .right = -1, .value_first = first};
    int32_t at = add_node(f, &n);
    if (at < 0)
        f->n_leaf_values -= f->n_values;
    return at;
}

int32_t am_forest_add_split(am_forest *f, int32_t feature, double threshold, bool default_left,
                            double gain)
{
    am_tree_node n = {.feature = feature, .left = -1, .right = -1, .threshold = threshold,
                      .default_left = default_left, .value_first = -1, .gain = gain};
    return add_node(f, &n);
}

int32_t am_forest_add_cat_split(am_forest *f, int32_t feature, const int32_t *left_codes,
                                int32_t n_left, bool default_left, double gain)
{
    int32_t max_code = -1;
    for (int32_t i = 0; i < n_left; i++)
        max_code = AM_MAX(max_code, left_codes[i]);
    /* At least one word, so an empty set (only missing goes left) is still a categorical split. */
    int64_t words = max_code / 64 + 1, first = f->n_cat_words;
    if (first + words > (int64_t)UINT32_MAX ||
        !grow((void **)&f->cat_bits, &f->cap_cat_words, first + words, sizeof(uint64_t)))
        return -1;
    uint64_t *bits = f->cat_bits + first;
    memset(bits, 0, (size_t)words * sizeof(uint64_t));
    for (int32_t i = 0; i < n_left; i++)
        if (left_codes[i] >= 0)
            bits[left_codes[i] / 64] |= (uint64_t)1 << (left_codes[i] % 64);
    am_tree_node n = {.feature = feature, .left = -1, .right = -1, .cat_first = (uint32_t)first,
                      .cat_words = (uint32_t)words, .default_left = default_left,
                      .value_first = -1, .gain = gain};
    int32_t at = add_node(f, &n);
    if (at >= 0)
        f->n_cat_words += words;
    return at;
}

void am_forest_set_children(am_forest *f, int32_t node, int32_t left, int32_t right)
{
    am_tree_node *n = &f->nodes[f->tree_first[f->n_trees] + node];
    n->left = left;
    n->right = right;
}

/* Checks one node of a tree of `size` nodes (node index i within it). */
static bool node_ok(const am_forest *f, const am_tree_node *n, int64_t i, int64_t size,
                    int64_t n_features)
{
    if (n->default_left > 1 || !isfinite(n->gain))
        return false;
    if (n->feature < 0) {
        return n->feature == -1 && n->left == -1 && n->right == -1 && n->cat_words == 0 &&
               n->value_first >= 0 && n->value_first <= f->n_leaf_values - f->n_values;
    }
    /* The compact copy keeps the feature index in 28 bits. */
    if (n->feature >= n_features || n->feature > AM_HOT_FEATURE || n->value_first != -1)
        return false;
    if (n->left <= i || n->left >= size || n->right <= i || n->right >= size)
        return false;
    if (n->cat_words == 0)
        return !isnan(n->threshold);
    return (uint64_t)n->cat_first + n->cat_words <= (uint64_t)f->n_cat_words;
}

static bool tree_ok(const am_forest *f, int32_t t, int64_t n_features)
{
    int64_t first = f->tree_first[t], size = f->tree_first[t + 1] - first;
    if (size < 1 || size > INT32_MAX)
        return false;
    for (int64_t i = 0; i < size; i++)
        if (!node_ok(f, &f->nodes[first + i], i, size, n_features))
            return false;
    return true;
}

/* Appends tree t's compact copy (see tree.h) at hot[n_hot]: a breadth-first walk from the root
 * that gives each split's children two adjacent slots. Until slot q is reached its `left`
 * holds the index of the node it copies. A tree has no more reachable nodes than nodes, so
 * running out of room means nodes are reached by several paths: not a tree (only a crafted
 * file; one that shares a few nodes and still fits predicts as its paths say). */
static am_status compile_tree(am_forest *f, int32_t t)
{
    const am_tree_node *nodes = f->nodes + f->tree_first[t];
    int64_t size = f->tree_first[t + 1] - f->tree_first[t], base = f->n_hot;
    if (!grow((void **)&f->hot, &f->cap_hot, base + size, sizeof(am_hot_node)) ||
        !grow((void **)&f->hot_aux, &f->cap_hot_aux, base + size, sizeof(int64_t)))
        return AM_ERR_NOMEM;
    am_hot_node *hot = f->hot + base;
    int64_t *aux = f->hot_aux + base;
    int64_t n = 1;
    hot[0].left = 0;
    for (int64_t q = 0; q < n; q++) {
        const am_tree_node *node = nodes + hot[q].left;
        if (node->feature < 0) {
            hot[q] = (am_hot_node){INFINITY, AM_HOT_LEAF | AM_HOT_DEFAULT_LEFT, (int32_t)q};
            aux[q] = node->value_first;
            continue;
        }
        if (n + 2 > size)
            return AM_ERR_FORMAT;
        uint32_t meta = (uint32_t)node->feature | (node->default_left ? AM_HOT_DEFAULT_LEFT : 0);
        if (node->cat_words) {
            meta |= AM_HOT_CATEGORICAL;
            aux[q] = (int64_t)node->cat_first | (int64_t)node->cat_words << 32;
        } else {
            aux[q] = -1;
        }
        hot[n].left = node->left;
        hot[n + 1].left = node->right;
        hot[q] = (am_hot_node){node->cat_words ? 0.0 : node->threshold, meta, (int32_t)n};
        n += 2;
    }
    f->n_hot = base + n;
    f->hot_first[t + 1] = f->n_hot;
    return AM_OK;
}

am_status am_forest_tree_end(am_forest *f)
{
    f->tree_first[f->n_trees + 1] = f->n_nodes;
    /* Building checks what loading checks: a tree with a split whose children were never set
     * is a bug in the caller, caught here rather than at prediction. */
    am_status st = tree_ok(f, f->n_trees, INT32_MAX) ? compile_tree(f, f->n_trees)
                                                      : AM_ERR_INTERNAL;
    if (st != AM_OK) {
        f->n_nodes = f->tree_first[f->n_trees];
        return st == AM_ERR_NOMEM ? st : AM_ERR_INTERNAL;
    }
    f->n_trees++;
    return AM_OK;
}

am_status am_forest_make_leaf(am_forest *f, int32_t node, const double *values)
{
    if (!f->tree_first)
        return AM_ERR_ARG;
    int64_t first = f->tree_first[f->n_trees], size = f->n_nodes - first;
    if (node < 0 || node >= size)
        return AM_ERR_ARG;
    int64_t v = add_values(f, values);
    if (v < 0)
        return AM_ERR_NOMEM;
    /* The pruned node's descendants become unreachable. They are turned into leaves too (sharing
     * the new values) so that importance, which scans nodes, does not count their splits. Since
     * children lie after their parent, one forward pass marks the whole subtree. */
    bool *dead = am_calloc((size_t)size, sizeof(bool));
    if (!dead) {
        f->n_leaf_values -= f->n_values;
        return AM_ERR_NOMEM;
    }
    dead[node] = true;
    for (int64_t i = node; i < size; i++) {
        am_tree_node *n = &f->nodes[first + i];
        if (!dead[i])
            continue;
        if (n->feature >= 0) {
            if (n->left > i && n->left < size)
                dead[n->left] = true;
            if (n->right > i && n->right < size)
                dead[n->right] = true;
        }
        *n = (am_tree_node){.feature = -1, .left = -1, .right = -1, .value_first = v};
    }
    am_free(dead);
    return AM_OK;
}

/* ---- prediction ----------------------------------------------------------------------------- */

/* A categorical test: the code's bit in the bitset of `words` words at cat_bits[first]. */
static bool cat_bits_left(const am_forest *f, uint32_t first, uint32_t words, bool default_left,
                          double v)
{
    if (!(v >= 0)) /* NaN or a negative code: missing */
        return default_left;
    if (v >= 64.0 * words)
        return false;
    int64_t c = (int64_t)v;
    return (f->cat_bits[first + c / 64] >> (c % 64)) & 1u;
}

/* Numeric tests are written without branches on the value (x <= t is false for NaN), so the
 * compiler can pick the child with a conditional move. */
static bool goes_left(const am_forest *f, const am_tree_node *n, double v)
{
    if (n->cat_words)
        return cat_bits_left(f, n->cat_first, n->cat_words, n->default_left, v);
    return (v <= n->threshold) | (isnan(v) & n->default_left);
}

const double *am_forest_leaf(const am_forest *f, int32_t t, const double *row, int64_t stride)
{
    const am_tree_node *nodes = f->nodes + f->tree_first[t];
    const am_tree_node *n = nodes;
    while (n->feature >= 0) {
        double v = row[(int64_t)n->feature * stride];
        n = nodes + (goes_left(f, n, v) ? n->left : n->right);
    }
    return f->leaf_values + n->value_first;
}

/* One step down the compact tree from slot s (a leaf stays where it is). */
static inline int32_t hot_step(const am_forest *f, const am_hot_node *tree, const int64_t *aux,
                               int32_t s, const double *row, int64_t stride)
{
    const am_hot_node *h = tree + s;
    double v = row[(int64_t)(h->meta & AM_HOT_FEATURE) * stride];
    bool missing_left = (h->meta & AM_HOT_DEFAULT_LEFT) != 0, left;
    if (h->meta & AM_HOT_CATEGORICAL)
        left = cat_bits_left(f, (uint32_t)aux[s], (uint32_t)(aux[s] >> 32), missing_left, v);
    else
        left = (v <= h->threshold) | (isnan(v) & missing_left);
    return h->left + !left;
}

/* Walks `lanes` (<= GROUP) consecutive rows, starting at `row`, down tree t together and adds
 * the leaves' values to their sums. The rows' steps are independent, so their memory reads
 * overlap; the loop ends when every row stands on a leaf. */
static void walk_group(const am_forest *f, int32_t t, const double *row, int64_t row_step,
                       int64_t stride, int lanes, double *out)
{
    const am_hot_node *tree = f->hot + f->hot_first[t];
    const int64_t *aux = f->hot_aux + f->hot_first[t];
    int32_t slot[GROUP] = {0};
    bool all_leaves;
    do {
        all_leaves = true;
        for (int k = 0; k < lanes; k++) {
            all_leaves &= (tree[slot[k]].meta & AM_HOT_LEAF) != 0;
            slot[k] = hot_step(f, tree, aux, slot[k], row + k * row_step, stride);
        }
    } while (!all_leaves);
    int32_t nv = f->n_values;
    for (int k = 0; k < lanes; k++) {
        const double *v = f->leaf_values + aux[slot[k]];
        for (int32_t j = 0; j < nv; j++)
            out[k * nv + j] += v[j];
    }
}

/* One block of rows through every tree: tree by tree, so a tree's nodes stay in cache while
 * the block's rows walk it. Each row's sum is taken in tree order, whatever the blocks. A
 * matrix without columns (every tree is then a leaf, which reads feature 0) is walked over a
 * single zero. */
static void predict_block(const am_forest *f, const am_matrix *x, int64_t r0, int64_t nb,
                          int32_t first_tree, int32_t n_trees, double *out)
{
    static const double no_feature = 0.0;
    bool empty = x->n_cols == 0 || !x->data;
    const double *data = empty ? &no_feature : x->data;
    int64_t row_step = empty ? 0 : 1, stride = empty ? 0 : x->ld;
#ifdef OLD_WALK
    for (int32_t t = first_tree; t < first_tree + n_trees; t++)
        for (int64_t i = r0; i < r0 + nb; i++) {
            const double *v = am_forest_leaf(f, t, x->data + i, x->ld);
            double *o = out + i * f->n_values;
            for (int32_t k = 0; k < f->n_values; k++)
                o[k] += v[k];
        }
    return;
#endif
    for (int32_t t = first_tree; t < first_tree + n_trees; t++)
        for (int64_t i = r0; i < r0 + nb; i += GROUP) {
            int lanes = (int)AM_MIN((int64_t)GROUP, r0 + nb - i);
            walk_group(f, t, data + i * row_step, row_step, stride, lanes,
                       out + i * f->n_values);
        }
}

void am_forest_predict_sum(const am_forest *f, const am_matrix *x, int32_t first_tree,
                           int32_t n_trees, int32_t n_threads, double *out)
{
    int64_t n_blocks = (x->n_rows + PREDICT_BLOCK - 1) / PREDICT_BLOCK;
    int nt = (int)AM_MAX(1, AM_MIN(n_threads, n_blocks));
    if (n_trees <= 0 || x->n_rows <= 0)
        return;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t b = 0; b < n_blocks; b++) {
        int64_t r0 = b * PREDICT_BLOCK;
        predict_block(f, x, r0, AM_MIN(PREDICT_BLOCK, x->n_rows - r0), first_tree, n_trees, out);
    }
}

void am_forest_importance(const am_forest *f, int64_t n_features, double *gain, double *splits)
{
    memset(gain, 0, (size_t)n_features * sizeof(double));
    memset(splits, 0, (size_t)n_features * sizeof(double));
    for (int64_t i = 0; i < f->n_nodes; i++) {
        const am_tree_node *n = &f->nodes[i];
        if (n->feature < 0 || n->feature >= n_features)
            continue;
        gain[n->feature] += n->gain;
        splits[n->feature] += 1;
    }
}

/* ---- saving and loading --------------------------------------------------------------------- */

void am_forest_save(const am_forest *f, am_buf *b)
{
    am_buf_u32(b, (uint32_t)f->n_values);
    am_buf_u32(b, (uint32_t)f->n_trees);
    am_buf_u64(b, (uint64_t)f->n_nodes);
    am_buf_u64(b, (uint64_t)f->n_cat_words);
    am_buf_u64(b, (uint64_t)f->n_leaf_values);
    for (int32_t t = 0; t <= f->n_trees; t++)
        am_buf_u64(b, (uint64_t)(f->n_trees ? f->tree_first[t] : 0));
    for (int64_t i = 0; i < f->n_nodes; i++) {
        const am_tree_node *n = &f->nodes[i];
        am_buf_u32(b, (uint32_t)n->feature);
        am_buf_u32(b, (uint32_t)n->left);
        am_buf_u32(b, (uint32_t)n->right);
        am_buf_f64(b, n->threshold);
        am_buf_u32(b, n->cat_first);
        am_buf_u32(b, n->cat_words);
        am_buf_u8(b, n->default_left);
        am_buf_i64(b, n->value_first);
        am_buf_f64(b, n->gain);
    }
    for (int64_t i = 0; i < f->n_cat_words; i++)
        am_buf_u64(b, f->cat_bits[i]);
    am_buf_f64s(b, f->leaf_values, (size_t)f->n_leaf_values);
}

static am_status load_fail(am_forest *f, am_diag *d, const char *what)
{
    am_forest_fini(f);
    return am_fail(d, AM_ERR_FORMAT, "tree model: %s", what);
}

/* Allocates the arrays for the counts just read (each already bounded by the bytes left). */
static bool load_alloc(am_forest *f, int64_t n_trees, int64_t n_nodes, int64_t n_words,
                       int64_t n_values)
{
    f->tree_first = am_malloc_array((size_t)n_trees + 1, sizeof(int64_t));
    f->nodes = am_malloc_array((size_t)AM_MAX(n_nodes, 1), sizeof(am_tree_node));
    f->cat_bits = am_malloc_array((size_t)AM_MAX(n_words, 1), sizeof(uint64_t));
    f->leaf_values = am_malloc_array((size_t)AM_MAX(n_values, 1), sizeof(double));
    f->cap_trees = (int32_t)(n_trees + 1);
    f->cap_nodes = AM_MAX(n_nodes, 1);
    f->cap_cat_words = AM_MAX(n_words, 1);
    f->cap_leaf_values = AM_MAX(n_values, 1);
    return f->tree_first && f->nodes && f->cat_bits && f->leaf_values;
}

static void load_node(am_reader *r, am_tree_node *n)
{
    n->feature = (int32_t)am_get_u32(r);
    n->left = (int32_t)am_get_u32(r);
    n->right = (int32_t)am_get_u32(r);
    n->threshold = am_get_f64(r);
    n->cat_first = am_get_u32(r);
    n->cat_words = am_get_u32(r);
    n->default_left = am_get_u8(r);
    n->value_first = am_get_i64(r);
    n->gain = am_get_f64(r);
}

/* Builds the compact copy of every loaded (and checked) tree. */
static am_status compile_loaded(am_forest *f, am_diag *d)
{
    f->hot_first = am_malloc_array((size_t)f->n_trees + 1, sizeof(int64_t));
    if (!f->hot_first) {
        am_forest_fini(f);
        return am_fail(d, AM_ERR_NOMEM, "tree model: out of memory");
    }
    f->hot_first[0] = 0;
    for (int32_t t = 0; t < f->n_trees; t++) {
        am_status st = compile_tree(f, t);
        if (st == AM_ERR_NOMEM) {
            am_forest_fini(f);
            return am_fail(d, AM_ERR_NOMEM, "tree model: out of memory");
        }
        if (st != AM_OK)
            return load_fail(f, d, "nodes are reached by more than one path (not a tree)");
    }
    return AM_OK;
}

am_status am_forest_load(am_reader *r, int64_t n_features, int32_t n_values, am_forest *f,
                         am_diag *d)
{
    am_forest_init(f, n_values);
    uint32_t nv = am_get_u32(r), n_trees = am_get_u32(r);
    /* Each count is bounded by the bytes that remain before anything is allocated for it. */
    uint64_t n_nodes = am_get_count(r, r->left / NODE_BYTES);
    uint64_t n_words = am_get_count(r, r->left / 8);
    uint64_t n_vals = am_get_count(r, r->left / 8);
    if (r->failed)
        return load_fail(f, d, "truncated or corrupt header");
    if (nv != (uint32_t)n_values || n_values < 1)
        return load_fail(f, d, "values per leaf disagree with the model");
    if (n_trees >= (uint32_t)INT32_MAX || (uint64_t)n_trees + 1 > r->left / 8 ||
        n_nodes < n_trees || n_words > UINT32_MAX || n_vals > r->left / 8)
        return load_fail(f, d, "a count is out of range");
    if (!load_alloc(f, n_trees, (int64_t)n_nodes, (int64_t)n_words, (int64_t)n_vals)) {
        am_forest_fini(f);
        return am_fail(d, AM_ERR_NOMEM, "tree model: out of memory");
    }
    for (uint32_t t = 0; t <= n_trees; t++)
        f->tree_first[t] = (int64_t)am_get_count(r, n_nodes);
    for (uint64_t i = 0; i < n_nodes; i++)
        load_node(r, &f->nodes[i]);
    for (uint64_t i = 0; i < n_words; i++)
        f->cat_bits[i] = am_get_u64(r);
    am_get_f64s(r, f->leaf_values, (size_t)n_vals);
    if (r->failed)
        return load_fail(f, d, "truncated or corrupt");
    f->n_trees = (int32_t)n_trees;
    f->n_nodes = (int64_t)n_nodes;
    f->n_cat_words = (int64_t)n_words;
    f->n_leaf_values = (int64_t)n_vals;
    if (f->tree_first[0] != 0 || f->tree_first[n_trees] != (int64_t)n_nodes)
        return load_fail(f, d, "tree offsets do not cover the nodes");
    for (uint32_t t = 0; t < n_trees; t++) {
        if (f->tree_first[t + 1] <= f->tree_first[t])
            return load_fail(f, d, "an empty tree or decreasing tree offsets");
        if (!tree_ok(f, (int32_t)t, n_features))
            return load_fail(f, d, "a node has an out-of-range child, feature, bitset or "
                             "value index");
    }
    if (!am_all_finite(f->leaf_values, (size_t)n_vals))
        return load_fail(f, d, "a leaf value is not finite");
    return compile_loaded(f, d);
}
