/* gbdt_grow.c — one regression tree on gradients, grown leaf-wise on the shared binned data.
 *
 * Phases per tree: set up the root (its bag rows, gradient sums, histogram), then repeatedly
 * split the leaf with the best gain: partition its rows, build the histogram of the smaller
 * child by scanning its rows and derive the larger one as parent minus smaller (in the parent's
 * slot), and scan both children's histograms for their best splits. Finally set the leaf values.
 *
 * Determinism: each feature's histogram is summed by one thread in row order and each
 * feature's split is scanned by one thread; the best split over features is then picked in
 * feature order. So trees do not depend on the thread count.
 *
 * Memory: one histogram per leaf that may still be split would cost num_leaves x bins; the pool
 * is capped (POOL_BYTES) and, when full, the histogram of the leaf least likely to be split
 * (lowest gain) is dropped; such a leaf's children are then both built from their rows. */
#include "gbdt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define POOL_BYTES ((size_t)256 << 20) /* the default cap */
/* Below this many rows a histogram or gather is not worth waking threads for. */
#define PARALLEL_ROWS 4096
/* Split scans go parallel only when the histograms are this large (bins over all features). */
#define PARALLEL_BINS 16384

/* ---- gains and leaf values ------------------------------------------------------------------- */

static double soft_threshold(double g, double alpha)
{
    if (g > alpha)
        return g - alpha;
    if (g < -alpha)
        return g + alpha;
    return 0.0;
}

static double leaf_score(double g, double h, const am_gbdt_split_opts *o)
{
    double den = h + o->lambda, t = soft_threshold(g, o->alpha);
    return den > 0 ? t * t / den : 0.0;
}

static double leaf_output(double g, double h, const am_gbdt_split_opts *o)
{
    double den = h + o->lambda;
    return den > 0 ? -soft_threshold(g, o->alpha) / den : 0.0;
}

/* ---- split scans ----------------------------------------------------------------------------- */

/* The leaf being scanned: its totals and score. */
typedef struct scan_ctx {
    const am_gbdt_split_opts *o;
    double pg, ph, pc, parent_score;
} scan_ctx;

/* Considers the split whose left child has sums (lg, lh, lc); true when it became the best. */
static bool consider(const scan_ctx *s, am_gbdt_split *best, double lg, double lh, double lc)
{
    const am_gbdt_split_opts *o = s->o;
    double rc = s->pc - lc, rh = s->ph - lh, rg = s->pg - lg;
    if (lc < (double)o->min_child_samples || rc < (double)o->min_child_samples ||
        lh < o->min_child_weight || rh < o->min_child_weight)
        return false;
    double gain = leaf_score(lg, lh, o) + leaf_score(rg, rh, o) - s->parent_score;
    if (!(gain > best->gain))
        return false;
    best->gain = gain;
    best->lg = lg;
    best->lh = lh;
    best->rg = rg;
    best->rh = rh;
    best->lc = (int64_t)lc;
    best->rc = (int64_t)rc;
    return true;
}

/* Numeric: "bins 1..b go left" for every b, with the missing bin on either side. The split
 * b = n_bins - 1 with missing right separates missing from present values. */
static void scan_numeric(const scan_ctx *s, const gb_bin *hb, int32_t nb, am_gbdt_split *best)
{
    const gb_bin m = hb[0];
    double lg = 0, lh = 0, lc = 0;
    bool found = false;
    for (int32_t b = 1; b < nb; b++) {
        lg += hb[b].g;
        lh += hb[b].h;
        lc += hb[b].c;
        if (m.c > 0 && consider(s, best, lg + m.g, lh + m.h, lc + m.c)) {
            best->bin = b;
            best->default_left = true;
            found = true;
        }
        if (consider(s, best, lg, lh, lc)) {
            best->bin = b;
            best->default_left = false;
            found = true;
        }
        if (s->pc - lc < (double)s->o->min_child_samples)
            break; /* the right side only shrinks from here */
    }
    /* No missing values here: send missing to the heavier side at prediction. */
    if (found && m.c == 0)
        best->default_left = best->lh >= best->rh;
}

typedef struct cat_item {
    double key;
    int32_t bin;
} cat_item;

static int cat_cmp(const void *pa, const void *pb)
{
    const cat_item *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->bin > b->bin) - (a->bin < b->bin);
}

/* Categorical, as LightGBM: order the well-populated bins (the missing bin is one of them) by
 * G / (H + cat_smooth) and try each prefix of that order, from either end, as the left set. */
static void scan_categorical(const scan_ctx *s, const gb_bin *hb, int32_t nb,
                             am_gbdt_split *best)
{
    const am_gbdt_split_opts *o = s->o;
    cat_item items[256];
    int32_t n = 0;
    for (int32_t b = 0; b < nb; b++) {
        if (hb[b].c < 1 || hb[b].c < (double)o->min_data_per_group)
            continue;
        double den = hb[b].h + o->cat_smooth;
        items[n++] = (cat_item){den > 0 ? hb[b].g / den : 0.0, b};
    }
    qsort(items, (size_t)n, sizeof(items[0]), cat_cmp);
    int32_t max_k = AM_MIN(o->max_cat, n), best_dir = -1, best_k = 0;
    for (int32_t dir = 0; dir < 2; dir++) {
        double lg = 0, lh = 0, lc = 0;
        for (int32_t k = 0; k < max_k; k++) {
            const gb_bin *e = &hb[items[dir == 0 ? k : n - 1 - k].bin];
            lg += e->g;
            lh += e->h;
            lc += e->c;
            if (consider(s, best, lg, lh, lc)) {
                best_dir = dir;
                best_k = k + 1;
            }
        }
    }
    if (best_dir < 0)
        return;
    memset(best->left_bins, 0, sizeof(best->left_bins));
    for (int32_t k = 0; k < best_k; k++) {
        int32_t b = items[best_dir == 0 ? k : n - 1 - k].bin;
        best->left_bins[b / 64] |= (uint64_t)1 << (b % 64);
    }
    best->default_left = best->left_bins[0] & 1u;
    best->categorical = true;
}

/* The best split of one feature's histogram (feature -1 when none beats min_split_gain). */
static void scan_feature(const scan_ctx *s, const am_bin_feature *bf, const gb_bin *hb,
                         int32_t feature, am_gbdt_split *out)
{
    memset(out, 0, sizeof(*out));
    out->feature = -1;
    out->gain = AM_MAX(s->o->min_split_gain, 0.0);
    double floor_gain = out->gain;
    if (bf->categorical)
        scan_categorical(s, hb, bf->n_bins, out);
    else
        scan_numeric(s, hb, bf->n_bins, out);
    if (out->gain > floor_gain)
        out->feature = feature;
}

/* ---- histograms ------------------------------------------------------------------------------ */

/* The hot loop: the bins of up to four features over one leaf's rows (rows NULL: rows 0..n-1
 * in order). Four features per pass share each row's index and gradient loads and give the
 * processor four independent scatter-add streams: about 30% faster than one feature per pass
 * on 1M x 50 data. Each feature is still summed in row order, so results do not depend on how
 * features are grouped. */
typedef struct hist_group {
    gb_bin *hb[4];
    const uint8_t *col[4];
} hist_group;

#define HIST_ADD(q)                 \
    do {                            \
        gb_bin *e = hg.hb[q] + code[q]; \
        e->g += gk;                 \
        e->h += hk;                 \
        e->c += 1.0;                \
    } while (0)

static void hist_rows(hist_group hg, int nf, const int32_t *restrict rows,
                      const double *restrict og, const double *restrict oh, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        int64_t r = rows ? rows[k] : k;
        double gk = og[k], hk = oh[k];
        uint8_t code[4];
        for (int q = 0; q < nf; q++)
            code[q] = hg.col[q][r];
        switch (nf) {
        case 4: HIST_ADD(3); /* fall through */
        case 3: HIST_ADD(2); /* fall through */
        case 2: HIST_ADD(1); /* fall through */
        default: HIST_ADD(0);
        }
    }
}

/* Specialised for four features: the common case, without the switch in the loop. */
static void hist_rows4(hist_group hg, const int32_t *restrict rows, const double *restrict og,
                       const double *restrict oh, int64_t n)
{
    const uint8_t *restrict c0 = hg.col[0], *restrict c1 = hg.col[1], *restrict c2 = hg.col[2],
                            *restrict c3 = hg.col[3];
    for (int64_t k = 0; k < n; k++) {
        int64_t r = rows ? rows[k] : k;
        double gk = og[k], hk = oh[k];
        uint8_t code[4] = {c0[r], c1[r], c2[r], c3[r]};
        HIST_ADD(0);
        HIST_ADD(1);
        HIST_ADD(2);
        HIST_ADD(3);
    }
}

static gb_bin *slot_hist(const gb_grower *gr, int32_t slot)
{
    return gr->pool + (int64_t)slot * gr->total_bins;
}

typedef struct grad_view {
    const double *g, *h;
    bool identity; /* the root holds training rows 0..n-1 and they are binned rows 0..n-1 */
} grad_view;

/* The histograms of features feats[q0..q1) over one leaf's rows, four features per pass. */
static void hist_features(gb_grower *gr, gb_bin *hist, int32_t q0, int32_t q1,
                          const int32_t *rows, const double *og, const double *oh, int64_t n)
{
    for (int32_t q = q0; q < q1; q += 4) {
        hist_group hg;
        int nf = 0;
        for (; nf < 4 && q + nf < q1; nf++) {
            int32_t j = gr->feats[q + nf];
            hg.hb[nf] = hist + gr->offset[j];
            hg.col[nf] = AM_BIN_CODES(gr->b, j);
            memset(hg.hb[nf], 0, (size_t)gr->b->features[j].n_bins * sizeof(gb_bin));
        }
        if (nf == 4)
            hist_rows4(hg, rows, og, oh, n);
        else
            hist_rows(hg, nf, rows, og, oh, n);
    }
}

/* Builds the histogram of a leaf's rows into slot (used features only). Each thread takes an
 * equal contiguous range of the features. */
static void build_hist(gb_grower *gr, const grad_view *gv, const gb_leaf *lf, int32_t slot)
{
    int64_t begin = lf->begin, count = lf->count;
    const int32_t *part = gr->part;
    double *og = gr->og, *oh = gr->oh;
    int nt = count >= PARALLEL_ROWS ? (int)AM_MIN(gr->n_threads, AM_MAX(gr->n_feats, 1)) : 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t p = begin; p < begin + count; p++) {
        og[p] = gv->g[part[p]];
        oh[p] = gv->h[part[p]];
    }
    gb_bin *hist = slot_hist(gr, slot);
    const int32_t *rows = gv->identity && count == gr->n ? NULL : gr->part_bin + begin;
    int32_t nf = gr->n_feats;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; t++)
        hist_features(gr, hist, (int32_t)((int64_t)nf * t / nt),
                      (int32_t)((int64_t)nf * (t + 1) / nt), rows, og + begin, oh + begin, count);
}

/* dst = parent - child over the used features (dst may be the parent). */
static void hist_subtract(gb_grower *gr, int32_t dst, int32_t parent, int32_t child)
{
    gb_bin *d = slot_hist(gr, dst);
    const gb_bin *p = slot_hist(gr, parent), *c = slot_hist(gr, child);
    for (int32_t q = 0; q < gr->n_feats; q++) {
        int32_t j = gr->feats[q];
        for (int64_t k = gr->offset[j]; k < gr->offset[j + 1]; k++) {
            d[k].g = p[k].g - c[k].g;
            d[k].h = p[k].h - c[k].h;
            d[k].c = p[k].c - c[k].c;
        }
    }
}

/* Scans every used feature of a leaf's histogram and keeps the best split in lf->best. */
static void find_best(gb_grower *gr, gb_leaf *lf)
{
    scan_ctx s = {&gr->opts, lf->g, lf->h, (double)lf->count, 0};
    s.parent_score = leaf_score(lf->g, lf->h, &gr->opts);
    const gb_bin *hist = slot_hist(gr, lf->slot);
    int nt = gr->total_bins >= PARALLEL_BINS ? (int)gr->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int32_t q = 0; q < gr->n_feats; q++) {
        int32_t j = gr->feats[q];
        scan_feature(&s, &gr->b->features[j], hist + gr->offset[j], j, &gr->feat_best[q]);
    }
    memset(&lf->best, 0, sizeof(lf->best));
    lf->best.feature = -1;
    for (int32_t q = 0; q < gr->n_feats; q++) {
        const am_gbdt_split *c = &gr->feat_best[q];
        if (c->feature >= 0 && (lf->best.feature < 0 || c->gain > lf->best.gain))
            lf->best = *c;
    }
}

/* ---- histogram slots ------------------------------------------------------------------------- */

static void slot_release(gb_grower *gr, int32_t leaf)
{
    int32_t s = gr->leaves[leaf].slot;
    if (s >= 0)
        gr->slot_leaf[s] = -1;
    gr->leaves[leaf].slot = -1;
}

/* A free slot for `leaf`; when none is free, the one held by the waiting leaf with the lowest
 * gain (never a or b, the leaves of the split in progress) is taken from it. */
static int32_t slot_take(gb_grower *gr, int32_t leaf, int32_t a, int32_t b)
{
    int32_t pick = -1;
    for (int32_t s = 0; s < gr->n_slots && pick < 0; s++)
        if (gr->slot_leaf[s] < 0)
            pick = s;
    if (pick < 0) {
        for (int32_t s = 0; s < gr->n_slots; s++) {
            int32_t l = gr->slot_leaf[s];
            if (l == a || l == b)
                continue;
            if (pick < 0 || gr->leaves[l].best.gain < gr->leaves[gr->slot_leaf[pick]].best.gain)
                pick = s;
        }
    }
    if (gr->slot_leaf[pick] >= 0)
        gr->leaves[gr->slot_leaf[pick]].slot = -1;
    gr->slot_leaf[pick] = leaf;
    gr->leaves[leaf].slot = pick;
    return pick;
}

/* ---- the heap of leaves to split ------------------------------------------------------------- */

static bool heap_before(const gb_grower *gr, int32_t a, int32_t b)
{
    double ga = gr->leaves[a].best.gain, gb = gr->leaves[b].best.gain;
    return ga > gb || (ga == gb && a < b);
}

static void heap_push(gb_grower *gr, int32_t leaf)
{
    int32_t i = gr->heap_n++;
    gr->heap[i] = leaf;
    while (i > 0) {
        int32_t up = (i - 1) / 2;
        if (!heap_before(gr, gr->heap[i], gr->heap[up]))
            break;
        int32_t t = gr->heap[i];
        gr->heap[i] = gr->heap[up];
        gr->heap[up] = t;
        i = up;
    }
}

static int32_t heap_pop(gb_grower *gr)
{
    int32_t top = gr->heap[0];
    gr->heap[0] = gr->heap[--gr->heap_n];
    int32_t i = 0;
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < gr->heap_n && heap_before(gr, gr->heap[l], gr->heap[m]))
            m = l;
        if (r < gr->heap_n && heap_before(gr, gr->heap[r], gr->heap[m]))
            m = r;
        if (m == i)
            break;
        int32_t t = gr->heap[i];
        gr->heap[i] = gr->heap[m];
        gr->heap[m] = t;
        i = m;
    }
    return top;
}

/* ---- growing --------------------------------------------------------------------------------- */

static bool split_left(const am_gbdt_split *s, uint8_t code)
{
    if (s->categorical)
        return (s->left_bins[code / 64] >> (code % 64)) & 1u;
    return code == 0 ? s->default_left : code <= s->bin;
}

static bool node_left(const gb_node *n, uint8_t code)
{
    if (n->categorical)
        return (n->left_bins[code / 64] >> (code % 64)) & 1u;
    return code == 0 ? n->default_left : code <= n->bin;
}

int32_t gb_route(const gb_node *nodes, const am_binned *b, int64_t r)
{
    int32_t i = 0;
    while (nodes[i].feature >= 0) {
        uint8_t code = AM_BIN_CODES(b, nodes[i].feature)[r];
        i = node_left(&nodes[i], code) ? nodes[i].left : nodes[i].right;
    }
    return i;
}

/* Stable partition of a leaf's rows by its best split; returns the left count. Blocks of rows
 * are split in parallel into tmp (lefts forward from the block's start, rights backward from its
 * end), then copied back in block order: the same result as a sequential stable partition,
 * whatever the number of threads. */
#define PARTITION_BLOCKS 64
static int64_t partition(gb_grower *gr, const gb_leaf *lf)
{
    const am_gbdt_split *s = &lf->best;
    const uint8_t *col = AM_BIN_CODES(gr->b, s->feature);
    int64_t begin = lf->begin, count = lf->count;
    int64_t n_blk = AM_MAX(1, AM_MIN(PARTITION_BLOCKS, count / PARALLEL_ROWS));
    int64_t n_left[PARTITION_BLOCKS], at_left[PARTITION_BLOCKS], at_right[PARTITION_BLOCKS];
    int32_t *part = gr->part, *pbin = gr->part_bin, *tmp = gr->tmp, *tbin = gr->tmp_bin;
    int nt = n_blk > 1 ? (int)gr->n_threads : 1;
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t blk = 0; blk < n_blk; blk++) {
        int64_t lo = begin + count * blk / n_blk, hi = begin + count * (blk + 1) / n_blk;
        int64_t wl = lo, wr = hi;
        for (int64_t p = lo; p < hi; p++) {
            int32_t rb = pbin[p];
            if (split_left(s, col[rb])) {
                tmp[wl] = part[p];
                tbin[wl++] = rb;
            } else {
                tmp[--wr] = part[p];
                tbin[wr] = rb;
            }
        }
        n_left[blk] = wl - lo;
    }
    int64_t total_left = 0;
    for (int64_t blk = 0; blk < n_blk; blk++)
        total_left += n_left[blk];
    for (int64_t blk = 0, l = begin, r = begin + total_left; blk < n_blk; blk++) {
        int64_t lo = begin + count * blk / n_blk, hi = begin + count * (blk + 1) / n_blk;
        at_left[blk] = l;
        at_right[blk] = r;
        l += n_left[blk];
        r += hi - lo - n_left[blk];
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t blk = 0; blk < n_blk; blk++) {
        int64_t lo = begin + count * blk / n_blk, hi = begin + count * (blk + 1) / n_blk;
        int64_t nl = n_left[blk], nr = hi - lo - nl;
        memcpy(part + at_left[blk], tmp + lo, (size_t)nl * sizeof(int32_t));
        memcpy(pbin + at_left[blk], tbin + lo, (size_t)nl * sizeof(int32_t));
        for (int64_t i = 0; i < nr; i++) {
            part[at_right[blk] + i] = tmp[hi - 1 - i];
            pbin[at_right[blk] + i] = tbin[hi - 1 - i];
        }
    }
    return total_left;
}

static bool splittable(const gb_grower *gr, const gb_leaf *lf)
{
    return (gr->max_depth == 0 || lf->depth < gr->max_depth) &&
           lf->count >= 2 * gr->opts.min_child_samples && lf->h >= 2 * gr->opts.min_child_weight;
}

static int32_t new_leaf_node(gb_grower *gr)
{
    int32_t i = gr->n_nodes++;
    memset(&gr->nodes[i], 0, sizeof(gr->nodes[i]));
    gr->nodes[i].feature = gr->nodes[i].left = gr->nodes[i].right = -1;
    return i;
}

/* Scans a child that has a histogram; queues it when it has a split, else frees its slot. */
static void child_ready(gb_grower *gr, int32_t leaf)
{
    gb_leaf *lf = &gr->leaves[leaf];
    if (lf->slot < 0)
        return;
    find_best(gr, lf);
    if (lf->best.feature >= 0)
        heap_push(gr, leaf);
    else
        slot_release(gr, leaf);
}

/* Histograms for the two children of a split (small has fewer rows); ps is the parent's slot
 * (now held by `small`'s index when small is the left child, see split_leaf), or -1. Only
 * children that may be split again get one. */
static void child_hists(gb_grower *gr, const grad_view *gv, int32_t small, int32_t large,
                        int32_t ps)
{
    gb_leaf *sm = &gr->leaves[small], *lg = &gr->leaves[large];
    bool need_s = splittable(gr, sm), need_l = splittable(gr, lg);
    if (need_l && ps >= 0) {
        int32_t ss = slot_take(gr, small, small, large);
        build_hist(gr, gv, sm, ss);
        hist_subtract(gr, ps, ps, ss);
        gr->slot_leaf[ps] = large;
        lg->slot = ps;
        if (!need_s)
            slot_release(gr, small);
    } else if (need_l) {
        build_hist(gr, gv, lg, slot_take(gr, large, small, large));
        if (need_s)
            build_hist(gr, gv, sm, slot_take(gr, small, small, large));
    } else if (need_s) {
        if (ps >= 0) {
            gr->slot_leaf[ps] = small;
            sm->slot = ps;
        } else {
            slot_take(gr, small, small, large);
        }
        build_hist(gr, gv, sm, sm->slot);
    } else if (ps >= 0) {
        gr->slot_leaf[ps] = -1;
    }
}

static am_status split_leaf(gb_grower *gr, const grad_view *gv, int32_t leaf, am_diag *d)
{
    gb_leaf parent = gr->leaves[leaf];
    const am_gbdt_split *s = &parent.best;
    int64_t lc = partition(gr, &parent);
    if (lc != s->lc || parent.count - lc != s->rc)
        return am_fail(d, AM_ERR_INTERNAL, "gbdt: a split sent %lld rows left, its histogram "
                       "counted %lld", (long long)lc, (long long)s->lc);
    gb_node *pn = &gr->nodes[parent.node];
    pn->feature = s->feature;
    pn->bin = s->bin;
    pn->default_left = s->default_left;
    pn->categorical = s->categorical;
    memcpy(pn->left_bins, s->left_bins, sizeof(pn->left_bins));
    pn->gain = s->gain;
    pn->left = new_leaf_node(gr);
    pn->right = new_leaf_node(gr);
    /* The left child keeps the parent's leaf index, the right one is appended. */
    int32_t right = gr->n_leaves++;
    gr->leaves[leaf] = (gb_leaf){parent.begin, lc, s->lg, s->lh, pn->left, parent.depth + 1, -1,
                                 {.feature = -1}};
    gr->leaves[right] = (gb_leaf){parent.begin + lc, s->rc, s->rg, s->rh, pn->right,
                                  parent.depth + 1, -1, {.feature = -1}};
    int32_t ps = parent.slot;
    if (ps >= 0)
        gr->slot_leaf[ps] = -1; /* handed to a child below, or freed */
    if (gr->n_leaves >= gr->num_leaves)
        return AM_OK; /* no further split: the children need no histograms */
    bool left_small = lc <= s->rc;
    int32_t small = left_small ? leaf : right, large = left_small ? right : leaf;
    if (ps >= 0)
        gr->slot_leaf[ps] = large; /* reserved, so slot_take cannot hand it out */
    child_hists(gr, gv, small, large, ps);
    child_ready(gr, small);
    child_ready(gr, large);
    return AM_OK;
}

/* Puts the bag rows into the partition and sets up the root leaf and node. */
static void root_init(gb_grower *gr, const grad_view *gv, const int32_t *bag, int64_t n_bag)
{
    double sg = 0, sh = 0;
    for (int64_t p = 0; p < n_bag; p++) {
        int32_t i = bag ? bag[p] : (int32_t)p;
        gr->part[p] = i;
        gr->part_bin[p] = gr->bin_row[i];
        sg += gv->g[i];
        sh += gv->h[i];
    }
    gr->n_nodes = 0;
    gr->heap_n = 0;
    gr->n_leaves = 1;
    for (int32_t s = 0; s < gr->n_slots; s++)
        gr->slot_leaf[s] = -1;
    gr->leaves[0] = (gb_leaf){0, n_bag, sg, sh, new_leaf_node(gr), 0, -1, {.feature = -1}};
}

static bool rows_identity(const gb_grower *gr)
{
    for (int64_t i = 0; i < gr->n; i++)
        if (gr->bin_row[i] != i)
            return false;
    return true;
}

am_status gb_grow(gb_grower *gr, const double *g, const double *h, const int32_t *bag,
                  int64_t n_bag, const int32_t *feats, int32_t n_feats, am_diag *d)
{
    grad_view gv = {g, h, !bag && rows_identity(gr)};
    gr->feats = feats;
    gr->n_feats = n_feats;
    root_init(gr, &gv, bag, bag ? n_bag : gr->n);
    if (gr->num_leaves >= 2 && splittable(gr, &gr->leaves[0])) {
        build_hist(gr, &gv, &gr->leaves[0], slot_take(gr, 0, -1, -1));
        child_ready(gr, 0);
    }
    while (gr->n_leaves < gr->num_leaves && gr->heap_n > 0) {
        am_status st = split_leaf(gr, &gv, heap_pop(gr), d);
        if (st != AM_OK)
            return st;
    }
    for (int32_t l = 0; l < gr->n_leaves; l++) {
        const gb_leaf *lf = &gr->leaves[l];
        gr->nodes[lf->node].value = gr->learning_rate * leaf_output(lf->g, lf->h, &gr->opts);
    }
    return AM_OK;
}

/* ---- setup ----------------------------------------------------------------------------------- */

void gb_grower_fini(gb_grower *gr)
{
    if (!gr)
        return;
    void *arrays[] = {gr->offset, gr->part, gr->part_bin, gr->tmp, gr->tmp_bin, gr->og, gr->oh,
                      gr->pool, gr->slot_leaf, gr->leaves, gr->nodes, gr->heap, gr->feat_best};
    for (size_t i = 0; i < AM_COUNT(arrays); i++)
        am_free(arrays[i]);
    memset(gr, 0, sizeof(*gr));
}

/* As many histogram slots as leaves can wait (plus the split in progress), within POOL_BYTES,
 * and never fewer than 3 (a split in progress holds at most 2). */
static int32_t pool_slots(int64_t total_bins, int32_t num_leaves, size_t pool_bytes)
{
    size_t per = (size_t)AM_MAX(total_bins, 1) * sizeof(gb_bin);
    int64_t fit = (int64_t)(pool_bytes / per);
    return (int32_t)AM_MAX(3, AM_MIN(fit, (int64_t)num_leaves + 1));
}

am_status gb_grower_init(gb_grower *gr, const am_binned *b, const int32_t *bin_row, int64_t n,
                         const am_gbdt_split_opts *opts, int32_t num_leaves, int32_t max_depth,
                         double learning_rate, int32_t n_threads, size_t pool_bytes,
                         am_diag *d)
{
    memset(gr, 0, sizeof(*gr));
    if (n < 1 || n > INT32_MAX || num_leaves < 2)
        return am_fail(d, AM_ERR_ARG, "gbdt: %lld training rows, %d leaves", (long long)n,
                       (int)num_leaves);
    *gr = (gb_grower){.b = b, .bin_row = bin_row, .n = n, .opts = *opts,
                      .num_leaves = num_leaves, .max_depth = max_depth,
                      .learning_rate = learning_rate, .n_threads = AM_MAX(1, n_threads)};
    int32_t nf = b->n_features;
    gr->offset = am_malloc_array((size_t)nf + 1, sizeof(int64_t));
    if (gr->offset) {
        gr->offset[0] = 0;
        for (int32_t j = 0; j < nf; j++)
            gr->offset[j + 1] = gr->offset[j] + b->features[j].n_bins;
        gr->total_bins = gr->offset[nf];
    }
    gr->n_slots = pool_slots(gr->total_bins, num_leaves, pool_bytes ? pool_bytes : POOL_BYTES);
    size_t un = (size_t)n, ul = (size_t)num_leaves;
    gr->part = am_malloc_array(un, sizeof(int32_t));
    gr->part_bin = am_malloc_array(un, sizeof(int32_t));
    gr->tmp = am_malloc_array(un, sizeof(int32_t));
    gr->tmp_bin = am_malloc_array(un, sizeof(int32_t));
    gr->og = am_malloc_array(un, sizeof(double));
    gr->oh = am_malloc_array(un, sizeof(double));
    gr->pool = am_malloc_array((size_t)gr->n_slots,
                               (size_t)AM_MAX(gr->total_bins, 1) * sizeof(gb_bin));
    gr->slot_leaf = am_malloc_array((size_t)gr->n_slots, sizeof(int32_t));
    gr->leaves = am_malloc_array(ul, sizeof(gb_leaf));
    gr->nodes = am_malloc_array(2 * ul, sizeof(gb_node));
    gr->heap = am_malloc_array(ul, sizeof(int32_t));
    gr->feat_best = am_malloc_array((size_t)AM_MAX(nf, 1), sizeof(am_gbdt_split));
    if (!gr->offset || !gr->part || !gr->part_bin || !gr->tmp || !gr->tmp_bin || !gr->og ||
        !gr->oh || !gr->pool || !gr->slot_leaf || !gr->leaves || !gr->nodes || !gr->heap ||
        !gr->feat_best) {
        gb_grower_fini(gr);
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory for %lld rows and %d leaves",
                       (long long)n, (int)num_leaves);
    }
    return AM_OK;
}

/* ---- test-only entry point ------------------------------------------------------------------- */

/* The row list (rows, or 0..n-1 when NULL) and the list of every feature that the test entry
 * points hand to the grower; both freed by the caller (also on failure). */
static am_status test_lists(const am_binned *b, const int64_t *rows, int64_t n, int32_t **bin_row,
                            int32_t **feats, am_diag *d)
{
    *bin_row = am_malloc_array((size_t)AM_MAX(n, 1), sizeof(int32_t));
    *feats = am_malloc_array((size_t)AM_MAX(b->n_features, 1), sizeof(int32_t));
    if (!*bin_row || !*feats)
        return am_fail(d, AM_ERR_NOMEM, "gbdt: out of memory");
    for (int64_t i = 0; i < n; i++)
        (*bin_row)[i] = (int32_t)(rows ? rows[i] : i);
    for (int32_t j = 0; j < b->n_features; j++)
        (*feats)[j] = j;
    return AM_OK;
}

am_status am_gbdt_best_split(const am_binned *b, const int64_t *rows, int64_t n, const double *g,
                             const double *h, const am_gbdt_split_opts *o, am_gbdt_split *out,
                             am_diag *d)
{
    int32_t *bin_row = NULL, *feats = NULL;
    am_status st = test_lists(b, rows, n, &bin_row, &feats, d);
    if (st != AM_OK) {
        am_free(bin_row);
        am_free(feats);
        return st;
    }
    gb_grower gr;
    st = gb_grower_init(&gr, b, bin_row, n, o, 2, 0, 1.0, 1, 0, d);
    if (st == AM_OK) {
        grad_view gv = {g, h, rows_identity(&gr)};
        gr.feats = feats;
        gr.n_feats = b->n_features;
        root_init(&gr, &gv, NULL, n);
        build_hist(&gr, &gv, &gr.leaves[0], slot_take(&gr, 0, -1, -1));
        find_best(&gr, &gr.leaves[0]);
        *out = gr.leaves[0].best;
    }
    gb_grower_fini(&gr);
    am_free(bin_row);
    am_free(feats);
    return st;
}

am_status am_gbdt_grow_tree(const am_binned *b, const double *g, const double *h,
                            const am_gbdt_split_opts *o, int32_t num_leaves, size_t pool_bytes,
                            int32_t *n_leaves, double *row_value, am_diag *d)
{
    int64_t n = b->n_rows;
    int32_t *bin_row = NULL, *feats = NULL;
    am_status st = test_lists(b, NULL, n, &bin_row, &feats, d);
    if (st != AM_OK) {
        am_free(bin_row);
        am_free(feats);
        return st;
    }
    gb_grower gr;
    st = gb_grower_init(&gr, b, bin_row, n, o, num_leaves, 0, 1.0, 1, pool_bytes, d);
    if (st == AM_OK)
        st = gb_grow(&gr, g, h, NULL, n, feats, b->n_features, d);
    if (st == AM_OK) {
        *n_leaves = gr.n_leaves;
        for (int64_t i = 0; i < n; i++)
            row_value[i] = gr.nodes[gb_route(gr.nodes, b, i)].value;
    }
    gb_grower_fini(&gr);
    am_free(bin_row);
    am_free(feats);
    return st;
}
