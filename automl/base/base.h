/* base.h — the foundation every module stands on: statuses and diagnostics, the replaceable
 * allocator, logging, random numbers with derived seeds, and the cooperative stop check.
 *
 * Contract: nothing in the library prints, exits or aborts. A fallible function returns an
 * am_status and, on failure, fills the am_diag its caller passed (which may be NULL). A diag
 * belongs to one caller, so parallel trials never share an error slot. */
#ifndef AM_BASE_H
#define AM_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Same numeric values as the public automl_status; saved nowhere, but kept stable anyway. */
typedef enum am_status {
    AM_OK = 0,
    AM_ERR_NOMEM = 1,     /* an allocation failed */
    AM_ERR_ARG = 2,       /* API misuse: a NULL or out-of-range argument */
    AM_ERR_CONFIG = 3,    /* unknown key, bad value, out of range, incompatible options */
    AM_ERR_IO = 4,        /* open/read/write/rename failed */
    AM_ERR_DATA = 5,      /* malformed CSV, missing target, one class only, ... */
    AM_ERR_FORMAT = 6,    /* not a model file, corrupt, truncated or from a newer version */
    AM_ERR_NUMERIC = 7,   /* singular system, divergence, non-finite result */
    AM_ERR_CANCELLED = 8, /* the deadline passed or the host cancelled */
    AM_ERR_INTERNAL = 9   /* a bug */
} am_status;

const char *am_status_name(am_status s); /* "AM_ERR_DATA"; never NULL */

/* What went wrong, where. file/line/column are filled when known ("" / 0 otherwise); message is
 * one sentence without the location, so callers can format it as they like. */
typedef struct am_diag {
    am_status status;
    char message[512];
    char file[256];   /* data or model file involved */
    int64_t line;     /* 1-based physical line in file, 0 when not applicable */
    char column[128]; /* column name involved */
} am_diag;

void am_diag_clear(am_diag *d);
/* Fills d (which may be NULL) and returns status, so callers write `return am_fail(d, ...)`. */
am_status am_fail(am_diag *d, am_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Adds a location to an already filled diag (does not overwrite fields already set). */
void am_diag_locate(am_diag *d, const char *file, int64_t line, const char *column);
/* "file:line: column "c": message" with the parts that are known. Returns buf. */
const char *am_diag_format(const am_diag *d, char *buf, size_t size);

/* The learning task. Saved in model files: explicit values, append only; usable as a mask. */
typedef enum am_task {
    AM_TASK_BINARY = 1,
    AM_TASK_MULTICLASS = 2,
    AM_TASK_REGRESSION = 4
} am_task;

const char *am_task_name(am_task t);  /* "binary", "multiclass", "regression", "unknown" */
am_task am_task_parse(const char *s); /* 0 when unknown */

/* ---- memory ---------------------------------------------------------------------------- */

/* Every allocation of the library goes through these. They return NULL on failure and never
 * abort. am_free(NULL) is a no-op. */
void *am_malloc(size_t n);
void *am_calloc(size_t count, size_t size);
void *am_realloc(void *p, size_t n);
void am_free(void *p);
char *am_strdup(const char *s);
/* Allocates count * size bytes, failing (NULL) on overflow as well. */
void *am_malloc_array(size_t count, size_t size);
/* false when a * b overflows size_t. */
bool am_size_mul(size_t a, size_t b, size_t *out);

/* Out-of-memory injection for tests: the n-th allocation from now (0-based) and every one after
 * it fails; a negative n turns injection off. The counter is process-wide, which is acceptable
 * because only single-threaded tests use it. */
void am_alloc_fail_after(int64_t n);
/* The same, but only the n-th allocation fails and the ones after it succeed: for finding a
 * failure that a later success hides. */
void am_alloc_fail_once(int64_t n);

/* ---- logging ---------------------------------------------------------------------------- */

typedef enum am_log_level { AM_LOG_DEBUG = 0, AM_LOG_INFO = 1, AM_LOG_WARN = 2 } am_log_level;
typedef void (*am_log_fn)(int level, const char *message, void *user);

/* A logger travels in contexts; fn may be NULL (messages dropped). */
typedef struct am_logger {
    am_log_fn fn;
    void *user;
} am_logger;

void am_log(const am_logger *lg, am_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- random numbers --------------------------------------------------------------------- */

/* xoshiro256**, seeded through splitmix64. Small and copyable; never shared between threads. */
typedef struct am_rng {
    uint64_t s[4];
} am_rng;

void am_rng_seed(am_rng *r, uint64_t seed);
uint64_t am_rng_next(am_rng *r);
double am_rng_uniform(am_rng *r);              /* [0, 1) with 53 random bits */
int64_t am_rng_below(am_rng *r, int64_t n);    /* uniform in [0, n), n > 0, unbiased */
void am_rng_shuffle(am_rng *r, int64_t *a, int64_t n);
/* A child seed that depends only on (parent, stream): trial seed = derive(run seed, trial id). */
uint64_t am_seed_derive(uint64_t parent, uint64_t stream);

/* ---- time and cooperative stop ------------------------------------------------------------ */

double am_now(void); /* monotonic seconds */

/* Learners call am_stop_hit at iteration boundaries (each tree, solver iteration, block). */
typedef struct am_stop {
    double deadline; /* am_now() value after which work stops; INFINITY for none */
    const volatile int *cancel; /* optional flag set by the host or controller; NULL for none */
} am_stop;

am_stop am_stop_none(void);
bool am_stop_hit(const am_stop *st); /* st may be NULL (never stops) */

/* ---- small utilities --------------------------------------------------------------------- */

/* Locale-independent number parsing of a whole string (surrounding blanks allowed):
 * true and *out set when s is a decimal or scientific number, "inf", "-inf" or "infinity"
 * (any case). "nan" is not a number here (CSV treats it as missing). */
bool am_parse_double(const char *s, size_t len, double *out);
/* Integer parse of a whole string; false on junk or overflow. */
bool am_parse_int64(const char *s, int64_t *out);
/* Shortest "%.17g"-style text that reads back to the same double. buf >= 32 bytes. */
const char *am_format_double(double v, char *buf, size_t size);
/* Edit distance, for "did you mean" suggestions. */
int am_edit_distance(const char *a, const char *b);

#define AM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define AM_MAX(a, b) ((a) > (b) ? (a) : (b))
#define AM_COUNT(a) (sizeof(a) / sizeof((a)[0]))

#endif
