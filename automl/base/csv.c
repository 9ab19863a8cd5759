/* csv.c — reading a CSV file into a typed frame, on top of libcsv.
 *
 * Two phases. Reading: the file is streamed in blocks, and each block is handed to libcsv one
 * physical line at a time, so the line where every record starts is known without asking the
 * parser for positions; each field's bytes plus a NUL are appended to its column's arena.
 * Converting: each column in turn is typed from all of its values, converted into the frame
 * column and its arena freed, so the peak is about one copy of the file plus finished columns. */
#define _POSIX_C_SOURCE 200809L /* XSI strerror_r: strerror is not thread-safe */
#include "csv.h"

#include <csv.h> /* libcsv; "csv.h" above is ours */
#ifndef CSV_MAJOR
#error "<csv.h> must be libcsv's header; check the include path"
#endif

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define DEFAULT_BLOCK ((size_t)1 << 20)
#define MAX_BLOCK ((size_t)1 << 30)
/* A header line longer than this is not a header (a binary file, a missing newline). */
#define MAX_HEADER_BYTES ((size_t)1 << 20)
/* Text, not category: more distinct values than this, averaging at least TEXT_MIN_WORDS. */
#define TEXT_MIN_DISTINCT 50
#define TEXT_MIN_WORDS 3.0
/* Bytes of an offending value quoted in a message. */
#define SHOW_MAX 40

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

/* A growable byte buffer: one column's fields, each followed by a NUL. */
typedef struct arena {
    char *buf;
    size_t len, cap;
} arena;

typedef struct reader {
    const char *path;
    am_diag *d;
    am_status status; /* first failure; callbacks do nothing once it is set */
    struct csv_parser parser;
    bool in_header;   /* the first record (the header) is not finished yet */
    bool check_nul;   /* a NUL byte was seen in the input: fields must be checked */
    arena names;      /* header fields */
    const char **name_at;
    int32_t n_cols;
    arena *cols;
    int64_t field;    /* fields completed in the current record */
    int64_t n_rows;
    int64_t *row_line;
    int64_t row_cap;
    int64_t line;       /* physical line now being fed, 1-based */
    int64_t row_start;  /* line where the current record started */
    int64_t quote_line; /* line where the quoted field now open started */
    int64_t header_line;
} reader;

/* ---- small helpers ---------------------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Values are mostly a few bytes long: an inline loop spares a library call per value. */
static inline size_t value_len(const char *p)
{
    size_t n = 0;
    while (p[n])
        n++;
    return n;
}

static void trim(const char **s, size_t *len)
{
    while (*len && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && is_blank((*s)[*len - 1]))
        (*len)--;
}

/* A cheap test that rules out almost every value before am_csv_is_missing: every marker is
 * empty, starts with N, n or ?, or has blanks around it. */
static inline bool could_be_missing(const char *s, size_t len)
{
    if (len == 0)
        return true;
    char c = s[0];
    return c == 'N' || c == 'n' || c == '?' || is_blank(c) || is_blank(s[len - 1]);
}

static bool arena_grow(arena *a, size_t need)
{
    size_t cap = a->cap ? a->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *buf = am_realloc(a->buf, cap);
    if (!buf)
        return false;
    a->buf = buf;
    a->cap = cap;
    return true;
}

/* Appends len bytes and a NUL; s may be read up to `readable` bytes. The hot path of reading.
 * Most fields are short: copying a fixed 16 bytes (two moves, no call) when both sides have room
 * is faster than a memcpy call; the bytes past the NUL are overwritten by the next field. */
static inline bool arena_put(arena *a, const void *s, size_t len, size_t readable)
{
    if (len < 16 && readable >= 16 && a->cap - a->len > 16) {
        memcpy(a->buf + a->len, s, 16);
        a->buf[a->len + len] = '\0';
        a->len += len + 1;
        return true;
    }
    if (len >= SIZE_MAX - a->len)
        return false;
    size_t need = a->len + len + 1;
    if (need > a->cap && !arena_grow(a, need))
        return false;
    if (len)
        memcpy(a->buf + a->len, s, len);
    a->buf[a->len + len] = '\0';
    a->len = need;
    return true;
}

static void arena_fini(arena *a)
{
    am_free(a->buf);
    memset(a, 0, sizeof(*a));
}

/* Fails the read: clears d, writes the message and where. Only the first failure is kept. */
static am_status fail_at(reader *r, am_status st, int64_t line, const char *column,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static am_status fail_at(reader *r, am_status st, int64_t line, const char *column,
                         const char *fmt, ...)
{
    if (r->status != AM_OK)
        return r->status;
    char msg[sizeof(((am_diag *)0)->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    am_diag_clear(r->d);
    am_fail(r->d, st, "%s", msg);
    am_diag_locate(r->d, r->path, line, column);
    r->status = st;
    return st;
}

static am_status fail_nomem(reader *r)
{
    return fail_at(r, AM_ERR_NOMEM, 0, NULL, "out of memory while reading the file");
}

/* The column name for field k of a record, or NULL before the header is known. */
static const char *column_name(const reader *r, int64_t k)
{
    return !r->in_header && k >= 0 && k < r->n_cols ? r->name_at[k] : NULL;
}

/* ---- libcsv callbacks ------------------------------------------------------------------- */

static void header_field(reader *r, const void *s, size_t len)
{
    if (r->field >= INT32_MAX - 1) {
        fail_at(r, AM_ERR_DATA, r->line, NULL, "the header has too many columns");
        return;
    }
    if (!arena_put(&r->names, s, len, len)) {
        fail_nomem(r);
        return;
    }
    r->field++;
}

static void on_field(void *s, size_t len, void *data)
{
    reader *r = data;
    if (r->status != AM_OK)
        return;
    r->quote_line = r->line; /* a quoted field opened later in this line starts here */
    if (r->check_nul && memchr(s, '\0', len)) {
        if (r->in_header)
            fail_at(r, AM_ERR_DATA, r->line, NULL, "NUL byte in the name of column %lld",
                    (long long)r->field + 1);
        else
            fail_at(r, AM_ERR_DATA, r->line, column_name(r, r->field), "NUL byte in a field");
        return;
    }
    if (r->in_header) {
        header_field(r, s, len);
        return;
    }
    /* libcsv hands over its own field buffer, entry_size bytes long. */
    if (r->field < r->n_cols && !arena_put(&r->cols[r->field], s, len, r->parser.entry_size)) {
        fail_nomem(r);
        return;
    }
    r->field++;
}

/* Names must be non-empty and distinct, since columns are found by name. */
static am_status check_names(reader *r)
{
    am_strset seen;
    am_strset_init(&seen);
    const char *p = r->names.buf;
    for (int32_t j = 0; j < r->n_cols; j++) {
        size_t len = strlen(p);
        r->name_at[j] = p;
        if (len == 0) {
            fail_at(r, AM_ERR_DATA, r->header_line, NULL, "column %d has an empty name", j + 1);
            break;
        }
        int32_t before = seen.n;
        int32_t k = am_strset_add(&seen, p, len);
        if (k < 0) {
            fail_nomem(r);
            break;
        }
        if (seen.n == before) {
            fail_at(r, AM_ERR_DATA, r->header_line, p,
                    "duplicate column name (columns %d and %d)", k + 1, j + 1);
            break;
        }
        p += len + 1;
    }
    am_strset_fini(&seen);
    return r->status;
}

static void finish_header(reader *r)
{
    r->header_line = r->row_start;
    r->n_cols = (int32_t)r->field;
    r->name_at = am_calloc((size_t)r->n_cols, sizeof(*r->name_at));
    r->cols = am_calloc((size_t)r->n_cols, sizeof(*r->cols));
    if (!r->name_at || !r->cols) {
        fail_nomem(r);
        return;
    }
    if (check_names(r) == AM_OK)
        r->in_header = false;
}

static bool push_row_line(reader *r)
{
    if (r->n_rows == r->row_cap) {
        int64_t cap = r->row_cap ? r->row_cap * 2 : 1024;
        size_t bytes;
        if (!am_size_mul((size_t)cap, sizeof(int64_t), &bytes))
            return false;
        int64_t *lines = am_realloc(r->row_line, bytes);
        if (!lines)
            return false;
        r->row_line = lines;
        r->row_cap = cap;
    }
    r->row_line[r->n_rows++] = r->row_start;
    return true;
}

static void on_record(int c, void *data)
{
    (void)c;
    reader *r = data;
    if (r->status != AM_OK)
        return;
    if (r->in_header)
        finish_header(r);
    else if (r->field != r->n_cols)
        fail_at(r, AM_ERR_DATA, r->row_start, NULL, "row has %lld fields, the header has %d",
                (long long)r->field, r->n_cols);
    else if (!push_row_line(r))
        fail_nomem(r);
    r->field = 0;
    /* After a CR (or a CRLF's CR) the next record may begin on this very line. */
    r->row_start = r->line;
}

/* ---- reading ---------------------------------------------------------------------------- */

static am_status parse_failed(reader *r)
{
    switch (csv_error(&r->parser)) {
    case CSV_ENOMEM: return fail_nomem(r);
    case CSV_ETOOBIG: return fail_at(r, AM_ERR_DATA, r->line, column_name(r, r->field),
                                     "field too large");
    default:
        return fail_at(r, AM_ERR_DATA, r->line, column_name(r, r->field),
                       "misplaced quote (a quote inside an unquoted field, or text after a "
                       "closing quote)");
    }
}

/* Hands bytes to libcsv one physical line at a time, so r->line is the line being parsed when a
 * callback runs. Where a record starts: at the start of a line when no record is open (no
 * completed field, not inside quotes), or on the line where the previous record ended (a CR can
 * end one mid-line). Where the open quoted field started: likewise, at the start of a line when
 * not inside quotes, or on the line where the previous field ended. An unquoted field cannot
 * cross a newline, so a record cut by a block boundary mid-line gets the same line either way. */
static am_status feed(reader *r, const char *buf, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(buf, '\n', n);
        size_t seg = nl ? (size_t)(nl - buf) + 1 : n;
        if (!r->parser.quoted) {
            r->quote_line = r->line;
            if (r->field == 0)
                r->row_start = r->line;
        }
        size_t used = csv_parse(&r->parser, buf, seg, on_field, on_record, r);
        if (r->status != AM_OK)
            return r->status;
        if (used != seg)
            return parse_failed(r);
        if (nl)
            r->line++;
        buf += seg;
        n -= seg;
    }
    return AM_OK;
}

static am_status feed_in_blocks(reader *r, const char *buf, size_t n, size_t block)
{
    while (n > 0) {
        size_t k = AM_MIN(n, block);
        if (feed(r, buf, k) != AM_OK)
            return r->status;
        buf += k;
        n -= k;
    }
    return AM_OK;
}

/* Finds the header line (the first one that is not blank) and counts the candidate delimiters
 * outside quotes in it. Incremental, because the header arrives in blocks. */
typedef struct sniff {
    size_t pos, start, end;
    bool started, in_quote, done;
    int64_t counts[3]; /* ',' ';' '\t' */
} sniff;

static void sniff_scan(sniff *sn, const char *b, size_t len)
{
    for (; sn->pos < len && !sn->done; sn->pos++) {
        char c = b[sn->pos];
        if (!sn->started) {
            bool bom = sn->pos < 3 && (unsigned char)c == utf8_bom[sn->pos];
            if (bom || is_blank(c))
                continue;
            sn->started = true;
            sn->start = sn->pos;
        }
        if (c == '"')
            sn->in_quote = !sn->in_quote;
        else if (sn->in_quote)
            continue;
        else if (c == '\n' || c == '\r') {
            sn->done = true;
            sn->end = sn->pos;
        } else if (c == ',')
            sn->counts[0]++;
        else if (c == ';')
            sn->counts[1]++;
        else if (c == '\t')
            sn->counts[2]++;
    }
}

static unsigned char pick_delimiter(const sniff *sn)
{
    static const unsigned char delims[3] = {',', ';', '\t'};
    int best = 0;
    for (int i = 1; i < 3; i++)
        if (sn->counts[i] > sn->counts[best])
            best = i;
    return delims[best];
}

/* Reads up to block bytes into a, growing it. Returns bytes read; 0 at end or on error. */
static size_t read_more(reader *r, FILE *f, arena *a, size_t block)
{
    if (a->cap - a->len < block && !arena_grow(a, a->len + block)) {
        fail_nomem(r);
        return 0;
    }
    size_t got = fread(a->buf + a->len, 1, block, f);
    if (got == 0 && ferror(f)) {
        char why[128] = "unknown error";
        strerror_r(errno, why, sizeof(why));
        fail_at(r, AM_ERR_IO, 0, NULL, "cannot read the file: %s", why);
        return 0;
    }
    if (memchr(a->buf + a->len, '\0', got))
        r->check_nul = true;
    a->len += got;
    return got;
}

static am_status header_too_long(reader *r, const arena *head, size_t start)
{
    int64_t line = 1;
    for (size_t i = 0; i < start; i++)
        line += head->buf[i] == '\n';
    return fail_at(r, AM_ERR_DATA, line, NULL, "the header line is longer than %zu bytes",
                   MAX_HEADER_BYTES);
}

/* Reads until the header line is complete (or the file ends), picks the delimiter from it and
 * feeds what was read, BOM removed. */
static am_status read_header(reader *r, FILE *f, size_t block)
{
    arena head = {0};
    sniff sn = {0};
    while (!sn.done) {
        if (head.len - (sn.started ? sn.start : 0) > MAX_HEADER_BYTES) {
            header_too_long(r, &head, sn.start);
            break;
        }
        if (read_more(r, f, &head, block) == 0)
            break;
        sniff_scan(&sn, head.buf, head.len);
    }
    if (r->status == AM_OK && sn.done && sn.end - sn.start > MAX_HEADER_BYTES)
        header_too_long(r, &head, sn.start);
    if (r->status == AM_OK && !sn.started)
        fail_at(r, AM_ERR_DATA, 0, NULL, "file is empty");
    if (r->status == AM_OK) {
        csv_set_delim(&r->parser, pick_delimiter(&sn));
        size_t skip = head.len >= 3 && memcmp(head.buf, utf8_bom, 3) == 0 ? 3 : 0;
        feed_in_blocks(r, head.buf + skip, head.len - skip, block);
    }
    arena_fini(&head);
    return r->status;
}

static am_status read_file(reader *r, FILE *f, size_t block)
{
    if (read_header(r, f, block) != AM_OK)
        return r->status;
    arena chunk = {0};
    while (r->status == AM_OK) {
        chunk.len = 0;
        size_t got = read_more(r, f, &chunk, block);
        if (got == 0 || feed(r, chunk.buf, got) != AM_OK)
            break;
    }
    arena_fini(&chunk);
    if (r->status != AM_OK)
        return r->status;
    if (csv_fini(&r->parser, on_field, on_record, r) != 0)
        return fail_at(r, AM_ERR_DATA, r->quote_line, column_name(r, r->field),
                       "unterminated quoted field");
    if (r->status != AM_OK)
        return r->status;
    if (r->in_header) /* not reached: a non-blank header line always makes a record */
        return fail_at(r, AM_ERR_DATA, 0, NULL, "file is empty");
    if (r->n_rows == 0)
        return fail_at(r, AM_ERR_DATA, r->header_line, NULL, "no data rows after the header");
    return AM_OK;
}

/* ---- converting ------------------------------------------------------------------------- */

typedef bool (*parse_fn)(const char *s, size_t len, double *out);

/* A day-month date as written, before deciding which field is the day: first<sep>second<sep>
 * year, then an optional clock (seconds into the day). */
struct dm_date {
    int first, second, year;
    char sep;
    double clock;
};

/* Parses every value of a column into num (missing markers become NaN). Returns the index of the
 * first value that is neither, or n when all fit; *bad points at that value. Parsing straight
 * into the destination means a numeric column is parsed once. */
static int64_t parse_all(const arena *a, int64_t n, parse_fn parse, double *num,
                         int64_t *n_missing, const char **bad)
{
    const char *p = a->buf;
    int64_t missing = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t len = value_len(p);
        if (!parse(p, len, &num[i])) {
            if (!could_be_missing(p, len) || !am_csv_is_missing(p, len)) {
                *bad = p;
                return i;
            }
            num[i] = NAN;
            missing++;
        }
        p += len + 1;
    }
    *n_missing = missing;
    return n;
}

static int64_t count_words(const char *s)
{
    int64_t words = 0;
    bool in_word = false;
    for (; *s; s++) {
        bool blank = is_blank(*s);
        words += !blank && !in_word;
        in_word = !blank;
    }
    return words;
}

/* Codes into distinct raw strings, as written; missing markers get -1.
 *
 * Most categorical columns repeat a few values many times, so a small direct-mapped cache from a
 * hash (computed while finding the value's end) to its code answers most lookups with one
 * comparison; the string set is consulted only on a miss. */
#define CODE_CACHE 1024

typedef struct cached_code {
    int32_t code; /* -1: empty */
    uint32_t len; /* the level's length, so the comparison stays inside it */
} cached_code;

static bool same_bytes(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static am_status code_all(reader *r, const arena *a, am_column *c)
{
    int64_t n = r->n_rows;
    c->codes = am_malloc_array((size_t)n, sizeof(int32_t));
    if (!c->codes)
        return fail_nomem(r);
    cached_code cache[CODE_CACHE];
    for (int k = 0; k < CODE_CACHE; k++)
        cache[k].code = -1;
    const char *p = a->buf;
    int64_t missing = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t h = 0;
        size_t len = 0;
        for (; p[len]; len++)
            h = h * 31 + (unsigned char)p[len];
        int32_t code = -1;
        if (could_be_missing(p, len) && am_csv_is_missing(p, len)) {
            missing++;
        } else {
            cached_code *slot = &cache[(h ^ (h >> 16)) & (CODE_CACHE - 1)];
            code = slot->code;
            if (code < 0 || slot->len != len || !same_bytes(c->levels.items[code], p, len)) {
                code = am_strset_add(&c->levels, p, len);
                if (code < 0)
                    return fail_nomem(r);
                slot->code = code;
                slot->len = (uint32_t)len;
            }
        }
        c->codes[i] = code;
        p += len + 1;
    }
    c->n_missing = missing;
    return AM_OK;
}

/* Prose has many distinct values averaging at least TEXT_MIN_WORDS words. Words are counted once
 * per distinct value and weighted by how often it occurs. */
static am_status looks_like_text(reader *r, const am_column *c, bool *text)
{
    *text = false;
    if (c->levels.n <= TEXT_MIN_DISTINCT)
        return AM_OK;
    int64_t *words = am_malloc_array((size_t)c->levels.n, sizeof(int64_t));
    if (!words)
        return fail_nomem(r);
    for (int32_t k = 0; k < c->levels.n; k++)
        words[k] = count_words(c->levels.items[k]);
    int64_t total = 0, present = 0;
    for (int64_t i = 0; i < r->n_rows; i++) {
        if (c->codes[i] >= 0) {
            total += words[c->codes[i]];
            present++;
        }
    }
    am_free(words);
    *text = present > 0 && (double)total >= TEXT_MIN_WORDS * (double)present;
    return AM_OK;
}

static void show_value(const char *v, char *buf, size_t size)
{
    size_t len = strlen(v);
    if (len <= SHOW_MAX)
        snprintf(buf, size, "%s", v);
    else
        snprintf(buf, size, "%.*s...", SHOW_MAX, v);
}

static bool parse_mdy(const char *s, size_t len, double *seconds)
{
    return am_parse_datetime_as(s, len, AM_TIME_MDY, seconds);
}

static bool parse_dmy(const char *s, size_t len, double *seconds)
{
    return am_parse_datetime_as(s, len, AM_TIME_DMY, seconds);
}

static parse_fn time_parser(uint8_t format)
{
    return format == AM_TIME_MDY ? parse_mdy : format == AM_TIME_DMY ? parse_dmy
                                                                     : am_parse_datetime;
}

static const char *time_expected(uint8_t format)
{
    switch (format) {
    case AM_TIME_MDY: return "a month-first date (M/D/YYYY)";
    case AM_TIME_DMY: return "a day-first date (D/M/YYYY)";
    default: return "a date or date-time";
    }
}

/* A column whose type the caller forced: every non-missing value must fit it (a datetime column:
 * in exactly the forced format). */
static am_status convert_forced(reader *r, int32_t j, const am_csv_force *fc, am_column *c)
{
    const arena *a = &r->cols[j];
    c->type = fc->type;
    if (fc->type == AM_COL_CAT || fc->type == AM_COL_TEXT)
        return code_all(r, a, c);
    c->num = am_malloc_array((size_t)r->n_rows, sizeof(double));
    if (!c->num)
        return fail_nomem(r);
    bool time = fc->type == AM_COL_TIME;
    if (time)
        c->time_format = fc->time_format;
    parse_fn parse = time ? time_parser(fc->time_format) : am_parse_double;
    const char *bad = NULL;
    int64_t i = parse_all(a, r->n_rows, parse, c->num, &c->n_missing, &bad);
    if (i == r->n_rows)
        return AM_OK;
    char shown[SHOW_MAX + 8];
    show_value(bad, shown, sizeof(shown));
    return fail_at(r, AM_ERR_DATA, r->row_line[i], c->name, "expected %s, got \"%s\"",
                   time ? time_expected(fc->time_format) : "a number", shown);
}

static bool parse_dm_fields(const char *s, size_t len, struct dm_date *out);

/* Decides which field of a column of day-month dates is the day, from every value (the rule is
 * in csv.h). false when a value is neither a day-month date nor missing, or when the evidence
 * points both ways: such a column is not a date. Calendar validity is left to the parse that
 * follows, under the chosen order. */
static bool infer_day_month(const arena *a, int64_t n, uint8_t *format)
{
    bool day_first = false, month_first = false;
    const char *p = a->buf;
    for (int64_t i = 0; i < n; i++) {
        size_t len = value_len(p);
        struct dm_date dt;
        if (parse_dm_fields(p, len, &dt)) {
            day_first |= dt.sep == '.' || dt.first > 12;
            month_first |= dt.second > 12;
            if (day_first && month_first)
                return false;
        } else if (!could_be_missing(p, len) || !am_csv_is_missing(p, len)) {
            return false;
        }
        p += len + 1;
    }
    *format = day_first ? AM_TIME_DMY : AM_TIME_MDY;
    return true;
}

/* The date format of a column whose first non-number is `bad`, when every value is a date in
 * it: ISO if bad is ISO, else a day-month order if bad is a day-month date. Checking bad first
 * spares further passes over numeric-looking columns with a stray word. */
static bool parse_dates(const reader *r, const arena *a, const char *bad, am_column *c)
{
    double t;
    struct dm_date dt;
    size_t len = strlen(bad);
    uint8_t format = AM_TIME_ISO;
    if (!am_parse_datetime(bad, len, &t) &&
        (!parse_dm_fields(bad, len, &dt) || !infer_day_month(a, r->n_rows, &format)))
        return false;
    c->time_format = format;
    return parse_all(a, r->n_rows, time_parser(format), c->num, &c->n_missing, &bad) ==
           r->n_rows;
}

/* Number if every value is one, else datetime if every value is one in one format, else text or
 * category. */
static am_status convert_inferred(reader *r, int32_t j, am_column *c)
{
    const arena *a = &r->cols[j];
    c->num = am_malloc_array((size_t)r->n_rows, sizeof(double));
    if (!c->num)
        return fail_nomem(r);
    const char *bad = NULL;
    c->type = AM_COL_NUM;
    if (parse_all(a, r->n_rows, am_parse_double, c->num, &c->n_missing, &bad) == r->n_rows)
        return AM_OK;
    if (parse_dates(r, a, bad, c)) {
        c->type = AM_COL_TIME;
        return AM_OK;
    }
    c->time_format = AM_TIME_ISO;
    am_free(c->num);
    c->num = NULL;
    bool text;
    if (code_all(r, a, c) != AM_OK || looks_like_text(r, c, &text) != AM_OK)
        return r->status;
    c->type = text ? AM_COL_TEXT : AM_COL_CAT;
    return AM_OK;
}

static const am_csv_force *find_force(const am_csv_options *o, const char *name)
{
    if (!o || !o->force)
        return NULL;
    for (int32_t i = 0; i < o->n_force; i++)
        if (o->force[i].name && strcmp(o->force[i].name, name) == 0)
            return &o->force[i];
    return NULL;
}

static am_status convert_column(reader *r, const am_csv_options *o, int32_t j, am_column *c)
{
    const am_csv_force *fc = find_force(o, c->name);
    am_status st = fc ? convert_forced(r, j, fc, c) : convert_inferred(r, j, c);
    if (st != AM_OK)
        return st;
    bool keep = o && o->keep_levels && strcmp(o->keep_levels, c->name) == 0;
    if (keep && !c->codes)
        return code_all(r, &r->cols[j], c);
    return AM_OK;
}

static bool valid_forced_types(const am_csv_options *o)
{
    for (int32_t i = 0; o && o->force && i < o->n_force; i++) {
        const am_csv_force *fc = &o->force[i];
        if (fc->type < AM_COL_NUM || fc->type > AM_COL_TIME)
            return false;
        if (fc->type == AM_COL_TIME && fc->time_format > AM_TIME_DMY)
            return false;
    }
    return true;
}

static am_status build_frame(reader *r, const am_csv_options *o, am_frame **out)
{
    am_frame *f = am_calloc(1, sizeof(*f));
    if (!f)
        return fail_nomem(r);
    f->cols = am_calloc((size_t)r->n_cols, sizeof(am_column));
    f->source = am_strdup(r->path);
    if (!f->cols || !f->source) {
        am_frame_free(f);
        return fail_nomem(r);
    }
    f->n_cols = r->n_cols;
    f->n_rows = r->n_rows;
    for (int32_t j = 0; j < r->n_cols && r->status == AM_OK; j++) {
        am_column *c = &f->cols[j];
        c->type = AM_COL_NUM;
        c->name = am_strdup(r->name_at[j]);
        if (!c->name)
            fail_nomem(r);
        else
            convert_column(r, o, j, c);
        arena_fini(&r->cols[j]);
    }
    if (r->status != AM_OK) {
        am_frame_free(f);
        return r->status;
    }
    f->row_line = r->row_line;
    r->row_line = NULL;
    *out = f;
    return AM_OK;
}

static void reader_fini(reader *r)
{
    csv_free(&r->parser);
    arena_fini(&r->names);
    for (int32_t j = 0; r->cols && j < r->n_cols; j++)
        arena_fini(&r->cols[j]);
    am_free(r->cols);
    am_free(r->name_at);
    am_free(r->row_line);
}

am_status am_csv_read(const char *path, const am_csv_options *opts, am_frame **out, am_diag *d)
{
    if (!path || !out)
        return am_fail(d, AM_ERR_ARG, "am_csv_read: path and out must not be NULL");
    if (!valid_forced_types(opts))
        return am_fail(d, AM_ERR_ARG,
                       "am_csv_read: a forced column type or date format is not valid");
    reader r;
    memset(&r, 0, sizeof(r));
    r.path = path;
    r.d = d;
    r.in_header = true;
    r.line = 1;
    if (csv_init(&r.parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
        return fail_at(&r, AM_ERR_INTERNAL, 0, NULL, "csv_init failed");
    /* libcsv's own buffer goes through our allocator too, so injected failures reach it, and it
     * grows in larger steps than its default 128 bytes. */
    csv_set_realloc_func(&r.parser, am_realloc);
    csv_set_free_func(&r.parser, am_free);
    csv_set_blk_size(&r.parser, 4096);

    FILE *f = fopen(path, "rb");
    if (!f) {
        char why[128] = "unknown error";
        strerror_r(errno, why, sizeof(why));
        return fail_at(&r, AM_ERR_IO, 0, NULL, "cannot open the file: %s", why);
    }
    size_t block = opts && opts->block_size ? AM_MIN(opts->block_size, MAX_BLOCK) : DEFAULT_BLOCK;
    am_frame *frame = NULL;
    if (read_file(&r, f, block) == AM_OK)
        build_frame(&r, opts, &frame);
    fclose(f);
    reader_fini(&r);
    if (r.status == AM_OK)
        *out = frame;
    return r.status;
}

/* ---- values ----------------------------------------------------------------------------- */

bool am_csv_is_missing(const char *s, size_t len)
{
    trim(&s, &len);
    switch (len) {
    case 0: return true;
    case 1: return s[0] == '?';
    case 2: return memcmp(s, "NA", 2) == 0;
    case 3:
        return memcmp(s, "N/A", 3) == 0 || memcmp(s, "NaN", 3) == 0 || memcmp(s, "nan", 3) == 0;
    case 4: return memcmp(s, "null", 4) == 0 || memcmp(s, "NULL", 4) == 0;
    default: return false;
    }
}

/* Reads exactly n decimal digits. */
static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar: count in 400-year eras
 * starting on 1 March, so the leap day falls at the end of each year (H. Hinnant's method). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The optional ":SS" or ":SS.fff" after a clock's minutes, at s[*i]; advances *i past it. */
static bool parse_clock_seconds(const char *s, size_t len, size_t *i, int *sec, double *frac)
{
    size_t k = *i;
    *sec = 0;
    *frac = 0.0;
    if (k >= len || s[k] != ':')
        return true;
    if (len < k + 3 || !digits(s + k + 1, 2, sec))
        return false;
    k += 3;
    if (k < len && s[k] == '.') {
        /* Digits past the 15th are below a double's resolution at these magnitudes. */
        int64_t mantissa = 0;
        int kept = 0;
        size_t first = ++k;
        for (; k < len && s[k] >= '0' && s[k] <= '9'; k++)
            if (kept < 15) {
                mantissa = mantissa * 10 + (s[k] - '0');
                kept++;
            }
        if (k == first)
            return false;
        *frac = (double)mantissa / pow(10.0, kept);
    }
    *i = k;
    return true;
}

/* HH:MM, HH:MM:SS or HH:MM:SS.fff, then an optional Z, to the end of the string. */
static bool parse_clock(const char *s, size_t len, double *seconds)
{
    int h, mi, sec;
    double frac;
    if (len < 5 || !digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &mi))
        return false;
    size_t i = 5;
    if (!parse_clock_seconds(s, len, &i, &sec, &frac))
        return false;
    if (i < len && s[i] == 'Z')
        i++;
    if (i != len || h > 23 || mi > 59 || sec > 59)
        return false;
    *seconds = h * 3600.0 + mi * 60.0 + sec + frac;
    return true;
}

/* One or two decimal digits at s[*i] (up to len); advances *i past them. */
static bool small_number(const char *s, size_t len, size_t *i, int *out)
{
    size_t k = *i;
    int v = 0;
    while (k < len && k - *i < 2 && s[k] >= '0' && s[k] <= '9')
        v = v * 10 + (s[k++] - '0');
    if (k == *i || (k < len && s[k] >= '0' && s[k] <= '9'))
        return false;
    *i = k;
    *out = v;
    return true;
}

/* "AM", "PM" (either case) preceded by at most one blank, from s[*i] to the end; *pm tells
 * which. false when there is something else. */
static bool parse_meridiem(const char *s, size_t len, size_t i, bool *pm)
{
    if (i < len && s[i] == ' ')
        i++;
    if (len - i != 2 || (s[i + 1] != 'M' && s[i + 1] != 'm'))
        return false;
    char c = s[i];
    if (c != 'A' && c != 'a' && c != 'P' && c != 'p')
        return false;
    *pm = c == 'P' || c == 'p';
    return true;
}

/* The clock of a day-month date: H:MM, H:MM:SS or H:MM:SS.fff (hour one or two digits), either
 * 24-hour or followed by AM/PM (hour 1-12, 12 AM is midnight), to the end of the string. */
static bool parse_dm_clock(const char *s, size_t len, double *seconds)
{
    size_t i = 0;
    int h, mi, sec;
    double frac;
    if (!small_number(s, len, &i, &h) || i + 3 > len || s[i] != ':' ||
        !digits(s + i + 1, 2, &mi))
        return false;
    i += 3;
    if (!parse_clock_seconds(s, len, &i, &sec, &frac) || mi > 59 || sec > 59)
        return false;
    if (i < len) {
        bool pm;
        if (!parse_meridiem(s, len, i, &pm) || h < 1 || h > 12)
            return false;
        h = h % 12 + (pm ? 12 : 0);
    } else if (h > 23) {
        return false;
    }
    *seconds = h * 3600.0 + mi * 60.0 + sec + frac;
    return true;
}

/* A/B/YYYY, A-B-YYYY or A.B.YYYY (A and B one or two digits, one separator throughout), then
 * optionally ' ' and a clock. Only the syntax and the clock are checked here: which field is
 * the day is the column's business. Surrounding blanks are ignored. */
static bool parse_dm_fields(const char *s, size_t len, struct dm_date *out)
{
    trim(&s, &len);
    size_t i = 0;
    struct dm_date dt = {0};
    if (!small_number(s, len, &i, &dt.first) || i >= len)
        return false;
    dt.sep = s[i++];
    if ((dt.sep != '/' && dt.sep != '-' && dt.sep != '.') ||
        !small_number(s, len, &i, &dt.second) || i >= len || s[i] != dt.sep ||
        len - i - 1 < 4 || !digits(s + i + 1, 4, &dt.year))
        return false;
    i += 5;
    if (i < len && (s[i] != ' ' || !parse_dm_clock(s + i + 1, len - i - 1, &dt.clock)))
        return false;
    *out = dt;
    return true;
}

bool am_parse_datetime(const char *s, size_t len, double *seconds)
{
    trim(&s, &len);
    int y, m, d;
    if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return false;
    double clock = 0.0;
    if (len > 10 && ((s[10] != 'T' && s[10] != ' ') || !parse_clock(s + 11, len - 11, &clock)))
        return false;
    *seconds = (double)days_from_civil(y, m, d) * 86400.0 + clock;
    return true;
}

bool am_parse_datetime_as(const char *s, size_t len, uint8_t format, double *seconds)
{
    if (format == AM_TIME_ISO)
        return am_parse_datetime(s, len, seconds);
    if (format != AM_TIME_MDY && format != AM_TIME_DMY)
        return false;
    struct dm_date dt;
    if (!parse_dm_fields(s, len, &dt) || (format == AM_TIME_MDY && dt.sep == '.'))
        return false;
    int m = format == AM_TIME_MDY ? dt.first : dt.second;
    int d = format == AM_TIME_MDY ? dt.second : dt.first;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(dt.year, m))
        return false;
    *seconds = (double)days_from_civil(dt.year, m, d) * 86400.0 + dt.clock;
    return true;
}
