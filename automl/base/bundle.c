/* bundle.c — CRC-32, little-endian byte buffers and readers, and the model file container.
 *
 * The loader treats its input as hostile: every length and count is compared with the bytes
 * that remain before anything is allocated or copied, so a truncated, corrupt or crafted file
 * is an AM_ERR_FORMAT, never a crash or an oversized allocation. */
#define _POSIX_C_SOURCE 200809L
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Bounds the loader puts on a file before trusting it. */
#define HEADER_BYTES 20u         /* magic, format version, flags, section count */
#define SECTION_HEAD_BYTES 16u   /* tag, version, payload length */
#define SECTION_TAIL_BYTES 4u    /* CRC-32 */
#define SECTIONS_MAX 4096u
#define FILE_BYTES_MAX ((uint64_t)16 << 30)

/* ---- CRC-32 ------------------------------------------------------------------------------ */

/* Slicing-by-8 tables (Intel's method): table[k][b] is the CRC contribution of byte b followed
 * by k zero bytes, which lets the loop fold eight bytes per step. Computed once; pthread_once
 * makes the first use from several threads safe. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_make_tables(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][n] = c;
    }
    for (int k = 1; k < 8; k++)
        for (uint32_t n = 0; n < 256; n++) {
            uint32_t c = crc_table[k - 1][n];
            crc_table[k][n] = (c >> 8) ^ crc_table[0][c & 0xFF];
        }
}

uint32_t am_crc32_update(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_make_tables);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (len >= 8) {
        /* Bytes are assembled explicitly, so the result does not depend on host byte order. */
        uint32_t a = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                          (uint32_t)p[3] << 24);
        c = crc_table[7][a & 0xFF] ^ crc_table[6][(a >> 8) & 0xFF] ^
            crc_table[5][(a >> 16) & 0xFF] ^ crc_table[4][a >> 24] ^ crc_table[3][p[4]] ^
            crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len--)
        c = crc_table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

uint32_t am_crc32(const void *data, size_t len)
{
    return am_crc32_update(0, data, len);
}

/* ---- little-endian encoding ---------------------------------------------------------------- */

static void store_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void store_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t load_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t load_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint64_t f64_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double bits_f64(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

/* ---- am_buf ------------------------------------------------------------------------------ */

void am_buf_init(am_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void am_buf_fini(am_buf *b)
{
    am_free(b->data);
    am_buf_init(b);
}

/* Makes room for n more bytes and returns where they go (len already advanced), or NULL when
 * the buffer has failed. Capacity doubles, so appending is amortised O(1). */
static uint8_t *buf_extend(am_buf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (n > SIZE_MAX - b->len) {
        b->failed = true;
        return NULL;
    }
    size_t need = b->len + n;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        uint8_t *data = am_realloc(b->data, cap);
        if (!data) {
            b->failed = true;
            return NULL;
        }
        b->data = data;
        b->cap = cap;
    }
    uint8_t *at = b->data + b->len;
    b->len = need;
    return at;
}

void am_buf_put(am_buf *b, const void *bytes, size_t n)
{
    if (n == 0)
        return;
    uint8_t *at = buf_extend(b, n);
    if (at)
        memcpy(at, bytes, n);
}

void am_buf_u8(am_buf *b, uint8_t v)
{
    uint8_t *at = buf_extend(b, 1);
    if (at)
        at[0] = v;
}

void am_buf_u32(am_buf *b, uint32_t v)
{
    uint8_t *at = buf_extend(b, 4);
    if (at)
        store_u32(at, v);
}

void am_buf_u64(am_buf *b, uint64_t v)
{
    uint8_t *at = buf_extend(b, 8);
    if (at)
        store_u64(at, v);
}

void am_buf_i64(am_buf *b, int64_t v)
{
    am_buf_u64(b, (uint64_t)v); /* two's complement bits */
}

void am_buf_f64(am_buf *b, double v)
{
    am_buf_u64(b, f64_bits(v));
}

void am_buf_f64s(am_buf *b, const double *v, size_t n)
{
    size_t bytes;
    if (!am_size_mul(n, 8, &bytes)) {
        b->failed = true;
        return;
    }
    if (bytes == 0)
        return;
    uint8_t *at = buf_extend(b, bytes);
    if (!at)
        return;
    for (size_t i = 0; i < n; i++)
        store_u64(at + 8 * i, f64_bits(v[i]));
}

void am_buf_str(am_buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > UINT32_MAX) {
        b->failed = true;
        return;
    }
    am_buf_u32(b, (uint32_t)n);
    am_buf_put(b, s, n);
}

am_status am_buf_status(const am_buf *b, am_diag *d)
{
    if (b->failed)
        return am_fail(d, AM_ERR_NOMEM, "out of memory while serialising (%zu bytes written)",
                       b->len);
    return AM_OK;
}

/* ---- am_reader --------------------------------------------------------------------------- */

void am_reader_init(am_reader *r, const void *data, size_t len, const char *what)
{
    r->p = data;
    r->left = data ? len : 0;
    r->failed = false;
    r->what = what;
}

void am_reader_fail(am_reader *r)
{
    r->failed = true;
}

/* Consumes n bytes and returns where they start, or NULL (failing the reader) when fewer than n
 * remain or the reader has already failed. */
static const uint8_t *reader_take(am_reader *r, size_t n)
{
    if (r->failed || n > r->left) {
        r->failed = true;
        return NULL;
    }
    const uint8_t *at = r->p;
    r->p += n;
    r->left -= n;
    return at;
}

bool am_get_bytes(am_reader *r, void *out, size_t n)
{
    const uint8_t *at = reader_take(r, n);
    if (!at)
        return false;
    if (n)
        memcpy(out, at, n);
    return true;
}

uint8_t am_get_u8(am_reader *r)
{
    const uint8_t *at = reader_take(r, 1);
    return at ? at[0] : 0;
}

uint32_t am_get_u32(am_reader *r)
{
    const uint8_t *at = reader_take(r, 4);
    return at ? load_u32(at) : 0;
}

uint64_t am_get_u64(am_reader *r)
{
    const uint8_t *at = reader_take(r, 8);
    return at ? load_u64(at) : 0;
}

int64_t am_get_i64(am_reader *r)
{
    return (int64_t)am_get_u64(r);
}

double am_get_f64(am_reader *r)
{
    const uint8_t *at = reader_take(r, 8);
    return at ? bits_f64(load_u64(at)) : 0.0;
}

bool am_get_f64s(am_reader *r, double *out, size_t n)
{
    size_t bytes;
    if (!am_size_mul(n, 8, &bytes)) {
        r->failed = true;
        return false;
    }
    const uint8_t *at = reader_take(r, bytes);
    if (!at)
        return false;
    for (size_t i = 0; i < n; i++)
        out[i] = bits_f64(load_u64(at + 8 * i));
    return true;
}

uint64_t am_get_count(am_reader *r, uint64_t max)
{
    uint64_t v = am_get_u64(r);
    if (r->failed || v > max) {
        r->failed = true;
        return 0;
    }
    return v;
}

char *am_get_str(am_reader *r, size_t max_len)
{
    uint32_t n = am_get_u32(r);
    if (r->failed || n > max_len || n > r->left) {
        r->failed = true;
        return NULL;
    }
    /* An embedded NUL would silently shorten the string; the file is corrupt. */
    if (n && memchr(r->p, '\0', n)) {
        r->failed = true;
        return NULL;
    }
    /* Out of memory also fails the reader: the caller's single status check must not succeed
     * while holding a NULL string. */
    char *s = am_malloc((size_t)n + 1);
    if (!s) {
        r->failed = true;
        return NULL;
    }
    memcpy(s, reader_take(r, n), n);
    s[n] = '\0';
    return s;
}

am_status am_reader_status(const am_reader *r, bool must_end, am_diag *d)
{
    if (r->failed || (must_end && r->left))
        return am_fail(d, AM_ERR_FORMAT, "%s: truncated or corrupt", r->what ? r->what : "data");
    return AM_OK;
}

/* ---- the bundle in memory ---------------------------------------------------------------- */

void am_bundle_init(am_bundle *b)
{
    memset(b, 0, sizeof(*b));
}

void am_bundle_fini(am_bundle *b)
{
    if (!b)
        return;
    for (int32_t i = 0; i < b->n; i++)
        am_free(b->sections[i].data);
    am_free(b->sections);
    am_bundle_init(b);
}

/* Tags name sections in messages and in `automl inspect`, so they are printable ASCII. */
static bool tag_valid(const uint8_t *tag)
{
    for (int i = 0; i < 4; i++)
        if (tag[i] < 0x20 || tag[i] > 0x7E)
            return false;
    return true;
}

/* Appends a section that takes ownership of data (len bytes). */
static am_status bundle_push(am_bundle *b, const uint8_t *tag, uint32_t version, uint8_t *data,
                             size_t len, am_diag *d)
{
    if (b->n == b->cap) {
        int32_t cap = b->cap ? b->cap * 2 : 8;
        am_section *s = am_realloc(b->sections, sizeof(*s) * (size_t)cap);
        if (!s) {
            am_free(data);
            return am_fail(d, AM_ERR_NOMEM, "out of memory adding a model section");
        }
        b->sections = s;
        b->cap = cap;
    }
    am_section *sec = &b->sections[b->n++];
    memcpy(sec->tag, tag, 4);
    sec->tag[4] = '\0';
    sec->version = version;
    sec->data = data;
    sec->len = len;
    return AM_OK;
}

am_status am_bundle_add(am_bundle *b, const char *tag, uint32_t version, const am_buf *buf,
                        am_diag *d)
{
    if (!b || !tag || strlen(tag) != 4 || !tag_valid((const uint8_t *)tag))
        return am_fail(d, AM_ERR_ARG, "model section tag must be 4 printable characters");
    if ((uint32_t)b->n >= SECTIONS_MAX)
        return am_fail(d, AM_ERR_ARG, "a model file holds at most %u sections", SECTIONS_MAX);
    size_t len = 0;
    if (buf) {
        am_status s = am_buf_status(buf, d);
        if (s != AM_OK)
            return s;
        len = buf->len;
    }
    uint8_t *data = am_malloc(len);
    if (!data)
        return am_fail(d, AM_ERR_NOMEM, "out of memory adding model section %s", tag);
    if (len)
        memcpy(data, buf->data, len);
    return bundle_push(b, (const uint8_t *)tag, version, data, len, d);
}

const am_section *am_bundle_find(const am_bundle *b, const char *tag)
{
    if (!b || !tag)
        return NULL;
    for (int32_t i = 0; i < b->n; i++)
        if (strcmp(b->sections[i].tag, tag) == 0)
            return &b->sections[i];
    return NULL;
}

/* ---- saving ------------------------------------------------------------------------------ */

/* The system's reason for errno, thread-safely (XSI strerror_r, which _POSIX_C_SOURCE selects). */
static const char *reason(int err, char *buf, size_t size)
{
    if (strerror_r(err, buf, size) != 0)
        snprintf(buf, size, "error %d", err);
    return buf;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        /* Some kernels cap one write at about 2 GiB; ask for less. */
        ssize_t k = write(fd, p, AM_MIN(n, (size_t)1 << 30));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        if (k == 0) {
            errno = EIO;
            return false;
        }
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static bool write_file_body(int fd, const am_bundle *b)
{
    uint8_t head[HEADER_BYTES];
    memcpy(head, AM_BUNDLE_MAGIC, 8);
    store_u32(head + 8, AM_BUNDLE_FORMAT);
    store_u32(head + 12, 0);
    store_u32(head + 16, (uint32_t)b->n);
    if (!write_all(fd, head, sizeof(head)))
        return false;
    for (int32_t i = 0; i < b->n; i++) {
        const am_section *s = &b->sections[i];
        uint8_t sh[SECTION_HEAD_BYTES], tail[SECTION_TAIL_BYTES];
        memcpy(sh, s->tag, 4);
        store_u32(sh + 4, s->version);
        store_u64(sh + 8, (uint64_t)s->len);
        store_u32(tail, am_crc32(s->data, s->len));
        if (!write_all(fd, sh, sizeof(sh)) || !write_all(fd, s->data, s->len) ||
            !write_all(fd, tail, sizeof(tail)))
            return false;
    }
    return true;
}

/* Makes the rename itself durable. Best effort: some file systems refuse fsync on directories,
 * and the file is already complete and in place by then. */
static void sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else if ((size_t)(slash - path) < sizeof(dir))
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    else
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

am_status am_bundle_save(const am_bundle *b, const char *path, am_diag *d)
{
    if (!b || !path || !*path)
        return am_fail(d, AM_ERR_ARG, "am_bundle_save: no bundle or path");
    size_t tmp_size = strlen(path) + 32;
    char *tmp = am_malloc(tmp_size);
    if (!tmp)
        return am_fail(d, AM_ERR_NOMEM, "out of memory saving %s", path);
    snprintf(tmp, tmp_size, "%s.tmp.%ld", path, (long)getpid());

    char why[128];
    am_status status = AM_OK;
    /* O_EXCL: never write through a name someone else (another thread saving the same path, or
     * a planted link) already holds. */
    int fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) {
        status = am_fail(d, AM_ERR_IO, "cannot save %s: %s", path, reason(errno, why, 128));
        goto cleanup;
    }
    bool ok = write_file_body(fd, b) && fsync(fd) == 0;
    int err = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        status = am_fail(d, AM_ERR_IO, "cannot save %s: %s", path, reason(err, why, 128));
        unlink(tmp);
        goto cleanup;
    }
    if (rename(tmp, path) != 0) {
        status = am_fail(d, AM_ERR_IO, "cannot save %s (renaming %s): %s", path, tmp,
                         reason(errno, why, 128));
        unlink(tmp);
        goto cleanup;
    }
    sync_parent_dir(path);
cleanup:
    am_free(tmp);
    return status;
}

/* ---- loading ----------------------------------------------------------------------------- */

/* Fails with AM_ERR_FORMAT; the caller adds the file name. */
#define CORRUPT(...) am_fail(d, AM_ERR_FORMAT, __VA_ARGS__)

static am_status parse_header(const uint8_t *data, size_t len, uint32_t *count, am_diag *d)
{
    if (len < 8 || memcmp(data, AM_BUNDLE_MAGIC, 8) != 0)
        return CORRUPT("not an automl model file (bad magic)");
    if (len < HEADER_BYTES)
        return CORRUPT("truncated model file header (%zu bytes)", len);
    uint32_t version = load_u32(data + 8), flags = load_u32(data + 12);
    *count = load_u32(data + 16);
    if (version > AM_BUNDLE_FORMAT)
        return CORRUPT("model format version %u is newer than this build reads (%u); "
                       "upgrade automl",
                       version, AM_BUNDLE_FORMAT);
    if (version == 0)
        return CORRUPT("invalid model format version 0");
    if (flags != 0)
        return CORRUPT("unsupported model file flags 0x%08x", flags);
    if (*count > SECTIONS_MAX)
        return CORRUPT("model file claims %u sections (at most %u)", *count, SECTIONS_MAX);
    return AM_OK;
}

/* Reads one section at *pos, checking its lengths against the bytes left and its CRC. */
static am_status parse_section(am_bundle *b, const uint8_t *data, size_t len, size_t *pos,
                               uint32_t index, am_diag *d)
{
    size_t left = len - *pos;
    const uint8_t *p = data + *pos;
    if (left < SECTION_HEAD_BYTES)
        return CORRUPT("section %u: truncated header (file truncated)", index);
    if (!tag_valid(p))
        return CORRUPT("section %u: invalid tag (file corrupt)", index);
    char tag[5];
    memcpy(tag, p, 4);
    tag[4] = '\0';
    uint32_t version = load_u32(p + 4);
    uint64_t plen = load_u64(p + 8);
    left -= SECTION_HEAD_BYTES;
    if (left < SECTION_TAIL_BYTES || plen > left - SECTION_TAIL_BYTES)
        return CORRUPT("section %s: length %llu runs past the end of the file (truncated or "
                       "corrupt)",
                       tag, (unsigned long long)plen);
    const uint8_t *payload = p + SECTION_HEAD_BYTES;
    if (am_crc32(payload, (size_t)plen) != load_u32(payload + plen))
        return CORRUPT("section %s: checksum mismatch (file corrupt)", tag);
    uint8_t *copy = am_malloc((size_t)plen);
    if (!copy)
        return am_fail(d, AM_ERR_NOMEM, "out of memory reading section %s (%llu bytes)", tag,
                       (unsigned long long)plen);
    if (plen)
        memcpy(copy, payload, (size_t)plen);
    am_status s = bundle_push(b, (const uint8_t *)tag, version, copy, (size_t)plen, d);
    if (s == AM_OK)
        *pos += SECTION_HEAD_BYTES + (size_t)plen + SECTION_TAIL_BYTES;
    return s;
}

am_status am_bundle_parse(am_bundle *b, const uint8_t *data, size_t len, const char *name,
                          am_diag *d)
{
    if (!b || (!data && len))
        return am_fail(d, AM_ERR_ARG, "am_bundle_parse: no bundle or data");
    am_bundle_init(b);
    uint32_t count = 0;
    am_status s = parse_header(data, len, &count, d);
    size_t pos = HEADER_BYTES;
    for (uint32_t i = 0; s == AM_OK && i < count; i++)
        s = parse_section(b, data, len, &pos, i, d);
    if (s == AM_OK && pos != len)
        s = CORRUPT("unexpected bytes after the last section (%zu; file corrupt)", len - pos);
    if (s != AM_OK) {
        am_bundle_fini(b);
        am_diag_locate(d, name, 0, NULL);
    }
    return s;
}

/* Reads the whole file; its size is checked first so a huge or special file is refused before
 * anything is allocated for it. */
static am_status read_file(const char *path, uint8_t **out, size_t *out_len, am_diag *d)
{
    char why[128];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return am_fail(d, AM_ERR_IO, "cannot open: %s", reason(errno, why, 128));
    am_status status = AM_OK;
    uint8_t *data = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        status = am_fail(d, AM_ERR_IO, "cannot stat: %s", reason(errno, why, 128));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        status = am_fail(d, AM_ERR_IO, "not a regular file");
        goto cleanup;
    }
    if ((uint64_t)st.st_size > FILE_BYTES_MAX || (uint64_t)st.st_size > SIZE_MAX) {
        status = am_fail(d, AM_ERR_FORMAT, "file is too large to be a model (%lld bytes)",
                         (long long)st.st_size);
        goto cleanup;
    }
    size_t size = (size_t)st.st_size, got = 0;
    data = am_malloc(size);
    if (!data) {
        status = am_fail(d, AM_ERR_NOMEM, "out of memory reading the model (%zu bytes)", size);
        goto cleanup;
    }
    while (got < size) {
        ssize_t k = read(fd, data + got, AM_MIN(size - got, (size_t)1 << 30));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            status = am_fail(d, AM_ERR_IO, "cannot read: %s", reason(errno, why, 128));
            goto cleanup;
        }
        if (k == 0)
            break; /* shrank while reading: parse what is there; it will read as truncated */
        got += (size_t)k;
    }
    *out = data;
    *out_len = got;
    data = NULL;
cleanup:
    am_free(data);
    close(fd);
    return status;
}

am_status am_bundle_load(am_bundle *b, const char *path, am_diag *d)
{
    if (!b || !path)
        return am_fail(d, AM_ERR_ARG, "am_bundle_load: no bundle or path");
    am_bundle_init(b);
    uint8_t *data = NULL;
    size_t len = 0;
    am_status s = read_file(path, &data, &len, d);
    if (s == AM_OK)
        s = am_bundle_parse(b, data, len, path, d);
    am_free(data);
    if (s != AM_OK)
        am_diag_locate(d, path, 0, NULL);
    return s;
}
