/* test_bundle.c — the model file container: CRC-32, byte buffers and readers, save and load, and
 * the loader against truncated, corrupted and hostile files (run under ASan/valgrind, the
 * truncation and corruption sweeps prove the loader never reads out of bounds). */
#define _XOPEN_SOURCE 700 /* nftw */
#include "../automl/base/bundle.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define GOLDEN AM_SOURCE_DIR "/tests/data/bundle/golden_v1.amm"
#define FUTURE AM_SOURCE_DIR "/tests/data/bundle/future_v7.amm"

/* ---- helpers ------------------------------------------------------------------------------- */

/* Each test works in its own folder under one root that the runner's parent process makes
 * before and removes after the test case, so a failing test leaves nothing behind either. */
static char root[256];
static char tmpdir[512];

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void make_root(void)
{
    snprintf(root, sizeof(root), "/tmp/am_test_bundle_XXXXXX");
    if (!mkdtemp(root))
        root[0] = '\0';
}

static void remove_root(void)
{
    if (root[0])
        nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_tmpdir(void)
{
    ck_assert_msg(root[0] != '\0', "no test root folder");
    snprintf(tmpdir, sizeof(tmpdir), "%s/t_XXXXXX", root);
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void path_in(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", tmpdir, name);
}

/* Empties and removes this test's folder (the root's teardown would too; this keeps a long
 * CK_FORK=no run from piling files up). */
static void remove_tmpdir(void)
{
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Entries of a folder whose name contains ".tmp." (temporary files a save left behind). */
static int count_temporaries(const char *folder)
{
    DIR *dir = opendir(folder);
    if (!dir)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(dir);
    return n;
}

static int count_entries(const char *folder)
{
    DIR *dir = opendir(folder);
    ck_assert_ptr_nonnull(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(dir);
    return n;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    uint8_t *data = malloc(1 << 20);
    ck_assert_ptr_nonnull(data);
    *len = fread(data, 1, 1 << 20, f);
    fclose(f);
    return data;
}

static void write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* A copy in a block of exactly len bytes, so ASan and valgrind catch any read past the end. */
static uint8_t *exact_copy(const uint8_t *data, size_t len)
{
    uint8_t *c = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(c);
    if (len)
        memcpy(c, data, len);
    return c;
}

static void add_bytes(am_bundle *b, const char *tag, uint32_t version, const void *bytes,
                      size_t n)
{
    am_buf buf;
    am_buf_init(&buf);
    am_buf_put(&buf, bytes, n);
    ck_assert_int_eq(am_bundle_add(b, tag, version, &buf, NULL), AM_OK);
    am_buf_fini(&buf);
}

/* The bundle that tests/data/bundle/make_golden.py writes, built through the C API. */
static void build_golden(am_bundle *b)
{
    am_bundle_init(b);
    am_buf buf;
    am_buf_init(&buf);
    am_buf_str(&buf, "automl");
    am_buf_u32(&buf, 7);
    am_buf_f64(&buf, 0.5);
    am_buf_i64(&buf, -2);
    am_buf_u8(&buf, 255);
    ck_assert_int_eq(am_bundle_add(b, "META", 1, &buf, NULL), AM_OK);
    am_buf_fini(&buf);
    const uint8_t ten[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    add_bytes(b, "FEAT", 2, ten, sizeof(ten));
    ck_assert_int_eq(am_bundle_add(b, "EMPT", 1, NULL, NULL), AM_OK);
    add_bytes(b, "FEAT", 3, "x", 1);
}

/* The golden file's bytes (read once per test that needs them). */
static uint8_t *golden_bytes(size_t *len)
{
    return read_all(GOLDEN, len);
}

static bool sections_equal(const am_bundle *a, const am_bundle *b)
{
    if (a->n != b->n)
        return false;
    for (int32_t i = 0; i < a->n; i++) {
        const am_section *x = &a->sections[i], *y = &b->sections[i];
        if (strcmp(x->tag, y->tag) || x->version != y->version || x->len != y->len ||
            (x->len && memcmp(x->data, y->data, x->len)))
            return false;
    }
    return true;
}

/* ---- CRC-32 ------------------------------------------------------------------------------ */

/* The definition, one bit at a time: the oracle for the table-driven code. */
static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

START_TEST(crc_check_values)
{
    ck_assert_uint_eq(am_crc32("123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(am_crc32("", 0), 0);
    ck_assert_uint_eq(am_crc32(NULL, 0), 0);
    const char *fox = "The quick brown fox jumps over the lazy dog";
    ck_assert_uint_eq(am_crc32(fox, strlen(fox)), 0x414FA339u);
    ck_assert_uint_eq(am_crc32("a", 1), 0xE8B7BE43u);
}
END_TEST

/* Every length and alignment up to a few hundred bytes, and incremental updates split at every
 * point, agree with the bitwise definition. */
START_TEST(crc_matches_bitwise_and_increments)
{
    uint8_t data[600];
    am_rng r;
    am_rng_seed(&r, 77);
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)am_rng_next(&r);
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= 300; n++)
            ck_assert_uint_eq(am_crc32(data + off, n), crc_bitwise(data + off, n));
    uint32_t whole = am_crc32(data, sizeof(data));
    for (size_t cut = 0; cut <= sizeof(data); cut += 7) {
        uint32_t c = am_crc32_update(0, data, cut);
        ck_assert_uint_eq(am_crc32_update(c, data + cut, sizeof(data) - cut), whole);
    }
}
END_TEST

/* ---- buffers and readers ------------------------------------------------------------------- */

START_TEST(buf_reader_round_trip)
{
    am_buf b;
    am_buf_init(&b);
    const double arr[] = {1.5, -0.0, INFINITY, 5e-324, -1.7976931348623157e308};
    double nan_payload;
    uint64_t nan_bits = 0x7FF8000000000123ull;
    memcpy(&nan_payload, &nan_bits, 8);
    am_buf_u8(&b, 0xA5);
    am_buf_u32(&b, 0xDEADBEEFu);
    am_buf_u64(&b, 0x0123456789ABCDEFull);
    am_buf_i64(&b, INT64_MIN);
    am_buf_i64(&b, -1);
    am_buf_f64(&b, 0.1);
    am_buf_f64(&b, nan_payload);
    am_buf_f64s(&b, arr, AM_COUNT(arr));
    am_buf_f64s(&b, NULL, 0);
    am_buf_str(&b, "h\xc3\xa9llo");
    am_buf_str(&b, "");
    am_buf_put(&b, "raw", 3);
    am_buf_u64(&b, 12);
    for (int i = 0; i < 1000; i++) /* forces several reallocations */
        am_buf_u32(&b, (uint32_t)i);
    ck_assert_int_eq(am_buf_status(&b, NULL), AM_OK);
    ck_assert(!b.failed);

    am_reader r;
    am_reader_init(&r, b.data, b.len, "test payload");
    ck_assert_uint_eq(am_get_u8(&r), 0xA5);
    ck_assert_uint_eq(am_get_u32(&r), 0xDEADBEEFu);
    ck_assert(am_get_u64(&r) == 0x0123456789ABCDEFull);
    ck_assert(am_get_i64(&r) == INT64_MIN);
    ck_assert(am_get_i64(&r) == -1);
    ck_assert(am_get_f64(&r) == 0.1);
    double back = am_get_f64(&r);
    ck_assert(memcmp(&back, &nan_payload, 8) == 0); /* bits, not just "a NaN" */
    double arr_back[AM_COUNT(arr)];
    ck_assert(am_get_f64s(&r, arr_back, AM_COUNT(arr)));
    ck_assert(memcmp(arr_back, arr, sizeof(arr)) == 0);
    ck_assert(am_get_f64s(&r, NULL, 0));
    char *s = am_get_str(&r, 100);
    ck_assert_str_eq(s, "h\xc3\xa9llo");
    am_free(s);
    s = am_get_str(&r, 0);
    ck_assert_str_eq(s, "");
    am_free(s);
    char raw[3];
    ck_assert(am_get_bytes(&r, raw, 3) && !memcmp(raw, "raw", 3));
    ck_assert(am_get_count(&r, 12) == 12);
    for (int i = 0; i < 1000; i++)
        ck_assert_uint_eq(am_get_u32(&r), (uint32_t)i);
    ck_assert_int_eq(am_reader_status(&r, true, NULL), AM_OK);
    am_buf_fini(&b);
    ck_assert_ptr_null(b.data);
}
END_TEST

/* The encoding is little-endian whatever the host, with doubles as their IEEE bits. */
START_TEST(buf_layout_is_little_endian)
{
    am_buf b;
    am_buf_init(&b);
    am_buf_u32(&b, 0x01020304u);
    am_buf_u64(&b, 0x1122334455667788ull);
    am_buf_f64(&b, 1.0);
    am_buf_str(&b, "ab");
    const uint8_t want[] = {4, 3, 2, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                            0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 2, 0, 0, 0, 'a', 'b'};
    ck_assert_uint_eq(b.len, sizeof(want));
    ck_assert(memcmp(b.data, want, sizeof(want)) == 0);
    am_buf_fini(&b);
}
END_TEST

START_TEST(reader_fails_and_stays_failed)
{
    const uint8_t data[] = {1, 2, 3, 4, 5, 6};
    am_reader r;
    am_reader_init(&r, data, 3, "ridge model");
    ck_assert_uint_eq(am_get_u32(&r), 0); /* needs 4, has 3 */
    ck_assert(r.failed);
    ck_assert_uint_eq(am_get_u8(&r), 0); /* bytes remain, but the reader has failed */
    ck_assert(am_get_f64(&r) == 0.0);
    ck_assert_ptr_null(am_get_str(&r, 10));
    ck_assert(!am_get_bytes(&r, NULL, 0));
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_reader_status(&r, false, &d), AM_ERR_FORMAT);
    ck_assert_str_eq(d.message, "ridge model: truncated or corrupt");

    /* Bytes left over are an error only when the caller expects the end. */
    am_reader_init(&r, data, 6, "x");
    ck_assert_uint_eq(am_get_u32(&r), 0x04030201u);
    ck_assert_int_eq(am_reader_status(&r, false, NULL), AM_OK);
    ck_assert_int_eq(am_reader_status(&r, true, NULL), AM_ERR_FORMAT);
    am_reader_fail(&r);
    ck_assert_int_eq(am_reader_status(&r, false, NULL), AM_ERR_FORMAT);

    /* An empty or NULL input reads nothing. */
    am_reader_init(&r, NULL, 100, "x");
    ck_assert_uint_eq(am_get_u8(&r), 0);
    ck_assert(r.failed);
}
END_TEST

/* Counts and string lengths are checked against their bound and the bytes left before any
 * allocation, so a hostile length cannot ask for gigabytes. */
START_TEST(reader_bounds_counts_and_strings)
{
    am_buf b;
    am_buf_init(&b);
    am_buf_u64(&b, 1001);
    am_reader r;
    am_reader_init(&r, b.data, b.len, "x");
    ck_assert(am_get_count(&r, 1000) == 0 && r.failed);
    am_buf_fini(&b);

    am_buf_init(&b);
    am_buf_str(&b, "hello");
    am_reader_init(&r, b.data, b.len, "x");
    ck_assert_ptr_null(am_get_str(&r, 4)); /* longer than allowed */
    ck_assert(r.failed);
    am_buf_fini(&b);

    am_buf_init(&b);
    am_buf_u32(&b, 0xFFFFFFF0u); /* claims 4 GiB, has 2 bytes */
    am_buf_put(&b, "ab", 2);
    am_reader_init(&r, b.data, b.len, "x");
    ck_assert_ptr_null(am_get_str(&r, SIZE_MAX));
    ck_assert(r.failed);
    am_buf_fini(&b);

    am_buf_init(&b);
    am_buf_u32(&b, 3);
    am_buf_put(&b, "a\0b", 3); /* an embedded NUL would silently shorten the name */
    am_reader_init(&r, b.data, b.len, "x");
    ck_assert_ptr_null(am_get_str(&r, 100));
    ck_assert(r.failed);
    am_buf_fini(&b);

    double out[2];
    const uint8_t some[16] = {0};
    am_reader_init(&r, some, sizeof(some), "x");
    ck_assert(!am_get_f64s(&r, out, SIZE_MAX / 4)); /* n * 8 overflows */
    ck_assert(r.failed);
    am_reader_init(&r, some, sizeof(some), "x");
    ck_assert(!am_get_f64s(&r, out, 3));
    ck_assert(r.failed);
}
END_TEST

START_TEST(buf_out_of_memory)
{
    am_buf b;
    am_buf_init(&b);
    am_alloc_fail_after(0);
    am_buf_u32(&b, 1);
    am_alloc_fail_after(-1);
    ck_assert(b.failed);
    am_buf_u32(&b, 2); /* stays failed: the contents would have a hole */
    ck_assert(b.failed);
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_buf_status(&b, &d), AM_ERR_NOMEM);
    am_bundle bundle;
    am_bundle_init(&bundle);
    ck_assert_int_eq(am_bundle_add(&bundle, "DATA", 1, &b, NULL), AM_ERR_NOMEM);
    ck_assert_int_eq(bundle.n, 0);
    am_buf_fini(&b);
    am_bundle_fini(&bundle);
}
END_TEST

/* ---- the bundle -------------------------------------------------------------------------- */

START_TEST(add_checks_tags)
{
    am_bundle b;
    am_bundle_init(&b);
    ck_assert_int_eq(am_bundle_add(&b, "ABC", 1, NULL, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_bundle_add(&b, "ABCDE", 1, NULL, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_bundle_add(&b, "AB\x01D", 1, NULL, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_bundle_add(&b, NULL, 1, NULL, NULL), AM_ERR_ARG);
    ck_assert_int_eq(b.n, 0);
    ck_assert_ptr_null(am_bundle_find(&b, "ABCD"));
    am_bundle_fini(&b);
    am_bundle_fini(&b); /* twice is fine */
}
END_TEST

START_TEST(save_load_round_trip)
{
    make_tmpdir();
    am_bundle b, back;
    build_golden(&b);
    /* A larger section too, so the file is written and read in more than one piece of work. */
    size_t big_n = 1 << 20;
    uint8_t *big = malloc(big_n);
    am_rng r;
    am_rng_seed(&r, 1);
    for (size_t i = 0; i < big_n; i++)
        big[i] = (uint8_t)am_rng_next(&r);
    add_bytes(&b, "BIG ", 9, big, big_n);
    free(big);

    char path[600];
    path_in(path, sizeof(path), "model.amm");
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_save(&b, path, &d), AM_OK);
    ck_assert_int_eq(am_bundle_load(&back, path, &d), AM_OK);
    ck_assert(sections_equal(&b, &back));
    /* Duplicate tags are kept in order; find returns the first. */
    const am_section *feat = am_bundle_find(&back, "FEAT");
    ck_assert_ptr_nonnull(feat);
    ck_assert_uint_eq(feat->version, 2);
    ck_assert_uint_eq(feat->len, 10);
    ck_assert_ptr_null(am_bundle_find(&back, "NONE"));
    ck_assert_int_eq(count_entries(tmpdir), 1);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    ck_assert_int_eq(st.st_mode & 0777, 0644 & ~mask);
    am_bundle_fini(&b);
    am_bundle_fini(&back);
    remove_tmpdir();
}
END_TEST

/* The reference file, written by a separate Python script from the documented layout, loads
 * with the expected sections, and the C writer produces it byte for byte. */
START_TEST(golden_file)
{
    am_bundle b, built;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_load(&b, GOLDEN, &d), AM_OK);
    ck_assert_int_eq(b.n, 4);
    ck_assert_str_eq(b.sections[0].tag, "META");
    ck_assert_str_eq(b.sections[2].tag, "EMPT");
    ck_assert_uint_eq(b.sections[2].len, 0);
    ck_assert_uint_eq(b.sections[3].version, 3);
    am_reader r;
    const am_section *meta = am_bundle_find(&b, "META");
    am_reader_init(&r, meta->data, meta->len, "META");
    char *name = am_get_str(&r, 64);
    ck_assert_str_eq(name, "automl");
    am_free(name);
    ck_assert_uint_eq(am_get_u32(&r), 7);
    ck_assert(am_get_f64(&r) == 0.5);
    ck_assert(am_get_i64(&r) == -2);
    ck_assert_uint_eq(am_get_u8(&r), 255);
    ck_assert_int_eq(am_reader_status(&r, true, NULL), AM_OK);

    build_golden(&built);
    ck_assert(sections_equal(&b, &built));
    make_tmpdir();
    char path[600];
    path_in(path, sizeof(path), "golden.amm");
    ck_assert_int_eq(am_bundle_save(&built, path, NULL), AM_OK);
    size_t n_want, n_got;
    uint8_t *want = golden_bytes(&n_want), *got = read_all(path, &n_got);
    ck_assert_uint_eq(n_got, n_want);
    ck_assert(memcmp(got, want, n_want) == 0);
    free(want);
    free(got);
    am_bundle_fini(&b);
    am_bundle_fini(&built);
    remove_tmpdir();
}
END_TEST

START_TEST(newer_format_refused)
{
    am_bundle b;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_load(&b, FUTURE, &d), AM_ERR_FORMAT);
    ck_assert_str_eq(d.message,
                     "model format version 7 is newer than this build reads (1); upgrade automl");
    ck_assert_str_eq(d.file, FUTURE);
    char line[1024];
    ck_assert_str_eq(am_diag_format(&d, line, sizeof(line)),
                     FUTURE ": model format version 7 is newer than this build reads (1); "
                            "upgrade automl");
    ck_assert_int_eq(b.n, 0);
    am_bundle_fini(&b);
}
END_TEST

/* Header-level rejections, each with its message and the file named. */
START_TEST(bad_headers)
{
    size_t n;
    uint8_t *g = golden_bytes(&n);
    am_bundle b;
    am_diag d;
    struct {
        size_t at;
        uint8_t value;
        const char *message;
    } cases[] = {
        {7, 'X', "not an automl model file (bad magic)"},
        {0, 'a', "not an automl model file (bad magic)"},
        {8, 0, "invalid model format version 0"},
        {12, 1, "unsupported model file flags 0x00000001"},
        {17, 0x20, "model file claims 8196 sections (at most 4096)"},
    };
    for (size_t i = 0; i < AM_COUNT(cases); i++) {
        uint8_t *c = exact_copy(g, n);
        c[cases[i].at] = cases[i].value;
        am_diag_clear(&d);
        ck_assert_int_eq(am_bundle_parse(&b, c, n, "m.amm", &d), AM_ERR_FORMAT);
        ck_assert_str_eq(d.message, cases[i].message);
        ck_assert_str_eq(d.file, "m.amm");
        ck_assert_int_eq(b.n, 0);
        free(c);
    }
    /* A CSV file is not a model. */
    const char *csv = "a,b\n1,2\n3,4\n5,6\n7,8\n";
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_parse(&b, (const uint8_t *)csv, strlen(csv), "x.csv", &d),
                     AM_ERR_FORMAT);
    ck_assert_str_eq(d.message, "not an automl model file (bad magic)");
    /* Trailing bytes. */
    uint8_t *longer = malloc(n + 1);
    memcpy(longer, g, n);
    longer[n] = 0;
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_parse(&b, longer, n + 1, "m.amm", &d), AM_ERR_FORMAT);
    ck_assert_str_eq(d.message, "unexpected bytes after the last section (1; file corrupt)");
    free(longer);
    free(g);
}
END_TEST

/* A payload byte changed: the section is named and the CRC catches it. */
START_TEST(checksum_mismatch_named)
{
    size_t n;
    uint8_t *g = golden_bytes(&n);
    g[20 + 16 + 3] ^= 0x10; /* inside META's payload */
    am_bundle b;
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_parse(&b, g, n, "m.amm", &d), AM_ERR_FORMAT);
    ck_assert_str_eq(d.message, "section META: checksum mismatch (file corrupt)");
    free(g);
}
END_TEST

/* A section length near 2^64 or past the end is refused before any allocation or read. */
START_TEST(hostile_lengths)
{
    size_t n;
    uint8_t *g = golden_bytes(&n);
    static const uint64_t lengths[] = {UINT64_MAX, (uint64_t)1 << 63, (uint64_t)1 << 40, 200, 32};
    for (size_t i = 0; i < AM_COUNT(lengths); i++) {
        uint8_t *c = exact_copy(g, n);
        for (int k = 0; k < 8; k++)
            c[20 + 8 + k] = (uint8_t)(lengths[i] >> (8 * k));
        am_bundle b;
        am_diag d;
        am_diag_clear(&d);
        ck_assert_int_eq(am_bundle_parse(&b, c, n, "m.amm", &d), AM_ERR_FORMAT);
        ck_assert_msg(strstr(d.message, "section META") != NULL, "%s", d.message);
        free(c);
    }
    free(g);
}
END_TEST

/* The file cut at every length fails as AM_ERR_FORMAT, through the real loader. */
START_TEST(truncated_at_every_length)
{
    make_tmpdir();
    size_t n;
    uint8_t *g = golden_bytes(&n);
    char path[600];
    path_in(path, sizeof(path), "cut.amm");
    for (size_t len = 0; len < n; len++) {
        write_all(path, g, len);
        am_bundle b;
        am_diag d;
        am_diag_clear(&d);
        ck_assert_msg(am_bundle_load(&b, path, &d) == AM_ERR_FORMAT, "length %zu: %s", len,
                      d.message);
        ck_assert_str_eq(d.file, path);
        ck_assert_int_eq(b.n, 0);
        ck_assert_ptr_null(b.sections);
        /* And from memory, in a block of exactly len bytes. */
        uint8_t *c = exact_copy(g, len);
        ck_assert_int_eq(am_bundle_parse(&b, c, len, "m", NULL), AM_ERR_FORMAT);
        free(c);
    }
    free(g);
    remove_tmpdir();
}
END_TEST

/* Byte positions of the golden file whose change the format cannot detect: the section tags
 * (still printable, so a different tag) and the section versions (interpreted by callers). */
static bool undetectable_position(const am_bundle *golden, size_t at)
{
    size_t pos = 20;
    for (int32_t i = 0; i < golden->n; i++) {
        if (at >= pos && at < pos + 8)
            return true;
        pos += 16 + golden->sections[i].len + 4;
    }
    return false;
}

/* Every byte flipped (all bits, and the low bit): rejected, or for the bytes that do not
 * matter, loaded with only that field different. Never a crash. */
START_TEST(every_byte_corrupted)
{
    size_t n;
    uint8_t *g = golden_bytes(&n);
    am_bundle golden;
    ck_assert_int_eq(am_bundle_parse(&golden, g, n, "golden", NULL), AM_OK);
    static const uint8_t masks[] = {0xFF, 0x01, 0x80};
    for (size_t m = 0; m < AM_COUNT(masks); m++)
        for (size_t at = 0; at < n; at++) {
            uint8_t *c = exact_copy(g, n);
            c[at] ^= masks[m];
            am_bundle b;
            am_diag d;
            am_diag_clear(&d);
            am_status s = am_bundle_parse(&b, c, n, "m.amm", &d);
            if (s == AM_OK) {
                ck_assert_msg(undetectable_position(&golden, at),
                              "byte %zu ^ 0x%02x was accepted", at, masks[m]);
                ck_assert_int_eq(b.n, golden.n);
                ck_assert(!sections_equal(&b, &golden));
            } else {
                ck_assert_int_eq(s, AM_ERR_FORMAT);
                ck_assert_str_eq(d.file, "m.amm");
                ck_assert_int_eq(b.n, 0);
            }
            am_bundle_fini(&b);
            free(c);
        }
    am_bundle_fini(&golden);
    free(g);
}
END_TEST

/* Random damage (overwritten runs, cuts, extensions) of a larger bundle: no crash, no leak. */
START_TEST(random_damage)
{
    am_bundle src;
    build_golden(&src);
    am_buf payload;
    am_buf_init(&payload);
    for (int i = 0; i < 200; i++)
        am_buf_f64(&payload, i * 0.25);
    ck_assert_int_eq(am_bundle_add(&src, "DATA", 1, &payload, NULL), AM_OK);
    am_buf_fini(&payload);
    make_tmpdir();
    char path[600];
    path_in(path, sizeof(path), "src.amm");
    ck_assert_int_eq(am_bundle_save(&src, path, NULL), AM_OK);
    size_t n;
    uint8_t *g = read_all(path, &n);
    am_rng r;
    am_rng_seed(&r, 2024);
    int accepted = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = n;
        int64_t mode = am_rng_below(&r, 3);
        if (mode == 1)
            len = (size_t)am_rng_below(&r, (int64_t)n);
        else if (mode == 2)
            len = n + (size_t)am_rng_below(&r, 64);
        uint8_t *c = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++)
            c[i] = i < n ? g[i] : (uint8_t)am_rng_next(&r);
        int64_t hits = 1 + am_rng_below(&r, 4);
        for (int64_t h = 0; h < hits && len; h++)
            c[am_rng_below(&r, (int64_t)len)] = (uint8_t)am_rng_next(&r);
        am_bundle b;
        am_status s = am_bundle_parse(&b, c, len, "fuzz", NULL);
        ck_assert(s == AM_OK || s == AM_ERR_FORMAT);
        accepted += s == AM_OK;
        am_bundle_fini(&b);
        free(c);
    }
    ck_assert_int_lt(accepted, 300); /* most damage is caught */
    free(g);
    am_bundle_fini(&src);
    remove_tmpdir();
}
END_TEST

/* Out of memory at every allocation of a load: a clean AM_ERR_NOMEM, nothing leaked. */
START_TEST(load_out_of_memory)
{
    size_t n;
    uint8_t *g = golden_bytes(&n);
    int failures = 0;
    for (int64_t k = 0; k < 100; k++) {
        am_bundle b;
        am_diag d;
        am_diag_clear(&d);
        am_alloc_fail_after(k);
        am_status s = am_bundle_parse(&b, g, n, "m.amm", &d);
        am_alloc_fail_after(-1);
        am_bundle_fini(&b);
        if (s == AM_OK)
            break;
        ck_assert_int_eq(s, AM_ERR_NOMEM);
        failures++;
    }
    ck_assert_int_ge(failures, 4); /* one per section at least */
    for (int64_t k = 0; k < 20; k++) {
        am_bundle b;
        am_alloc_fail_after(k);
        am_status s = am_bundle_load(&b, GOLDEN, NULL);
        am_alloc_fail_after(-1);
        am_bundle_fini(&b);
        if (s == AM_OK)
            break;
        ck_assert_int_eq(s, AM_ERR_NOMEM);
    }
    free(g);
}
END_TEST

START_TEST(section_count_limit)
{
    am_bundle b, back;
    am_bundle_init(&b);
    for (int i = 0; i < 4096; i++)
        ck_assert_int_eq(am_bundle_add(&b, "TINY", (uint32_t)i, NULL, NULL), AM_OK);
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_add(&b, "TINY", 1, NULL, &d), AM_ERR_ARG);
    make_tmpdir();
    char path[600];
    path_in(path, sizeof(path), "many.amm");
    ck_assert_int_eq(am_bundle_save(&b, path, NULL), AM_OK);
    ck_assert_int_eq(am_bundle_load(&back, path, NULL), AM_OK);
    ck_assert_int_eq(back.n, 4096);
    ck_assert_uint_eq(back.sections[4095].version, 4095);
    am_bundle_fini(&b);
    am_bundle_fini(&back);
    remove_tmpdir();
}
END_TEST

/* ---- saving and its failures ------------------------------------------------------------- */

START_TEST(save_into_missing_directory)
{
    make_tmpdir();
    am_bundle b;
    build_golden(&b);
    char path[600];
    path_in(path, sizeof(path), "no/such/dir/model.amm");
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_save(&b, path, &d), AM_ERR_IO);
    ck_assert_msg(strstr(d.message, path) != NULL, "%s", d.message);
    ck_assert_msg(strstr(d.message, "No such file or directory") != NULL, "%s", d.message);
    ck_assert_int_eq(count_entries(tmpdir), 0);
    am_bundle_fini(&b);
    remove_tmpdir();
}
END_TEST

START_TEST(save_replaces_existing)
{
    make_tmpdir();
    char path[600];
    path_in(path, sizeof(path), "model.amm");
    write_all(path, "old content", 11);
    am_bundle b, back;
    build_golden(&b);
    ck_assert_int_eq(am_bundle_save(&b, path, NULL), AM_OK);
    am_bundle_fini(&b);
    am_bundle_init(&b);
    add_bytes(&b, "NEW ", 5, "second", 6);
    ck_assert_int_eq(am_bundle_save(&b, path, NULL), AM_OK);
    ck_assert_int_eq(am_bundle_load(&back, path, NULL), AM_OK);
    ck_assert(sections_equal(&b, &back));
    ck_assert_int_eq(count_entries(tmpdir), 1);
    am_bundle_fini(&b);
    am_bundle_fini(&back);
    remove_tmpdir();
}
END_TEST

/* The save fails at four different points; each time the old file is intact and no temporary
 * file is left behind. */
static void assert_old_intact(const char *path)
{
    size_t n;
    uint8_t *data = read_all(path, &n);
    ck_assert_uint_eq(n, 11);
    ck_assert(memcmp(data, "old content", 11) == 0);
    free(data);
}

START_TEST(failed_save_keeps_old_file)
{
    make_tmpdir();
    char path[600];
    path_in(path, sizeof(path), "model.amm");
    write_all(path, "old content", 11);
    am_bundle b;
    am_bundle_init(&b);
    uint8_t *big = calloc(1, 100000);
    add_bytes(&b, "BIG ", 1, big, 100000);
    free(big);
    am_diag d;

    /* 1. Out of memory before anything is written. */
    am_alloc_fail_after(0);
    am_status s = am_bundle_save(&b, path, &d);
    am_alloc_fail_after(-1);
    ck_assert_int_eq(s, AM_ERR_NOMEM);
    assert_old_intact(path);
    ck_assert_int_eq(count_temporaries(tmpdir), 0);

    /* 2. The disk "fills" half-way: a file size limit makes write fail with EFBIG. This works
     * as root too, and the limit is restored for the tests after this one. */
    struct rlimit old_limit, small;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
    small = old_limit;
    small.rlim_cur = 5000;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    am_diag_clear(&d);
    s = am_bundle_save(&b, path, &d);
    setrlimit(RLIMIT_FSIZE, &old_limit);
    signal(SIGXFSZ, old_handler);
    ck_assert_int_eq(s, AM_ERR_IO);
    ck_assert_msg(strstr(d.message, "File too large") != NULL, "%s", d.message);
    assert_old_intact(path);
    ck_assert_int_eq(count_temporaries(tmpdir), 0);

    /* 3. The temporary name is taken (a stale file, or another thread saving the same path):
     * O_EXCL refuses it, and the stale file is not ours to delete. */
    char tmp[700];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    write_all(tmp, "stale", 5);
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_save(&b, path, &d), AM_ERR_IO);
    ck_assert_msg(strstr(d.message, "File exists") != NULL, "%s", d.message);
    assert_old_intact(path);
    ck_assert_int_eq(unlink(tmp), 0);

    /* 4. The rename fails after a complete write (the target is a non-empty folder): the
     * temporary file is removed. */
    char folder[600], inside[700];
    path_in(folder, sizeof(folder), "folder.amm");
    ck_assert_int_eq(mkdir(folder, 0755), 0);
    snprintf(inside, sizeof(inside), "%s/keep", folder);
    write_all(inside, "x", 1);
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_save(&b, folder, &d), AM_ERR_IO);
    ck_assert_int_eq(count_temporaries(tmpdir), 0);
    ck_assert_int_eq(count_entries(folder), 1);
    unlink(inside);

    am_bundle_fini(&b);
    remove_tmpdir();
}
END_TEST

START_TEST(load_io_errors)
{
    make_tmpdir();
    am_bundle b;
    am_diag d;
    char path[600];
    path_in(path, sizeof(path), "missing.amm");
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_load(&b, path, &d), AM_ERR_IO);
    ck_assert_str_eq(d.message, "cannot open: No such file or directory");
    ck_assert_str_eq(d.file, path);
    ck_assert_int_eq(b.n, 0);
    am_diag_clear(&d);
    ck_assert_int_eq(am_bundle_load(&b, tmpdir, &d), AM_ERR_IO);
    ck_assert_str_eq(d.message, "not a regular file");
    ck_assert_int_eq(am_bundle_load(&b, NULL, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_bundle_save(&b, "", NULL), AM_ERR_ARG);
    remove_tmpdir();
}
END_TEST

/* A file larger than any model is refused from its size alone (a sparse file: no disk used). */
START_TEST(huge_file_refused)
{
    make_tmpdir();
    char path[600];
    path_in(path, sizeof(path), "huge.amm");
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    ck_assert_int_ge(fd, 0);
    int rc = ftruncate(fd, ((off_t)16 << 30) + 1);
    close(fd);
    if (rc == 0) {
        am_bundle b;
        am_diag d;
        am_diag_clear(&d);
        am_alloc_fail_after(0); /* proves nothing is allocated for it either */
        am_status s = am_bundle_load(&b, path, &d);
        am_alloc_fail_after(-1);
        ck_assert_int_eq(s, AM_ERR_FORMAT);
        ck_assert_msg(strstr(d.message, "too large") != NULL, "%s", d.message);
    }
    remove_tmpdir();
}
END_TEST

static Suite *bundle_suite(void)
{
    Suite *s = suite_create("bundle");
    TCase *tc = tcase_create("bytes");
    tcase_add_test(tc, crc_check_values);
    tcase_add_test(tc, crc_matches_bitwise_and_increments);
    tcase_add_test(tc, buf_reader_round_trip);
    tcase_add_test(tc, buf_layout_is_little_endian);
    tcase_add_test(tc, reader_fails_and_stays_failed);
    tcase_add_test(tc, reader_bounds_counts_and_strings);
    tcase_add_test(tc, buf_out_of_memory);
    suite_add_tcase(s, tc);

    tc = tcase_create("file");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, make_root, remove_root);
    tcase_add_test(tc, add_checks_tags);
    tcase_add_test(tc, save_load_round_trip);
    tcase_add_test(tc, golden_file);
    tcase_add_test(tc, newer_format_refused);
    tcase_add_test(tc, bad_headers);
    tcase_add_test(tc, checksum_mismatch_named);
    tcase_add_test(tc, hostile_lengths);
    tcase_add_test(tc, truncated_at_every_length);
    tcase_add_test(tc, every_byte_corrupted);
    tcase_add_test(tc, random_damage);
    tcase_add_test(tc, load_out_of_memory);
    tcase_add_test(tc, section_count_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("save");
    tcase_set_timeout(tc, 60);
    tcase_add_unchecked_fixture(tc, make_root, remove_root);
    tcase_add_test(tc, save_into_missing_directory);
    tcase_add_test(tc, save_replaces_existing);
    tcase_add_test(tc, failed_save_keeps_old_file);
    tcase_add_test(tc, load_io_errors);
    tcase_add_test(tc, huge_file_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bundle_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
