/* test_csv.c — the CSV reader: format detection, quoting, line numbers, type inference, forced
 * types, every error with its location, block boundaries, date parsing (ISO, US and European
 * formats, decided per column or forced) and out-of-memory. */
#define _GNU_SOURCE /* mkstemps */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../automl/base/csv.h"

#define DATA AM_SOURCE_DIR "/tests/data/csv/"

/* ---- helpers ---------------------------------------------------------------------------- */

/* Writes len bytes to a new temporary .csv file; path receives its name. */
static void write_temp(char *path, size_t size, const char *bytes, size_t len)
{
    snprintf(path, size, "/tmp/am_test_csv_XXXXXX.csv");
    int fd = mkstemps(path, 4);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, bytes, len), (ssize_t)len);
    close(fd);
}

static am_frame *read_ok(const char *path, const am_csv_options *o)
{
    am_frame *f = NULL;
    am_diag d;
    am_diag_clear(&d);
    am_status st = am_csv_read(path, o, &f, &d);
    char buf[1024];
    ck_assert_msg(st == AM_OK, "%s", am_diag_format(&d, buf, sizeof(buf)));
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Reads CSV text written to a temporary file (removed afterwards). */
static am_frame *read_text(const char *text, const am_csv_options *o)
{
    char path[64];
    write_temp(path, sizeof(path), text, strlen(text));
    am_frame *f = read_ok(path, o);
    unlink(path);
    return f;
}

/* Reads CSV text that must fail; returns the status, fills d and the path used. */
static am_status read_text_fail(const char *text, size_t len, const am_csv_options *o,
                                am_diag *d, char *path, size_t size)
{
    write_temp(path, size, text, len);
    am_frame *sentinel = (am_frame *)(uintptr_t)0x1;
    am_frame *f = sentinel;
    am_diag_clear(d);
    am_status st = am_csv_read(path, o, &f, d);
    unlink(path);
    ck_assert_msg(f == sentinel, "*out must be untouched on failure");
    ck_assert_int_ne(st, AM_OK);
    return st;
}

static const am_column *col(const am_frame *f, const char *name)
{
    int32_t j = am_frame_col_find(f, name);
    ck_assert_msg(j >= 0, "no column \"%s\"", name);
    return &f->cols[j];
}

/* The level string of a categorical value, or NULL when missing. */
static const char *level(const am_column *c, int64_t row)
{
    ck_assert_ptr_nonnull(c->codes);
    int32_t code = c->codes[row];
    if (code < 0)
        return NULL;
    ck_assert_int_lt(code, c->levels.n);
    return c->levels.items[code];
}

static void assert_frames_equal(const am_frame *a, const am_frame *b)
{
    ck_assert_int_eq(a->n_rows, b->n_rows);
    ck_assert_int_eq(a->n_cols, b->n_cols);
    for (int64_t i = 0; i < a->n_rows; i++)
        ck_assert_int_eq(a->row_line[i], b->row_line[i]);
    for (int32_t j = 0; j < a->n_cols; j++) {
        const am_column *x = &a->cols[j], *y = &b->cols[j];
        ck_assert_str_eq(x->name, y->name);
        ck_assert_int_eq(x->type, y->type);
        ck_assert_int_eq(x->n_missing, y->n_missing);
        ck_assert_int_eq(x->num != NULL, y->num != NULL);
        ck_assert_int_eq(x->codes != NULL, y->codes != NULL);
        for (int64_t i = 0; x->num && i < a->n_rows; i++)
            ck_assert(memcmp(&x->num[i], &y->num[i], sizeof(double)) == 0);
        for (int64_t i = 0; x->codes && i < a->n_rows; i++) {
            const char *lx = level(x, i), *ly = level(y, i);
            ck_assert_int_eq(lx == NULL, ly == NULL);
            if (lx)
                ck_assert_str_eq(lx, ly);
        }
    }
}

/* ---- format ----------------------------------------------------------------------------- */

START_TEST(test_delimiters)
{
    am_frame *f = read_ok(DATA "semicolon.csv", NULL);
    ck_assert_int_eq(f->n_cols, 3);
    ck_assert_int_eq(f->n_rows, 2);
    /* Decimal commas are not numbers here: the column stays as written. */
    ck_assert_int_eq(col(f, "b")->type, AM_COL_CAT);
    ck_assert_str_eq(level(col(f, "b"), 0), "2,5");
    ck_assert_double_eq(col(f, "a")->num[1], 2.0);
    am_frame_free(f);

    f = read_ok(DATA "tab.tsv", NULL);
    ck_assert_int_eq(f->n_cols, 3);
    ck_assert_double_eq(col(f, "score")->num[0], 1.5);
    ck_assert_str_eq(level(col(f, "city"), 1), "Rome, Italy");
    am_frame_free(f);

    /* A tie goes to the comma. */
    f = read_text("a,b;c\n1,2;3\n", NULL);
    ck_assert_int_eq(f->n_cols, 2);
    ck_assert_str_eq(f->cols[1].name, "b;c");
    am_frame_free(f);

    /* Delimiters inside quotes do not count. */
    f = read_text("\"x,y,z\";w\n1;2\n", NULL);
    ck_assert_int_eq(f->n_cols, 2);
    ck_assert_str_eq(f->cols[0].name, "x,y,z");
    am_frame_free(f);
}
END_TEST

START_TEST(test_quoted_fields)
{
    am_frame *f = read_ok(DATA "quoted.csv", NULL);
    ck_assert_int_eq(f->n_rows, 4);
    const am_column *t = col(f, "text");
    ck_assert_str_eq(level(t, 0), "hello, world");
    ck_assert_str_eq(level(t, 1), "she said \"hi\"");
    ck_assert_str_eq(level(t, 2), "two\nlines");
    ck_assert_str_eq(level(t, 3), "after");
    ck_assert_double_eq(col(f, "n")->num[3], 8.0);
    /* Rows start on lines 2, 3, 4 and, after the two-line field, 6. */
    const int64_t lines[] = {2, 3, 4, 6};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(f->row_line[i], lines[i]);
    ck_assert_str_eq(f->source, DATA "quoted.csv");
    am_frame_free(f);

    /* An error after a three-line field still names the right line. */
    am_diag d;
    char path[64];
    const char *text = "id,text\n1,\"a\nb\nc\"\n2,x,extra\n";
    ck_assert_int_eq(read_text_fail(text, strlen(text), NULL, &d, path, sizeof(path)),
                     AM_ERR_DATA);
    ck_assert_int_eq(d.line, 5);
    ck_assert_str_eq(d.message, "row has 3 fields, the header has 2");
}
END_TEST

START_TEST(test_crlf_and_blank_lines)
{
    am_frame *f = read_text("a,b\r\n1,x\r\n\r\n2,y\r\n", NULL);
    ck_assert_int_eq(f->n_rows, 2); /* neither CRLF nor the blank line makes a row */
    ck_assert_str_eq(f->cols[1].name, "b");
    ck_assert_str_eq(level(&f->cols[1], 0), "x");
    ck_assert_str_eq(level(&f->cols[1], 1), "y");
    ck_assert_int_eq(f->row_line[0], 2);
    ck_assert_int_eq(f->row_line[1], 4);
    am_frame_free(f);

    /* Blank lines before the header and between rows shift the lines, not the rows. */
    f = read_text("\n\na\n1\n\n\n2", NULL);
    ck_assert_int_eq(f->n_rows, 2);
    ck_assert_int_eq(f->row_line[0], 4);
    ck_assert_int_eq(f->row_line[1], 7);
    am_frame_free(f);

    /* A record can start mid-line, after a lone CR that ended a multi-line one. */
    f = read_text("\"x\ny\",b\r1,2\n\"p\nq\",3\r4,5\n", NULL);
    ck_assert_str_eq(f->cols[0].name, "x\ny");
    ck_assert_int_eq(f->n_rows, 3);
    ck_assert_int_eq(f->row_line[0], 2);
    ck_assert_int_eq(f->row_line[1], 3);
    ck_assert_int_eq(f->row_line[2], 4);
    am_frame_free(f);

    f = read_ok(DATA "mixed_crlf_bom.csv", NULL);
    ck_assert_int_eq(f->n_rows, 4);
    ck_assert_str_eq(f->cols[0].name, "id"); /* BOM removed */
    const am_column *note = col(f, "note, quoted");
    ck_assert_str_eq(level(note, 0), "multi\r\nline \"quoted\"");
    ck_assert_str_eq(level(note, 1), "plain"); /* libcsv trims unquoted blanks */
    ck_assert_ptr_null(level(note, 2));
    ck_assert_str_eq(level(note, 3), "a,b");
    ck_assert_int_eq(note->n_missing, 1);
    const am_column *when = col(f, "when");
    ck_assert_int_eq(when->type, AM_COL_TIME);
    ck_assert_double_eq(when->num[0], 1577836800.0);
    ck_assert_double_eq(when->num[1], 1577836800.0 + 86400 + 10.5 * 3600);
    ck_assert(isnan(when->num[2]));
    ck_assert_double_eq(when->num[3], 1640995199.5);
    const int64_t lines[] = {2, 4, 6, 7};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(f->row_line[i], lines[i]);
    am_frame_free(f);
}
END_TEST

START_TEST(test_bom)
{
    am_frame *f = read_text("\xEF\xBB\xBF" "first,second\n1,2\n", NULL);
    ck_assert_str_eq(f->cols[0].name, "first");
    ck_assert_double_eq(f->cols[0].num[0], 1.0);
    am_frame_free(f);
}
END_TEST

/* ---- values and types ------------------------------------------------------------------- */

static const char *const missing_markers[] = {
    "", "NA", "N/A", "NaN", "nan", "?", "null", "NULL", "  NA  ", "\" null \"",
};

START_TEST(test_missing_marker)
{
    char text[128];
    snprintf(text, sizeof(text), "x,y\n1,a\n%s,b\n3,c\n", missing_markers[_i]);
    am_frame *f = read_text(text, NULL);
    const am_column *x = col(f, "x");
    ck_assert_int_eq(x->type, AM_COL_NUM);
    ck_assert_double_eq(x->num[0], 1.0);
    ck_assert(isnan(x->num[1]));
    ck_assert_double_eq(x->num[2], 3.0);
    ck_assert_int_eq(x->n_missing, 1);
    am_frame_free(f);

    /* In a categorical column the marker is missing too, not a level. */
    snprintf(text, sizeof(text), "x,y\nu,a\n%s,b\nw,c\n", missing_markers[_i]);
    f = read_text(text, NULL);
    x = col(f, "x");
    ck_assert_int_eq(x->type, AM_COL_CAT);
    ck_assert_int_eq(x->levels.n, 2);
    ck_assert_ptr_null(level(x, 1));
    ck_assert_int_eq(x->n_missing, 1);
    am_frame_free(f);
}
END_TEST

START_TEST(test_is_missing)
{
    ck_assert(am_csv_is_missing("", 0));
    ck_assert(am_csv_is_missing(" \t ", 3));
    ck_assert(am_csv_is_missing("NULL", 4));
    ck_assert(am_csv_is_missing(" ? ", 3));
    ck_assert(am_csv_is_missing("N/Ab", 3)); /* only len bytes count */
    ck_assert(!am_csv_is_missing("na", 2));
    ck_assert(!am_csv_is_missing("NAN", 3));
    ck_assert(!am_csv_is_missing("0", 1));
    ck_assert(!am_csv_is_missing("none", 4));
    ck_assert(!am_csv_is_missing("NA NA", 5));
}
END_TEST

START_TEST(test_type_inference)
{
    am_frame *f = read_ok(DATA "types.csv", NULL);
    ck_assert_int_eq(f->n_rows, 5);

    const am_column *num = col(f, "num");
    ck_assert_int_eq(num->type, AM_COL_NUM);
    ck_assert_ptr_null(num->codes);
    ck_assert_double_eq(num->num[1], 2.5);
    ck_assert(isnan(num->num[2]));
    ck_assert_double_eq(num->num[3], -4.0);
    ck_assert_double_eq(num->num[4], 1e-3);
    ck_assert_int_eq(num->n_missing, 1);

    const am_column *neg = col(f, "neg");
    ck_assert_int_eq(neg->type, AM_COL_NUM);
    ck_assert_double_eq(neg->num[1], 1000.0);
    ck_assert(isinf(neg->num[2]) && neg->num[2] < 0);
    ck_assert_double_eq(neg->num[3], 0.1);

    const am_column *cat = col(f, "cat");
    ck_assert_int_eq(cat->type, AM_COL_CAT);
    ck_assert_int_eq(cat->levels.n, 3);
    ck_assert_int_eq(cat->codes[0], cat->codes[2]);
    ck_assert_str_eq(level(cat, 3), "blue");
    ck_assert_ptr_null(level(cat, 4));
    ck_assert_int_eq(cat->n_missing, 1);

    const am_column *when = col(f, "when");
    ck_assert_int_eq(when->type, AM_COL_TIME);
    ck_assert_double_eq(when->num[0], 1577836800.0);
    ck_assert_double_eq(when->num[1], 1577836800.0 + 86400 + 43200);
    ck_assert(isnan(when->num[2]));
    ck_assert_double_eq(when->num[3], 1582934400.0 + 6 * 3600 + 30 * 60 + 15);
    ck_assert_double_eq(when->num[4], 1577836799.0);

    /* One stray word makes a numeric-looking column categorical, values kept as written. */
    const am_column *mixed = col(f, "mixed");
    ck_assert_int_eq(mixed->type, AM_COL_CAT);
    ck_assert_ptr_null(mixed->num);
    ck_assert_int_eq(mixed->levels.n, 5);
    ck_assert_str_eq(level(mixed, 0), "1");
    ck_assert_str_eq(level(mixed, 3), "abc");

    const am_column *allmiss = col(f, "allmiss");
    ck_assert_int_eq(allmiss->type, AM_COL_NUM);
    ck_assert_int_eq(allmiss->n_missing, 5);
    for (int i = 0; i < 5; i++)
        ck_assert(isnan(allmiss->num[i]));
    am_frame_free(f);
}
END_TEST

/* Builds a CSV with `rows` rows: column "prose" holds distinct sentences of `words` words,
 * column "word" distinct single words. */
static char *make_words_csv(int rows, int words)
{
    size_t cap = (size_t)rows * (size_t)(words * 12 + 32) + 32;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t n = (size_t)snprintf(text, cap, "prose,word\n");
    for (int i = 0; i < rows; i++) {
        for (int w = 0; w < words; w++)
            n += (size_t)snprintf(text + n, cap - n, "%sw%d", w ? " " : "", i * words + w);
        n += (size_t)snprintf(text + n, cap - n, ",token%d\n", i);
    }
    return text;
}

START_TEST(test_text_versus_category)
{
    /* 60 distinct values of 4 words: prose. 60 distinct single words: a category. */
    char *text = make_words_csv(60, 4);
    am_frame *f = read_text(text, NULL);
    ck_assert_int_eq(col(f, "prose")->type, AM_COL_TEXT);
    ck_assert_int_eq(col(f, "prose")->levels.n, 60);
    ck_assert_str_eq(level(col(f, "prose"), 1), "w4 w5 w6 w7");
    ck_assert_int_eq(col(f, "word")->type, AM_COL_CAT);
    am_frame_free(f);
    free(text);

    /* Too few distinct values for text, however long. */
    text = make_words_csv(50, 4);
    f = read_text(text, NULL);
    ck_assert_int_eq(col(f, "prose")->type, AM_COL_CAT);
    am_frame_free(f);
    free(text);

    /* Many distinct values, but two words on average: still a category. */
    text = make_words_csv(60, 2);
    f = read_text(text, NULL);
    ck_assert_int_eq(col(f, "prose")->type, AM_COL_CAT);
    am_frame_free(f);
    free(text);
}
END_TEST

START_TEST(test_keep_levels)
{
    am_csv_options o = {.keep_levels = "y"};
    am_frame *f = read_text("x,y\na,1\nb,01\nc,2\nd,1\ne,NA\n", &o);
    const am_column *y = col(f, "y");
    ck_assert_int_eq(y->type, AM_COL_NUM);
    ck_assert_double_eq(y->num[0], 1.0);
    ck_assert_double_eq(y->num[1], 1.0);
    ck_assert(isnan(y->num[4]));
    ck_assert_int_eq(y->n_missing, 1);
    /* "1" and "01" are different labels as written. */
    ck_assert_int_eq(y->levels.n, 3);
    ck_assert_str_eq(level(y, 0), "1");
    ck_assert_str_eq(level(y, 1), "01");
    ck_assert_str_eq(level(y, 2), "2");
    ck_assert_int_eq(y->codes[3], y->codes[0]);
    ck_assert_int_eq(y->codes[4], -1);
    ck_assert_ptr_null(col(f, "x")->num);
    am_frame_free(f);

    /* Without the option a numeric column has no codes. */
    f = read_text("x,y\na,1\nb,01\n", NULL);
    ck_assert_ptr_null(col(f, "y")->codes);
    am_frame_free(f);
}
END_TEST

START_TEST(test_force_types)
{
    am_csv_force force[] = {
        {"x", AM_COL_NUM, 0}, {"y", AM_COL_CAT, 0}, {"t", AM_COL_TEXT, 0},
        {"absent", AM_COL_NUM, 0},
    };
    am_csv_options o = {.force = force, .n_force = 4};
    am_frame *f = read_text("x,y,t\n1,10,5\nNA,20,6\n3,10,7\n", &o);
    ck_assert_int_eq(col(f, "x")->type, AM_COL_NUM);
    ck_assert(isnan(col(f, "x")->num[1]));
    const am_column *y = col(f, "y");
    ck_assert_int_eq(y->type, AM_COL_CAT); /* numeric-looking, kept as strings */
    ck_assert_int_eq(y->levels.n, 2);
    ck_assert_str_eq(level(y, 1), "20");
    ck_assert_int_eq(col(f, "t")->type, AM_COL_TEXT);
    ck_assert_str_eq(level(col(f, "t"), 2), "7");
    am_frame_free(f);

    /* A forced number column with a word: the message, line and column of the culprit. */
    am_diag d;
    char path[64], buf[1024];
    const char *text = "y,x\na,1\nb,2\n\"c\nc\",abc\nd,4\n";
    ck_assert_int_eq(read_text_fail(text, strlen(text), &o, &d, path, sizeof(path)),
                     AM_ERR_DATA);
    ck_assert_str_eq(d.message, "expected a number, got \"abc\"");
    ck_assert_int_eq(d.line, 4);
    ck_assert_str_eq(d.column, "x");
    ck_assert_str_eq(d.file, path);
    char want[256];
    snprintf(want, sizeof(want), "%s:4: column \"x\": expected a number, got \"abc\"", path);
    ck_assert_str_eq(am_diag_format(&d, buf, sizeof(buf)), want);

    /* A forced datetime column with a value that is not a date. */
    am_csv_force tf[] = {{"t", AM_COL_TIME, AM_TIME_ISO}};
    am_csv_options to = {.force = tf, .n_force = 1};
    text = "t\n2020-01-01\n2021-02-29\n";
    ck_assert_int_eq(read_text_fail(text, strlen(text), &to, &d, path, sizeof(path)),
                     AM_ERR_DATA);
    ck_assert_str_eq(d.message, "expected a date or date-time, got \"2021-02-29\"");
    ck_assert_int_eq(d.line, 3);
    ck_assert_str_eq(d.column, "t");

    /* A forced datetime column that fits. */
    f = read_text("t\n2020-01-01\n\n1970-01-02\n", &to);
    ck_assert_int_eq(f->cols[0].type, AM_COL_TIME);
    ck_assert_double_eq(f->cols[0].num[1], 86400.0);
    am_frame_free(f);
}
END_TEST

/* ---- bad input -------------------------------------------------------------------------- */

typedef struct bad_case {
    const char *what;
    const char *text; /* NULL: a file that does not exist */
    size_t len;       /* 0: strlen(text) */
    am_status status;
    const char *message; /* a part of the message */
    int64_t line;
    const char *column;  /* "" when none */
} bad_case;

static const bad_case bad_cases[] = {
    {"missing file", NULL, 0, AM_ERR_IO, "cannot open the file: No such file", 0, ""},
    {"empty file", "", 0, AM_ERR_DATA, "file is empty", 0, ""},
    {"blank lines only", "\n \n\r\n", 0, AM_ERR_DATA, "file is empty", 0, ""},
    {"header only", "a,b\n", 0, AM_ERR_DATA, "no data rows after the header", 1, ""},
    {"header only, blank lines", "\na,b\n\n\n", 0, AM_ERR_DATA, "no data rows", 2, ""},
    {"too many fields", "a,b\n1,2\n3,4,5\n6,7\n", 0, AM_ERR_DATA,
     "row has 3 fields, the header has 2", 3, ""},
    {"too few fields", "a,b,c\n1,2,3\n\n4,5\n", 0, AM_ERR_DATA,
     "row has 2 fields, the header has 3", 4, ""},
    {"too few fields at the end", "a,b,c\n1,2,3\n4", 0, AM_ERR_DATA,
     "row has 1 fields, the header has 3", 3, ""},
    {"unterminated quote", "a,b\n1,2\n3,\"open\n4,5\n6,7\n", 0, AM_ERR_DATA,
     "unterminated quoted field", 3, "b"},
    {"misplaced quote", "a,b\n1,x\"y\n", 0, AM_ERR_DATA, "misplaced quote", 2, "b"},
    {"text after closing quote", "a,b\n1,2\n\"x\"y,3\n", 0, AM_ERR_DATA, "misplaced quote", 3,
     "a"},
    {"duplicate column name", "a,b,a\n1,2,3\n", 0, AM_ERR_DATA,
     "duplicate column name (columns 1 and 3)", 1, "a"},
    {"empty column name", "a,,c\n1,2,3\n", 0, AM_ERR_DATA, "column 2 has an empty name", 1, ""},
    {"empty last column name", "\r\na,b,\r\n1,2,3\r\n", 0, AM_ERR_DATA,
     "column 3 has an empty name", 2, ""},
    {"NUL byte in a field", "a,b\n1,2\n1,x\0y\n", 14, AM_ERR_DATA, "NUL byte in a field", 3,
     "b"},
    {"NUL byte in a name", "a,b\0\n1,2\n", 9, AM_ERR_DATA, "NUL byte in the name of column 2",
     1, ""},
};

START_TEST(test_bad_input)
{
    const bad_case *c = &bad_cases[_i];
    am_diag d;
    char path[128], buf[1024];
    if (c->text) {
        size_t len = c->len ? c->len : strlen(c->text);
        ck_assert_int_eq(read_text_fail(c->text, len, NULL, &d, path, sizeof(path)), c->status);
    } else {
        snprintf(path, sizeof(path), "%s", DATA "no_such_file.csv");
        am_frame *sentinel = (am_frame *)(uintptr_t)0x1, *f = sentinel;
        ck_assert_int_eq(am_csv_read(path, NULL, &f, &d), c->status);
        ck_assert(f == sentinel);
    }
    ck_assert_msg(d.status == c->status, "%s: status %s", c->what, am_status_name(d.status));
    ck_assert_msg(strstr(d.message, c->message), "%s: message \"%s\"", c->what, d.message);
    ck_assert_msg(d.line == c->line, "%s: line %lld", c->what, (long long)d.line);
    ck_assert_msg(strcmp(d.column, c->column) == 0, "%s: column \"%s\"", c->what, d.column);
    ck_assert_str_eq(d.file, path);
    /* The formatted line names the file and, when known, the line. */
    char want[160];
    if (c->line)
        snprintf(want, sizeof(want), "%s:%lld: ", path, (long long)c->line);
    else
        snprintf(want, sizeof(want), "%s: ", path);
    ck_assert_msg(strncmp(am_diag_format(&d, buf, sizeof(buf)), want, strlen(want)) == 0,
                  "%s: formatted \"%s\"", c->what, buf);
}
END_TEST

START_TEST(test_header_too_long)
{
    /* No newline at all, and a complete line just over the limit after a blank line. */
    size_t len = ((size_t)1 << 20) + 100;
    char *text = malloc(len);
    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; i < len; i++)
        text[i] = i % 2 ? ',' : 'a';
    am_diag d;
    char path[64];
    ck_assert_int_eq(read_text_fail(text, len, NULL, &d, path, sizeof(path)), AM_ERR_DATA);
    ck_assert_str_eq(d.message, "the header line is longer than 1048576 bytes");
    ck_assert_int_eq(d.line, 1);

    text[0] = '\n';
    memcpy(text + len - 4, "\n1\n", 4);
    ck_assert_int_eq(read_text_fail(text, len, NULL, &d, path, sizeof(path)), AM_ERR_DATA);
    ck_assert_str_eq(d.message, "the header line is longer than 1048576 bytes");
    ck_assert_int_eq(d.line, 2);
    free(text);
}
END_TEST

START_TEST(test_null_arguments)
{
    am_frame *f = NULL;
    am_diag d;
    ck_assert_int_eq(am_csv_read(NULL, NULL, &f, &d), AM_ERR_ARG);
    ck_assert_int_eq(am_csv_read(DATA "quoted.csv", NULL, NULL, &d), AM_ERR_ARG);
    am_csv_force bad[] = {{"x", (am_coltype)9, 0}};
    am_csv_options o = {.force = bad, .n_force = 1};
    ck_assert_int_eq(am_csv_read(DATA "quoted.csv", &o, &f, &d), AM_ERR_ARG);
    ck_assert_ptr_null(f);
}
END_TEST

/* ---- blocks, dates, memory -------------------------------------------------------------- */

/* Tiny blocks cut fields, quotes, CRLF pairs, the BOM and the header at every possible place. */
START_TEST(test_block_sizes)
{
    static const char *const files[] = {
        DATA "mixed_crlf_bom.csv", DATA "quoted.csv", DATA "types.csv", DATA "tab.tsv",
    };
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        am_csv_options keep = {.keep_levels = "id"};
        am_frame *ref = read_ok(files[k], &keep);
        static const size_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 16, 31, 64, 1000};
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            am_csv_options o = {.keep_levels = "id", .block_size = sizes[s]};
            am_frame *f = read_ok(files[k], &o);
            assert_frames_equal(ref, f);
            am_frame_free(f);
        }
        am_frame_free(ref);
    }
}
END_TEST

/* A file larger than one default block, read with a block size that is not a divisor of the
 * line length: numbers must read back exactly and rows keep their lines. */
START_TEST(test_many_rows)
{
    const int rows = 20000;
    size_t cap = (size_t)rows * 64 + 64;
    char *text = malloc(cap);
    ck_assert_ptr_nonnull(text);
    size_t n = (size_t)snprintf(text, cap, "i,x,s\n");
    for (int i = 0; i < rows; i++)
        n += (size_t)snprintf(text + n, cap - n, "%d,%.17g,s%d\n", i, i * 0.1 - 7.3, i % 7);
    char path[64];
    write_temp(path, sizeof(path), text, n);
    am_csv_options o = {.block_size = 4093};
    am_frame *f = read_ok(path, &o);
    unlink(path);
    ck_assert_int_eq(f->n_rows, rows);
    for (int i = 0; i < rows; i++) {
        ck_assert_double_eq(f->cols[0].num[i], (double)i);
        ck_assert_double_eq(f->cols[1].num[i], i * 0.1 - 7.3);
        ck_assert_int_eq(f->row_line[i], i + 2);
    }
    ck_assert_int_eq(f->cols[2].type, AM_COL_CAT);
    ck_assert_int_eq(f->cols[2].levels.n, 7);
    am_frame_free(f);
    free(text);
}
END_TEST

/* Random CSV-like input: odd trials are bytes from CSV's own alphabet (nearly always invalid),
 * even trials are well-formed tables of random tokens (quoted fields with delimiters, quotes and
 * line breaks inside, missing markers, numbers, dates), CRLF or LF, blank lines, sometimes with
 * one byte changed. Writes at most size bytes; returns the length. */
static size_t random_csv(am_rng *rng, int trial, char *text, size_t size)
{
    static const char alphabet[] = "aaaabbbb1111222233..-NA  ,,,,,,\n\n\n\r;\t\"";
    static const char *const tokens[] = {
        "1", "-2.5", "1e3", "x", "yy", "", "NA", "?", "\"q,\"\"x\"\"\"", "\"a\nb\"", "\"c\r\nd\"",
        "2020-01-02", "\"\"", " 7 ", "two words",
    };
    size_t n = 0;
    if (trial % 2) {
        n = (size_t)am_rng_below(rng, 120) + 1;
        for (size_t i = 0; i < n; i++)
            text[i] = alphabet[am_rng_below(rng, (int64_t)sizeof(alphabet))];
        return n;
    }
    int cols = (int)am_rng_below(rng, 4) + 1, rows = (int)am_rng_below(rng, 6) + 1;
    const char *eol = am_rng_below(rng, 2) ? "\r\n" : "\n";
    for (int c = 0; c < cols; c++)
        n += (size_t)snprintf(text + n, size - n, "%sc%d", c ? "," : "", c);
    n += (size_t)snprintf(text + n, size - n, "%s", eol);
    for (int r = 0; r < rows; r++) {
        if (am_rng_below(rng, 5) == 0)
            n += (size_t)snprintf(text + n, size - n, "%s", eol);
        for (int c = 0; c < cols; c++) {
            const char *tok = tokens[am_rng_below(rng, (int64_t)AM_COUNT(tokens))];
            /* A lone empty field would make a blank line, which is skipped, not a row. */
            if (cols == 1 && !*tok)
                tok = "\"\"";
            n += (size_t)snprintf(text + n, size - n, "%s%s", c ? "," : "", tok);
        }
        n += (size_t)snprintf(text + n, size - n, "%s", eol);
    }
    if (am_rng_below(rng, 4) == 0) {
        int64_t at = am_rng_below(rng, (int64_t)n);
        text[at] = alphabet[am_rng_below(rng, (int64_t)sizeof(alphabet))];
    }
    return n;
}

/* The reader must never crash, must only ever answer OK or AM_ERR_DATA, and must answer the same
 * (status, message, line, column, frame) whatever the block size. */
START_TEST(test_random_inputs)
{
    am_rng rng;
    am_rng_seed(&rng, 12345);
    int ok = 0, failed = 0;
    for (int trial = 0; trial < 400; trial++) {
        char text[512];
        size_t len = random_csv(&rng, trial, text, sizeof(text));
        char path[64];
        write_temp(path, sizeof(path), text, len);
        am_frame *ref = NULL;
        am_diag dref;
        am_status st = am_csv_read(path, NULL, &ref, &dref);
        ck_assert_msg(st == AM_OK || st == AM_ERR_DATA, "trial %d: %s", trial,
                      am_status_name(st));
        static const size_t sizes[] = {1, 2, 5};
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            am_csv_options o = {.block_size = sizes[s]};
            am_frame *f = NULL;
            am_diag d;
            ck_assert_int_eq(am_csv_read(path, &o, &f, &d), st);
            if (st == AM_OK) {
                assert_frames_equal(ref, f);
                am_frame_free(f);
            } else {
                ck_assert_str_eq(d.message, dref.message);
                ck_assert_msg(d.line == dref.line, "trial %d, block %zu: line %lld, not %lld",
                              trial, sizes[s], (long long)d.line, (long long)dref.line);
                ck_assert_str_eq(d.column, dref.column);
            }
        }
        ok += st == AM_OK;
        failed += st != AM_OK;
        am_frame_free(ref);
        unlink(path);
    }
    /* Both kinds of answer were compared. */
    ck_assert_int_gt(ok, 100);
    ck_assert_int_gt(failed, 100);
}
END_TEST

static bool datetime(const char *s, double *out)
{
    return am_parse_datetime(s, strlen(s), out);
}

START_TEST(test_parse_datetime)
{
    double t = 0;
    ck_assert(datetime("1970-01-01", &t) && t == 0.0);
    ck_assert(datetime("1969-12-31", &t) && t == -86400.0);
    ck_assert(datetime("2020-02-29", &t) && t == 1582934400.0);
    ck_assert(datetime("2000-02-29", &t) && t == 951782400.0); /* divisible by 400: leap */
    ck_assert(datetime("2000-03-01", &t) && t == 951868800.0);
    ck_assert(datetime("1900-03-01", &t) && t == -2203891200.0);
    ck_assert(datetime("0000-01-01", &t) && t == -62167219200.0);
    ck_assert(datetime("2020-01-01T12:30", &t) && t == 1577836800.0 + 45000);
    ck_assert(datetime("2020-01-01 12:30:15", &t) && t == 1577836800.0 + 45015);
    ck_assert(datetime("2020-01-01T12:30:15.25Z", &t) && t == 1577836800.0 + 45015.25);
    ck_assert(datetime("2020-01-01T12:30Z", &t) && t == 1577836800.0 + 45000);
    ck_assert(datetime("  2020-01-01  ", &t) && t == 1577836800.0);
    ck_assert(datetime("2021-12-31T23:59:59", &t) && t == 1640995199.0);

    static const char *const invalid[] = {
        "2021-02-29", "1900-02-29", "2021-04-31", "2021-13-01", "2021-00-10", "2021-01-00",
        "2021-1-05", "21-01-05", "2021/01/05", "2020-01-01T", "2020-01-01Z", "2020-01-01T24:00",
        "2020-01-01T12:60", "2020-01-01T12:30:60", "2020-01-01T12:30:15.", "2020-01-01T1:30",
        "2020-01-01T12:30+02:00", "2020-01-01x", "", "2020", "20200101", "2020-01-01 12",
    };
    for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
        t = 123.0;
        ck_assert_msg(!datetime(invalid[i], &t), "\"%s\" accepted", invalid[i]);
        ck_assert_double_eq(t, 123.0);
    }
    /* Only len bytes are looked at. */
    ck_assert(am_parse_datetime("2020-01-01junk", 10, &t) && t == 1577836800.0);
}
END_TEST

/* ---- US and European date formats ------------------------------------------------------ */

/* Seconds of an ISO date-time (the ISO parser is checked against absolute values above). */
static double iso(const char *s)
{
    double t = NAN;
    ck_assert_msg(datetime(s, &t), "\"%s\" is not ISO", s);
    return t;
}

static bool datetime_as(const char *s, uint8_t format, double *out)
{
    return am_parse_datetime_as(s, strlen(s), format, out);
}

START_TEST(test_parse_datetime_as)
{
    double t = 0;
    /* The same day in each order and separator, with absolute seconds for one of them. */
    ck_assert(datetime_as("12/31/2020", AM_TIME_MDY, &t) && t == 1609372800.0);
    ck_assert(datetime_as("31/12/2020", AM_TIME_DMY, &t) && t == 1609372800.0);
    ck_assert(datetime_as("31.12.2020", AM_TIME_DMY, &t) && t == 1609372800.0);
    ck_assert(datetime_as("31-12-2020", AM_TIME_DMY, &t) && t == 1609372800.0);
    ck_assert(datetime_as("12-31-2020", AM_TIME_MDY, &t) && t == 1609372800.0);
    /* One field, two readings. */
    ck_assert(datetime_as("1/2/2020", AM_TIME_MDY, &t) && t == iso("2020-01-02"));
    ck_assert(datetime_as("1/2/2020", AM_TIME_DMY, &t) && t == iso("2020-02-01"));
    ck_assert(datetime_as("01/02/2020", AM_TIME_DMY, &t) && t == iso("2020-02-01"));
    ck_assert(datetime_as("2/29/2020", AM_TIME_MDY, &t) && t == iso("2020-02-29"));
    ck_assert(datetime_as("29.2.2000", AM_TIME_DMY, &t) && t == iso("2000-02-29"));
    ck_assert(datetime_as("1/1/1969", AM_TIME_MDY, &t) && t == iso("1969-01-01"));
    /* Clocks: 24-hour, 12-hour, fractions, surrounding blanks. */
    ck_assert(datetime_as("1/2/2020 13:45", AM_TIME_MDY, &t) && t == iso("2020-01-02T13:45"));
    ck_assert(datetime_as("1/2/2020 7:05:09", AM_TIME_MDY, &t) &&
              t == iso("2020-01-02T07:05:09"));
    ck_assert(datetime_as("1/2/2020 07:05:09.5", AM_TIME_DMY, &t) &&
              t == iso("2020-02-01T07:05:09.5"));
    ck_assert(datetime_as("1/2/2020 1:45:30 PM", AM_TIME_MDY, &t) &&
              t == iso("2020-01-02T13:45:30"));
    ck_assert(datetime_as("1/2/2020 12:10 AM", AM_TIME_MDY, &t) &&
              t == iso("2020-01-02T00:10"));
    ck_assert(datetime_as("1/2/2020 12:10 pm", AM_TIME_MDY, &t) &&
              t == iso("2020-01-02T12:10"));
    ck_assert(datetime_as("1/2/2020 11:59PM", AM_TIME_MDY, &t) &&
              t == iso("2020-01-02T23:59"));
    ck_assert(datetime_as("  3.4.2021 0:00  ", AM_TIME_DMY, &t) && t == iso("2021-04-03"));
    /* ISO through the same entry point. */
    ck_assert(datetime_as("2020-01-02T03:04", AM_TIME_ISO, &t) && t == iso("2020-01-02T03:04"));

    static const struct {
        const char *s;
        uint8_t format;
    } invalid[] = {
        {"2/30/2020", AM_TIME_MDY},  {"30/2/2020", AM_TIME_DMY},  {"2/29/2021", AM_TIME_MDY},
        {"29.2.2100", AM_TIME_DMY},  {"13/1/2020", AM_TIME_MDY},  {"1/13/2020", AM_TIME_DMY},
        {"0/1/2020", AM_TIME_MDY},   {"1/0/2020", AM_TIME_MDY},   {"4/31/2020", AM_TIME_MDY},
        {"1.2.2020", AM_TIME_MDY},   {"1/2.2020", AM_TIME_DMY},   {"1/2/20", AM_TIME_MDY},
        {"1/2/20200", AM_TIME_MDY},  {"001/2/2020", AM_TIME_MDY}, {"1/002/2020", AM_TIME_MDY},
        {"1/2/2020T10:00", AM_TIME_MDY}, {"1/2/2020 24:00", AM_TIME_MDY},
        {"1/2/2020 10:60", AM_TIME_MDY}, {"1/2/2020 10:5", AM_TIME_MDY},
        {"1/2/2020 13:00 PM", AM_TIME_MDY}, {"1/2/2020 0:30 AM", AM_TIME_MDY},
        {"1/2/2020 10:00 XM", AM_TIME_MDY}, {"1/2/2020 10:00  AM", AM_TIME_MDY},
        {"1/2/2020 10", AM_TIME_MDY}, {"1/2/2020Z", AM_TIME_MDY}, {"1/2/2020 PM", AM_TIME_MDY},
        {"2020-01-02", AM_TIME_MDY}, {"2020-01-02", AM_TIME_DMY}, {"1/2/2020", AM_TIME_ISO},
        {"1/2/2020", 3}, {"", AM_TIME_DMY}, {"/2/2020", AM_TIME_DMY}, {"1//2020", AM_TIME_DMY},
        {"a/b/cdef", AM_TIME_DMY},
    };
    for (size_t i = 0; i < AM_COUNT(invalid); i++) {
        t = 123.0;
        ck_assert_msg(!datetime_as(invalid[i].s, invalid[i].format, &t), "\"%s\" (%d) accepted",
                      invalid[i].s, invalid[i].format);
        ck_assert_double_eq(t, 123.0);
    }
    /* Only len bytes are looked at. */
    ck_assert(am_parse_datetime_as("1/2/2020 10:00", 8, AM_TIME_DMY, &t) &&
              t == iso("2020-02-01"));
}
END_TEST

/* Each column's format comes from all of its values. */
START_TEST(test_date_formats)
{
    am_frame *f = read_text("us,eu,dot,ambiguous,dash,iso,num\n"
                            "12/31/2020,31/12/2020,1.2.2020,1/2/2020,31-12-2020,2020-01-02,1\n"
                            "1/2/2020 13:45,2/1/2020,NA,3/4/2021,1-2-2020 6:07 PM,,2\n"
                            "NA,29/02/2020 0:30,3.4.2021 23:59:59,,NA,2020-01-03T10:00,3\n"
                            "2/29/2020 12:00 AM, 1/2/2020 ,31.12.2020,12/11/2020,5-6-2021,NA,4\n",
                            NULL);
    const am_column *us = col(f, "us");
    ck_assert_int_eq(us->type, AM_COL_TIME);
    ck_assert_int_eq(us->time_format, AM_TIME_MDY);
    ck_assert_double_eq(us->num[0], iso("2020-12-31"));
    ck_assert_double_eq(us->num[1], iso("2020-01-02T13:45"));
    ck_assert(isnan(us->num[2]));
    ck_assert_double_eq(us->num[3], iso("2020-02-29"));
    ck_assert_int_eq(us->n_missing, 1);

    /* One value with a day above 12 settles the whole column: 2/1/2020 is 2 January. */
    const am_column *eu = col(f, "eu");
    ck_assert_int_eq(eu->type, AM_COL_TIME);
    ck_assert_int_eq(eu->time_format, AM_TIME_DMY);
    ck_assert_double_eq(eu->num[0], iso("2020-12-31"));
    ck_assert_double_eq(eu->num[1], iso("2020-01-02"));
    ck_assert_double_eq(eu->num[2], iso("2020-02-29T00:30"));
    ck_assert_double_eq(eu->num[3], iso("2020-02-01"));

    /* Dots are European even when every value is ambiguous. */
    const am_column *dot = col(f, "dot");
    ck_assert_int_eq(dot->type, AM_COL_TIME);
    ck_assert_int_eq(dot->time_format, AM_TIME_DMY);
    ck_assert_double_eq(dot->num[0], iso("2020-02-01"));
    ck_assert_double_eq(dot->num[2], iso("2021-04-03T23:59:59"));
    ck_assert_double_eq(dot->num[3], iso("2020-12-31"));

    /* Every value ambiguous with slashes: month first. */
    const am_column *amb = col(f, "ambiguous");
    ck_assert_int_eq(amb->type, AM_COL_TIME);
    ck_assert_int_eq(amb->time_format, AM_TIME_MDY);
    ck_assert_double_eq(amb->num[0], iso("2020-01-02"));
    ck_assert_double_eq(amb->num[1], iso("2021-03-04"));
    ck_assert(isnan(amb->num[2]));
    ck_assert_double_eq(amb->num[3], iso("2020-12-11"));

    const am_column *dash = col(f, "dash");
    ck_assert_int_eq(dash->type, AM_COL_TIME);
    ck_assert_int_eq(dash->time_format, AM_TIME_DMY);
    ck_assert_double_eq(dash->num[1], iso("2020-02-01T18:07"));
    ck_assert_double_eq(dash->num[3], iso("2021-06-05"));

    const am_column *is = col(f, "iso");
    ck_assert_int_eq(is->type, AM_COL_TIME);
    ck_assert_int_eq(is->time_format, AM_TIME_ISO);
    ck_assert_double_eq(is->num[2], iso("2020-01-03T10:00"));

    ck_assert_int_eq(col(f, "num")->type, AM_COL_NUM);
    ck_assert_int_eq(col(f, "num")->time_format, 0);
    am_frame_free(f);
}
END_TEST

/* Columns that look like dates but are not one in any single format stay as written. */
START_TEST(test_date_formats_rejected)
{
    am_frame *f = read_text("mixed,invalid,leap,iso_us,short_year,dot_us,stray\n"
                            "13/1/2020,2/30/2020,29/2/2021,2020-01-02,1/2/20,1.13.2020,1/2/2020\n"
                            "1/13/2020,1/1/2020,1/1/2021,1/2/2020,3/4/21,1.2.2020,n/a\n",
                            NULL);
    static const char *const names[] = {"mixed", "invalid", "leap", "iso_us", "short_year",
                                        "dot_us", "stray"};
    for (size_t k = 0; k < AM_COUNT(names); k++) {
        const am_column *c = col(f, names[k]);
        ck_assert_msg(c->type == AM_COL_CAT, "%s: %s", names[k], am_coltype_name(c->type));
        ck_assert_int_eq(c->time_format, AM_TIME_ISO);
        ck_assert_ptr_null(c->num);
        ck_assert_int_eq(c->levels.n, 2);
    }
    ck_assert_str_eq(level(col(f, "invalid"), 0), "2/30/2020");
    am_frame_free(f);

    /* A single US value among numbers is not a date column either. */
    f = read_text("x\n1\n2/3/2020\n", NULL);
    ck_assert_int_eq(f->cols[0].type, AM_COL_CAT);
    am_frame_free(f);
}
END_TEST

/* At predict time the training column's format is forced: values are read in exactly that order,
 * whatever this file's own evidence says, and a value that does not fit is an error. */
START_TEST(test_force_time_format)
{
    am_csv_force us[] = {{"t", AM_COL_TIME, AM_TIME_MDY}};
    am_csv_force eu[] = {{"t", AM_COL_TIME, AM_TIME_DMY}};
    am_csv_options ou = {.force = us, .n_force = 1};
    am_csv_options oe = {.force = eu, .n_force = 1};
    const char *text = "t\n1/2/2020\nNA\n3/4/2021 10:30\n";

    am_frame *f = read_text(text, &ou);
    ck_assert_int_eq(f->cols[0].type, AM_COL_TIME);
    ck_assert_int_eq(f->cols[0].time_format, AM_TIME_MDY);
    ck_assert_double_eq(f->cols[0].num[0], iso("2020-01-02"));
    ck_assert(isnan(f->cols[0].num[1]));
    ck_assert_double_eq(f->cols[0].num[2], iso("2021-03-04T10:30"));
    am_frame_free(f);

    /* Inference would call this column US; the forced European order wins. */
    f = read_text(text, &oe);
    ck_assert_int_eq(f->cols[0].time_format, AM_TIME_DMY);
    ck_assert_double_eq(f->cols[0].num[0], iso("2020-02-01"));
    ck_assert_double_eq(f->cols[0].num[2], iso("2021-04-03T10:30"));
    am_frame_free(f);

    /* A value that breaks the forced format: message, line and column. */
    am_diag d;
    char path[64], buf[1024], want[256];
    text = "a,t\n1,12/31/2020\n2,1/2/2020\n\n3,1/13/2020\n4,1/1/2020\n";
    ck_assert_int_eq(read_text_fail(text, strlen(text), &oe, &d, path, sizeof(path)),
                     AM_ERR_DATA);
    ck_assert_int_eq(d.line, 2);
    ck_assert_str_eq(d.column, "t");
    ck_assert_str_eq(d.message, "expected a day-first date (D/M/YYYY), got \"12/31/2020\"");
    snprintf(want, sizeof(want),
             "%s:2: column \"t\": expected a day-first date (D/M/YYYY), got \"12/31/2020\"",
             path);
    ck_assert_str_eq(am_diag_format(&d, buf, sizeof(buf)), want);

    text = "a,t\n1,1/2/2020\n2,1/2/2020\n\n3,1/13/2020\n4,1/1/2020\n";
    ck_assert_int_eq(read_text_fail(text, strlen(text), &oe, &d, path, sizeof(path)),
                     AM_ERR_DATA);
    ck_assert_int_eq(d.line, 5);
    ck_assert_str_eq(d.column, "t");
    ck_assert_str_eq(d.message, "expected a day-first date (D/M/YYYY), got \"1/13/2020\"");

    /* Dots are never month first; an ISO value does not fit a day-month format. */
    text = "t\n1/2/2020\n1.2.2020\n";
    ck_assert_int_eq(read_text_fail(text, strlen(text), &ou, &d, path, sizeof(path)),
                     AM_ERR_DATA);
    ck_assert_int_eq(d.line, 3);
    ck_assert_str_eq(d.message, "expected a month-first date (M/D/YYYY), got \"1.2.2020\"");
    text = "t\n2020-01-02\n";
    ck_assert_int_eq(read_text_fail(text, strlen(text), &ou, &d, path, sizeof(path)),
                     AM_ERR_DATA);
    ck_assert_int_eq(d.line, 2);

    /* The ISO format (zero) refuses a US value with the ISO message. */
    am_csv_force is[] = {{"t", AM_COL_TIME, AM_TIME_ISO}};
    am_csv_options oi = {.force = is, .n_force = 1};
    text = "t\n2020-01-02\n1/2/2020\n";
    ck_assert_int_eq(read_text_fail(text, strlen(text), &oi, &d, path, sizeof(path)),
                     AM_ERR_DATA);
    ck_assert_int_eq(d.line, 3);
    ck_assert_str_eq(d.message, "expected a date or date-time, got \"1/2/2020\"");

    /* A format that does not exist is the caller's error; it is ignored for other types. */
    am_csv_force odd[] = {{"t", AM_COL_TIME, 3}};
    am_csv_options oo = {.force = odd, .n_force = 1};
    am_frame *sentinel = (am_frame *)(uintptr_t)0x1;
    f = sentinel;
    char p2[64];
    text = "t\n1/2/2020\n";
    write_temp(p2, sizeof(p2), text, strlen(text));
    ck_assert_int_eq(am_csv_read(p2, &oo, &f, &d), AM_ERR_ARG);
    ck_assert(f == sentinel);
    odd[0].type = AM_COL_CAT;
    f = read_ok(p2, &oo);
    ck_assert_int_eq(f->cols[0].type, AM_COL_CAT);
    ck_assert_int_eq(f->cols[0].time_format, 0);
    am_frame_free(f);
    unlink(p2);
}
END_TEST

/* Every allocation in turn fails: each attempt must return AM_ERR_NOMEM, leave *out alone and
 * leak nothing (the sanitizer and valgrind runs check that), until one succeeds. */
START_TEST(test_out_of_memory)
{
    const char *text = "\xEF\xBB\xBF" "id,label,when,note,n\r\n"
                       "1,a,2020-01-01,\"x, \"\"y\"\"\nz\",1.5\r\n"
                       "2,b,2020-01-02,two words,NA\r\n"
                       "3,a,,w,-2\r\n";
    char path[64];
    write_temp(path, sizeof(path), text, strlen(text));
    am_csv_force force[] = {{"note", AM_COL_TEXT, 0}};
    am_csv_options o = {.force = force, .n_force = 1, .keep_levels = "id", .block_size = 7};
    am_frame *ref = read_ok(path, &o);
    int k = 0;
    for (;; k++) {
        ck_assert_int_lt(k, 10000);
        am_frame *sentinel = (am_frame *)(uintptr_t)0x1, *f = sentinel;
        am_diag d;
        am_alloc_fail_after(k);
        am_status st = am_csv_read(path, &o, &f, &d);
        am_alloc_fail_after(-1);
        if (st == AM_OK) {
            assert_frames_equal(ref, f);
            am_frame_free(f);
            break;
        }
        ck_assert_msg(st == AM_ERR_NOMEM, "k=%d: %s %s", k, am_status_name(st), d.message);
        ck_assert_int_eq(d.status, AM_ERR_NOMEM);
        ck_assert_str_eq(d.file, path);
        ck_assert(f == sentinel);
    }
    ck_assert_int_gt(k, 10); /* the loop really went through many allocations */
    am_frame_free(ref);
    unlink(path);
}
END_TEST

static Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("format");
    tcase_add_test(tc, test_delimiters);
    tcase_add_test(tc, test_quoted_fields);
    tcase_add_test(tc, test_crlf_and_blank_lines);
    tcase_add_test(tc, test_bom);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_loop_test(tc, test_missing_marker, 0, (int)AM_COUNT(missing_markers));
    tcase_add_test(tc, test_is_missing);
    tcase_add_test(tc, test_type_inference);
    tcase_add_test(tc, test_text_versus_category);
    tcase_add_test(tc, test_keep_levels);
    tcase_add_test(tc, test_force_types);
    tcase_add_test(tc, test_parse_datetime);
    tcase_add_test(tc, test_parse_datetime_as);
    tcase_add_test(tc, test_date_formats);
    tcase_add_test(tc, test_date_formats_rejected);
    tcase_add_test(tc, test_force_time_format);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_loop_test(tc, test_bad_input, 0, (int)AM_COUNT(bad_cases));
    tcase_add_test(tc, test_header_too_long);
    tcase_add_test(tc, test_null_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("robustness");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_block_sizes);
    tcase_add_test(tc, test_many_rows);
    tcase_add_test(tc, test_random_inputs);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(csv_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
