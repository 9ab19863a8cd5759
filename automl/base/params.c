/* params.c — parameter tables: defaults, key=value parsing with messages a user can act on,
 * validation of values read from files, random draws from the search ranges, and text output.
 *
 * Everything here is pure: tables are const, values live in the caller's am_params, and the
 * only randomness comes from the caller's am_rng, so every function is thread-safe. */
#include "params.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Keys longer than this cannot belong to any table; they are still reported, just not copied. */
#define KEY_MAX 64

/* A table with more entries than am_params holds is a programming error; never index past
 * either array because of it. */
static int32_t table_size(const am_param_table *t)
{
    if (!t || !t->desc || t->n < 0)
        return 0;
    return t->n > AM_PARAMS_MAX ? AM_PARAMS_MAX : t->n;
}

static const char *owner_name(const am_param_table *t)
{
    return t && t->owner ? t->owner : "params";
}

static int32_t count_choices(const am_param_desc *desc)
{
    int32_t n = 0;
    if (desc->choices)
        while (desc->choices[n])
            n++;
    return n;
}

static bool is_integral(double v)
{
    return isfinite(v) && floor(v) == v;
}

void am_params_defaults(const am_param_table *t, am_params *p)
{
    memset(p, 0, sizeof(*p));
    int32_t n = table_size(t);
    for (int32_t i = 0; i < n; i++)
        p->v[i] = t->desc[i].def;
}

void am_params_cheap(const am_param_table *t, am_params *p)
{
    am_params_defaults(t, p);
    int32_t n = table_size(t);
    for (int32_t i = 0; i < n; i++)
        if (t->desc[i].flags & AM_PF_TUNE)
            p->v[i] = t->desc[i].cheap;
}

/* Index of the key given as len bytes (not NUL-terminated), or -1. */
static int32_t find_key(const am_param_table *t, const char *key, size_t len)
{
    int32_t n = table_size(t);
    for (int32_t i = 0; i < n; i++) {
        const char *k = t->desc[i].key;
        if (k && strlen(k) == len && memcmp(k, key, len) == 0)
            return i;
    }
    return -1;
}

int32_t am_params_find(const am_param_table *t, const char *key)
{
    if (!key)
        return -1;
    return find_key(t, key, strlen(key));
}

/* ---- text of values ---------------------------------------------------------------------- */

const char *am_params_value_text(const am_param_desc *desc, double v, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    switch (desc->kind) {
    case AM_P_BOOL:
        snprintf(buf, size, "%s", v != 0 ? "true" : "false");
        return buf;
    case AM_P_ENUM: {
        int32_t n = count_choices(desc);
        if (is_integral(v) && v >= 0 && v < n) {
            snprintf(buf, size, "%s", desc->choices[(int32_t)v]);
            return buf;
        }
        break; /* not a valid index: show the number so the problem is visible */
    }
    case AM_P_INT:
        /* Integral values within int64 print without a decimal point or exponent. */
        if (is_integral(v) && fabs(v) < 0x1p63) {
            snprintf(buf, size, "%" PRId64, (int64_t)v);
            return buf;
        }
        break;
    case AM_P_REAL:
        break;
    }
    if (size >= 32)
        return am_format_double(v, buf, size);
    /* A small buffer gets the start of the text, like snprintf would give. */
    char tmp[32];
    am_format_double(v, tmp, sizeof(tmp));
    size_t n = AM_MIN(strlen(tmp), size - 1);
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return buf;
}

/* Appends "a, b, c" (the names of an enum's choices or a table's keys) to buf. */
static void append_list(char *buf, size_t size, const char *const *names, int32_t n)
{
    size_t used = strlen(buf);
    for (int32_t i = 0; i < n && used + 1 < size; i++) {
        int k = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
        if (k < 0)
            return;
        used = AM_MIN(size - 1, used + (size_t)k);
    }
}

void am_params_format(const am_param_table *t, const am_params *p, bool all, char *buf,
                      size_t size)
{
    if (!buf || size == 0)
        return;
    buf[0] = '\0';
    size_t used = 0;
    int32_t n = table_size(t);
    for (int32_t i = 0; i < n && used + 1 < size; i++) {
        const am_param_desc *desc = &t->desc[i];
        if (!all && !(desc->flags & AM_PF_TUNE))
            continue;
        char value[64];
        am_params_value_text(desc, p->v[i], value, sizeof(value));
        int k = snprintf(buf + used, size - used, "%s%s=%s", used ? " " : "", desc->key, value);
        if (k < 0)
            return;
        used = AM_MIN(size - 1, used + (size_t)k);
    }
}

/* ---- validation -------------------------------------------------------------------------- */

static am_status fail_range(const am_param_table *t, const am_param_desc *desc, const char *text,
                            am_diag *d)
{
    /* Integer bounds as integers: "[1, 10000]" reads better than "[1, 1e+04]". */
    char lo[32], hi[32];
    return am_fail(d, AM_ERR_CONFIG, "%s.%s=%s: must be in [%s, %s]", owner_name(t), desc->key,
                   text, am_params_value_text(desc, desc->lo, lo, sizeof(lo)),
                   am_params_value_text(desc, desc->hi, hi, sizeof(hi)));
}

static am_status fail_choices(const am_param_table *t, const am_param_desc *desc,
                              const char *text, am_diag *d)
{
    char list[256] = "";
    append_list(list, sizeof(list), desc->choices, count_choices(desc));
    return am_fail(d, AM_ERR_CONFIG, "%s.%s=%s: must be one of %s", owner_name(t), desc->key,
                   text, list);
}

/* One rule for parsed and loaded values alike; text is how the value is shown in the message. */
static am_status check_value(const am_param_table *t, const am_param_desc *desc, double v,
                             const char *text, am_diag *d)
{
    switch (desc->kind) {
    case AM_P_INT:
        if (!is_integral(v))
            return am_fail(d, AM_ERR_CONFIG, "%s.%s=%s: expected an integer", owner_name(t),
                           desc->key, text);
        if (v < desc->lo || v > desc->hi)
            return fail_range(t, desc, text, d);
        return AM_OK;
    case AM_P_REAL:
        if (!isfinite(v))
            return am_fail(d, AM_ERR_CONFIG, "%s.%s=%s: expected a finite number",
                           owner_name(t), desc->key, text);
        if (v < desc->lo || v > desc->hi)
            return fail_range(t, desc, text, d);
        return AM_OK;
    case AM_P_BOOL:
        if (v != 0 && v != 1)
            return am_fail(d, AM_ERR_CONFIG, "%s.%s=%s: expected true or false", owner_name(t),
                           desc->key, text);
        return AM_OK;
    case AM_P_ENUM:
        if (!is_integral(v) || v < 0 || v >= count_choices(desc))
            return fail_choices(t, desc, text, d);
        return AM_OK;
    }
    return am_fail(d, AM_ERR_INTERNAL, "%s.%s: unknown parameter kind %d", owner_name(t),
                   desc->key, (int)desc->kind);
}

am_status am_params_check(const am_param_table *t, const am_params *p, am_diag *d)
{
    if (!t || !p)
        return am_fail(d, AM_ERR_ARG, "am_params_check: NULL argument");
    int32_t n = table_size(t);
    for (int32_t i = 0; i < n; i++) {
        /* The number itself, not value_text's reading of it: 0.5 for a bool is not "true". */
        char text[32];
        if (t->desc[i].kind == AM_P_INT)
            am_params_value_text(&t->desc[i], p->v[i], text, sizeof(text));
        else
            am_format_double(p->v[i], text, sizeof(text));
        am_status s = check_value(t, &t->desc[i], p->v[i], text, d);
        if (s != AM_OK)
            return s;
    }
    return AM_OK;
}

/* ---- parsing ----------------------------------------------------------------------------- */

static bool blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool equals_nocase(const char *s, const char *word)
{
    for (; *s && *word; s++, word++)
        if (tolower((unsigned char)*s) != *word)
            return false;
    return *s == '\0' && *word == '\0';
}

/* Turns the text of one value into its stored double, or fails with the kind's message. The
 * range is checked afterwards by check_value, so parsing and loading share one set of rules. */
static am_status parse_value(const am_param_table *t, const am_param_desc *desc, const char *text,
                             double *out, am_diag *d)
{
    switch (desc->kind) {
    case AM_P_INT:
    case AM_P_REAL:
        if (!am_parse_double(text, strlen(text), out))
            return am_fail(d, AM_ERR_CONFIG, "%s.%s=%s: expected %s", owner_name(t), desc->key,
                           text, desc->kind == AM_P_INT ? "an integer" : "a number");
        return AM_OK;
    case AM_P_BOOL: {
        static const char *const yes[] = {"true", "1", "yes"};
        static const char *const no[] = {"false", "0", "no"};
        for (size_t i = 0; i < AM_COUNT(yes); i++) {
            if (equals_nocase(text, yes[i])) {
                *out = 1;
                return AM_OK;
            }
            if (equals_nocase(text, no[i])) {
                *out = 0;
                return AM_OK;
            }
        }
        return am_fail(d, AM_ERR_CONFIG, "%s.%s=%s: expected true or false", owner_name(t),
                       desc->key, text);
    }
    case AM_P_ENUM: {
        int32_t n = count_choices(desc);
        for (int32_t i = 0; i < n; i++) {
            if (strcmp(text, desc->choices[i]) == 0) {
                *out = i;
                return AM_OK;
            }
        }
        return fail_choices(t, desc, text, d);
    }
    }
    return am_fail(d, AM_ERR_INTERNAL, "%s.%s: unknown parameter kind %d", owner_name(t),
                   desc->key, (int)desc->kind);
}

/* The message for a key the table does not have: always the nearest key, and the whole list when
 * even the nearest is far off (a wrong name, not a typo). */
static am_status fail_unknown(const am_param_table *t, const char *key, size_t len, am_diag *d)
{
    int32_t n = table_size(t);
    if (n == 0)
        return am_fail(d, AM_ERR_CONFIG,
                       "%s: unknown parameter \"%.*s\" (it takes no parameters)", owner_name(t),
                       (int)AM_MIN(len, 200), key);
    char copy[KEY_MAX];
    size_t clen = AM_MIN(len, sizeof(copy) - 1);
    memcpy(copy, key, clen);
    copy[clen] = '\0';
    int32_t best = 0;
    int best_dist = 0;
    for (int32_t i = 0; i < n; i++) {
        /* Over-long keys get their length as the distance, as am_edit_distance does. */
        int dist = len >= KEY_MAX ? (int)AM_MIN(len, 100000)
                                  : am_edit_distance(copy, t->desc[i].key);
        if (i == 0 || dist < best_dist) {
            best = i;
            best_dist = dist;
        }
    }
    const char *nearest = t->desc[best].key;
    bool far = best_dist > 2 || 2 * (size_t)best_dist > strlen(nearest);
    char keys[300] = "";
    if (far) {
        const char *names[AM_PARAMS_MAX];
        for (int32_t i = 0; i < n; i++)
            names[i] = t->desc[i].key;
        snprintf(keys, sizeof(keys), " (valid: ");
        append_list(keys, sizeof(keys) - 1, names, n);
        strcat(keys, ")");
    }
    return am_fail(d, AM_ERR_CONFIG, "%s: unknown parameter \"%.*s\"; did you mean \"%s\"?%s",
                   owner_name(t), (int)AM_MIN(len, 200), key, nearest, keys);
}

/* Splits one "key=value" item (surrounding blanks allowed) and stores its value in p. */
static am_status parse_item(const am_param_table *t, const char *item, bool *seen, am_params *p,
                            am_diag *d)
{
    const char *eq = strchr(item, '=');
    const char *k = item, *kend = eq ? eq : item + strlen(item);
    while (k < kend && blank(*k))
        k++;
    while (kend > k && blank(kend[-1]))
        kend--;
    size_t klen = (size_t)(kend - k);
    if (!eq)
        return am_fail(d, AM_ERR_CONFIG, "%s: \"%.*s\" has no '=value'", owner_name(t),
                       (int)AM_MIN(klen, 200), k);
    int32_t i = find_key(t, k, klen);
    if (i < 0)
        return fail_unknown(t, k, klen, d);
    const am_param_desc *desc = &t->desc[i];
    if (seen[i])
        return am_fail(d, AM_ERR_CONFIG, "%s: parameter \"%s\" given twice", owner_name(t),
                       desc->key);
    seen[i] = true;

    /* The value as the user wrote it, less surrounding blanks, for parsing and for messages. */
    const char *v = eq + 1, *vend = v + strlen(v);
    while (v < vend && blank(*v))
        v++;
    while (vend > v && blank(vend[-1]))
        vend--;
    char text[128];
    size_t vlen = (size_t)(vend - v);
    if (vlen >= sizeof(text)) /* no valid value is this long; keep the start for the message */
        vlen = sizeof(text) - 1;
    memcpy(text, v, vlen);
    text[vlen] = '\0';
    if ((size_t)(vend - v) >= sizeof(text))
        return am_fail(d, AM_ERR_CONFIG, "%s.%s=%s...: value too long", owner_name(t),
                       desc->key, text);

    double value;
    am_status s = parse_value(t, desc, text, &value, d);
    if (s == AM_OK)
        s = check_value(t, desc, value, text, d);
    if (s == AM_OK)
        p->v[i] = value;
    return s;
}

am_status am_params_parse(const am_param_table *t, const char *const *items, int32_t n_items,
                          am_params *p, am_diag *d)
{
    if (!t || !p || n_items < 0 || (n_items > 0 && !items))
        return am_fail(d, AM_ERR_ARG, "am_params_parse: bad argument");
    /* Work on a copy so a failed parse leaves the caller's values untouched. */
    am_params work = *p;
    bool seen[AM_PARAMS_MAX] = {false};
    for (int32_t j = 0; j < n_items; j++) {
        if (!items[j])
            return am_fail(d, AM_ERR_ARG, "am_params_parse: item %d is NULL", (int)j);
        am_status s = parse_item(t, items[j], seen, &work, d);
        if (s != AM_OK)
            return s;
    }
    *p = work;
    return AM_OK;
}

/* ---- sampling ---------------------------------------------------------------------------- */

/* A continuous draw from [lo, hi], log-uniform when asked (and possible). */
static double draw(am_rng *r, double lo, double hi, bool log_scale)
{
    double u = am_rng_uniform(r);
    if (log_scale && lo > 0 && hi > 0) {
        double a = log(lo), b = log(hi);
        return exp(a + u * (b - a));
    }
    return lo + u * (hi - lo);
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double sample_int(const am_param_desc *desc, am_rng *r)
{
    /* The valid integers inside both the search range and the allowed range. */
    double lo = ceil(AM_MAX(desc->tune_lo, desc->lo));
    double hi = floor(AM_MIN(desc->tune_hi, desc->hi));
    if (!(lo <= hi))
        return clamp(round(desc->def), desc->lo, desc->hi);
    if (desc->flags & AM_PF_LOG)
        return clamp(round(draw(r, lo, hi, true)), lo, hi);
    /* Widening by half a step on each side gives the end points the same chance as the
     * integers between them; plain rounding would halve it. */
    return clamp(round(draw(r, lo - 0.5, hi + 0.5, false)), lo, hi);
}

static double round_significant(double v, int digits)
{
    if (v == 0 || !isfinite(v))
        return v;
    /* Divide or multiply by an exact power of ten, so the result is the double nearest to the
     * rounded decimal (what strtod would give for its text). */
    int shift = digits - 1 - (int)floor(log10(fabs(v)));
    if (shift >= 0) {
        double scale = pow(10.0, shift);
        return round(v * scale) / scale;
    }
    double factor = pow(10.0, -shift);
    return round(v / factor) * factor;
}

void am_params_sample(const am_param_table *t, am_rng *r, am_params *p)
{
    int32_t n = table_size(t);
    for (int32_t i = 0; i < n; i++) {
        const am_param_desc *desc = &t->desc[i];
        if (!(desc->flags & AM_PF_TUNE))
            continue;
        switch (desc->kind) {
        case AM_P_INT:
            p->v[i] = sample_int(desc, r);
            break;
        case AM_P_REAL: {
            double lo = AM_MAX(desc->tune_lo, desc->lo), hi = AM_MIN(desc->tune_hi, desc->hi);
            if (!(lo <= hi))
                break;
            /* Four significant digits: no learner can tell 11.9817 from 11.98, and a value a
             * user can type back with --param reproduces the trial exactly. exp(log(x)) may
             * land an ulp outside the range, hence the clamp after rounding. */
            p->v[i] = clamp(round_significant(draw(r, lo, hi, desc->flags & AM_PF_LOG), 4),
                            lo, hi);
            break;
        }
        case AM_P_BOOL:
            p->v[i] = (double)am_rng_below(r, 2);
            break;
        case AM_P_ENUM: {
            int32_t k = count_choices(desc);
            if (k > 0)
                p->v[i] = (double)am_rng_below(r, k);
            break;
        }
        }
    }
}
