/* test_enc_text.c — the "text" encoder: tokens and n-grams (hand-listed, then a reference
 * implementation that builds every n-gram as a string), the pinned hash, TF-IDF from the
 * training rows only, unit length, missing text, case folding, UTF-8, another frame's
 * dictionary, save/load bit for bit, every truncated or corrupt payload, and out of memory. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_testing.h"

/* ---- frames built by hand ---------------------------------------------------------------- */

/* One text column "t" of v[0..n), NULL = missing. */
static am_frame *text_frame(const char *const *v, int64_t n)
{
    return ft_codes_frame("t", AM_COL_TEXT, NULL, 0, v, n);
}

static am_status fit_rows(const am_frame *f, const int64_t *rows, int64_t n_rows,
                          int32_t features, am_encoder **out, am_diag *d)
{
    am_feat_options o = {.text_features = features};
    am_enc_fit_args a = {.frame = f, .col = &f->cols[0], .rows = rows, .n_rows = n_rows,
                         .opts = &o, .seed = 7};
    *out = NULL;
    am_diag_clear(d);
    return am_enc_text.fit(&a, out, d);
}

/* Fits on rows 0..n_train-1, failing the test on error. */
static am_encoder *fit_ok(const am_frame *f, int64_t n_train, int32_t features)
{
    int64_t *rows = ft_iota(n_train);
    am_encoder *e = NULL;
    am_diag d;
    am_status st = fit_rows(f, rows, n_train, features, &e, &d);
    ck_assert_msg(st == AM_OK, "fit: %s", ft_diag_text(&d));
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_eq(e->type, &am_enc_text);
    am_free(rows);
    return e;
}

static double at(const ft_outputs *o, int64_t i, int64_t k)
{
    return o->cols[k][i];
}

static double dot(const ft_outputs *a, int64_t i, const ft_outputs *b, int64_t j)
{
    double s = 0.0;
    for (int64_t k = 0; k < a->width; k++)
        s += at(a, i, k) * at(b, j, k);
    return s;
}

static bool same_row(const ft_outputs *a, int64_t i, const ft_outputs *b, int64_t j)
{
    for (int64_t k = 0; k < a->width; k++)
        if (memcmp(&a->cols[k][i], &b->cols[k][j], sizeof(double)) != 0)
            return false;
    return true;
}

static bool row_zero(const ft_outputs *a, int64_t i)
{
    for (int64_t k = 0; k < a->width; k++)
        if (at(a, i, k) != 0.0)
            return false;
    return true;
}

static am_buf save_ok(const am_encoder *e)
{
    am_buf b;
    am_buf_init(&b);
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(e->type->save(e, &b, &d), AM_OK);
    return b;
}

static am_status load_bytes(const void *data, size_t len, am_encoder **out, size_t *left)
{
    am_reader r;
    am_reader_init(&r, data, len, "text encoder");
    am_diag d;
    am_diag_clear(&d);
    *out = NULL;
    am_status st = am_enc_text.load(&r, am_enc_text.version, out, &d);
    if (left)
        *left = r.left;
    if (st == AM_OK)
        ck_assert_ptr_nonnull(*out);
    else
        ck_assert_ptr_null(*out);
    return st;
}

/* ---- the reference: every n-gram built as a string ------------------------------------------ */

/* Pinned: the encoder's hash is FNV-1a, finished by splitmix64's mixer with a per-half tag;
 * the bucket is the low 32 bits scaled to [0, half), the sign bit 63. Changing any of this
 * changes every saved model, so the test spells it out. */
#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull
#define WORD_TAG 0x776f72642d6e6772ull
#define CHAR_TAG 0x636861722d6e6772ull

static uint64_t ref_fnv(const char *s, size_t n)
{
    uint64_t h = FNV_BASIS;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
    return h;
}

static uint64_t ref_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

typedef void (*gram_fn)(void *user, const char *gram, size_t len, bool word);

static bool ref_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* Lower-cases, splits into words, and emits word unigrams, bigrams ("a b") and the character
 * 3..5-grams (UTF-8 code points) of each word padded with spaces, as strings. */
static void ref_grams(const char *s, gram_fn fn, void *user)
{
    char low[4096], pad[4096], big[8192];
    size_t n = strlen(s);
    ck_assert_uint_lt(n, sizeof(low));
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    size_t ws[512], wl[512];
    int nw = 0;
    for (size_t i = 0; i < n;) {
        if (!ref_word_byte((unsigned char)low[i])) {
            i++;
            continue;
        }
        ws[nw] = i;
        while (i < n && ref_word_byte((unsigned char)low[i]))
            i++;
        wl[nw] = i - ws[nw];
        nw++;
    }
    for (int j = 0; j < nw; j++) {
        fn(user, low + ws[j], wl[j], true);
        if (j > 0) {
            int len = snprintf(big, sizeof(big), "%.*s %.*s", (int)wl[j - 1], low + ws[j - 1],
                               (int)wl[j], low + ws[j]);
            fn(user, big, (size_t)len, true);
        }
    }
    for (int j = 0; j < nw; j++) {
        int len = snprintf(pad, sizeof(pad), " %.*s ", (int)wl[j], low + ws[j]);
        size_t starts[4096];
        int nc = 0;
        for (int i = 0; i < len; i++)
            if (i <= 1 || ((unsigned char)pad[i] & 0xC0) != 0x80)
                starts[nc++] = (size_t)i;
        starts[nc] = (size_t)len;
        for (int g = 3; g <= 5; g++)
            for (int p = 0; p + g <= nc; p++)
                fn(user, pad + starts[p], starts[p + g] - starts[p], false);
    }
}

/* "w:gram|w:gram|c:gram|..." in the reference's order. */
typedef struct gram_text {
    char s[4096];
    size_t len;
} gram_text;

static void gram_append(void *user, const char *gram, size_t len, bool word)
{
    gram_text *t = user;
    int k = snprintf(t->s + t->len, sizeof(t->s) - t->len, "%s%c:%.*s", t->len ? "|" : "",
                     word ? 'w' : 'c', (int)len, gram);
    t->len += (size_t)k;
}

static const char *ref_list(const char *s)
{
    static gram_text t;
    t.len = 0;
    t.s[0] = '\0';
    ref_grams(s, gram_append, &t);
    return t.s;
}

typedef struct ref_vec {
    int32_t half;
    double *v; /* 2 half signed counts */
} ref_vec;

static void gram_count(void *user, const char *gram, size_t len, bool word)
{
    ref_vec *r = user;
    uint64_t m = ref_mix(ref_fnv(gram, len) ^ (word ? WORD_TAG : CHAR_TAG));
    int64_t b = (word ? 0 : r->half) + (int64_t)(((m & 0xffffffffu) * (uint64_t)r->half) >> 32);
    r->v[b] += (m >> 63) ? -1.0 : 1.0;
}

/* The expected ft_outputs of every row of v (n rows), with idf from rows 0..n_train-1: counts per
 * bucket, df, idf, signed sublinear tf, unit length. out[i * width + k]. */
static double *ref_outputs(const char *const *v, int64_t n, int64_t n_train, int32_t half)
{
    int64_t width = 2 * (int64_t)half;
    double *counts = am_calloc((size_t)(n * width), sizeof(double));
    double *idf = am_calloc((size_t)width, sizeof(double));
    ck_assert_ptr_nonnull(counts);
    ck_assert_ptr_nonnull(idf);
    for (int64_t i = 0; i < n; i++) {
        ref_vec r = {half, counts + i * width};
        if (v[i])
            ref_grams(v[i], gram_count, &r);
    }
    int64_t docs = 0;
    for (int64_t i = 0; i < n_train; i++)
        docs += v[i] != NULL;
    for (int64_t k = 0; k < width; k++) {
        int64_t df = 0;
        for (int64_t i = 0; i < n_train; i++)
            df += v[i] && counts[i * width + k] != 0.0;
        idf[k] = log((1.0 + (double)docs) / (1.0 + (double)df)) + 1.0;
    }
    for (int64_t i = 0; i < n; i++) {
        double *row = counts + i * width, ss = 0.0;
        for (int64_t k = 0; k < width; k++) {
            double c = row[k];
            if (c != 0.0)
                row[k] = (c > 0 ? 1.0 + log(c) : -(1.0 + log(-c))) * idf[k];
            ss += row[k] * row[k];
        }
        for (int64_t k = 0; ss > 0 && k < width; k++)
            row[k] /= sqrt(ss);
    }
    am_free(idf);
    return counts;
}

/* ---- tokens and n-grams --------------------------------------------------------------------- */

START_TEST(test_reference_fnv_is_standard)
{
    /* The published FNV-1a 64-bit vectors, so the pinned hash is the standard one. */
    ck_assert_uint_eq(ref_fnv("", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(ref_fnv("a", 1), 0xaf63dc4c8601ec8cull);
    ck_assert_uint_eq(ref_fnv("foobar", 6), 0x85944171f73967e8ull);
}
END_TEST

/* The reference's n-grams, against lists written out by hand. */
START_TEST(test_reference_grams_by_hand)
{
    ck_assert_str_eq(ref_list("Hi there"),
                     "w:hi|w:there|w:hi there|"
                     "c: hi|c:hi |c: hi |"
                     "c: th|c:the|c:her|c:ere|c:re |c: the|c:ther|c:here|c:ere |c: ther|c:there|"
                     "c:here ");
    ck_assert_str_eq(ref_list("a"), "w:a|c: a ");
    ck_assert_str_eq(ref_list("A, b!"), "w:a|w:b|w:a b|c: a |c: b ");
    ck_assert_str_eq(ref_list("ab"), "w:ab|c: ab|c:ab |c: ab ");
    /* UTF-8: a character is a code point, so "日本" padded is four characters. */
    ck_assert_str_eq(ref_list("日本"), "w:日本|c: 日本|c:日本 |c: 日本 ");
    ck_assert_str_eq(ref_list("x2-y"), "w:x2|w:y|w:x2 y|c: x2|c:x2 |c: x2 |c: y ");
    ck_assert_str_eq(ref_list("!!! ..."), "");
}
END_TEST

static const char *const oracle_texts[] = {
    "Hi there",
    "the quick brown fox jumps over the lazy dog",
    "THE QUICK brown Fox",
    "a",
    NULL,
    "A, b!",
    "café au lait, s'il vous plaît",
    "日本語のテキスト and English",
    "x2-y 42 4242 x2",
    "!!! ...",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "the the the the the the the",
    "Hi there",
    "\xc3\xa9\x80\x80 stray \x80" "continuation bytes\xff",
    /* Longer than the ASCII fast path's 64 bytes: the general path, checked the same way. */
    "Pneumonoultramicroscopicsilicovolcanoconiosis"
    "Pneumonoultramicroscopicsilicovolcanoconiosis and more",
};
#define N_ORACLE ((int64_t)(sizeof(oracle_texts) / sizeof(oracle_texts[0])))

/* The encoder against the reference, for widths from one bucket per half (every n-gram of a
 * half collides: the signed sums are tested) to the default. */
START_TEST(test_matches_reference)
{
    static const int32_t features[] = {2, 6, 16, 0};
    int32_t features_i = features[_i];
    int32_t half = features_i ? features_i / 2 : 128;
    int64_t n_train = 10;
    am_frame *f = text_frame(oracle_texts, N_ORACLE);
    am_encoder *e = fit_ok(f, n_train, features_i);
    ck_assert_int_eq(e->width, 2 * half);
    ft_outputs o = ft_transform(e, f, NULL, N_ORACLE);
    double *want = ref_outputs(oracle_texts, N_ORACLE, n_train, half);
    int nonzero = 0;
    for (int64_t i = 0; i < N_ORACLE; i++)
        for (int64_t k = 0; k < e->width; k++) {
            double w = want[i * e->width + k], got = at(&o, i, k);
            ck_assert_msg(fabs(got - w) <= 1e-12, "row %lld output %lld: %.17g, want %.17g",
                          (long long)i, (long long)k, got, w);
            ck_assert(isfinite(got));
            nonzero += got != 0.0;
        }
    ck_assert_int_gt(nonzero, 0);
    am_free(want);
    ft_outputs_free(&o);
    am_enc_text.free(e);
    am_frame_free(f);
}
END_TEST

START_TEST(test_widths_and_names)
{
    static const char *const v[] = {"hello world"};
    am_frame *f = text_frame(v, 1);
    static const struct {
        int32_t features;
        int64_t width;
    } cases[] = {{0, 256}, {-3, 256}, {1, 2}, {2, 2}, {5, 6}, {6, 6}, {300, 300}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        am_encoder *e = fit_ok(f, 1, cases[c].features);
        ck_assert_int_eq(e->width, cases[c].width);
        ck_assert_ptr_null(e->n_categories);
        int64_t half = e->width / 2;
        for (int64_t k = 0; k < e->width; k++) {
            char want[32];
            snprintf(want, sizeof(want), "t#%c%lld", k < half ? 'w' : 'c',
                     (long long)(k < half ? k : k - half));
            ck_assert_str_eq(e->names[k], want);
        }
        am_enc_text.free(e);
    }
    am_frame_free(f);
}
END_TEST

/* ---- what the vectors mean -------------------------------------------------------------- */

static const char *const mixed[] = {
    "The quick brown fox",
    "the quick brown dog",
    "zyx wvu tsr",
    NULL,
    "",
    "!!! ... ???",
    "Hello World",
    "hello world",
    "HELLO   world!!",
    "Café",
    "café",
    "cafe",
    "ÉCOLE",
    "école",
    "日本語",
};

START_TEST(test_similarity_and_unit_length)
{
    am_frame *f = text_frame(mixed, 15);
    am_encoder *e = fit_ok(f, 15, 0);
    ft_outputs o = ft_transform(e, f, NULL, 15);
    for (int64_t i = 0; i < 15; i++) {
        bool empty = i >= 3 && i <= 5;
        if (empty)
            ck_assert_msg(row_zero(&o, i), "row %lld should be all zeros", (long long)i);
        else
            ck_assert_double_eq_tol(dot(&o, i, &o, i), 1.0, 1e-12);
        for (int64_t k = 0; k < o.width; k++)
            ck_assert(isfinite(at(&o, i, k)));
    }
    /* Shared words: clearly similar; disjoint words and letters: nearly orthogonal (only
     * hash collisions, half of them cancelling). */
    ck_assert_double_gt(dot(&o, 0, &o, 1), 0.4);
    ck_assert_double_lt(fabs(dot(&o, 0, &o, 2)), 0.2);
    /* ASCII case folds; punctuation and extra blanks separate words and nothing else. */
    ck_assert(same_row(&o, 6, &o, 7));
    ck_assert(same_row(&o, 6, &o, 8));
    ck_assert(same_row(&o, 9, &o, 10));
    /* Non-ASCII bytes are kept: é is not e, and is not case-folded. */
    ck_assert(!same_row(&o, 10, &o, 11));
    ck_assert_double_gt(dot(&o, 10, &o, 11), 0.0); /* " ca" and "caf" are shared */
    ck_assert(!same_row(&o, 12, &o, 13));
    ft_outputs_free(&o);
    am_enc_text.free(e);
    am_frame_free(f);
}
END_TEST

/* Buckets hit by no training row get the largest idf; a word seen in every training row the
 * smallest: the ratio of two rows' weights shows it. */
START_TEST(test_idf_from_training_rows)
{
    static const char *const v[] = {"common alpha", "common beta", "common gamma",
                                    "common delta", "rare", "common"};
    am_frame *f = text_frame(v, 6);
    am_encoder *e = fit_ok(f, 4, 0);
    ft_outputs o = ft_transform(e, f, NULL, 6);
    double *want = ref_outputs(v, 6, 4, 128);
    for (int64_t i = 0; i < 6; i++)
        for (int64_t k = 0; k < e->width; k++)
            ck_assert_double_eq_tol(at(&o, i, k), want[i * e->width + k], 1e-12);
    am_free(want);
    /* Fitting on all six rows changes the weights: the idf depends on the rows given. */
    am_encoder *all = fit_ok(f, 6, 0);
    ft_outputs o_all = ft_transform(all, f, NULL, 6);
    ck_assert(!same_row(&o, 0, &o_all, 0));
    ft_outputs_free(&o_all);
    am_enc_text.free(all);
    ft_outputs_free(&o);
    am_enc_text.free(e);
    am_frame_free(f);
}
END_TEST

/* Validation rows never influence the fitted encoder: replacing them (words, missing values,
 * their number of distinct strings) leaves the saved bytes identical. The training rows are
 * interleaved with the validation rows, so fit must read rows[i], not the first rows. */
START_TEST(test_poisoned_rows)
{
    static const char *const clean[] = {"held out one",  "red apple pie", "green apple",
                                        "held out two",  "red wine",      "blue cheese",
                                        "apple and pie", "wine and cheese", "held out three"};
    static const char *const poisoned[] = {"ZEBRA quagga okapi", "red apple pie", "green apple",
                                           NULL,                 "red wine",      "blue cheese",
                                           "apple and pie",      "wine and cheese",
                                           "red red red wine wine"};
    int64_t rows[] = {1, 2, 4, 5, 6, 7};
    am_frame *fa = text_frame(clean, 9);
    am_frame *fb =
        ft_codes_frame("t", AM_COL_TEXT, (const char *const[]){"zzz"}, 1, poisoned, 9);
    am_encoder *ea = NULL, *eb = NULL;
    am_diag d;
    ck_assert_int_eq(fit_rows(fa, rows, 6, 0, &ea, &d), AM_OK);
    ck_assert_int_eq(fit_rows(fb, rows, 6, 0, &eb, &d), AM_OK);
    am_buf ba = save_ok(ea), bb = save_ok(eb);
    ck_assert_uint_eq(ba.len, bb.len);
    ck_assert(memcmp(ba.data, bb.data, ba.len) == 0);
    /* The check can fail: the same rows plus one validation row give other bytes. */
    int64_t more[] = {0, 1, 2, 4, 5, 6, 7};
    am_encoder *ec = NULL;
    ck_assert_int_eq(fit_rows(fb, more, 7, 0, &ec, &d), AM_OK);
    am_buf bc = save_ok(ec);
    ck_assert(bc.len != ba.len || memcmp(ba.data, bc.data, ba.len) != 0);
    /* And the weights are the reference's, computed from the training rows alone. */
    const char *train[6];
    for (int i = 0; i < 6; i++)
        train[i] = clean[rows[i]];
    double *want = ref_outputs(train, 6, 6, 128);
    ft_outputs o = ft_transform(eb, fb, rows, 6);
    for (int64_t i = 0; i < 6; i++)
        for (int64_t k = 0; k < eb->width; k++)
            ck_assert_double_eq_tol(at(&o, i, k), want[i * eb->width + k], 1e-12);
    ft_outputs_free(&o);
    am_free(want);
    am_buf_fini(&ba);
    am_buf_fini(&bb);
    am_buf_fini(&bc);
    am_enc_text.free(ea);
    am_enc_text.free(eb);
    am_enc_text.free(ec);
    am_frame_free(fa);
    am_frame_free(fb);
}
END_TEST

/* Another frame with its own dictionary (other codes, unseen words, a category column) gives
 * the same bits for the same strings; selected rows match the full transform's. */
START_TEST(test_other_frame_and_rows)
{
    am_frame *f = text_frame(mixed, 15);
    am_encoder *e = fit_ok(f, 15, 32);
    ft_outputs full = ft_transform(e, f, NULL, 15);
    static const char *const other[] = {"never seen words here", "hello world", NULL, "café",
                                        "The quick brown fox"};
    am_frame *g =
        ft_codes_frame("t", AM_COL_CAT, (const char *const[]){"x", "y", "z", "Café"}, 4, other, 5);
    ft_outputs o = ft_transform(e, g, NULL, 5);
    ck_assert(same_row(&o, 1, &full, 7));
    ck_assert(row_zero(&o, 2));
    ck_assert(same_row(&o, 3, &full, 10));
    ck_assert(same_row(&o, 4, &full, 0));
    ck_assert_double_eq_tol(dot(&o, 0, &o, 0), 1.0, 1e-12); /* unseen words just hash */
    int64_t rows[] = {14, 0, 0, 3, 7};
    ft_outputs sel = ft_transform(e, f, rows, 5);
    for (int64_t i = 0; i < 5; i++)
        ck_assert(same_row(&sel, i, &full, rows[i]));
    ft_outputs_free(&sel);
    ft_outputs_free(&o);
    ft_outputs_free(&full);
    am_enc_text.free(e);
    am_frame_free(g);
    am_frame_free(f);
}
END_TEST

START_TEST(test_deterministic)
{
    am_frame *f = text_frame(oracle_texts, N_ORACLE);
    am_encoder *e1 = fit_ok(f, N_ORACLE, 0), *e2 = fit_ok(f, N_ORACLE, 0);
    am_buf b1 = save_ok(e1), b2 = save_ok(e2);
    ck_assert_uint_eq(b1.len, b2.len);
    ck_assert(memcmp(b1.data, b2.data, b1.len) == 0);
    ft_outputs o1 = ft_transform(e1, f, NULL, N_ORACLE), o2 = ft_transform(e2, f, NULL, N_ORACLE);
    ck_assert(ft_same_outputs(&o1, &o2));
    ft_outputs_free(&o1);
    ft_outputs_free(&o2);
    am_buf_fini(&b1);
    am_buf_fini(&b2);
    am_enc_text.free(e1);
    am_enc_text.free(e2);
    am_frame_free(f);
}
END_TEST

START_TEST(test_fit_errors)
{
    static const char *const none[] = {NULL, NULL, "only in validation"};
    am_frame *f = text_frame(none, 3);
    int64_t rows[] = {0, 1};
    am_encoder *e = NULL;
    am_diag d;
    ck_assert_int_eq(fit_rows(f, rows, 2, 0, &e, &d), AM_ERR_DATA);
    ck_assert_ptr_null(e);
    ck_assert_ptr_nonnull(strstr(ft_diag_text(&d), "\"t\""));
    /* A numeric column has no strings. */
    am_frame *g = text_frame(none, 3);
    am_free(g->cols[0].codes);
    g->cols[0].codes = NULL;
    g->cols[0].type = AM_COL_NUM;
    ck_assert_int_eq(fit_rows(g, rows, 2, 0, &e, &d), AM_ERR_DATA);
    ck_assert_ptr_null(e);
    am_frame_free(g);
    am_frame_free(f);
}
END_TEST

/* ---- saving ----------------------------------------------------------------------------- */

START_TEST(test_save_load_round_trip)
{
    am_frame *f = text_frame(oracle_texts, N_ORACLE);
    am_encoder *e = fit_ok(f, 8, 0);
    am_buf b = save_ok(e);
    am_encoder *l = NULL;
    size_t left = 99;
    ck_assert_int_eq(load_bytes(b.data, b.len, &l, &left), AM_OK);
    ck_assert_uint_eq(left, 0); /* the load reads exactly what save wrote */
    ck_assert_int_eq(l->width, e->width);
    ck_assert_ptr_eq(l->type, &am_enc_text);
    for (int64_t k = 0; k < e->width; k++)
        ck_assert_str_eq(l->names[k], e->names[k]);
    ft_outputs o1 = ft_transform(e, f, NULL, N_ORACLE), o2 = ft_transform(l, f, NULL, N_ORACLE);
    ck_assert(ft_same_outputs(&o1, &o2));
    am_buf b2 = save_ok(l);
    ck_assert_uint_eq(b.len, b2.len);
    ck_assert(memcmp(b.data, b2.data, b.len) == 0);
    ft_outputs_free(&o1);
    ft_outputs_free(&o2);
    am_buf_fini(&b);
    am_buf_fini(&b2);
    am_enc_text.free(l);
    am_enc_text.free(e);
    am_frame_free(f);
}
END_TEST

START_TEST(test_every_truncation)
{
    am_frame *f = text_frame(oracle_texts, N_ORACLE);
    am_encoder *e = fit_ok(f, N_ORACLE, 16);
    am_buf b = save_ok(e);
    for (size_t len = 0; len < b.len; len++) {
        am_encoder *l = NULL;
        ck_assert_msg(load_bytes(b.data, len, &l, NULL) == AM_ERR_FORMAT, "length %zu", len);
    }
    am_buf_fini(&b);
    am_enc_text.free(e);
    am_frame_free(f);
}
END_TEST

/* A valid 6-feature payload (names "t#w0".."t#c2", 8 bytes each) patched one field at a time.
 * Offsets: width at 0, names at 8, has_categories at 56, half at 57, idf at 61. */
static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_f64(uint8_t *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    put_u64(p, u);
}

START_TEST(test_corrupt_payloads)
{
    static const char *const v[] = {"one two", "two three", "three four"};
    am_frame *f = text_frame(v, 3);
    am_encoder *e = fit_ok(f, 3, 6);
    am_buf b = save_ok(e);
    ck_assert_uint_eq(b.len, 61 + 6 * 8);
    ck_assert_uint_eq(b.data[56], 0);
    ck_assert_uint_eq(b.data[57], 3);
    uint8_t *p = b.data;
    uint32_t version = am_enc_text.version;
    switch (_i) {
    case 0: put_u64(p, 7); break;                   /* odd width: names misparse */
    case 1: put_u64(p, 0); break;                   /* no output */
    case 2: put_u64(p, (uint64_t)1 << 40); break;   /* absurd width */
    case 3: p[56] = 1; break;                       /* category counts on a text encoder */
    case 4: p[56] = 2; break;
    case 5: p[57] = 2; break;                       /* half disagrees with the width */
    case 6: p[57] = 0; break;
    case 7: p[60] = 0x80; break;                    /* half 2^31 + 3 */
    case 8: put_f64(p + 61, NAN); break;
    case 9: put_f64(p + 61 + 3 * 8, INFINITY); break;
    case 10: put_f64(p + 61 + 5 * 8, 0.5); break;   /* idf is never below 1 */
    case 11: put_f64(p + 61 + 8, 1e300); break;
    case 12: put_f64(p + 61 + 2 * 8, -INFINITY); break;
    case 13: version = 2; break;
    case 14: version = 0; break;
    default: ck_abort();
    }
    am_reader r;
    am_reader_init(&r, b.data, b.len, "text encoder");
    am_encoder *l = NULL;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_enc_text.load(&r, version, &l, &d), AM_ERR_FORMAT);
    ck_assert_ptr_null(l);
    am_buf_fini(&b);
    am_enc_text.free(e);
    am_frame_free(f);
}
END_TEST

/* ---- out of memory ---------------------------------------------------------------------- */

START_TEST(test_fit_out_of_memory)
{
    am_frame *f = text_frame(oracle_texts, N_ORACLE);
    int64_t *rows = ft_iota(N_ORACLE);
    am_buf want = {0};
    int k = 0;
    for (;; k++) {
        am_encoder *e = NULL;
        am_diag d;
        am_alloc_fail_after(k);
        am_status st = fit_rows(f, rows, N_ORACLE, 16, &e, &d);
        am_alloc_fail_after(-1);
        if (st == AM_OK) {
            want = save_ok(e);
            am_enc_text.free(e);
            break;
        }
        ck_assert_int_eq(st, AM_ERR_NOMEM);
        ck_assert_ptr_null(e);
        ck_assert_int_lt(k, 1000);
    }
    ck_assert_int_gt(k, 16); /* the names alone take 16 allocations */
    am_encoder *e = fit_ok(f, N_ORACLE, 16);
    am_buf got = save_ok(e);
    ck_assert(got.len == want.len && memcmp(got.data, want.data, got.len) == 0);
    /* Loading: the encoder's own allocations fail with AM_ERR_NOMEM; a name string failing
     * inside the shared reader (am_get_str cannot tell memory from corruption) with
     * AM_ERR_FORMAT. Either way nothing leaks and nothing is returned. */
    int n_nomem = 0;
    for (k = 0;; k++) {
        am_encoder *l = NULL;
        am_alloc_fail_after(k);
        am_status st = load_bytes(got.data, got.len, &l, NULL);
        am_alloc_fail_after(-1);
        if (st == AM_OK) {
            am_enc_text.free(l);
            break;
        }
        ck_assert(st == AM_ERR_NOMEM || st == AM_ERR_FORMAT);
        n_nomem += st == AM_ERR_NOMEM;
        ck_assert_int_lt(k, 1000);
    }
    ck_assert_int_ge(n_nomem, 3); /* the encoder, the name table, the idf */
    am_buf b;
    am_buf_init(&b);
    am_diag d;
    am_alloc_fail_after(0);
    am_status st = am_enc_text.save(e, &b, &d);
    am_alloc_fail_after(-1);
    ck_assert_int_eq(st, AM_ERR_NOMEM);
    am_buf_fini(&b);
    am_buf_fini(&want);
    am_buf_fini(&got);
    am_enc_text.free(e);
    am_free(rows);
    am_frame_free(f);
}
END_TEST

/* transform cannot fail: out of memory at any of its allocations it hashes row by row, and the
 * bits are the same as with memory. */
START_TEST(test_transform_out_of_memory)
{
    am_frame *f = text_frame(oracle_texts, N_ORACLE);
    am_encoder *e = fit_ok(f, N_ORACLE, 0);
    int64_t rows[] = {1, 13, 4, 1, 0, 7, 12, 9};
    ft_outputs want = ft_transform(e, f, rows, 8);
    for (int k = 0; k < 20; k++) {
        ft_outputs o = ft_outputs_new(e->width, 8);
        am_alloc_fail_after(k);
        e->type->transform(e, &f->cols[0], rows, 8, o.cols);
        am_alloc_fail_after(-1);
        ck_assert_msg(ft_same_outputs(&o, &want), "allocation %d failing", k);
        ft_outputs_free(&o);
    }
    ft_outputs_free(&want);
    am_enc_text.free(e);
    am_frame_free(f);
}
END_TEST

/* ---- a larger table ------------------------------------------------------------------- */

/* Many rows sharing few strings, through both paths: the cached one agrees with the reference
 * on a sample, and with the row-by-row one everywhere. */
START_TEST(test_many_rows)
{
    enum { N = 3000 };
    static const char *const words[] = {"data", "model", "Fit", "predict", "café", "x1", "the",
                                        "of",   "RIVER", "42",  "日本",    "blue"};
    char **texts = am_calloc(N, sizeof(char *));
    ck_assert_ptr_nonnull(texts);
    am_rng rng;
    am_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++) {
        if (am_rng_below(&rng, 20) == 0)
            continue; /* missing */
        char buf[256];
        size_t len = 0;
        int64_t n_words = 1 + am_rng_below(&rng, 3 + i % 5);
        for (int64_t w = 0; w < n_words; w++)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", w ? " " : "",
                                    words[am_rng_below(&rng, 12)]);
        texts[i] = am_strdup(buf);
        ck_assert_ptr_nonnull(texts[i]);
    }
    am_frame *f = text_frame((const char *const *)texts, N);
    am_encoder *e = fit_ok(f, 2000, 64);
    ft_outputs o = ft_transform(e, f, NULL, N);
    double *want = ref_outputs((const char *const *)texts, 300, 300, 32);
    /* The reference fitted on 300 rows; fit another encoder the same way to compare. */
    am_encoder *e300 = fit_ok(f, 300, 64);
    ft_outputs o300 = ft_transform(e300, f, NULL, 300);
    for (int64_t i = 0; i < 300; i++)
        for (int64_t k = 0; k < 64; k++)
            ck_assert_double_eq_tol(at(&o300, i, k), want[i * 64 + k], 1e-12);
    ft_outputs direct = ft_outputs_new(64, N);
    am_alloc_fail_after(0);
    e->type->transform(e, &f->cols[0], NULL, N, direct.cols);
    am_alloc_fail_after(-1);
    ck_assert(ft_same_outputs(&o, &direct));
    ft_outputs_free(&direct);
    ft_outputs_free(&o300);
    am_free(want);
    ft_outputs_free(&o);
    am_enc_text.free(e300);
    am_enc_text.free(e);
    am_frame_free(f);
    for (int i = 0; i < N; i++)
        am_free(texts[i]);
    am_free(texts);
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("enc_text");
    TCase *tc = tcase_create("tokens");
    tcase_add_test(tc, test_reference_fnv_is_standard);
    tcase_add_test(tc, test_reference_grams_by_hand);
    tcase_add_loop_test(tc, test_matches_reference, 0, 4);
    tcase_add_test(tc, test_widths_and_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("vectors");
    tcase_add_test(tc, test_similarity_and_unit_length);
    tcase_add_test(tc, test_idf_from_training_rows);
    tcase_add_test(tc, test_poisoned_rows);
    tcase_add_test(tc, test_other_frame_and_rows);
    tcase_add_test(tc, test_deterministic);
    tcase_add_test(tc, test_fit_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("saving");
    tcase_add_test(tc, test_save_load_round_trip);
    tcase_add_test(tc, test_every_truncation);
    tcase_add_loop_test(tc, test_corrupt_payloads, 0, 15);
    suite_add_tcase(s, tc);
    tc = tcase_create("memory");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fit_out_of_memory);
    tcase_add_test(tc, test_transform_out_of_memory);
    tcase_add_test(tc, test_many_rows);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
