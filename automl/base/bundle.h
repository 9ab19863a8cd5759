/* bundle.h — the model file container and the little-endian byte buffers every saved object is
 * written to and read from.
 *
 * File layout (all integers little-endian, doubles as their IEEE-754 bits):
 *   magic "AUTOMLMF" (8 bytes), u32 format version, u32 flags (0), u32 section count,
 *   then per section: u8 tag[4], u32 section version, u64 payload length, payload, u32 CRC-32 of
 *   the payload (IEEE polynomial, as zlib).
 * The reader refuses a newer format version (naming both), a bad magic, a section length past the
 * end of the file, a CRC mismatch, a truncated file and trailing bytes; unknown tags are kept and
 * ignored by callers (forward compatibility within one format version).
 *
 * Writing goes to "<path>.tmp.<pid>", is flushed and fsynced, then renamed over path, so a failure
 * never leaves a half-written file at path.
 *
 * Readers (am_reader) never read past their end: every get checks the bytes left, and a failed
 * get sets the reader's error once and makes later gets fail too, so load code may check once at
 * the end of a group of gets. */
#ifndef AM_BUNDLE_H
#define AM_BUNDLE_H

#include "base.h"

#define AM_BUNDLE_MAGIC "AUTOMLMF"
#define AM_BUNDLE_FORMAT 1u
/* Upper bound on any single count read from a file before allocating for it. */
#define AM_READ_COUNT_MAX ((uint64_t)1 << 40)

uint32_t am_crc32(const void *data, size_t len);
uint32_t am_crc32_update(uint32_t crc, const void *data, size_t len); /* start with 0 */

/* ---- writing ----------------------------------------------------------------------------- */

typedef struct am_buf {
    uint8_t *data;
    size_t len, cap;
    bool failed; /* an allocation failed; the contents are incomplete */
} am_buf;

void am_buf_init(am_buf *b);
void am_buf_fini(am_buf *b);
void am_buf_put(am_buf *b, const void *bytes, size_t n);
void am_buf_u8(am_buf *b, uint8_t v);
void am_buf_u32(am_buf *b, uint32_t v);
void am_buf_u64(am_buf *b, uint64_t v);
void am_buf_i64(am_buf *b, int64_t v);
void am_buf_f64(am_buf *b, double v);
void am_buf_f64s(am_buf *b, const double *v, size_t n);
void am_buf_str(am_buf *b, const char *s); /* u32 length + bytes, no NUL */
/* AM_ERR_NOMEM if any put failed. */
am_status am_buf_status(const am_buf *b, am_diag *d);

/* ---- reading ----------------------------------------------------------------------------- */

typedef struct am_reader {
    const uint8_t *p;
    size_t left;
    bool failed;
    const char *what; /* names the object being read, for the error message */
} am_reader;

void am_reader_init(am_reader *r, const void *data, size_t len, const char *what);
bool am_get_bytes(am_reader *r, void *out, size_t n);
uint8_t am_get_u8(am_reader *r);
uint32_t am_get_u32(am_reader *r);
uint64_t am_get_u64(am_reader *r);
int64_t am_get_i64(am_reader *r);
double am_get_f64(am_reader *r);
bool am_get_f64s(am_reader *r, double *out, size_t n);
/* A count that must be <= max; fails the reader otherwise. */
uint64_t am_get_count(am_reader *r, uint64_t max);
/* A string: returns a new NUL-terminated copy (caller frees) or NULL on failure. Strings longer
 * than max_len fail the reader. */
char *am_get_str(am_reader *r, size_t max_len);
/* Fails the reader (used by load code for a value out of range). */
void am_reader_fail(am_reader *r);
/* AM_ERR_FORMAT with "<what>: truncated or corrupt" when the reader failed or (if must_end) bytes
 * remain; AM_OK otherwise. */
am_status am_reader_status(const am_reader *r, bool must_end, am_diag *d);

/* ---- the file ---------------------------------------------------------------------------- */

typedef struct am_section {
    char tag[5]; /* 4 chars + NUL */
    uint32_t version;
    uint8_t *data; /* owned by the bundle */
    size_t len;
} am_section;

typedef struct am_bundle {
    am_section *sections;
    int32_t n, cap;
} am_bundle;

void am_bundle_init(am_bundle *b);
void am_bundle_fini(am_bundle *b);
/* Adds a section taking a copy of buf's bytes. */
am_status am_bundle_add(am_bundle *b, const char *tag, uint32_t version, const am_buf *buf,
                        am_diag *d);
/* First section with this tag, or NULL. */
const am_section *am_bundle_find(const am_bundle *b, const char *tag);
/* Writes the file atomically (temporary file, fsync, rename). AM_ERR_IO on failure, with the
 * path and the system's reason in the message. */
am_status am_bundle_save(const am_bundle *b, const char *path, am_diag *d);
/* Reads and validates a file. AM_ERR_IO when it cannot be opened; AM_ERR_FORMAT when it is not a
 * model file, is truncated or corrupt (naming the section), or comes from a newer format. */
am_status am_bundle_load(am_bundle *b, const char *path, am_diag *d);
/* Same, from memory (used by load and by tests and fuzzing). */
am_status am_bundle_parse(am_bundle *b, const uint8_t *data, size_t len, const char *name,
                          am_diag *d);

#endif
