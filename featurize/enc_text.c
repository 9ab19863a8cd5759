/* enc_text.c — free-text columns: "text", hashed word and character n-grams weighted by TF-IDF
 * (what scikit-learn's HashingVectorizer followed by TfidfTransformer computes, in our own
 * terms).
 *
 * Tokens. ASCII letters are lower-cased; bytes >= 0x80 are kept as they are (so UTF-8 text
 * passes unbroken; non-ASCII letters are not case-folded). A word is a maximal run of ASCII
 * letters, digits and bytes >= 0x80; everything else separates words. The word half of the
 * features takes every word and every pair of consecutive words ("w1 w2"); the character half
 * takes the character n-grams of lengths 3 to 5 inside each word padded with one space on both
 * sides (scikit-learn's "char_wb"; a padded word shorter than n gives no n-gram of that length).
 * Characters are UTF-8 code points: a byte 0x80..0xBF continues the character before it.
 *
 * Features. text_features (default 256, at least 2, rounded up to even) split in two halves of
 * `half` buckets: outputs 0..half-1 ("<col>#w<k>") for word n-grams, half..2 half-1
 * ("<col>#c<k>") for character n-grams. An n-gram's bucket is its 64-bit hash reduced to
 * [0, half) (low 32 bits times half, shifted down: as even as a modulo, without the division)
 * and its sign (+1 or -1) bit 63 of the same hash, so colliding n-grams cancel on average
 * instead of piling up. The hash is FNV-1a over the n-gram's (case-folded) bytes, finished by
 * splitmix64's mixer with a fixed per-half tag: it depends on nothing but the bytes, so saved
 * models do not change between runs or machines. Changing any of it changes what every saved
 * model means: it is payload version 1, pinned by the tests.
 *
 * Weights. A string's signed sum v in a bucket becomes sign(v) (1 + ln |v|): sublinear term
 * frequency that keeps the sign (scikit-learn's sublinear_tf would take the log of a negative
 * number). The inverse document frequency comes from the training rows only,
 * idf_j = ln((1 + n) / (1 + df_j)) + 1, with n the training rows that have text (missing rows
 * are not documents) and df_j those whose string is nonzero in bucket j. A row's vector
 * tf * idf over both halves together is scaled to unit Euclidean length; missing text, or text
 * without a word, is all zeros. Every output is finite.
 *
 * Speed. Strings repeat across rows, so transform hashes each distinct string among the rows
 * once into a short sparse vector (kept while later rows still need it) and writes the rows
 * in blocks that stay in cache. When memory for that runs out it hashes row by row straight
 * into the output columns; both ways do the same arithmetic in the same order, so the bits do
 * not depend on which way ran. No allocation happens per row. */
#include "encoder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    TEXT_DEFAULT_FEATURES = 256,
    TEXT_MAX_FEATURES = 1 << 20, /* a bound for loading, far above any useful width */
    CHAR_MIN_N = 3,
    CHAR_MAX_N = 5,
};

/* idf lies in [1, ln(1 + n) + 1] and n < 2^63: anything else in a file is corruption. */
#define IDF_MAX 64.0

#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define WORD_TAG 0x776f72642d6e6772ull /* "word-ngr" */
#define CHAR_TAG 0x636861722d6e6772ull /* "char-ngr" */

typedef struct text_enc {
    am_encoder base;
    int32_t half; /* buckets per half; base.width == 2 * half */
    double *idf;  /* width weights */
} text_enc;

/* ---- hashing ------------------------------------------------------------------------------ */

static inline unsigned fold(unsigned c)
{
    return c - 'A' < 26u ? c + 32u : c;
}

static inline bool is_word_byte(unsigned c)
{
    return (c | 32u) - 'a' < 26u || c - '0' < 10u || c >= 0x80u;
}

static inline bool is_continuation(unsigned c)
{
    return (c & 0xC0u) == 0x80u;
}

static inline uint64_t fnv_byte(uint64_t h, unsigned c)
{
    return (h ^ c) * FNV_PRIME;
}

/* FNV-1a continued over p[0..n), case-folded. */
static uint64_t fnv_bytes(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = fnv_byte(h, fold(p[i]));
    return h;
}

/* ---- where n-grams go ----------------------------------------------------------------------- */

/* Receives a string's signed bucket counts. Sparse path (dense set): accumulators with the
 * list of buckets touched (each once, in first-touch order; width + 1 slots), all zero between
 * strings. Direct path (dense NULL): cols (the output columns) at one row, zeroed by the
 * caller. */
typedef struct sink {
    int32_t half;
    double *dense;
    uint16_t *seen; /* not a char type: stores through it must not alias the fields */
    int32_t *touched;
    int64_t n_touched; /* not int32_t: stores to touched[] must not alias it */
    double *const *cols;
    int64_t row;
} sink;

/* The bucket comes from the low 32 bits of the mixed hash (a division for a modulo cost a
 * quarter of the hashing time), the sign from bit 63, which the bucket does not use. */
static inline void sink_add(sink *k, uint64_t fnv, uint64_t tag, int32_t offset)
{
    uint64_t m = am_feat_mix64(fnv ^ tag);
    int32_t b = offset + (int32_t)(((m & 0xffffffffu) * (uint64_t)k->half) >> 32);
    double s = (double)(1 - (int)((m >> 62) & 2)); /* +1 or -1: a branch would mispredict */
    if (k->dense) {
        /* No branch on the mark either: whether a bucket is new is a coin toss. */
        k->touched[k->n_touched] = b;
        k->n_touched += !k->seen[b];
        k->seen[b] = 1;
        k->dense[b] += s;
    } else {
        k->cols[b][k->row] += s;
    }
}

static bool sink_alloc(sink *k, int32_t half)
{
    memset(k, 0, sizeof(*k));
    k->half = half;
    size_t width = 2 * (size_t)half;
    k->dense = am_calloc(width, sizeof(double));
    k->seen = am_calloc(width, sizeof(uint16_t));
    k->touched = am_malloc_array(width + 1, sizeof(int32_t)); /* + 1: sink_add's blind store */
    return k->dense && k->seen && k->touched;
}

static void sink_free(sink *k)
{
    am_free(k->dense);
    am_free(k->seen);
    am_free(k->touched);
}

/* ---- tokens --------------------------------------------------------------------------------- */

/* Positions in the word w (len bytes) padded with a space on both sides: 0 is the leading
 * space, 1..len the word's bytes, len + 1 the trailing space. */
static inline unsigned padded_byte(const unsigned char *w, size_t len, size_t pos)
{
    return pos == 0 || pos == len + 1 ? ' ' : fold(w[pos - 1]);
}

/* The end of the character that starts at pos: a UTF-8 lead byte takes its continuation
 * bytes along (a stray continuation byte at the start of a word is a character by itself). */
static inline size_t char_end(const unsigned char *w, size_t len, size_t pos)
{
    size_t end = pos + 1;
    if (pos >= 1)
        while (end <= len && is_continuation(w[end - 1]))
            end++;
    return end;
}

/* The character n-grams of " w ", by start: FNV is computed left to right, so the 3-gram's
 * state continues into the 4-gram and the 5-gram starting at the same character. */
static void char_grams_utf8(sink *k, const unsigned char *w, size_t len)
{
    size_t n_pos = len + 2;
    for (size_t p = 0; p < n_pos; p = char_end(w, len, p)) {
        uint64_t h = FNV_BASIS;
        size_t q = p;
        for (int n = 1; n <= CHAR_MAX_N && q < n_pos; n++) {
            size_t end = char_end(w, len, q);
            for (; q < end; q++)
                h = fnv_byte(h, padded_byte(w, len, q));
            if (n >= CHAR_MIN_N)
                sink_add(k, h, CHAR_TAG, k->half);
        }
    }
}

/* Words of at most this many bytes, all ASCII (nearly every word), take the fast path: one
 * byte per character, padded and folded once into a buffer on the stack. */
enum { ASCII_WORD_MAX = 64 };

_Static_assert(CHAR_MIN_N == 3, "the fast path hashes the first three bytes of a gram inline");

static void char_grams(sink *k, const unsigned char *w, size_t len)
{
    unsigned high = 0;
    for (size_t i = 0; i < len && len <= ASCII_WORD_MAX; i++)
        high |= w[i];
    if (len > ASCII_WORD_MAX || high >= 0x80u) {
        char_grams_utf8(k, w, len);
        return;
    }
    unsigned char pad[ASCII_WORD_MAX + 2];
    pad[0] = ' ';
    for (size_t i = 0; i < len; i++)
        pad[i + 1] = (unsigned char)fold(w[i]);
    pad[len + 1] = ' ';
    size_t n_pos = len + 2;
    for (size_t p = 0; p + CHAR_MIN_N <= n_pos; p++) {
        uint64_t h = fnv_byte(fnv_byte(fnv_byte(FNV_BASIS, pad[p]), pad[p + 1]), pad[p + 2]);
        sink_add(k, h, CHAR_TAG, k->half);
        for (size_t q = p + CHAR_MIN_N; q < p + CHAR_MAX_N && q < n_pos; q++) {
            h = fnv_byte(h, pad[q]);
            sink_add(k, h, CHAR_TAG, k->half);
        }
    }
}

/* Every n-gram of the NUL-terminated string s. */
static void tokenize(sink *k, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t prev = 0; /* FNV state after the previous word, for the bigram */
    bool has_prev = false;
    size_t i = 0;
    while (p[i]) {
        if (!is_word_byte(p[i])) {
            i++;
            continue;
        }
        size_t start = i;
        while (is_word_byte(p[i]))
            i++;
        const unsigned char *w = p + start;
        size_t len = i - start;
        uint64_t h = fnv_bytes(FNV_BASIS, w, len);
        sink_add(k, h, WORD_TAG, 0);
        if (has_prev)
            sink_add(k, fnv_bytes(fnv_byte(prev, ' '), w, len), WORD_TAG, 0);
        prev = h;
        has_prev = true;
        char_grams(k, w, len);
    }
}

/* ---- weights -------------------------------------------------------------------------------- */

/* 1 + ln c for the small counts nearly every bucket holds, so the weighting costs a lookup
 * instead of a logarithm; larger counts call log. The same values either way. */
enum { TF_TABLE = 64 };

static void tf_table_init(double *t)
{
    t[0] = 0.0;
    for (int c = 1; c < TF_TABLE; c++)
        t[c] = 1.0 + log((double)c);
}

static inline double sublinear(const double *t, double v)
{
    double a = fabs(v);
    double w = a < TF_TABLE ? t[(int)a] : 1.0 + log(a);
    return v > 0 ? w : -w;
}

static int cmp_i32(const void *pa, const void *pb)
{
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    return (a > b) - (a < b);
}

/* Puts the touched buckets in ascending order (the order the direct path sums in): a scan of
 * the marks when the string touches a fair share of them, a sort when it touches few. */
static void sort_touched(sink *k)
{
    int32_t width = 2 * k->half;
    if (k->n_touched * 16 >= width) {
        int32_t m = 0;
        for (int32_t b = 0; b < width; b++) {
            k->touched[m] = b; /* no branch: the marks are too random to predict */
            m += k->seen[b];
        }
    } else {
        qsort(k->touched, (size_t)k->n_touched, sizeof(int32_t), cmp_i32);
    }
}

/* Sparse path: turns the sink's counts into unit-length tf-idf weights written to bkt/val
 * (room for n_touched entries), returns how many, and clears the sink for the next string. */
static int32_t finish_sparse(const double *idf, const double *tf, sink *k, int32_t *bkt,
                             double *val)
{
    sort_touched(k);
    double ss = 0.0;
    int32_t m = 0;
    for (int64_t t = 0; t < k->n_touched; t++) {
        int32_t b = k->touched[t];
        double v = k->dense[b];
        k->dense[b] = 0.0;
        k->seen[b] = 0;
        if (v != 0.0) {
            double w = sublinear(tf, v) * idf[b];
            bkt[m] = b;
            val[m++] = w;
            ss += w * w;
        }
    }
    k->n_touched = 0;
    if (ss > 0.0) {
        double norm = sqrt(ss);
        for (int32_t t = 0; t < m; t++)
            val[t] /= norm;
    }
    return m;
}

/* Direct path: the same arithmetic in the same (ascending bucket) order on one output row. */
static void finish_direct(const double *idf, const double *tf, int32_t width, double *const *out,
                          int64_t i)
{
    double ss = 0.0;
    for (int32_t b = 0; b < width; b++) {
        double v = out[b][i];
        if (v != 0.0) {
            double w = sublinear(tf, v) * idf[b];
            out[b][i] = w;
            ss += w * w;
        }
    }
    if (ss > 0.0) {
        double norm = sqrt(ss);
        for (int32_t b = 0; b < width; b++)
            if (out[b][i] != 0.0)
                out[b][i] /= norm;
    }
}

/* ---- fitting -------------------------------------------------------------------------------- */

static void text_free(am_encoder *e)
{
    if (!e)
        return;
    am_encoder_fini(e);
    am_free(((text_enc *)e)->idf);
    am_free(e);
}

/* Buckets per half for a requested text_features (0 or less: the default; clamped). */
static int32_t half_for(int32_t features)
{
    int64_t f = features <= 0 ? TEXT_DEFAULT_FEATURES : features;
    f = AM_MIN(AM_MAX(f, 2), (int64_t)TEXT_MAX_FEATURES);
    return (int32_t)((f + 1) / 2);
}

static bool level_valid(const am_column *c, int32_t code)
{
    return code >= 0 && code < c->levels.n;
}

static bool make_names(text_enc *te, const char *col)
{
    if (!am_encoder_init_names(&te->base, 2 * (int64_t)te->half))
        return false;
    for (int32_t k = 0; k < 2 * te->half; k++) {
        char num[16];
        snprintf(num, sizeof(num), "%d", (int)(k < te->half ? k : k - te->half));
        te->base.names[k] = am_encoder_join(col, k < te->half ? "#w" : "#c", num);
        if (!te->base.names[k])
            return false;
    }
    return true;
}

/* Document frequencies: each distinct string among the training rows is hashed once and counts
 * for every training row that holds it. Returns the number of documents (rows with text). */
static int64_t count_documents(const am_enc_fit_args *a, sink *k, int64_t *per_level, int64_t *df)
{
    const am_column *c = a->col;
    int64_t n_docs = 0;
    for (int64_t i = 0; i < a->n_rows; i++) {
        int32_t code = c->codes[a->rows[i]];
        if (level_valid(c, code)) {
            per_level[code]++;
            n_docs++;
        }
    }
    for (int32_t l = 0; l < c->levels.n; l++) {
        if (!per_level[l])
            continue;
        tokenize(k, c->levels.items[l]);
        for (int64_t t = 0; t < k->n_touched; t++) {
            int32_t b = k->touched[t];
            if (k->dense[b] != 0.0)
                df[b] += per_level[l];
            k->dense[b] = 0.0;
            k->seen[b] = 0;
        }
        k->n_touched = 0;
    }
    return n_docs;
}

static am_status text_fit(const am_enc_fit_args *a, am_encoder **out, am_diag *d)
{
    const am_column *c = a->col;
    if (!c->codes || (c->type != AM_COL_TEXT && c->type != AM_COL_CAT))
        return am_feat_fail(d, AM_ERR_DATA, a->frame, 0, c->name,
                            "column \"%s\" is not a text column", c->name);
    int32_t half = half_for(a->opts ? a->opts->text_features : 0);
    size_t width = 2 * (size_t)half;
    text_enc *te = am_calloc(1, sizeof(*te));
    int64_t *per_level = am_calloc((size_t)AM_MAX(c->levels.n, 1), sizeof(int64_t));
    int64_t *df = am_calloc(width, sizeof(int64_t));
    sink k;
    bool ok = sink_alloc(&k, half) && te && per_level && df;
    if (te) {
        te->base.type = &am_enc_text;
        te->half = half;
        te->idf = am_malloc_array(width, sizeof(double));
        ok = ok && te->idf;
    }
    am_status st = AM_OK;
    if (!ok) {
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"", c->name);
        goto done;
    }
    int64_t n_docs = count_documents(a, &k, per_level, df);
    if (n_docs == 0) {
        st = am_feat_fail(d, AM_ERR_DATA, a->frame, 0, c->name,
                          "column \"%s\" has no text in the training rows", c->name);
        goto done;
    }
    for (size_t b = 0; b < width; b++)
        te->idf[b] = log((1.0 + (double)n_docs) / (1.0 + (double)df[b])) + 1.0;
    if (!make_names(te, c->name))
        st = am_fail(d, AM_ERR_NOMEM, "out of memory for the features of column \"%s\"", c->name);
done:
    sink_free(&k);
    am_free(df);
    am_free(per_level);
    if (st != AM_OK) {
        text_free(te ? &te->base : NULL);
        return st;
    }
    *out = &te->base;
    return AM_OK;
}

/* ---- transforming --------------------------------------------------------------------------- */

/* The distinct strings among the rows: slot_of[i] is row i's slot (-1: no text), level[s] slot
 * s's level, repeated[s] whether more than one of the rows holds it. Built with a small
 * open-addressing table keyed by code, so the cost follows the rows asked for, not the size of
 * the column's dictionary. Returns the slot count or -1 when out of memory. */
static int32_t find_slots(const am_column *c, const int64_t *rows, int64_t n, int32_t *slot_of,
                          int32_t *level, uint8_t *repeated)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)AM_MIN(n, (int64_t)c->levels.n))
        cap <<= 1;
    int32_t *keys = am_malloc_array(cap, sizeof(int32_t));
    int32_t *slots = am_malloc_array(cap, sizeof(int32_t));
    if (!keys || !slots) {
        am_free(keys);
        am_free(slots);
        return -1;
    }
    memset(keys, 0xff, cap * sizeof(int32_t));
    int32_t n_slots = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t code = c->codes[am_enc_row(rows, i)];
        slot_of[i] = -1;
        if (!level_valid(c, code))
            continue;
        size_t h = (size_t)am_feat_mix64((uint64_t)code) & (cap - 1);
        while (keys[h] >= 0 && keys[h] != code)
            h = (h + 1) & (cap - 1);
        if (keys[h] < 0) {
            keys[h] = code;
            slots[h] = n_slots;
            repeated[n_slots] = 0;
            level[n_slots++] = code;
        } else {
            repeated[slots[h]] = 1;
        }
        slot_of[i] = slots[h];
    }
    am_free(keys);
    am_free(slots);
    return n_slots;
}

/* The finished vectors of strings that several rows hold, kept from their first row on. Strings
 * held by one row are not kept: with all-distinct text the cache would grow as large as the
 * output for nothing. */
typedef struct vec_cache {
    int64_t *start; /* per slot: offset of its entries, -1 while not cached */
    int32_t *len;   /* per slot: its entry count */
    int32_t *bkt;
    double *val;
    int64_t used, cap;
} vec_cache;

/* Keeps slot s's m entries. Out of memory it keeps nothing: the string is hashed again at its
 * next row, which gives the same bits. */
static void cache_put(vec_cache *vc, int32_t s, const int32_t *bkt, const double *val, int32_t m)
{
    if (vc->used + m > vc->cap) {
        int64_t cap = AM_MAX(vc->used + m, 2 * vc->cap);
        size_t nb_bytes, nv_bytes;
        if (!am_size_mul((size_t)cap, sizeof(int32_t), &nb_bytes) ||
            !am_size_mul((size_t)cap, sizeof(double), &nv_bytes))
            return;
        int32_t *nb = am_realloc(vc->bkt, nb_bytes);
        if (!nb)
            return;
        vc->bkt = nb;
        double *nv = am_realloc(vc->val, nv_bytes);
        if (!nv)
            return;
        vc->val = nv;
        vc->cap = cap;
    }
    memcpy(vc->bkt + vc->used, bkt, (size_t)m * sizeof(int32_t));
    memcpy(vc->val + vc->used, val, (size_t)m * sizeof(double));
    vc->start[s] = vc->used;
    vc->len[s] = m;
    vc->used += m;
}

/* Rows per block: a block's share of every output column (width * 128 * 8 bytes, 256 KiB at the
 * default width) stays in cache between zeroing it and scattering into it, where zeroing whole
 * columns first would make every scattered write miss. */
enum { ROW_BLOCK = 128 };

/* The scratch of the cached path: the distinct strings, the cache, one string's vector. */
typedef struct text_work {
    int32_t *slot_of, *level;
    uint8_t *repeated;
    vec_cache vc;
    sink k;
    int32_t *bkt; /* width entries: the current string's vector */
    double *val;
} text_work;

static bool work_alloc(text_work *w, int32_t half, int64_t n, int64_t distinct_max)
{
    memset(w, 0, sizeof(*w));
    size_t slots = (size_t)AM_MAX(distinct_max, 1), width = 2 * (size_t)half;
    w->slot_of = am_malloc_array((size_t)n, sizeof(int32_t));
    w->level = am_malloc_array(slots, sizeof(int32_t));
    w->repeated = am_malloc(slots);
    w->vc.start = am_malloc_array(slots, sizeof(int64_t));
    w->vc.len = am_malloc_array(slots, sizeof(int32_t));
    w->bkt = am_malloc_array(width, sizeof(int32_t));
    w->val = am_malloc_array(width, sizeof(double));
    return sink_alloc(&w->k, half) && w->slot_of && w->level && w->repeated && w->vc.start &&
           w->vc.len && w->bkt && w->val;
}

static void work_free(text_work *w)
{
    sink_free(&w->k);
    am_free(w->val);
    am_free(w->bkt);
    am_free(w->vc.val);
    am_free(w->vc.bkt);
    am_free(w->vc.len);
    am_free(w->vc.start);
    am_free(w->repeated);
    am_free(w->level);
    am_free(w->slot_of);
}

/* Row i's vector: from the cache, or hashed now (and cached when another row holds it). */
static void write_row(const text_enc *te, const double *tf, const am_column *c, text_work *w,
                      int64_t i, double *const *out)
{
    int32_t s = w->slot_of[i];
    if (s < 0)
        return;
    const int32_t *bkt = w->bkt;
    const double *val = w->val;
    int32_t m;
    if (w->vc.start[s] >= 0) {
        bkt = w->vc.bkt + w->vc.start[s];
        val = w->vc.val + w->vc.start[s];
        m = w->vc.len[s];
    } else {
        tokenize(&w->k, c->levels.items[w->level[s]]);
        m = finish_sparse(te->idf, tf, &w->k, w->bkt, w->val);
        if (w->repeated[s])
            cache_put(&w->vc, s, w->bkt, w->val, m);
    }
    for (int32_t j = 0; j < m; j++)
        out[bkt[j]][i] = val[j];
}

/* Each distinct string hashed once. false (nothing written) when out of memory. */
static bool transform_cached(const text_enc *te, const double *tf, const am_column *c,
                             const int64_t *rows, int64_t n, double *const *out)
{
    text_work w;
    bool ok = work_alloc(&w, te->half, n, AM_MIN(n, (int64_t)c->levels.n));
    int32_t n_slots = ok ? find_slots(c, rows, n, w.slot_of, w.level, w.repeated) : -1;
    ok = n_slots >= 0;
    for (int32_t s = 0; s < n_slots; s++)
        w.vc.start[s] = -1;
    for (int64_t i0 = 0; ok && i0 < n; i0 += ROW_BLOCK) {
        int64_t i1 = AM_MIN(n, i0 + ROW_BLOCK);
        for (int64_t b = 0; b < te->base.width; b++)
            memset(out[b] + i0, 0, (size_t)(i1 - i0) * sizeof(double));
        for (int64_t i = i0; i < i1; i++)
            write_row(te, tf, c, &w, i, out);
    }
    work_free(&w);
    return ok;
}

/* No memory at all: each row hashed straight into its output cells. */
static void transform_direct(const text_enc *te, const double *tf, const am_column *c,
                             const int64_t *rows, int64_t n, double *const *out)
{
    int32_t width = 2 * te->half;
    sink k = {.half = te->half, .cols = out};
    for (int64_t i = 0; i < n; i++) {
        for (int32_t b = 0; b < width; b++)
            out[b][i] = 0.0;
        int32_t code = c->codes ? c->codes[am_enc_row(rows, i)] : -1;
        if (!level_valid(c, code))
            continue;
        k.row = i;
        tokenize(&k, c->levels.items[code]);
        finish_direct(te->idf, tf, width, out, i);
    }
}

static void text_transform(const am_encoder *e, const am_column *col, const int64_t *rows,
                           int64_t n, double *const *out)
{
    const text_enc *te = (const text_enc *)e;
    if (n <= 0)
        return;
    double tf[TF_TABLE];
    tf_table_init(tf);
    if (!col->codes || !transform_cached(te, tf, col, rows, n, out))
        transform_direct(te, tf, col, rows, n, out);
}

/* ---- saving --------------------------------------------------------------------------------- */

/* Payload: common fields (width = 2 half, the names), u32 half, f64 idf[width]. */
static am_status text_save(const am_encoder *e, am_buf *b, am_diag *d)
{
    const text_enc *te = (const text_enc *)e;
    am_encoder_save_common(e, b);
    am_buf_u32(b, (uint32_t)te->half);
    am_buf_f64s(b, te->idf, (size_t)e->width);
    return am_buf_status(b, d);
}

static am_status text_load(am_reader *r, uint32_t version, am_encoder **out, am_diag *d)
{
    if (version != 1)
        return am_fail(d, AM_ERR_FORMAT, "text encoder: version %u is not supported",
                       (unsigned)version);
    text_enc *te = am_calloc(1, sizeof(*te));
    if (!te)
        return am_fail(d, AM_ERR_NOMEM, "out of memory loading a text encoder");
    te->base.type = &am_enc_text;
    am_status st = am_encoder_load_common(r, TEXT_MAX_FEATURES, &te->base, d);
    if (st == AM_OK) {
        uint32_t half = am_get_u32(r);
        if (r->failed || te->base.n_categories || half == 0 ||
            (int64_t)half * 2 != te->base.width)
            st = am_fail(d, AM_ERR_FORMAT, "text encoder: corrupt feature count");
        te->half = (int32_t)half;
    }
    if (st == AM_OK && !(te->idf = am_malloc_array((size_t)te->base.width, sizeof(double))))
        st = am_fail(d, AM_ERR_NOMEM, "out of memory loading a text encoder");
    if (st == AM_OK) {
        bool good = am_get_f64s(r, te->idf, (size_t)te->base.width);
        for (int64_t b = 0; good && b < te->base.width; b++)
            good = te->idf[b] >= 1.0 && te->idf[b] <= IDF_MAX; /* false for NaN too */
        if (!good)
            st = am_fail(d, AM_ERR_FORMAT, "text encoder: corrupt idf weights");
    }
    if (st != AM_OK) {
        text_free(&te->base);
        return st;
    }
    *out = &te->base;
    return AM_OK;
}

const am_encoder_type am_enc_text = {
    .name = "text",
    .version = 1,
    .fit = text_fit,
    .transform = text_transform,
    .transform_train = NULL,
    .save = text_save,
    .load = text_load,
    .free = text_free,
};
