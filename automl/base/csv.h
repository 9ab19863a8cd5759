/* csv.h — reading a CSV file into a typed frame (libcsv underneath).
 *
 * The reader streams the file in blocks; each field is appended to its column's byte buffer once,
 * so the file is never held twice in memory. When the file has been read, each column's type is
 * inferred from all of its values and the column is converted (and its buffer freed) one at a
 * time.
 *
 * Format: one header row; delimiter detected among ',', ';' and '\t' from the header line
 * (the one that splits it into the most fields, comma on ties); quoted fields with "" escapes and
 * embedded delimiters or newlines; LF or CRLF line ends; an optional UTF-8 BOM. Missing values:
 * empty, NA, N/A, NaN, nan, ?, null, NULL (surrounding blanks ignored).
 *
 * Type inference, per column: number when every non-missing value parses as a number; datetime
 * when every one is an ISO date (YYYY-MM-DD, optionally followed by 'T' or ' ' and HH:MM or
 * HH:MM:SS[.fff], optionally 'Z'); otherwise text when the values look like prose (many distinct
 * values averaging at least three words), else category. A column with no value at all is a
 * number column of NaN.
 *
 * Errors (AM_ERR_DATA unless said otherwise), each naming file, line and column when they apply:
 * cannot open/read (AM_ERR_IO), empty file, header only (no data rows), a row with more or fewer
 * fields than the header, an unterminated quote, an empty or duplicate column name, a value that
 * does not fit a type forced by the options.
 *
 * Thread-safety: am_csv_read has no shared state; call it from any thread. */
#ifndef AM_CSV_H
#define AM_CSV_H

#include "frame.h"

/* A type the caller requires for a named column (used at predict time with the training schema).
 * A value that does not fit is an error naming its line and column. */
typedef struct am_csv_force {
    const char *name;
    am_coltype type;
} am_csv_force;

typedef struct am_csv_options {
    const am_csv_force *force; /* may be NULL */
    int32_t n_force;
    /* Name of a column whose distinct raw strings are kept as levels/codes even when it is
     * numeric, so class labels can be written back exactly as in the file (the target). */
    const char *keep_levels;
    size_t block_size; /* bytes read per block; 0 = default (1 MiB) */
} am_csv_options;

/* Reads path into *out (caller frees with am_frame_free). opts may be NULL. On failure *out is
 * untouched and d names the file, line and column. */
am_status am_csv_read(const char *path, const am_csv_options *opts, am_frame **out, am_diag *d);

/* True when the string is one of the missing-value markers listed above. */
bool am_csv_is_missing(const char *s, size_t len);

/* Parses an ISO date or date-time into seconds since the epoch (UTC); false if not one. */
bool am_parse_datetime(const char *s, size_t len, double *seconds);

#endif
