/* base.c — statuses, diagnostics, allocator, logging, RNG, clock and number parsing. */
#define _GNU_SOURCE
#include "base.h"

#include <ctype.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *am_status_name(am_status s)
{
    static const char *const names[] = {
        "AM_OK", "AM_ERR_NOMEM", "AM_ERR_ARG", "AM_ERR_CONFIG", "AM_ERR_IO",
        "AM_ERR_DATA", "AM_ERR_FORMAT", "AM_ERR_NUMERIC", "AM_ERR_CANCELLED", "AM_ERR_INTERNAL",
    };
    if ((unsigned)s < AM_COUNT(names))
        return names[s];
    return "AM_ERR_UNKNOWN";
}

const char *am_task_name(am_task t)
{
    switch (t) {
    case AM_TASK_BINARY: return "binary";
    case AM_TASK_MULTICLASS: return "multiclass";
    case AM_TASK_REGRESSION: return "regression";
    }
    return "unknown";
}

am_task am_task_parse(const char *s)
{
    if (!strcmp(s, "binary"))
        return AM_TASK_BINARY;
    if (!strcmp(s, "multiclass"))
        return AM_TASK_MULTICLASS;
    if (!strcmp(s, "regression"))
        return AM_TASK_REGRESSION;
    return (am_task)0;
}

/* ---- diagnostics ------------------------------------------------------------------------- */

void am_diag_clear(am_diag *d)
{
    if (d)
        memset(d, 0, sizeof(*d));
}

am_status am_fail(am_diag *d, am_status status, const char *fmt, ...)
{
    if (!d)
        return status;
    d->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof(d->message), fmt, ap);
    va_end(ap);
    return status;
}

static void copy_text(char *dst, size_t size, const char *src)
{
    if (!src)
        return;
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void am_diag_locate(am_diag *d, const char *file, int64_t line, const char *column)
{
    if (!d)
        return;
    if (file && !d->file[0])
        copy_text(d->file, sizeof(d->file), file);
    if (line > 0 && d->line == 0)
        d->line = line;
    if (column && !d->column[0])
        copy_text(d->column, sizeof(d->column), column);
}

const char *am_diag_format(const am_diag *d, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
#define APPEND(...)                                                                             \
    do {                                                                                        \
        int k_ = snprintf(buf + used, size - used, __VA_ARGS__);                                \
        if (k_ > 0)                                                                             \
            used = AM_MIN(size - 1, used + (size_t)k_);                                         \
    } while (0)
    if (d->file[0] && d->line > 0)
        APPEND("%s:%lld: ", d->file, (long long)d->line);
    else if (d->file[0])
        APPEND("%s: ", d->file);
    /* Name the column unless the message already does (quoted), so it is never said twice. */
    char quoted[sizeof(d->column) + 2];
    snprintf(quoted, sizeof(quoted), "\"%s\"", d->column);
    if (d->column[0] && !strstr(d->message, quoted))
        APPEND("column \"%s\": ", d->column);
    APPEND("%s", d->message[0] ? d->message : am_status_name(d->status));
#undef APPEND
    return buf;
}

/* ---- memory ------------------------------------------------------------------------------ */

static _Atomic int64_t fail_countdown = -1;
static _Atomic bool fail_once; /* only the counted allocation fails; later ones succeed */

static bool injected_failure(void)
{
    int64_t left = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (left < 0)
        return false;
    if (left == 0) {
        if (atomic_load_explicit(&fail_once, memory_order_relaxed))
            atomic_store_explicit(&fail_countdown, -1, memory_order_relaxed);
        return true;
    }
    atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
    return false;
}

void am_alloc_fail_after(int64_t n)
{
    atomic_store(&fail_once, false);
    atomic_store(&fail_countdown, n < 0 ? -1 : n);
}

void am_alloc_fail_once(int64_t n)
{
    atomic_store(&fail_once, true);
    atomic_store(&fail_countdown, n < 0 ? -1 : n);
}

void *am_malloc(size_t n)
{
    if (injected_failure())
        return NULL;
    return malloc(n ? n : 1);
}

void *am_calloc(size_t count, size_t size)
{
    if (injected_failure())
        return NULL;
    if (count == 0 || size == 0)
        return calloc(1, 1);
    return calloc(count, size);
}

void *am_realloc(void *p, size_t n)
{
    if (injected_failure())
        return NULL;
    return realloc(p, n ? n : 1);
}

void am_free(void *p)
{
    free(p);
}

char *am_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = am_malloc(n);
    if (c)
        memcpy(c, s, n);
    return c;
}

bool am_size_mul(size_t a, size_t b, size_t *out)
{
    if (b != 0 && a > SIZE_MAX / b)
        return false;
    *out = a * b;
    return true;
}

void *am_malloc_array(size_t count, size_t size)
{
    size_t bytes;
    if (!am_size_mul(count, size, &bytes))
        return NULL;
    return am_malloc(bytes);
}

/* ---- logging ----------------------------------------------------------------------------- */

void am_log(const am_logger *lg, am_log_level level, const char *fmt, ...)
{
    if (!lg || !lg->fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    lg->fn((int)level, msg, lg->user);
}

/* ---- random numbers ---------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void am_rng_seed(am_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t am_rng_next(am_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double am_rng_uniform(am_rng *r)
{
    return (double)(am_rng_next(r) >> 11) * 0x1.0p-53;
}

int64_t am_rng_below(am_rng *r, int64_t n)
{
    if (n <= 1)
        return 0;
    /* Rejection sampling keeps every value equally likely. */
    uint64_t un = (uint64_t)n;
    uint64_t limit = UINT64_MAX - UINT64_MAX % un;
    uint64_t x;
    do
        x = am_rng_next(r);
    while (x >= limit);
    return (int64_t)(x % un);
}

void am_rng_shuffle(am_rng *r, int64_t *a, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = am_rng_below(r, i + 1);
        int64_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

uint64_t am_seed_derive(uint64_t parent, uint64_t stream)
{
    uint64_t x = parent ^ (0xD1B54A32D192ED03ull * (stream + 1));
    splitmix64(&x);
    return splitmix64(&x);
}

/* ---- time and stop ----------------------------------------------------------------------- */

double am_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

am_stop am_stop_none(void)
{
    am_stop st = {INFINITY, NULL};
    return st;
}

bool am_stop_hit(const am_stop *st)
{
    if (!st)
        return false;
    if (st->cancel && *st->cancel)
        return true;
    return isfinite(st->deadline) && am_now() >= st->deadline;
}

/* ---- numbers ----------------------------------------------------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* The slow, always-correct path: strtod in the C locale on a NUL-terminated copy. */
static bool parse_double_slow(const char *s, size_t len, double *out)
{
    char small[128];
    char *buf = len < sizeof(small) ? small : am_malloc(len + 1);
    if (!buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    pthread_once(&c_locale_once, make_c_locale);
    char *end;
    double v = c_locale ? strtod_l(buf, &end, c_locale) : strtod(buf, &end);
    bool ok = len > 0 && end == buf + len && !isnan(v);
    if (buf != small)
        am_free(buf);
    if (ok)
        *out = v;
    return ok;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool equals_nocase(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    if (len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != word[i])
            return false;
    return true;
}

/* Exact powers of ten: every one up to 1e22 is representable, which is what makes the fast path
 * below correctly rounded (Clinger 1990): an exact mantissa times an exact power rounds once. */
static const double exact_pow10[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

bool am_parse_double(const char *s, size_t len, double *out)
{
    while (len && is_blank(*s)) {
        s++;
        len--;
    }
    while (len && is_blank(s[len - 1]))
        len--;
    if (len == 0)
        return false;
    size_t i = 0;
    bool negative = false;
    if (s[0] == '-' || s[0] == '+') {
        negative = s[0] == '-';
        i = 1;
    }
    uint64_t mantissa = 0;
    int digits = 0, scale = 0;
    bool any_digit = false;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        any_digit = true;
        if (digits < 19) {
            mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
            if (mantissa)
                digits++;
        } else {
            return parse_double_slow(s, len, out);
        }
    }
    if (i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            any_digit = true;
            if (digits >= 19)
                return parse_double_slow(s, len, out);
            mantissa = mantissa * 10 + (uint64_t)(s[i] - '0');
            if (mantissa)
                digits++;
            scale--;
        }
    }
    if (!any_digit) {
        const char *w = s + (s[0] == '-' || s[0] == '+');
        size_t wl = len - (size_t)(w - s);
        if (equals_nocase(w, wl, "inf") || equals_nocase(w, wl, "infinity")) {
            *out = negative ? -INFINITY : INFINITY;
            return true;
        }
        return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E'))
        return parse_double_slow(s, len, out);
    if (i != len)
        return false;
    if (mantissa > (1ull << 53) || scale < -22)
        return parse_double_slow(s, len, out);
    double v = (double)mantissa / exact_pow10[-scale];
    *out = negative ? -v : v;
    return true;
}

bool am_parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s)
        return false;
    while (is_blank(*end))
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}

/* Shortest text that reads back to v, written in the C locale whatever the host program set
 * (a comma decimal point would make model text and CSV output unreadable). */
static bool round_trips(double v, int prec, char *buf, size_t size)
{
    snprintf(buf, size, "%.*g", prec, v);
    return strtod(buf, NULL) == v;
}

/* The fewest significant digits (1..17) that read back as v. Most computed values need 16 or
 * 17, so those are tried first; a value that 15 digits hold is narrowed by bisection, since
 * more digits only come closer to v (the nearest p-digit decimal is a (p+1)-digit one). Next
 * to a power of two, where v's rounding interval is lopsided, that can leave one digit more
 * than the shortest; the result always reads back as v. 2 to 5 conversions, not up to 17. */
static int shortest_precision(double v, char *buf, size_t size)
{
    if (!round_trips(v, 15, buf, size))
        return round_trips(v, 16, buf, size) ? 16 : 17;
    int lo = 1, hi = 15;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (round_trips(v, mid, buf, size))
            hi = mid;
        else
            lo = mid + 1;
    }
    return hi;
}

const char *am_format_double(double v, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "nan");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, size, v < 0 ? "-inf" : "inf");
        return buf;
    }
    pthread_once(&c_locale_once, make_c_locale);
    locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
    int prec = shortest_precision(v, buf, size);
    snprintf(buf, size, "%.*g", prec, v);
    /* %g switches to an exponent once the exponent reaches the precision (100 -> "1e+02");
     * plain digits are shorter for such integers, so take them when they are. */
    int exponent = v != 0 ? (int)floor(log10(fabs(v))) : 0;
    if (exponent >= prec && exponent < 17) {
        char plain[40];
        snprintf(plain, sizeof(plain), "%.*g", exponent + 1, v);
        if (strlen(plain) <= strlen(buf) && strtod(plain, NULL) == v && strlen(plain) < size)
            memcpy(buf, plain, strlen(plain) + 1);
    }
    if (c_locale)
        uselocale(old);
    return buf;
}

int am_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return (int)(la > lb ? la : lb);
    int prev[64], cur[64];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int best = prev[j - 1] + cost;
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            cur[j] = best;
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}
