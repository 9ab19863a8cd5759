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
 * Type inference, per column: number when every non-missing value parses as a number; else
 * datetime when every one is a date in one format (below); otherwise text when the values look
 * like prose (many distinct values averaging at least three words), else category. A column with
 * no value at all is a number column of NaN.
 *
 * Date formats, decided per column from all of its values and recorded in the column's
 * time_format (am_time_format):
 *   - ISO (AM_TIME_ISO) when every value is YYYY-MM-DD, optionally followed by 'T' or ' ' and
 *     HH:MM or HH:MM:SS[.fff], optionally 'Z';
 *   - else day-month forms with a four-digit year last: A/B/YYYY, A-B-YYYY or A.B.YYYY (A and B
 *     one or two digits), optionally followed by ' ' and H:MM or H:MM:SS[.fff] (24-hour), or
 *     the same with " AM"/" PM" (12-hour, hour 1-12). Which of A and B is the day comes from
 *     the evidence of the whole column: a '.' separator or a first field above 12 says day
 *     first (AM_TIME_DMY, European); a second field above 12 says month first (AM_TIME_MDY,
 *     US); evidence both ways makes the column not a date; a column where every value is
 *     ambiguous (both fields 12 or less, no '.') is month first. Every value must then be a
 *     valid calendar date in the chosen order (29 February only in leap years), else the column
 *     is not a date. A column mixing ISO and day-month values is not a date.
 * Every date is read as UTC, in the proleptic Gregorian calendar.
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

/* How a datetime column's values are written (am_column.time_format). Saved in model files:
 * explicit values, append only. Zero (ISO) is what a zero-initialised column or force means. */
typedef enum am_time_format {
    AM_TIME_ISO = 0, /* YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z] */
    AM_TIME_MDY = 1, /* M/D/YYYY or M-D-YYYY [H:MM[:SS[.fff]]][ AM| PM]: US, month first */
    AM_TIME_DMY = 2  /* D/M/YYYY, D-M-YYYY or D.M.YYYY [time as MDY]: European, day first */
} am_time_format;

/* A type the caller requires for a named column (used at predict time with the training schema).
 * A value that does not fit is an error naming its line and column. For AM_COL_TIME every
 * non-missing value must parse under exactly time_format (the training column's); the field is
 * ignored for other types. A time_format that is not an am_time_format is AM_ERR_ARG. */
typedef struct am_csv_force {
    const char *name;
    am_coltype type;
    uint8_t time_format; /* AM_COL_TIME: an am_time_format */
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

/* Parses an ISO date or date-time into seconds since the epoch (UTC); false if not one.
 * Surrounding blanks are ignored; only len bytes are read. */
bool am_parse_datetime(const char *s, size_t len, double *seconds);
/* The same for a date or date-time written in the given am_time_format (see above); false when
 * the value is not one in that format (a '.' separated date is never month first) or when
 * format is not an am_time_format. *seconds is written only on success. */
bool am_parse_datetime_as(const char *s, size_t len, uint8_t format, double *seconds);

#endif
