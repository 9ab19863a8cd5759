/* test_guardrails.c — column roles (inference rules, user overrides and their errors) and the
 * data guardrails (each check fires on a crafted table and stays quiet on a clean one; leakage;
 * duplicated rows; the report's save/load), on frames built by hand. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame_testing.h"

/* ---- generated values ------------------------------------------------------------------------ */

/* Stable strings "<prefix><k>" for generated categorical columns. */
#define NAME_POOL 512
static const char *pooled(char prefix, int k)
{
    static char pool[4][NAME_POOL][16];
    int p = prefix == 'L' ? 0 : prefix == 'K' ? 1 : prefix == 'Z' ? 2 : 3;
    ck_assert_int_lt(k, NAME_POOL);
    snprintf(pool[p][k], sizeof(pool[p][k]), "%c%d", prefix, k);
    return pool[p][k];
}

static double gauss(am_rng *r)
{
    double s = 0;
    for (int k = 0; k < 12; k++)
        s += am_rng_uniform(r);
    return s - 6;
}

/* ---- roles: inference ---------------------------------------------------------------------- */

#define RN 12

enum {
    R_TARGET, R_EMPTY, R_CONST, R_CONST_NA, R_CODE, R_CUSTOMER, R_RANK, R_COUNT, R_PRICE,
    R_ANSWER, R_FLAG, R_TWO, R_NOTES, R_WHEN, R_COLOR, R_CODE_NA, R_ZIPNUM, R_NCOLS
};

static am_frame *roles_frame(void)
{
    static const char *const target[RN] = {"a", "b", "a", "b", "a", "b",
                                           "a", "b", "a", "b", "a", "b"};
    static const char *const konst[RN] = {"x", "x", "x", "x", "x", "x",
                                          "x", "x", "x", "x", "x", "x"};
    static const char *const code[RN] = {"k0", "k1", "k2", "k3", "k4", "k5",
                                         "k6", "k7", "k8", "k9", "k10", "k11"};
    static const char *const code_na[RN] = {"k0", "k1", "k2", "k3", "k4", "k5",
                                            "k6", "k7", NULL, "k9", "k10", "k11"};
    static const char *const answer[RN] = {"yes", "no", "no", "yes", NULL, "no",
                                           "yes", "yes", "no", "no", "yes", "no"};
    static const char *const notes[RN] = {
        "a red car", "a blue car", "two dogs", "one cat",  "the end", "red fish",
        "blue fish", "big house", "small tree", "old man", "the sea", "a boat"};
    static const char *const color[RN] = {"red", "green", "blue", "red", "green", "blue",
                                          "red", "green", "blue", "red", "green", "blue"};
    static const char *const zipnum[RN] = {"10001", "20417", "30033", "40522", "51000", "60001",
                                           "70707", "80808", "90210", "94103", "97201", "99501"};
    static const double rank[RN] = {105, 101, 112, 103, 104, 102, 107, 106, 109, 108, 111, 110};
    static const double flag[RN] = {0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0};
    static const double two[RN] = {3, 7, 7, 3, 3, 7, 3, 7, 7, 7, 3, 3};
    double empty[RN], const_na[RN], customer[RN], count[RN], price[RN], when[RN];
    for (int i = 0; i < RN; i++) {
        empty[i] = NAN;
        const_na[i] = i == 3 || i == 7 ? NAN : 5;
        customer[i] = i * 1000 + 7;
        count[i] = i * 100;
        price[i] = i + 0.5;
        when[i] = 1.6e9 + 86400.0 * i;
    }
    am_frame *f = ft_frame_new(RN, R_NCOLS);
    ft_set_cat(f, R_TARGET, "target", target);
    ft_set_num(f, R_EMPTY, "empty", empty);
    ft_set_cat(f, R_CONST, "const", konst);
    ft_set_num(f, R_CONST_NA, "const_na", const_na);
    ft_set_cat(f, R_CODE, "code", code);
    ft_set_num(f, R_CUSTOMER, "customerId", customer);
    ft_set_num(f, R_RANK, "rank", rank);
    ft_set_num(f, R_COUNT, "count", count);
    ft_set_num(f, R_PRICE, "price", price);
    ft_set_cat(f, R_ANSWER, "answer", answer);
    ft_set_num(f, R_FLAG, "flag", flag);
    ft_set_num(f, R_TWO, "two", two);
    ft_set_codes(f, R_NOTES, "notes", AM_COL_TEXT, NULL, 0, notes);
    ft_set_time(f, R_WHEN, "when", when);
    ft_set_cat(f, R_COLOR, "color", color);
    ft_set_cat(f, R_CODE_NA, "code_na", code_na);
    ft_set_num_keep(f, R_ZIPNUM, "zipnum", zipnum);
    return f;
}

static void expect_role(const am_column_role *r, am_role role, am_drop_reason why,
                        int64_t n_distinct, int64_t n_missing, const char *what)
{
    ck_assert_msg(r->role == role && r->why == why, "%s: role %s/%s, expected %s/%s", what,
                  am_role_name(r->role), am_drop_reason_name(r->why), am_role_name(role),
                  am_drop_reason_name(why));
    ck_assert_msg(r->n_distinct == n_distinct && r->n_missing == n_missing,
                  "%s: %lld distinct %lld missing, expected %lld and %lld", what,
                  (long long)r->n_distinct, (long long)r->n_missing, (long long)n_distinct,
                  (long long)n_missing);
}

START_TEST(test_roles_inferred)
{
    am_frame *f = roles_frame();
    am_column_role roles[R_NCOLS];
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_roles_infer(f, R_TARGET, NULL, 1, roles, &d) == AM_OK, "%s", ft_diag_text(&d));
    am_column_role on3[R_NCOLS]; /* columns counted on three threads: the same roles */
    ck_assert_int_eq(am_roles_infer(f, R_TARGET, NULL, 3, on3, &d), AM_OK);
    ck_assert_mem_eq(roles, on3, sizeof(roles));
    expect_role(&roles[R_TARGET], AM_ROLE_DROPPED, AM_DROP_TARGET, 2, 0, "target");
    expect_role(&roles[R_EMPTY], AM_ROLE_DROPPED, AM_DROP_ALL_MISSING, 0, RN, "empty");
    expect_role(&roles[R_CONST], AM_ROLE_DROPPED, AM_DROP_CONSTANT, 1, 0, "const");
    /* One value plus missing values: the missing indicator carries information. */
    expect_role(&roles[R_CONST_NA], AM_ROLE_NUMERIC, AM_DROP_NONE, 1, 2, "const_na");
    expect_role(&roles[R_CODE], AM_ROLE_DROPPED, AM_DROP_IDENTIFIER, RN, 0, "code");
    expect_role(&roles[R_CUSTOMER], AM_ROLE_DROPPED, AM_DROP_IDENTIFIER, RN, 0, "customerId");
    expect_role(&roles[R_RANK], AM_ROLE_DROPPED, AM_DROP_IDENTIFIER, RN, 0, "rank");
    expect_role(&roles[R_COUNT], AM_ROLE_NUMERIC, AM_DROP_NONE, RN, 0, "count");
    expect_role(&roles[R_PRICE], AM_ROLE_NUMERIC, AM_DROP_NONE, RN, 0, "price");
    expect_role(&roles[R_ANSWER], AM_ROLE_BOOLEAN, AM_DROP_NONE, 2, 1, "answer");
    expect_role(&roles[R_FLAG], AM_ROLE_BOOLEAN, AM_DROP_NONE, 2, 0, "flag");
    expect_role(&roles[R_TWO], AM_ROLE_NUMERIC, AM_DROP_NONE, 2, 0, "two");
    expect_role(&roles[R_NOTES], AM_ROLE_TEXT, AM_DROP_NONE, RN, 0, "notes");
    expect_role(&roles[R_WHEN], AM_ROLE_DATETIME, AM_DROP_NONE, RN, 0, "when");
    expect_role(&roles[R_COLOR], AM_ROLE_CATEGORICAL, AM_DROP_NONE, 3, 0, "color");
    expect_role(&roles[R_CODE_NA], AM_ROLE_CATEGORICAL, AM_DROP_NONE, RN - 1, 1, "code_na");
    expect_role(&roles[R_ZIPNUM], AM_ROLE_NUMERIC, AM_DROP_NONE, RN, 0, "zipnum");
    /* No target: the target column is inferred like any other. */
    ck_assert_int_eq(am_roles_infer(f, -1, NULL, 1, roles, &d), AM_OK);
    expect_role(&roles[R_TARGET], AM_ROLE_BOOLEAN, AM_DROP_NONE, 2, 0, "target as feature");
    am_frame_free(f);
}
END_TEST

/* Under ID_MIN_ROWS rows, one distinct value per row is no evidence of an identifier. */
START_TEST(test_roles_small_table_keeps_unique)
{
    static const char *const s[5] = {"a", "b", "c", "d", "e"};
    static const double v[5] = {1, 2, 3, 4, 5};
    am_frame *f = ft_frame_new(5, 2);
    ft_set_cat(f, 0, "code", s);
    ft_set_num(f, 1, "id", v);
    am_column_role roles[2];
    ck_assert_int_eq(am_roles_infer(f, -1, NULL, 1, roles, NULL), AM_OK);
    expect_role(&roles[0], AM_ROLE_CATEGORICAL, AM_DROP_NONE, 5, 0, "code");
    expect_role(&roles[1], AM_ROLE_NUMERIC, AM_DROP_NONE, 5, 0, "id");
    am_frame_free(f);
}
END_TEST

/* A unique integer column with far-apart values: an identifier only when the name says so. */
static const struct {
    const char *name;
    bool id;
} ID_NAMES[] = {
    {"id", true},          {"ID", true},          {"customer_id", true}, {"customer-id", true},
    {"customer id", true}, {"customerId", true},  {"customerID", true},  {"CUSTOMER_ID", true},
    {"key", true},         {"userKey", true},     {"uuid", true},        {"index", true},
    {"rowIndex", true},    {"Row_Index", true},   {"row", true},         {"ROW", true},
    {"x2.id", true},       {"paid", false},       {"PAID", false},       {"valid", false},
    {"grid", false},       {"monkey", false},     {"borrow", false},     {"identity", false},
    {"amount", false},     {"idx", false},        {"width", false},      {"squid", false},
};

START_TEST(test_roles_identifier_names)
{
    double v[RN];
    for (int i = 0; i < RN; i++)
        v[i] = 1000.0 * i * i + 17;
    am_frame *f = ft_frame_new(RN, 1);
    ft_set_num(f, 0, ID_NAMES[_i].name, v);
    am_column_role r;
    ck_assert_int_eq(am_roles_infer(f, -1, NULL, 1, &r, NULL), AM_OK);
    ck_assert_msg((r.role == AM_ROLE_DROPPED) == ID_NAMES[_i].id, "\"%s\": %s", ID_NAMES[_i].name,
                  am_role_name(r.role));
    if (ID_NAMES[_i].id)
        ck_assert_int_eq(r.why, AM_DROP_IDENTIFIER);
    else
        ck_assert_int_eq(r.role, AM_ROLE_NUMERIC);
    /* The same name on a column with a missing value or a repeat is never an identifier. */
    f->cols[0].num[3] = NAN;
    ck_assert_int_eq(am_roles_infer(f, -1, NULL, 1, &r, NULL), AM_OK);
    ck_assert_int_eq(r.role, AM_ROLE_NUMERIC);
    f->cols[0].num[3] = f->cols[0].num[4];
    ck_assert_int_eq(am_roles_infer(f, -1, NULL, 1, &r, NULL), AM_OK);
    ck_assert_int_eq(r.role, AM_ROLE_NUMERIC);
    am_frame_free(f);
}
END_TEST

/* Distinct counts against an O(n^2) count: negatives, -0 and 0, repeats; non-finite values are
 * missing. */
START_TEST(test_roles_distinct_oracle)
{
    enum { N = 3000 };
    double *v = am_malloc_array(N, sizeof(double));
    ck_assert_ptr_nonnull(v);
    am_rng r;
    am_rng_seed(&r, 99 + (uint64_t)_i);
    static const double special[] = {-0.0, 0.0, INFINITY, -INFINITY, NAN, 1e300, -1e300, -1.5};
    for (int i = 0; i < N; i++) {
        int64_t k = am_rng_below(&r, 20);
        v[i] = k < 8 ? special[k]
                     : _i == 0 ? (double)(am_rng_below(&r, 700) - 350) * 0.25
                               : ldexp(am_rng_uniform(&r) - 0.5, (int)am_rng_below(&r, 80) - 40);
    }
    int64_t distinct = 0, missing = 0;
    for (int i = 0; i < N; i++) {
        if (!isfinite(v[i])) {
            missing++;
            continue;
        }
        bool seen = false;
        for (int k = 0; k < i && !seen; k++)
            seen = isfinite(v[k]) && v[k] == v[i];
        distinct += !seen;
    }
    am_frame *f = ft_frame_new(N, 1);
    ft_set_num(f, 0, "v", v);
    am_column_role role;
    ck_assert_int_eq(am_roles_infer(f, -1, NULL, 1, &role, NULL), AM_OK);
    ck_assert_int_eq(role.n_distinct, distinct);
    ck_assert_int_eq(role.n_missing, missing);
    ck_assert_int_eq(role.role, AM_ROLE_NUMERIC);
    am_frame_free(f);
    am_free(v);
}
END_TEST

/* ---- roles: overrides ------------------------------------------------------------------- */

START_TEST(test_roles_overrides)
{
    am_frame *f = roles_frame();
    static const char *const drop[] = {"price", "color"};
    static const am_role_override types[] = {
        {"const", AM_ROLE_CATEGORICAL}, /* a user-typed constant column stays */
        {"empty", AM_ROLE_NUMERIC},     /* so does an all-missing one */
        {"code", AM_ROLE_TEXT},         {"customerId", AM_ROLE_NUMERIC},
        {"count", AM_ROLE_DATETIME},    {"two", AM_ROLE_BOOLEAN},
        {"flag", AM_ROLE_NUMERIC},      {"answer", AM_ROLE_CATEGORICAL},
        {"zipnum", AM_ROLE_CATEGORICAL}, /* numbers with their raw strings kept */
        {"when", AM_ROLE_DATETIME},     {"notes", AM_ROLE_TEXT},
        {"answer", AM_ROLE_CATEGORICAL}, /* repeated, same type: fine */
    };
    am_role_options o = {.types = types, .n_types = (int32_t)AM_COUNT(types), .drop = drop,
                         .n_drop = 2};
    am_column_role roles[R_NCOLS];
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_roles_infer(f, R_TARGET, &o, 1, roles, &d) == AM_OK, "%s", ft_diag_text(&d));
    expect_role(&roles[R_PRICE], AM_ROLE_DROPPED, AM_DROP_USER, RN, 0, "price");
    expect_role(&roles[R_COLOR], AM_ROLE_DROPPED, AM_DROP_USER, 3, 0, "color");
    expect_role(&roles[R_CONST], AM_ROLE_CATEGORICAL, AM_DROP_NONE, 1, 0, "const");
    expect_role(&roles[R_EMPTY], AM_ROLE_NUMERIC, AM_DROP_NONE, 0, RN, "empty");
    expect_role(&roles[R_CODE], AM_ROLE_TEXT, AM_DROP_NONE, RN, 0, "code");
    expect_role(&roles[R_CUSTOMER], AM_ROLE_NUMERIC, AM_DROP_NONE, RN, 0, "customerId");
    expect_role(&roles[R_COUNT], AM_ROLE_DATETIME, AM_DROP_NONE, RN, 0, "count");
    expect_role(&roles[R_TWO], AM_ROLE_BOOLEAN, AM_DROP_NONE, 2, 0, "two");
    expect_role(&roles[R_FLAG], AM_ROLE_NUMERIC, AM_DROP_NONE, 2, 0, "flag");
    expect_role(&roles[R_ANSWER], AM_ROLE_CATEGORICAL, AM_DROP_NONE, 2, 1, "answer");
    expect_role(&roles[R_ZIPNUM], AM_ROLE_CATEGORICAL, AM_DROP_NONE, RN, 0, "zipnum");
    /* Not overridden: still inferred. */
    expect_role(&roles[R_RANK], AM_ROLE_DROPPED, AM_DROP_IDENTIFIER, RN, 0, "rank");
    expect_role(&roles[R_TARGET], AM_ROLE_DROPPED, AM_DROP_TARGET, 2, 0, "target");
    am_frame_free(f);
}
END_TEST

static const struct {
    const char *drop;       /* or NULL */
    const char *type_name;  /* or NULL */
    am_role role;
    const char *type_name2; /* a second override, or NULL */
    am_role role2;
    const char *column;     /* the diag's column */
    const char *expect[3];  /* substrings of the message */
} BAD_OVERRIDES[] = {
    {"nosuch", NULL, 0, NULL, 0, "nosuch", {"--drop", "\"nosuch\"", "not in the data"}},
    {NULL, "colour", AM_ROLE_CATEGORICAL, NULL, 0, "colour",
     {"--column-types", "not in the data", "did you mean \"color\""}},
    {"target", NULL, 0, NULL, 0, "target", {"--drop", "\"target\"", "is the target"}},
    {NULL, "target", AM_ROLE_CATEGORICAL, NULL, 0, "target", {"--column-types", "is the target",
                                                              "\"target\""}},
    {NULL, "color", AM_ROLE_NUMERIC, NULL, 0, "color",
     {"\"color\" to be numeric", "category values", "e.g. \"red\""}},
    {NULL, "price", AM_ROLE_CATEGORICAL, NULL, 0, "price",
     {"\"price\" to be category", "number values", "12 distinct"}},
    {NULL, "notes", AM_ROLE_CATEGORICAL, NULL, 0, "notes",
     {"\"notes\" to be category", "text values", "e.g. \"a red car\""}},
    {NULL, "price", AM_ROLE_TEXT, NULL, 0, "price", {"\"price\" to be text", "number values",
                                                     "e.g. 0.5"}},
    {NULL, "color", AM_ROLE_DATETIME, NULL, 0, "color",
     {"\"color\" to be datetime", "category values", "3 distinct"}},
    {NULL, "when", AM_ROLE_NUMERIC, NULL, 0, "when", {"\"when\" to be numeric", "datetime values",
                                                      "12 distinct"}},
    {NULL, "color", AM_ROLE_BOOLEAN, NULL, 0, "color",
     {"\"color\" to be boolean", "3 distinct", "exactly two distinct values"}},
    {NULL, "empty", AM_ROLE_BOOLEAN, NULL, 0, "empty",
     {"\"empty\" to be boolean", "0 distinct, 12 missing", "exactly two"}},
    {"price", "price", AM_ROLE_NUMERIC, NULL, 0, "price", {"\"price\"", "both in --drop",
                                                          "--column-types"}},
    {NULL, "price", AM_ROLE_NUMERIC, "price", AM_ROLE_DATETIME, "price",
     {"\"price\"", "two types", "numeric and datetime"}},
};

START_TEST(test_roles_override_errors)
{
    am_frame *f = roles_frame();
    f->source = am_strdup("train.csv");
    const char *drop[1] = {BAD_OVERRIDES[_i].drop};
    am_role_override types[2] = {{BAD_OVERRIDES[_i].type_name, BAD_OVERRIDES[_i].role},
                                 {BAD_OVERRIDES[_i].type_name2, BAD_OVERRIDES[_i].role2}};
    am_role_options o = {.types = types,
                         .n_types = BAD_OVERRIDES[_i].type_name2 ? 2
                                    : BAD_OVERRIDES[_i].type_name ? 1 : 0,
                         .drop = drop,
                         .n_drop = BAD_OVERRIDES[_i].drop ? 1 : 0};
    am_column_role roles[R_NCOLS];
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_roles_infer(f, R_TARGET, &o, 1, roles, &d), AM_ERR_DATA);
    ck_assert_int_eq(d.status, AM_ERR_DATA);
    ck_assert_str_eq(d.column, BAD_OVERRIDES[_i].column);
    ck_assert_str_eq(d.file, "train.csv");
    for (int k = 0; k < 3; k++)
        ck_assert_msg(strstr(d.message, BAD_OVERRIDES[_i].expect[k]), "case %d: \"%s\" lacks %s",
                      _i, d.message, BAD_OVERRIDES[_i].expect[k]);
    am_frame_free(f);
}
END_TEST

START_TEST(test_roles_bad_arguments)
{
    am_frame *f = roles_frame();
    am_column_role roles[R_NCOLS];
    ck_assert_int_eq(am_roles_infer(NULL, -1, NULL, 1, roles, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_roles_infer(f, -1, NULL, 1, NULL, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_roles_infer(f, R_NCOLS, NULL, 1, roles, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_roles_infer(f, -2, NULL, 1, roles, NULL), AM_ERR_ARG);
    am_role_override bad = {"price", AM_ROLE_DROPPED};
    am_role_options o = {.types = &bad, .n_types = 1};
    ck_assert_int_eq(am_roles_infer(f, -1, &o, 1, roles, NULL), AM_ERR_ARG);
    am_frame_free(f);
}
END_TEST

START_TEST(test_roles_out_of_memory)
{
    am_frame *f = roles_frame();
    am_column_role roles[R_NCOLS];
    static const char *const drop[] = {"price"};
    am_role_options o = {.drop = drop, .n_drop = 1};
    int failures = 0;
    for (int k = 0; k < 1000; k++) {
        am_diag d;
        am_diag_clear(&d);
        am_alloc_fail_after(k);
        am_status st = am_roles_infer(f, R_TARGET, &o, 1, roles, &d);
        am_alloc_fail_after(-1);
        if (st == AM_OK)
            break;
        ck_assert_int_eq(st, AM_ERR_NOMEM);
        failures++;
    }
    ck_assert_int_gt(failures, 0);
    expect_role(&roles[R_PRICE], AM_ROLE_DROPPED, AM_DROP_USER, RN, 0, "price");
    am_frame_free(f);
}
END_TEST

START_TEST(test_role_names)
{
    static const char *const names[] = {"numeric", "category", "boolean", "datetime", "text"};
    for (int r = AM_ROLE_NUMERIC; r <= AM_ROLE_TEXT; r++) {
        am_role got = 0;
        ck_assert_str_eq(am_role_name((am_role)r), names[r - 1]);
        ck_assert(am_role_parse(names[r - 1], &got));
        ck_assert_int_eq(got, r);
    }
    ck_assert_str_eq(am_role_name(AM_ROLE_DROPPED), "dropped");
    ck_assert(!am_role_parse("dropped", NULL));
    ck_assert(!am_role_parse("Numeric", NULL));
    ck_assert(!am_role_parse("", NULL));
    ck_assert(!am_role_parse(NULL, NULL));
    ck_assert_str_eq(am_role_name((am_role)0), "unknown");
    ck_assert_str_eq(am_role_name((am_role)7), "unknown");
    ck_assert_int_eq(am_role_csv_type(AM_ROLE_CATEGORICAL), AM_COL_CAT);
    ck_assert_int_eq(am_role_csv_type(AM_ROLE_TEXT), AM_COL_TEXT);
    ck_assert_int_eq(am_role_csv_type(AM_ROLE_NUMERIC), AM_COL_NUM);
    ck_assert_int_eq(am_role_csv_type(AM_ROLE_DATETIME), 0);
    ck_assert_int_eq(am_role_csv_type(AM_ROLE_BOOLEAN), 0);
    ck_assert_str_eq(am_drop_reason_name(AM_DROP_TARGET), "target");
    ck_assert_str_eq(am_drop_reason_name(AM_DROP_USER), "user");
    ck_assert_str_eq(am_drop_reason_name(AM_DROP_CONSTANT), "constant");
    ck_assert_str_eq(am_drop_reason_name(AM_DROP_ALL_MISSING), "all_missing");
    ck_assert_str_eq(am_drop_reason_name(AM_DROP_IDENTIFIER), "identifier");
    ck_assert_str_eq(am_drop_reason_name(AM_DROP_NONE), "none");
}
END_TEST

/* ---- the guardrails list ----------------------------------------------------------------- */

static void three_entries(am_guardrails *g)
{
    am_guardrails_init(g);
    ck_assert_int_eq(am_guardrails_add(g, "missing_values", AM_GUARD_DONE, NULL,
                                       "imputed %d columns: %s (%.1f %%)", 1, "age", 2.1),
                     AM_OK);
    ck_assert_int_eq(am_guardrails_add(g, "class_imbalance", AM_GUARD_ALERTED, NULL, "%s",
                                       "two\nlines"),
                     AM_OK);
    ck_assert_int_eq(am_guardrails_add(g, "duplicated_rows", AM_GUARD_PASSED, NULL, "%s", ""),
                     AM_OK);
}

START_TEST(test_guardrails_list)
{
    am_guardrails g;
    three_entries(&g);
    ck_assert_int_eq(g.n, 3);
    ck_assert_str_eq(g.items[0].check, "missing_values");
    ck_assert_str_eq(g.items[0].detail, "imputed 1 columns: age (2.1 %)");
    ck_assert_str_eq(g.items[1].detail, "two lines"); /* one line of plain text */
    ck_assert_str_eq(g.items[2].detail, "");
    ck_assert_int_eq(g.items[1].state, AM_GUARD_ALERTED);
    ck_assert_str_eq(am_guard_state_name(AM_GUARD_PASSED), "passed");
    ck_assert_str_eq(am_guard_state_name(AM_GUARD_DONE), "done");
    ck_assert_str_eq(am_guard_state_name(AM_GUARD_ALERTED), "alerted");
    ck_assert_str_eq(am_guard_state_name((am_guard_state)0), "unknown");
    am_diag d;
    ck_assert_int_eq(am_guardrails_add(&g, "", AM_GUARD_DONE, &d, "x"), AM_ERR_ARG);
    ck_assert_int_eq(am_guardrails_add(&g, NULL, AM_GUARD_DONE, &d, "x"), AM_ERR_ARG);
    ck_assert_int_eq(am_guardrails_add(&g, "c", (am_guard_state)4, &d, "x"), AM_ERR_ARG);
    ck_assert_int_eq(am_guardrails_add(NULL, "c", AM_GUARD_DONE, &d, "x"), AM_ERR_ARG);
    ck_assert_int_eq(g.n, 3);
    /* Many entries: the list grows. */
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(am_guardrails_add(&g, "c", AM_GUARD_DONE, NULL, "%d", i), AM_OK);
    ck_assert_int_eq(g.n, 103);
    ck_assert_str_eq(g.items[102].detail, "99");
    am_guardrails_fini(&g);
    ck_assert_int_eq(g.n, 0);
    ck_assert_ptr_null(g.items);
    am_guardrails_fini(&g); /* twice is fine */
    am_guardrails_fini(NULL);
}
END_TEST

START_TEST(test_guardrails_add_out_of_memory)
{
    am_guardrails g;
    three_entries(&g);
    int failures = 0;
    for (int k = 0; k < 10; k++) {
        am_diag d;
        am_alloc_fail_after(k);
        am_status st = am_guardrails_add(&g, "late", AM_GUARD_DONE, &d, "detail %d", k);
        am_alloc_fail_after(-1);
        if (st == AM_OK)
            break;
        ck_assert_int_eq(st, AM_ERR_NOMEM);
        ck_assert_int_eq(g.n, 3);
        failures++;
    }
    ck_assert_int_ge(failures, 2);
    ck_assert_int_eq(g.n, 4);
    ck_assert_str_eq(g.items[3].check, "late");
    am_guardrails_fini(&g);
}
END_TEST

static bool same_list(const am_guardrails *a, const am_guardrails *b)
{
    if (a->n != b->n)
        return false;
    for (int32_t i = 0; i < a->n; i++)
        if (strcmp(a->items[i].check, b->items[i].check) ||
            a->items[i].state != b->items[i].state ||
            strcmp(a->items[i].detail, b->items[i].detail))
            return false;
    return true;
}

START_TEST(test_guardrails_save_load)
{
    am_guardrails g, h;
    three_entries(&g);
    am_buf b, b2;
    am_buf_init(&b);
    am_buf_init(&b2);
    ck_assert_int_eq(am_guardrails_save(&g, &b, NULL), AM_OK);
    am_reader r;
    am_reader_init(&r, b.data, b.len, "guardrails");
    ck_assert_int_eq(am_guardrails_load(&r, &h, NULL), AM_OK);
    ck_assert_int_eq(r.left, 0);
    ck_assert(same_list(&g, &h));
    ck_assert_int_eq(am_guardrails_save(&h, &b2, NULL), AM_OK);
    ck_assert_int_eq(b.len, b2.len);
    ck_assert_mem_eq(b.data, b2.data, b.len);
    am_guardrails_fini(&h);
    /* Every truncation is refused, and leaves nothing behind. */
    for (size_t len = 0; len < b.len; len++) {
        am_diag d;
        am_diag_clear(&d);
        am_reader_init(&r, b.data, len, "guardrails");
        ck_assert_msg(am_guardrails_load(&r, &h, &d) == AM_ERR_FORMAT, "length %zu", len);
        ck_assert_int_eq(h.n, 0);
        ck_assert_ptr_null(h.items);
        ck_assert_ptr_nonnull(strstr(d.message, "guardrails"));
    }
    /* An empty list. */
    am_guardrails e;
    am_guardrails_init(&e);
    am_buf_fini(&b2);
    am_buf_init(&b2);
    ck_assert_int_eq(am_guardrails_save(&e, &b2, NULL), AM_OK);
    ck_assert_int_eq(b2.len, 4);
    am_reader_init(&r, b2.data, b2.len, "guardrails");
    ck_assert_int_eq(am_guardrails_load(&r, &h, NULL), AM_OK);
    ck_assert_int_eq(h.n, 0);
    am_guardrails_fini(&h);
    /* Saving an entry that is not valid is refused. */
    g.items[1].state = (am_guard_state)9;
    ck_assert_int_eq(am_guardrails_save(&g, &b2, NULL), AM_ERR_ARG);
    am_guardrails_fini(&g);
    am_buf_fini(&b);
    am_buf_fini(&b2);
}
END_TEST

/* Corrupt payloads: the offsets are into the saved three-entry list. */
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (uint8_t)(v >> (8 * k));
}

enum { C_STATE0, C_STATE4, C_COUNT_HUGE, C_COUNT_MORE, C_EMPTY_CHECK, C_STRLEN, C_NUL, C_CASES };

START_TEST(test_guardrails_load_corrupt)
{
    am_guardrails g, h;
    three_entries(&g);
    am_buf b;
    am_buf_init(&b);
    ck_assert_int_eq(am_guardrails_save(&g, &b, NULL), AM_OK);
    /* Layout: u32 n; u32 len "missing_values" (14); u32 state; ... */
    size_t state0 = 4 + 4 + 14;
    switch (_i) {
    case C_STATE0: put_u32(b.data + state0, 0); break;
    case C_STATE4: put_u32(b.data + state0, 4); break;
    case C_COUNT_HUGE: put_u32(b.data, 0xffffffffu); break;
    case C_COUNT_MORE: put_u32(b.data, 4); break;
    case C_EMPTY_CHECK: /* one entry: check "", state passed, detail "x" */
        am_buf_fini(&b);
        am_buf_init(&b);
        am_buf_u32(&b, 1);
        am_buf_str(&b, "");
        am_buf_u32(&b, AM_GUARD_PASSED);
        am_buf_str(&b, "x");
        ck_assert(!b.failed);
        break;
    case C_STRLEN: put_u32(b.data + 4, 0x7fffffffu); break;
    case C_NUL: b.data[4 + 4 + 3] = 0; break;
    }
    am_reader r;
    am_reader_init(&r, b.data, b.len, "guardrails");
    am_diag d;
    am_diag_clear(&d);
    ck_assert_int_eq(am_guardrails_load(&r, &h, &d), AM_ERR_FORMAT);
    ck_assert_int_eq(h.n, 0);
    am_guardrails_fini(&g);
    am_buf_fini(&b);
}
END_TEST

/* ---- data checks: helpers ---------------------------------------------------------------- */

typedef struct table {
    am_frame *f;
    int32_t target;
    am_column_role *roles;
    double *y;
    int64_t *rows;
    int64_t n;
    am_task task;
    int32_t n_classes;
} table;

/* Roles from inference, all rows as training rows; y from the caller. */
static void table_finish(table *t, const double *y, am_task task, int32_t n_classes)
{
    t->roles = am_calloc((size_t)t->f->n_cols, sizeof(am_column_role));
    ck_assert_ptr_nonnull(t->roles);
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_roles_infer(t->f, t->target, NULL, 1, t->roles, &d) == AM_OK, "%s",
                  ft_diag_text(&d));
    t->n = t->f->n_rows;
    t->rows = ft_iota(t->n);
    t->y = am_malloc_array((size_t)t->n, sizeof(double));
    ck_assert_ptr_nonnull(t->y);
    memcpy(t->y, y, (size_t)t->n * sizeof(double));
    t->task = task;
    t->n_classes = n_classes;
}

static void table_free(table *t)
{
    am_frame_free(t->f);
    am_free(t->roles);
    am_free(t->y);
    am_free(t->rows);
}

static am_guard_input table_input(const table *t, int32_t onehot_max, uint64_t seed)
{
    return (am_guard_input){.f = t->f, .target_col = t->target, .roles = t->roles,
                            .rows = t->rows, .n_rows = t->n, .y = t->y, .task = t->task,
                            .n_classes = t->n_classes, .onehot_max_levels = onehot_max,
                            .rare_min_count = 1, .seed = seed};
}

static const char *const CHECKS[] = {"missing_values",   "high_cardinality", "identifier_columns",
                                     "constant_columns", "class_imbalance",  "target_leakage",
                                     "duplicated_rows"};

static void run_checks(const am_guard_input *in, am_guardrails *g)
{
    am_guardrails_init(g);
    am_diag d;
    am_diag_clear(&d);
    ck_assert_msg(am_guardrails_check_data(in, g, &d) == AM_OK, "%s", ft_diag_text(&d));
    ck_assert_int_eq(g->n, (int)AM_COUNT(CHECKS));
    for (int i = 0; i < g->n; i++) {
        if (getenv("GUARD_VERBOSE")) /* to read the details while working on them */
            printf("%-20s %-8s %s\n", g->items[i].check, am_guard_state_name(g->items[i].state),
                   g->items[i].detail);
        ck_assert_str_eq(g->items[i].check, CHECKS[i]);
        ck_assert_ptr_null(strchr(g->items[i].detail, '\n'));
    }
}

static const am_guardrail *entry(const am_guardrails *g, const char *check)
{
    for (int i = 0; i < g->n; i++)
        if (strcmp(g->items[i].check, check) == 0)
            return &g->items[i];
    ck_abort_msg("no %s entry", check);
    return NULL;
}

static void expect_entry(const am_guardrails *g, const char *check, am_guard_state state,
                         const char *has, const char *lacks)
{
    const am_guardrail *e = entry(g, check);
    ck_assert_msg(e->state == state, "%s: %s, expected %s (%s)", check,
                  am_guard_state_name(e->state), am_guard_state_name(state), e->detail);
    if (has)
        ck_assert_msg(strstr(e->detail, has), "%s: \"%s\" lacks \"%s\"", check, e->detail, has);
    if (lacks)
        ck_assert_msg(!strstr(e->detail, lacks), "%s: \"%s\" has \"%s\"", check, e->detail,
                      lacks);
}

/* ---- data checks: a clean table and a dirty one --------------------------------------------- */

#define CN 200

/* Balanced binary target, a useful but imperfect number, a 3-level category, dates: nothing to
 * report. */
static table clean_table(void)
{
    static const char *const labels[2] = {"no", "yes"};
    static const char *const colors[3] = {"red", "green", "blue"};
    const char *target[CN], *color[CN];
    double y[CN], x[CN], when[CN];
    am_rng r;
    am_rng_seed(&r, 11);
    for (int i = 0; i < CN; i++) {
        y[i] = i % 2;
        target[i] = labels[i % 2];
        x[i] = y[i] + 1.5 * gauss(&r);
        color[i] = colors[am_rng_below(&r, 3)];
        when[i] = 1.6e9 + 86400.0 * (double)am_rng_below(&r, 100000) + 0.25 * i;
    }
    table t = {.f = ft_frame_new(CN, 4), .target = 0};
    ft_set_cat(t.f, 0, "label", target);
    ft_set_num(t.f, 1, "x", x);
    ft_set_cat(t.f, 2, "color", color);
    ft_set_time(t.f, 3, "when", when);
    table_finish(&t, y, AM_TASK_BINARY, 2);
    return t;
}

START_TEST(test_checks_clean_table)
{
    table t = clean_table();
    am_guard_input in = table_input(&t, 20, 5);
    am_guardrails g;
    run_checks(&in, &g);
    for (int i = 0; i < g.n; i++)
        ck_assert_msg(g.items[i].state == AM_GUARD_PASSED, "%s: %s: %s", g.items[i].check,
                      am_guard_state_name(g.items[i].state), g.items[i].detail);
    expect_entry(&g, "class_imbalance", AM_GUARD_PASSED, "class 0: 100 (50.0 %)", "weights");
    expect_entry(&g, "target_leakage", AM_GUARD_PASSED, "best: x, accuracy 0.", NULL);
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

#define DN 200

/* Every check has something to say. */
static table dirty_table(void)
{
    const char *label[DN], *zip[DN], *leak[DN], *country[DN];
    double y[DN], age[DN], id[DN], blank[DN];
    for (int i = 0; i < DN; i++) {
        bool rare = i % 10 == 0;
        y[i] = rare;
        label[i] = rare ? "churn" : "stay";
        leak[i] = rare ? "closed" : "open";
        age[i] = i % 20 == 3 ? NAN : (double)(i / 2);
        zip[i] = pooled('Z', (i / 2) % 30);
        id[i] = i + 1;
        country[i] = "FR";
        blank[i] = NAN;
    }
    table t = {.f = ft_frame_new(DN, 7), .target = 0};
    ft_set_cat(t.f, 0, "label", label);
    ft_set_num(t.f, 1, "age", age);
    ft_set_cat(t.f, 2, "zip", zip);
    ft_set_num(t.f, 3, "id", id);
    ft_set_cat(t.f, 4, "country", country);
    ft_set_num(t.f, 5, "blank", blank);
    ft_set_cat(t.f, 6, "leak", leak);
    table_finish(&t, y, AM_TASK_BINARY, 2);
    return t;
}

START_TEST(test_checks_dirty_table)
{
    table t = dirty_table();
    am_guard_input in = table_input(&t, 20, 5);
    am_guardrails g;
    run_checks(&in, &g);
    expect_entry(&g, "missing_values", AM_GUARD_DONE, "imputed 1 column: age (5.0 %)", NULL);
    expect_entry(&g, "high_cardinality", AM_GUARD_DONE,
                 "target and frequency encoding (trees: category codes) for: zip (30 levels)",
                 NULL);
    expect_entry(&g, "identifier_columns", AM_GUARD_DONE, "dropped 1 identifier column", "zip");
    expect_entry(&g, "identifier_columns", AM_GUARD_DONE, ": id", NULL);
    expect_entry(&g, "constant_columns", AM_GUARD_DONE,
                 "dropped 2 columns: country (constant), blank (all missing)", NULL);
    expect_entry(&g, "class_imbalance", AM_GUARD_ALERTED, "class 1: 20 (10.0 %)",
                 NULL);
    expect_entry(&g, "class_imbalance", AM_GUARD_ALERTED, "logreg class_weight=balanced", NULL);
    expect_entry(&g, "target_leakage", AM_GUARD_ALERTED, "leak (accuracy 1.0000)", "zip (");
    expect_entry(&g, "duplicated_rows", AM_GUARD_ALERTED, "repeat an earlier row", NULL);
    /* The same inputs give the same report, bit for bit. */
    am_guardrails h;
    run_checks(&in, &h);
    ck_assert(same_list(&g, &h));
    am_guardrails_fini(&h);
    /* A larger one-hot limit makes zip ordinary. */
    in.onehot_max_levels = 30;
    run_checks(&in, &h);
    expect_entry(&h, "high_cardinality", AM_GUARD_PASSED, "at most 30 levels", NULL);
    am_guardrails_fini(&h);
    /* So do rare levels: only levels seen at least rare_min_count times count. */
    in.onehot_max_levels = 0;
    in.rare_min_count = 1000;
    run_checks(&in, &h);
    expect_entry(&h, "high_cardinality", AM_GUARD_PASSED, NULL, NULL);
    am_guardrails_fini(&h);
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* Counts are over the training rows only: the rows that hold the missing values, the extra
 * levels and the duplicates are left out. */
START_TEST(test_checks_training_rows_only)
{
    table t = dirty_table();
    int64_t rows[10];
    for (int k = 0; k < 10; k++) /* even rows 0..18: age present, 10 zips, no pairs */
        rows[k] = 2 * k;
    double y[10];
    for (int k = 0; k < 10; k++)
        y[k] = t.y[rows[k]];
    am_guard_input in = table_input(&t, 5, 5);
    in.rows = rows;
    in.y = y;
    in.n_rows = 10;
    am_guardrails g;
    run_checks(&in, &g);
    expect_entry(&g, "missing_values", AM_GUARD_PASSED, NULL, NULL);
    expect_entry(&g, "high_cardinality", AM_GUARD_DONE, "zip (10 levels)", NULL);
    expect_entry(&g, "duplicated_rows", AM_GUARD_PASSED, NULL, NULL);
    expect_entry(&g, "target_leakage", AM_GUARD_PASSED, "too few training rows", NULL);
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* More than LIST_MAX columns: five named, then "and N more"; the largest share first. */
START_TEST(test_checks_list_truncated)
{
    enum { N = 40, M = 8 };
    double y[N], v[M][N];
    static const char *const names[M] = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"};
    table t = {.f = ft_frame_new(N, M + 1), .target = M};
    for (int i = 0; i < N; i++) {
        y[i] = 0.37 * i * i - 3 * i;
        for (int j = 0; j < M; j++)
            v[j][i] = i <= j ? NAN : sin(i * (j + 1.0));
    }
    for (int j = 0; j < M; j++)
        ft_set_num(t.f, j, names[j], v[j]);
    ft_set_num(t.f, M, "y", y);
    table_finish(&t, y, AM_TASK_REGRESSION, 0);
    am_guard_input in = table_input(&t, 0, 5);
    am_guardrails g;
    run_checks(&in, &g);
    expect_entry(&g, "missing_values", AM_GUARD_DONE,
                 "imputed 8 columns: m7 (20.0 %), m6 (17.5 %), m5 (15.0 %), m4 (12.5 %), "
                 "m3 (10.0 %), and 3 more", "m2");
    expect_entry(&g, "class_imbalance", AM_GUARD_PASSED, "regression target", NULL);
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* ---- data checks: class imbalance --------------------------------------------------------- */

START_TEST(test_checks_imbalance_threshold)
{
    /* 3 classes: 50 / 40 / k rows. Alerted exactly when k * 5 < 50. */
    int k = 9 + _i; /* 9: alerted, 10: passed */
    int n = 90 + k;
    double *y = am_malloc_array((size_t)n, sizeof(double));
    double *x = am_malloc_array((size_t)n, sizeof(double));
    ck_assert_ptr_nonnull(y);
    ck_assert_ptr_nonnull(x);
    for (int i = 0; i < n; i++) {
        y[i] = i < 50 ? 0 : i < 90 ? 1 : 2;
        x[i] = sin(i * 12.9898) * 43758.5453;
    }
    table t = {.f = ft_frame_new(n, 2), .target = 1};
    ft_set_num(t.f, 0, "x", x);
    ft_set_num(t.f, 1, "y", y);
    table_finish(&t, y, AM_TASK_MULTICLASS, 3);
    am_guard_input in = table_input(&t, 0, 5);
    am_guardrails g;
    run_checks(&in, &g);
    char want[64];
    snprintf(want, sizeof(want), "class 2: %d (", k);
    expect_entry(&g, "class_imbalance", k == 9 ? AM_GUARD_ALERTED : AM_GUARD_PASSED, want, NULL);
    am_guardrails_fini(&g);
    table_free(&t);
    am_free(x);
    am_free(y);
}
END_TEST

/* ---- data checks: leakage ------------------------------------------------------------------ */

#define LN 400

START_TEST(test_leakage_classification)
{
    static const char *const pets[2] = {"cat", "dog"};
    const char *copy[LN], *city[LN];
    double y[LN], good[LN];
    am_rng r;
    am_rng_seed(&r, 3);
    for (int i = 0; i < LN; i++) {
        y[i] = (double)am_rng_below(&r, 2);
        copy[i] = pets[(int)y[i]];
        good[i] = y[i] + 0.45 * gauss(&r); /* about 87 % accurate alone */
        city[i] = pooled('K', (int)am_rng_below(&r, 50));
    }
    table t = {.f = ft_frame_new(LN, 4), .target = 0};
    ft_set_num(t.f, 0, "y", y);
    ft_set_num(t.f, 1, "good", good);
    ft_set_cat(t.f, 2, "city", city);
    ft_set_cat(t.f, 3, "copy", copy);
    table_finish(&t, y, AM_TASK_BINARY, 2);
    am_guard_input in = table_input(&t, 0, 7);
    am_guardrails g;
    run_checks(&in, &g);
    expect_entry(&g, "target_leakage", AM_GUARD_ALERTED,
                 "1 column alone predicts the target almost perfectly on held-out rows: copy "
                 "(accuracy 1.0000)", "good");
    am_guardrails_fini(&g);
    /* Without the copy: quiet, and the best column is the good one. */
    t.roles[3].role = AM_ROLE_DROPPED;
    t.roles[3].why = AM_DROP_USER;
    run_checks(&in, &g);
    expect_entry(&g, "target_leakage", AM_GUARD_PASSED, "best: good, accuracy 0.8", "city");
    am_guardrails_fini(&g);
    /* Another seed, another split: same verdict. */
    t.roles[3].role = AM_ROLE_BOOLEAN;
    t.roles[3].why = AM_DROP_NONE;
    in.seed = 12345;
    run_checks(&in, &g);
    expect_entry(&g, "target_leakage", AM_GUARD_ALERTED, "copy (accuracy 1.0000)", "good");
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* Regression: a rescaled copy of a skewed target is caught (bin means alone would not reach
 * R^2 0.99 on the long tail); a good feature (R^2 about 0.8) is not; nor is a date. */
START_TEST(test_leakage_regression)
{
    double y[LN], cents[LN], good[LN], when[LN];
    am_rng r;
    am_rng_seed(&r, 4);
    for (int i = 0; i < LN; i++) {
        y[i] = exp(1.5 * gauss(&r));
        cents[i] = 100 * y[i] + 7;
        good[i] = 0;
        when[i] = 1.6e9 + 3600.0 * i;
    }
    double mean = 0, var = 0;
    for (int i = 0; i < LN; i++)
        mean += y[i] / LN;
    for (int i = 0; i < LN; i++)
        var += (y[i] - mean) * (y[i] - mean) / LN;
    for (int i = 0; i < LN; i++)
        good[i] = y[i] + 0.5 * sqrt(var) * gauss(&r);
    table t = {.f = ft_frame_new(LN, 4), .target = 3};
    ft_set_num(t.f, 0, "cents", cents);
    ft_set_num(t.f, 1, "good", good);
    ft_set_time(t.f, 2, "when", when);
    ft_set_num(t.f, 3, "y", y);
    table_finish(&t, y, AM_TASK_REGRESSION, 0);
    am_guard_input in = table_input(&t, 0, 1);
    am_guardrails g;
    run_checks(&in, &g);
    expect_entry(&g, "target_leakage", AM_GUARD_ALERTED, "cents (R^2 1.0000)", "good");
    expect_entry(&g, "target_leakage", AM_GUARD_ALERTED, NULL, "when");
    am_guardrails_fini(&g);
    t.roles[0].role = AM_ROLE_DROPPED;
    t.roles[0].why = AM_DROP_USER;
    run_checks(&in, &g);
    expect_entry(&g, "target_leakage", AM_GUARD_PASSED, "best: good, R^2 0.", NULL);
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* 99 % of one class: predicting the majority is 99 % accurate but is no leak, and a column that
 * only reproduces the majority is not one either. */
START_TEST(test_leakage_needs_margin_over_majority)
{
    double y[LN], noise[LN], zeros[LN];
    for (int i = 0; i < LN; i++) {
        y[i] = i % 100 == 0;
        noise[i] = cos(i * 7.31);
        zeros[i] = i % 100 == 1; /* right for all but the rare rows */
    }
    table t = {.f = ft_frame_new(LN, 3), .target = 2};
    ft_set_num(t.f, 0, "noise", noise);
    ft_set_num(t.f, 1, "zeros", zeros);
    ft_set_num(t.f, 2, "y", y);
    table_finish(&t, y, AM_TASK_BINARY, 2);
    am_guard_input in = table_input(&t, 0, 9);
    am_guardrails g;
    run_checks(&in, &g);
    expect_entry(&g, "target_leakage", AM_GUARD_PASSED, "majority class alone", NULL);
    expect_entry(&g, "class_imbalance", AM_GUARD_ALERTED, NULL, NULL);
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* Degenerate data: a constant target, and values near the top of the double range whose sums
 * overflow. The report says so and stays free of NaN. */
START_TEST(test_leakage_degenerate)
{
    double y[LN], huge[LN], flat[LN];
    for (int i = 0; i < LN; i++) {
        y[i] = i % 7;
        huge[i] = (i % 2 ? 1 : -1) * 1e300 * (1 + i % 13);
        flat[i] = 4;
    }
    table t = {.f = ft_frame_new(LN, 2), .target = 1};
    ft_set_num(t.f, 0, "huge", huge);
    ft_set_num(t.f, 1, "y", y);
    table_finish(&t, y, AM_TASK_REGRESSION, 0);
    am_guard_input in = table_input(&t, 0, 2);
    am_guardrails g;
    run_checks(&in, &g);
    expect_entry(&g, "target_leakage", AM_GUARD_PASSED, "best: huge, R^2 ", "nan");
    am_guardrails_fini(&g);
    memcpy(t.y, flat, sizeof(flat));
    run_checks(&in, &g);
    expect_entry(&g, "target_leakage", AM_GUARD_PASSED, "spread in the held-out rows is zero",
                 NULL);
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* Text columns are not tested for leakage (even one that copies the target). */
START_TEST(test_leakage_skips_text)
{
    static const char *const words[2] = {"bad service", "great food"};
    const char *text[LN];
    double y[LN];
    for (int i = 0; i < LN; i++) {
        y[i] = (i * 7) % 3 == 0;
        text[i] = words[(int)y[i]];
    }
    table t = {.f = ft_frame_new(LN, 2), .target = 0};
    ft_set_num(t.f, 0, "y", y);
    ft_set_codes(t.f, 1, "review", AM_COL_TEXT, NULL, 0, text);
    table_finish(&t, y, AM_TASK_BINARY, 2);
    ck_assert_int_eq(t.roles[1].role, AM_ROLE_TEXT);
    am_guard_input in = table_input(&t, 0, 9);
    am_guardrails g;
    run_checks(&in, &g);
    expect_entry(&g, "target_leakage", AM_GUARD_PASSED, "no feature column to test", NULL);
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* ---- data checks: duplicated rows ------------------------------------------------------------ */

START_TEST(test_duplicates_counted)
{
    enum { N = 15 };
    /* Rows 0..9 distinct. 10 and 12 repeat row 2 with its target; 11 repeats row 3's features
     * with another target; 13 and 14 agree on missing values and target. The id column differs
     * everywhere but is dropped. */
    double x[N] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 2, NAN, NAN};
    const char *c[N] = {"a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a", "b", "a",
                        NULL, NULL};
    double y[N], id[N];
    for (int i = 0; i < N; i++) {
        y[i] = 1.5 * i;
        id[i] = 100 + i;
    }
    y[10] = y[2];
    y[12] = y[2];
    y[11] = y[3] + 1;
    y[14] = y[13];
    table t = {.f = ft_frame_new(N, 4), .target = 3};
    ft_set_num(t.f, 0, "x", x);
    ft_set_cat(t.f, 1, "c", c);
    ft_set_num(t.f, 2, "row_id", id);
    ft_set_num(t.f, 3, "y", y);
    table_finish(&t, y, AM_TASK_REGRESSION, 0);
    ck_assert_int_eq(t.roles[2].why, AM_DROP_IDENTIFIER);
    am_guard_input in = table_input(&t, 0, 9);
    am_guardrails g;
    run_checks(&in, &g);
    expect_entry(&g, "duplicated_rows", AM_GUARD_ALERTED,
                 "4 training rows (26.7 %) repeat an earlier row's feature values: 3 with the same "
                 "target, 1 with a different target (conflicting); first: line 12 repeats line 4",
                 NULL);
    am_guardrails_fini(&g);
    table_free(&t);

    /* -0 and 0 are the same value. */
    double x2[3] = {-0.0, 0.0, 5}, y2[3] = {1, 1, 2};
    table u = {.f = ft_frame_new(3, 2), .target = 1};
    ft_set_num(u.f, 0, "x", x2);
    ft_set_num(u.f, 1, "y", y2);
    table_finish(&u, y2, AM_TASK_REGRESSION, 0);
    in = table_input(&u, 0, 9);
    run_checks(&in, &g);
    expect_entry(&g, "duplicated_rows", AM_GUARD_ALERTED, "1 training row (33.3 %) repeats",
                 NULL);
    am_guardrails_fini(&g);
    table_free(&u);
}
END_TEST

/* A table of repeated rows: grouping stays exact and fast. */
START_TEST(test_duplicates_many)
{
    enum { N = 20000 };
    double *x = am_malloc_array(N, sizeof(double)), *y = am_malloc_array(N, sizeof(double));
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    for (int i = 0; i < N; i++) {
        x[i] = i % 3;          /* 3 feature groups */
        y[i] = (i / 3) % 1000; /* 1000 targets per group */
    }
    table t = {.f = ft_frame_new(N, 2), .target = 1};
    ft_set_num(t.f, 0, "x", x);
    ft_set_num(t.f, 1, "y", y);
    table_finish(&t, y, AM_TASK_REGRESSION, 0);
    am_guard_input in = table_input(&t, 0, 9);
    am_guardrails g;
    run_checks(&in, &g);
    /* 19,997 rows repeat their group's first; 3 x 999 of them bring a new target. */
    expect_entry(&g, "duplicated_rows", AM_GUARD_ALERTED,
                 "19,997 training rows (> 99.9 %)", NULL);
    expect_entry(&g, "duplicated_rows", AM_GUARD_ALERTED,
                 "17,000 with the same target, 2,997 with a different target", NULL);
    am_guardrails_fini(&g);
    table_free(&t);
    am_free(x);
    am_free(y);
}
END_TEST

/* ---- data checks: failures --------------------------------------------------------------- */

START_TEST(test_checks_bad_input)
{
    table t = clean_table();
    am_guardrails g;
    am_guardrails_init(&g);
    am_guard_input in = table_input(&t, 0, 1);
    am_guard_input bad = in;
    bad.n_rows = 0;
    ck_assert_int_eq(am_guardrails_check_data(&bad, &g, NULL), AM_ERR_ARG);
    bad = in;
    bad.y = NULL;
    ck_assert_int_eq(am_guardrails_check_data(&bad, &g, NULL), AM_ERR_ARG);
    bad = in;
    bad.n_classes = 1;
    ck_assert_int_eq(am_guardrails_check_data(&bad, &g, NULL), AM_ERR_ARG);
    bad = in;
    bad.task = (am_task)3;
    ck_assert_int_eq(am_guardrails_check_data(&bad, &g, NULL), AM_ERR_ARG);
    t.y[5] = 2; /* not a class of a binary task */
    ck_assert_int_eq(am_guardrails_check_data(&in, &g, NULL), AM_ERR_ARG);
    t.y[5] = 1;
    t.rows[7] = CN; /* past the frame */
    ck_assert_int_eq(am_guardrails_check_data(&in, &g, NULL), AM_ERR_ARG);
    ck_assert_int_eq(g.n, 0);
    ck_assert_int_eq(am_guardrails_check_data(NULL, &g, NULL), AM_ERR_ARG);
    ck_assert_int_eq(am_guardrails_check_data(&in, NULL, NULL), AM_ERR_ARG);
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* Out of memory at every allocation: AM_ERR_NOMEM and the report as it was. */
START_TEST(test_checks_out_of_memory)
{
    table t = dirty_table();
    am_guard_input in = table_input(&t, 20, 5);
    am_guardrails g;
    am_guardrails_init(&g);
    ck_assert_int_eq(am_guardrails_add(&g, "earlier", AM_GUARD_DONE, NULL, "kept"), AM_OK);
    int failures = 0;
    for (int k = 0; k < 2000; k++) {
        am_diag d;
        am_diag_clear(&d);
        am_alloc_fail_after(k);
        am_status st = am_guardrails_check_data(&in, &g, &d);
        am_alloc_fail_after(-1);
        if (st == AM_OK)
            break;
        ck_assert_int_eq(st, AM_ERR_NOMEM);
        ck_assert_int_eq(g.n, 1);
        ck_assert_str_eq(g.items[0].detail, "kept");
        failures++;
    }
    ck_assert_int_gt(failures, 10);
    ck_assert_int_eq(g.n, 1 + (int)AM_COUNT(CHECKS));
    am_guardrails_fini(&g);
    table_free(&t);
}
END_TEST

/* ---- the shared radix sort ---------------------------------------------------------------- */

/* (key, position) pairs: qsort on both is the order a stable sort of the keys must give. */
typedef struct keyed {
    uint64_t key;
    int64_t pos;
} keyed;

static int cmp_keyed(const void *pa, const void *pb)
{
    const keyed *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* Sizes and key shapes: empty, one key, a few, and large ones; keys drawn from `distinct` random
 * 64-bit values (every digit pass runs, with many equal keys), or below 2^bits (the upper passes
 * are skipped), or all equal (every pass skipped). */
static const struct sort_case {
    int64_t n;
    int64_t distinct; /* 0: any value below 2^bits */
    int bits;
} SORT_CASES[] = {
    {0, 1, 0},       {1, 1, 0},     {2, 2, 0},      {7, 3, 0},       {1000, 0, 64},
    {5000, 40, 0},   {5000, 0, 11}, {5000, 0, 12},  {5000, 1, 0},    {300000, 0, 64},
    {300000, 997, 0}, {300000, 0, 20},
};

/* Keys and the positions carried along against qsort; the keys alone (no values) the same. */
START_TEST(test_radix_sort_against_qsort)
{
    const struct sort_case *c = &SORT_CASES[_i];
    int64_t n = c->n;
    size_t size = (size_t)AM_MAX(n, 1);
    uint64_t *key = am_malloc_array(size, sizeof(uint64_t));
    uint64_t *alone = am_malloc_array(size, sizeof(uint64_t));
    uint64_t *tk = am_malloc_array(size, sizeof(uint64_t));
    int64_t *val = am_malloc_array(size, sizeof(int64_t));
    int64_t *tv = am_malloc_array(size, sizeof(int64_t));
    uint64_t *pool = am_malloc_array((size_t)AM_MAX(c->distinct, 1), sizeof(uint64_t));
    keyed *want = am_malloc_array(size, sizeof(keyed));
    ck_assert(key && alone && tk && val && tv && pool && want);
    am_rng r;
    am_rng_seed(&r, 1234 + (uint64_t)_i);
    for (int64_t k = 0; k < c->distinct; k++)
        pool[k] = am_rng_next(&r);
    for (int64_t i = 0; i < n; i++) {
        uint64_t x = am_rng_next(&r);
        key[i] = c->distinct ? pool[am_rng_below(&r, c->distinct)]
                 : c->bits < 64 ? x & ((1ull << c->bits) - 1)
                                : x;
        alone[i] = key[i];
        val[i] = i;
        want[i] = (keyed){key[i], i};
    }
    qsort(want, size, sizeof(keyed), cmp_keyed);
    am_feat_radix_sort(key, val, n, tk, tv);
    am_feat_radix_sort(alone, NULL, n, tk, NULL);
    for (int64_t i = 0; i < n; i++) {
        ck_assert_msg(key[i] == want[i].key && val[i] == want[i].pos, "n %lld: position %lld",
                      (long long)n, (long long)i);
        ck_assert(alone[i] == want[i].key);
    }
    am_free(want);
    am_free(pool);
    am_free(tv);
    am_free(val);
    am_free(tk);
    am_free(alone);
    am_free(key);
}
END_TEST

/* Doubles in increasing order give increasing keys (-0 and 0 one key), and the key reads back
 * as the same double. */
START_TEST(test_double_key_order)
{
    static const double x[] = {-DBL_MAX, -1e300, -2.5,    -1,      -DBL_MIN, -4.9e-324,
                               -0.0,     0.0,    4.9e-324, DBL_MIN, 0.1,      1,
                               1.0000000000000002, 3e8,  DBL_MAX};
    for (size_t i = 0; i < AM_COUNT(x); i++) {
        uint64_t k = am_feat_double_key(x[i]);
        double back = am_feat_key_double(k);
        double want = x[i] == 0 ? 0.0 : x[i];
        ck_assert_msg(memcmp(&back, &want, sizeof(double)) == 0, "%g", x[i]);
        if (i == 0)
            continue;
        uint64_t prev = am_feat_double_key(x[i - 1]);
        if (x[i] == x[i - 1])
            ck_assert_msg(k == prev, "%g", x[i]);
        else
            ck_assert_msg(k > prev, "%g after %g", x[i], x[i - 1]);
    }
}
END_TEST

/* ---- the suite ----------------------------------------------------------------------------- */

static Suite *guardrails_suite(void)
{
    Suite *s = suite_create("guardrails");
    TCase *roles = tcase_create("roles");
    tcase_add_test(roles, test_roles_inferred);
    tcase_add_test(roles, test_roles_small_table_keeps_unique);
    tcase_add_loop_test(roles, test_roles_identifier_names, 0, (int)AM_COUNT(ID_NAMES));
    tcase_add_loop_test(roles, test_roles_distinct_oracle, 0, 2);
    tcase_add_test(roles, test_roles_overrides);
    tcase_add_loop_test(roles, test_roles_override_errors, 0, (int)AM_COUNT(BAD_OVERRIDES));
    tcase_add_test(roles, test_roles_bad_arguments);
    tcase_add_test(roles, test_roles_out_of_memory);
    tcase_add_test(roles, test_role_names);
    suite_add_tcase(s, roles);

    TCase *list = tcase_create("list");
    tcase_add_test(list, test_guardrails_list);
    tcase_add_test(list, test_guardrails_add_out_of_memory);
    tcase_add_test(list, test_guardrails_save_load);
    tcase_add_loop_test(list, test_guardrails_load_corrupt, 0, C_CASES);
    suite_add_tcase(s, list);

    TCase *checks = tcase_create("checks");
    tcase_set_timeout(checks, 60);
    tcase_add_test(checks, test_checks_clean_table);
    tcase_add_test(checks, test_checks_dirty_table);
    tcase_add_test(checks, test_checks_training_rows_only);
    tcase_add_test(checks, test_checks_list_truncated);
    tcase_add_loop_test(checks, test_checks_imbalance_threshold, 0, 2);
    tcase_add_test(checks, test_leakage_classification);
    tcase_add_test(checks, test_leakage_regression);
    tcase_add_test(checks, test_leakage_needs_margin_over_majority);
    tcase_add_test(checks, test_leakage_degenerate);
    tcase_add_test(checks, test_leakage_skips_text);
    tcase_add_test(checks, test_duplicates_counted);
    tcase_add_test(checks, test_duplicates_many);
    tcase_add_test(checks, test_checks_bad_input);
    tcase_add_test(checks, test_checks_out_of_memory);
    suite_add_tcase(s, checks);

    TCase *sort = tcase_create("sort");
    tcase_set_timeout(sort, 30);
    tcase_add_loop_test(sort, test_radix_sort_against_qsort, 0, (int)AM_COUNT(SORT_CASES));
    tcase_add_test(sort, test_double_key_order);
    suite_add_tcase(s, sort);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(guardrails_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
