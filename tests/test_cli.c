/* test_cli.c — end-to-end tests of the automl command line on the bundled datasets, and the
 * bad-input table: each case asserts the exit code, the message, and that no output file was
 * left behind. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AUTOML AM_BINARY_DIR "/automl"
#define DATA AM_SOURCE_DIR "/datasets/"

static char workdir[256];
static char out_text[1 << 20];
static char err_text[1 << 16];

static void read_file(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
}

/* Runs automl with the NULL-terminated arguments; captures stdout and stderr; returns the exit
 * code (or -1 when it did not exit normally: a crash is a failure of every test). */
static int run(const char *first, ...)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = AUTOML;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && n < 63; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char out_path[300], err_path[300];
    snprintf(out_path, sizeof(out_path), "%s/stdout.txt", workdir);
    snprintf(err_path, sizeof(err_path), "%s/stderr.txt", workdir);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(o, 1);
        dup2(e, 2);
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
        execv(AUTOML, (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    read_file(out_path, out_text, sizeof(out_text));
    read_file(err_path, err_text, sizeof(err_text));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *path_in(const char *name)
{
    static char buf[64][512]; /* a ring: each test uses far fewer paths than this */
    static int k;
    k = (k + 1) % 64;
    snprintf(buf[k], sizeof(buf[k]), "%s/%s", workdir, name);
    return buf[k];
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(path_in(name), "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* No file of the work dir other than the inputs and captured outputs may contain ".tmp.". */
static bool no_temporary_files(void)
{
    DIR *dir = opendir(workdir);
    struct dirent *e;
    bool clean = true;
    while ((e = readdir(dir)) != NULL)
        if (strstr(e->d_name, ".tmp."))
            clean = false;
    closedir(dir);
    return clean;
}

static void setup(void)
{
    snprintf(workdir, sizeof(workdir), "/tmp/automl_cli_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(workdir));
}

static void teardown(void)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", workdir);
    ck_assert_int_eq(system(cmd), 0);
}

static void assert_err_has(const char *needle)
{
    ck_assert_msg(strstr(err_text, needle) != NULL, "stderr lacks \"%s\": %s", needle, err_text);
}

/* ---- the main paths ---------------------------------------------------------------------- */

START_TEST(fit_predict_evaluate_binary)
{
    const char *model = path_in("pima.automl");
    int code = run("fit", DATA "pima_diabetes_train.csv", "--target", "diabetes", "--max-trials",
                   "6", "--seed", "3", "-o", model, NULL);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    ck_assert_ptr_nonnull(strstr(out_text, "rank"));
    ck_assert_ptr_nonnull(strstr(out_text, "auc"));
    assert_err_has("binary");
    ck_assert(exists(model));

    code = run("predict", model, DATA "pima_diabetes_test.csv", "--proba", NULL);
    ck_assert_msg(code == 0, "predict failed: %s", err_text);
    ck_assert(strncmp(out_text, "prediction,proba_neg,proba_pos\n", 31) == 0);
    int lines = 0;
    for (const char *p = out_text; *p; p++)
        lines += *p == '\n';
    ck_assert_int_eq(lines, 193); /* header + 192 test rows */
    ck_assert(strstr(out_text, "\npos,") || strstr(out_text, "\nneg,"));

    code = run("evaluate", model, DATA "pima_diabetes_test.csv", "--json", NULL);
    ck_assert_msg(code == 0, "evaluate failed: %s", err_text);
    const char *auc = strstr(out_text, "\"auc\":");
    ck_assert_ptr_nonnull(auc);
    double v = atof(auc + 6);
    ck_assert_msg(v > 0.75 && v <= 1.0, "test AUC %g too low for pima", v);
    ck_assert_ptr_nonnull(strstr(out_text, "\"log_loss\":"));
    ck_assert_ptr_nonnull(strstr(out_text, "\"f1_macro\":"));
}
END_TEST

START_TEST(fit_json_is_one_object)
{
    const char *model = path_in("penguins.automl");
    int code = run("fit", DATA "penguins_train.csv", "--target", "species", "--max-trials", "5",
                   "--json", "-o", model, NULL);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    ck_assert(out_text[0] == '{');
    ck_assert(strchr(out_text, '\n') == out_text + strlen(out_text) - 1);
    const char *keys[] = {"\"task\":\"multiclass\"", "\"metric\":\"log_loss\"", "\"best_score\":",
                          "\"best_learner\":", "\"n_trials\":5", "\"exit_reason\":\"max_trials\"",
                          "\"fit_seconds\":", "\"phases\":{\"read\":", "\"featurize\":",
                          "\"search\":", "\"refit\":", "\"save\":"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_msg(strstr(out_text, keys[i]), "json lacks %s: %s", keys[i], out_text);
    /* k-NN is searched only when named. */
    ck_assert_msg(!strstr(out_text, "knn"), "knn in a default search: %s", out_text);
    /* The human leaderboard went to standard error. */
    assert_err_has("rank");
}
END_TEST

START_TEST(regression_and_inspect)
{
    const char *model = path_in("concrete.automl");
    int code = run("fit", DATA "concrete_train.csv", "--target", "compressive_strength",
                   "--max-trials", "6", "-o", model, NULL);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    assert_err_has("regression");
    code = run("evaluate", model, DATA "concrete_test.csv", "--json", NULL);
    ck_assert_int_eq(code, 0);
    const char *r2 = strstr(out_text, "\"r2\":");
    ck_assert_ptr_nonnull(r2);
    ck_assert_msg(atof(r2 + 5) > 0.5, "linear model R2 on concrete: %s", out_text);
    code = run("inspect", model, "--json", NULL);
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(strstr(out_text, "\"inputs\":[{\"name\":\"cement\""));
    ck_assert_ptr_nonnull(strstr(out_text, "\"leaderboard\":[{\"rank\":1"));
    code = run("inspect", model, NULL);
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(strstr(out_text, "regression"));
}
END_TEST

START_TEST(estimator_mode)
{
    const char *model = path_in("ridge.automl");
    int code = run("fit", DATA "concrete_train.csv", "--target", "compressive_strength",
                   "--learner", "ridge", "--param", "alpha=0.5", "--cv", "3", "--json", "-o",
                   model, NULL);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    ck_assert_ptr_nonnull(strstr(out_text, "\"best_learner\":\"ridge\""));
    ck_assert_ptr_nonnull(strstr(out_text, "alpha=0.5"));
    ck_assert_ptr_nonnull(strstr(out_text, "\"n_trials\":1"));
    ck_assert_ptr_nonnull(strstr(out_text, "\"exit_reason\":\"single_fit\""));
    /* A single fit runs to its end unless given a budget (the search's default would cut a
     * long one). */
    ck_assert_ptr_nonnull(strstr(out_text, "\"time_budget\":null"));
    code = run("fit", DATA "pima_diabetes_train.csv", "--target", "diabetes", "--learner",
               "logreg", "--param", "C=2", "--param", "penalty=l1", "-o", model, NULL);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    /* A binary logistic model shows one column of coefficients (log-odds of the second class). */
    ck_assert_int_eq(run("inspect", model, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "coefficients"));
    ck_assert_ptr_nonnull(strstr(out_text, "glucose"));
    /* A tree learner: categorical columns natively, importance in inspect. */
    code = run("fit", DATA "credit_data_train.csv", "--target", "Status", "--learner", "gbdt",
               "--param", "n_estimators=30", "--param", "num_leaves=15", "--holdout", "0.25",
               "--json", "-o", model, NULL);
    ck_assert_msg(code == 0, "gbdt fit failed: %s", err_text);
    const char *score = strstr(out_text, "\"best_score\":");
    ck_assert_ptr_nonnull(score);
    ck_assert_msg(atof(score + 13) > 0.8, "gbdt holdout AUC on credit_data: %s", out_text);
    code = run("inspect", model, "--json", NULL);
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_nonnull(strstr(out_text, "\"importance\":[{\"feature\":"));
    ck_assert_ptr_null(strstr(out_text, "\"coefficients\"")); /* trees have none */
    code = run("evaluate", model, DATA "credit_data_test.csv", "--json", NULL);
    ck_assert_int_eq(code, 0);
    ck_assert_msg(atof(strstr(out_text, "\"auc\":") + 6) > 0.8, "gbdt test AUC: %s", out_text);
    code = run("fit", DATA "concrete_train.csv", "--target", "compressive_strength", "--learner",
               "rf", "--param", "n_estimators=20", "-o", model, NULL);
    ck_assert_msg(code == 0, "rf fit failed: %s", err_text);
    code = run("evaluate", model, DATA "concrete_test.csv", "--json", "--threads", "2", NULL);
    ck_assert_msg(atof(strstr(out_text, "\"r2\":") + 5) > 0.8, "rf test R2: %s", out_text);
    /* Prediction shares rows out among threads; the values must not change with their number. */
    static char one[sizeof(out_text)];
    ck_assert_int_eq(run("predict", model, DATA "concrete_test.csv", "--threads", "1", NULL), 0);
    snprintf(one, sizeof(one), "%s", out_text);
    ck_assert_int_eq(run("predict", model, DATA "concrete_test.csv", "--threads", "2", NULL), 0);
    ck_assert_str_eq(one, out_text);
    ck_assert_int_eq(run("predict", model, DATA "concrete_test.csv", "--threads", "0", NULL), 3);
    assert_err_has("threads=0");

    /* k-NN, alone and in a search that names it. */
    code = run("fit", DATA "pima_diabetes_train.csv", "--target", "diabetes", "--learner", "knn",
               "--param", "n_neighbors=25", "--param", "weights=distance", "-o", model, NULL);
    ck_assert_msg(code == 0, "knn fit failed: %s", err_text);
    code = run("evaluate", model, DATA "pima_diabetes_test.csv", "--json", NULL);
    ck_assert_msg(atof(strstr(out_text, "\"auc\":") + 6) > 0.75, "knn test AUC: %s", out_text);
    code = run("fit", DATA "pima_diabetes_train.csv", "--target", "diabetes", "--learners",
               "knn,logreg", "--max-trials", "4", "--json", "-o", model, NULL);
    ck_assert_msg(code == 0, "knn search failed: %s", err_text);
    ck_assert_ptr_nonnull(strstr(out_text, "\"knn\""));

    ck_assert_int_eq(run("help", "learner", "knn", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "searched only when named"));
    code = run("help", "learner", "logreg", NULL);
    ck_assert_int_eq(code, 0);
    ck_assert_ptr_null(strstr(out_text, "searched only when named"));
    ck_assert_ptr_nonnull(strstr(out_text, "C "));
    ck_assert_ptr_nonnull(strstr(out_text, "penalty"));
}
END_TEST

/* Linear models show their coefficients: the ten largest with their sign in text, every one
 * (in feature order) and the intercept in JSON. */
START_TEST(inspect_linear_coefficients)
{
    const char *learners[] = {"ridge", "elasticnet"};
    for (int l = 0; l < 2; l++) {
        const char *model = path_in("linear.automl");
        int code = run("fit", DATA "concrete_train.csv", "--target", "compressive_strength",
                       "--learner", learners[l], "--param", "alpha=0.1", "-o", model, NULL);
        ck_assert_msg(code == 0, "%s fit failed: %s", learners[l], err_text);
        ck_assert_int_eq(run("inspect", model, NULL), 0);
        const char *section = strstr(out_text, "\ncoefficients  (");
        ck_assert_msg(section, "%s: no coefficients section: %s", learners[l], out_text);
        /* cement has the largest effect on strength: first, and positive. */
        ck_assert_msg(strncmp(strchr(section + 1, '\n') + 1, "  cement ", 9) == 0, "%s", section);
        ck_assert_ptr_nonnull(strstr(section, "+"));
        ck_assert_ptr_nonnull(strstr(section, "(intercept)"));
        ck_assert_int_eq(run("inspect", model, "--json", NULL), 0);
        ck_assert_ptr_nonnull(strstr(out_text, "\"coefficients\":[{\"feature\":\"cement\","
                                               "\"value\":"));
        ck_assert_ptr_nonnull(strstr(out_text, "{\"feature\":\"age\",\"value\":"));
        ck_assert_ptr_nonnull(strstr(out_text, "],\"intercept\":"));
    }
}
END_TEST

START_TEST(same_seed_same_model_bytes)
{
    const char *a = path_in("a.automl"), *b = path_in("b.automl");
    ck_assert_int_eq(run("fit", DATA "credit_data_train.csv", "--target", "Status",
                         "--max-trials", "10", "--seed", "7", "--threads", "1", "-o", a, NULL),
                     0);
    ck_assert_int_eq(run("fit", DATA "credit_data_train.csv", "--target", "Status",
                         "--max-trials", "10", "--seed", "7", "--threads", "2", "-o", b, NULL),
                     0);
    static char ta[1 << 20], tb[1 << 20];
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    size_t na = fread(ta, 1, sizeof(ta), fa), nb = fread(tb, 1, sizeof(tb), fb);
    fclose(fa);
    fclose(fb);
    ck_assert_uint_eq(na, nb);
    ck_assert_msg(memcmp(ta, tb, na) == 0, "model files differ between 1 and 2 threads");
}
END_TEST

START_TEST(time_budget_is_kept)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int code = run("fit", DATA "credit_data_train.csv", "--target", "Status", "--time-budget",
                   "5", "-o", path_in("budget.automl"), "--json", NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    ck_assert_msg(seconds < 6.0, "a 5 s budget took %.2f s", seconds);
    ck_assert_ptr_nonnull(strstr(out_text, "\"exit_reason\":\"time_budget\""));
    ck_assert_ptr_nonnull(strstr(out_text, "\"time_budget\":5"));
}
END_TEST

/* Ctrl-C during a fit stops the search, keeps the best model so far and saves it. */
START_TEST(interrupt_keeps_best_model)
{
    const char *model = path_in("int.automl");
    char out_path[300];
    snprintf(out_path, sizeof(out_path), "%s/int.json", workdir);
    pid_t pid = fork();
    if (pid == 0) {
        int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open("/dev/null", O_WRONLY);
        dup2(o, 1);
        dup2(e, 2);
        execl(AUTOML, AUTOML, "fit", DATA "credit_data_train.csv", "--target", "Status",
              "--time-budget", "60", "--json", "-o", model, (char *)NULL);
        _exit(127);
    }
    struct timespec t0, t1, nap = {1, 500000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    nanosleep(&nap, NULL);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    read_file(out_path, out_text, sizeof(out_text));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
    ck_assert_msg(t1.tv_sec - t0.tv_sec < 10, "took %ld s after Ctrl-C", (long)(t1.tv_sec - t0.tv_sec));
    ck_assert_ptr_nonnull(strstr(out_text, "\"exit_reason\":\"cancelled\""));
    ck_assert(exists(model));
    ck_assert(no_temporary_files());
}
END_TEST

/* ---- bad input: a table of cases ------------------------------------------------------------ */

typedef struct bad_case {
    const char *name;
    const char *csv;     /* training file content (NULL: use `file`) */
    const char *file;    /* an existing file */
    const char *target;
    const char *extra[4];
    int code;
    const char *message; /* must appear on stderr */
} bad_case;

static const bad_case bad_fit[] = {
    {"empty file", "", NULL, "y", {NULL}, 3, "empty"},
    {"header only", "a,b,y\n", NULL, "y", {NULL}, 3, "no data rows"},
    {"ragged row", "a,b,y\n1,2,3\n4,5\n", NULL, "y", {NULL}, 3, ":3:"},
    {"unterminated quote", "a,b,y\n1,2,3\n4,\"5,6\n", NULL, "y", {NULL}, 3, "quote"},
    {"missing target", "a,b,y\n1,2,3\n4,5,6\n", NULL, "z", {NULL}, 3, "\"z\" not found"},
    {"one class", "a,y\n1,yes\n2,yes\n3,yes\n4,yes\n", NULL, "y", {NULL}, 3, "one class"},
    {"no usable target", "a,y\n1,\n2,NaN\n3,inf\n", NULL, "y", {NULL}, 3, "no usable"},
    {"missing file", NULL, "/nonexistent/train.csv", "y", {NULL}, 4, "/nonexistent/train.csv"},
    {"unknown param", NULL, DATA "concrete_train.csv", "compressive_strength",
     {"--learner", "ridge", "--param", "alpah=1"}, 3, "did you mean \"alpha\""},
    {"unknown learner", NULL, DATA "concrete_train.csv", "compressive_strength",
     {"--learner", "rigde", NULL}, 3, "did you mean \"ridge\""},
    {"bad metric for task", NULL, DATA "concrete_train.csv", "compressive_strength",
     {"--metric", "auc", NULL}, 3, "auc"},
    {"bad budget", NULL, DATA "concrete_train.csv", "compressive_strength",
     {"--time-budget", "soon", NULL}, 3, "time_budget"},
    {"unknown flag", NULL, DATA "concrete_train.csv", "compressive_strength",
     {"--colour", "red", NULL}, 2, "--colour"},
};

START_TEST(bad_fit_input)
{
    const bad_case *c = &bad_fit[_i];
    const char *train = c->file;
    if (c->csv) {
        write_text("train.csv", c->csv);
        train = path_in("train.csv");
    }
    const char *model = path_in("out.automl");
    const char *e[4];
    for (int k = 0; k < 4; k++)
        e[k] = c->extra[k];
    int code = run("fit", train, "--target", c->target, "-o", model, "--max-trials", "3",
                   e[0], e[1], e[2], e[3], NULL);
    ck_assert_msg(code == c->code, "%s: exit %d, expected %d; stderr: %s", c->name, code,
                  c->code, err_text);
    ck_assert_msg(strstr(err_text, c->message), "%s: stderr lacks \"%s\": %s", c->name,
                  c->message, err_text);
    ck_assert_msg(strncmp(err_text, "automl: error: ", 15) == 0 ||
                      strstr(err_text, "\nautoml: error: "),
                  "%s: no error line: %s", c->name, err_text);
    ck_assert_msg(!exists(model), "%s: model file left behind", c->name);
    ck_assert_msg(no_temporary_files(), "%s: temporary file left behind", c->name);
}
END_TEST

START_TEST(duplicate_param)
{
    int code = run("fit", DATA "concrete_train.csv", "--target", "compressive_strength",
                   "--learner", "ridge", "--param", "alpha=1", "--param", "alpha=2", "-o",
                   path_in("m.automl"), NULL);
    ck_assert_int_eq(code, 3);
    assert_err_has("alpha");
    assert_err_has("twice");
}
END_TEST

START_TEST(dropped_target_rows_are_counted)
{
    write_text("t.csv", "a,y\n1,1.5\n2,\n3,NaN\n4,2.5\n5,3.5\n6,inf\n7,4\n8,5\n9,6\n9,7\n"
                        "11,8\n12,9\n"); /* a repeats a value: not an identifier */
    int code = run("fit", path_in("t.csv"), "--target", "y", "--max-trials", "2", "--cv", "2",
                   "-o", path_in("m.automl"), NULL);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    assert_err_has("warning");
    assert_err_has("dropped 3 rows");
}
END_TEST

/* ---- featurization and the data report (issue 5) ---------------------------------------- */

/* A messy table of 300 rows: a row id, a constant, US dates, free text, a city, a yes/no flag,
 * a number, a column that copies the target, and an imbalanced target (about 1 in 8). */
static void write_messy(const char *name, int n, int year0, bool eu_dates)
{
    static const char *const words[] = {"late", "delivery", "great", "service", "broken",
                                        "box", "friendly", "staff", "slow", "refund"};
    static const char *const cities[] = {"Oslo", "Lima", "Pune", "Kobe", "Nice", "Bern"};
    FILE *f = fopen(path_in(name), "wb");
    ck_assert_ptr_nonnull(f);
    fputs("id,k,when,note,city,member,x,leak,y\n", f);
    unsigned r = 12345;
    for (int i = 0; i < n; i++) {
        r = r * 1103515245u + 12345u;
        int y = (r >> 16) % 8 == 0;
        int month = 1 + i % 12, day = 1 + (i * 7) % 28, year = year0 + i % 5;
        char when[32];
        if (eu_dates)
            snprintf(when, sizeof(when), "%d/%d/%d", day, month, year);
        else
            snprintf(when, sizeof(when), "%d/%d/%d", month, day, year);
        fprintf(f, "%d,7,%s,\"%s %s %s and %s\",%s,%s,%.3f,%d,%s\n", 1000 + i, when,
                words[(r >> 8) % 10], words[(r >> 12) % 10], words[y ? 4 : 2],
                words[(r >> 20) % 10], cities[(r >> 4) % 6], (r >> 9) % 2 ? "yes" : "no",
                (double)((r >> 3) % 1000) / 100.0 + y, y, y ? "bad" : "good");
    }
    fclose(f);
}

START_TEST(messy_table_guardrails)
{
    const char *model = path_in("messy.automl");
    write_messy("messy.csv", 300, 2019, false);
    int code = run("fit", path_in("messy.csv"), "--target", "y", "--learner", "logreg", "--json",
                   "-o", model, NULL);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    const char *want[] = {
        "\"guardrails\":[{\"check\":\"missing_values\",\"state\":\"passed\"",
        "{\"check\":\"identifier_columns\",\"state\":\"done\",\"detail\":\"dropped 1 identifier",
        "{\"check\":\"constant_columns\",\"state\":\"done\"",
        "{\"check\":\"class_imbalance\",\"state\":\"alerted\"",
        "{\"check\":\"target_leakage\",\"state\":\"alerted\"",
        "{\"check\":\"validation_split\",\"state\":\"passed\"",
        "{\"check\":\"memory_estimate\",\"state\":\"passed\""};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(strstr(out_text, want[i]), "json lacks %s: %s", want[i], out_text);
    assert_err_has("data guardrails:");
    assert_err_has("target_leakage");
    /* inspect shows the roles and the report */
    ck_assert_int_eq(run("inspect", model, "--json", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "{\"name\":\"when\",\"type\":\"datetime\","
                                           "\"role\":\"datetime\"}"));
    ck_assert_ptr_nonnull(
        strstr(out_text, "{\"name\":\"note\",\"type\":\"text\",\"role\":\"text\"}"));
    ck_assert_ptr_nonnull(strstr(out_text, "\"role\":\"boolean\""));
    ck_assert_ptr_null(strstr(out_text, "{\"name\":\"id\""));
    ck_assert_ptr_nonnull(strstr(out_text, "\"guardrails\":[{"));
    ck_assert_int_eq(run("inspect", model, NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "data guardrails:"));
    /* predict: later years (an unseen date range), unseen cities and words just work */
    write_messy("later.csv", 20, 2150, false);
    const char *pred = path_in("pred.csv");
    code = run("predict", model, path_in("later.csv"), "-o", pred, NULL);
    ck_assert_msg(code == 0, "predict failed: %s", err_text);
    /* dates written day first where training had month first: an error naming line and column */
    write_messy("eu.csv", 40, 2019, true);
    ck_assert_int_eq(run("predict", model, path_in("eu.csv"), "-o", pred, NULL), 3);
    assert_err_has("column \"when\"");
    assert_err_has("eu.csv:");
}
END_TEST

START_TEST(column_types_and_drop)
{
    const char *model = path_in("typed.automl");
    write_messy("messy.csv", 200, 2019, false);
    int code = run("fit", path_in("messy.csv"), "--target", "y", "--learner", "logreg",
                   "--column-types", "x=category,member=text", "--drop", "note,leak", "-o",
                   model, NULL);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    ck_assert_int_eq(run("inspect", model, "--json", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "{\"name\":\"x\",\"type\":\"category\","
                                           "\"role\":\"category\"}"));
    ck_assert_ptr_nonnull(strstr(out_text, "\"role\":\"text\"}"));
    ck_assert_ptr_null(strstr(out_text, "{\"name\":\"note\""));
    ck_assert_ptr_null(strstr(out_text, "{\"name\":\"leak\""));
    /* bad overrides: an unknown column, an unknown type, a type the values cannot take */
    code = run("fit", path_in("messy.csv"), "--target", "y", "--column-types", "nosuch=text",
               "-o", model, NULL);
    ck_assert_int_eq(code, 3);
    assert_err_has("\"nosuch\"");
    code = run("fit", path_in("messy.csv"), "--target", "y", "--column-types", "x=colour",
               "-o", model, NULL);
    ck_assert_int_eq(code, 3);
    assert_err_has("numeric, category, boolean, datetime, text");
    code = run("fit", path_in("messy.csv"), "--target", "y", "--column-types", "city=numeric",
               "-o", model, NULL);
    ck_assert_int_eq(code, 3);
    assert_err_has("city");
    code = run("fit", path_in("messy.csv"), "--target", "y", "--drop", "y", "-o", model, NULL);
    ck_assert_int_eq(code, 3);
    assert_err_has("target");
    /* robust scaling is a choice; anything else is refused */
    code = run("fit", path_in("messy.csv"), "--target", "y", "--learner", "logreg", "--scaling",
               "robust", "-o", model, NULL);
    ck_assert_msg(code == 0, "fit failed: %s", err_text);
    code = run("fit", path_in("messy.csv"), "--target", "y", "--scaling", "minmax", "-o", model,
               NULL);
    ck_assert_int_eq(code, 3);
    assert_err_has("standard or robust");
}
END_TEST

/* Predict-time problems: a model fitted once, then fed bad files. */
START_TEST(bad_predict_input)
{
    const char *model = path_in("m.automl");
    write_text("train.csv", "age,color,y\n1,red,a\n2,blue,b\n3,red,a\n4,blue,b\n5,red,a\n"
                            "6,blue,b\n7,red,a\n8,blue,b\n9,red,a\n9,blue,b\n");
    ck_assert_int_eq(run("fit", path_in("train.csv"), "--target", "y", "--max-trials", "2",
                         "--cv", "2", "-o", model, NULL), 0);
    const char *out = path_in("pred.csv");

    write_text("missing.csv", "age\n1\n2\n");
    ck_assert_int_eq(run("predict", model, path_in("missing.csv"), "-o", out, NULL), 3);
    assert_err_has("\"color\"");
    assert_err_has("missing");

    write_text("retyped.csv", "age,color\n1,red\nabc,blue\n");
    ck_assert_int_eq(run("predict", model, path_in("retyped.csv"), "-o", out, NULL), 3);
    assert_err_has("retyped.csv:3:");
    assert_err_has("column \"age\"");
    assert_err_has("expected a number, got \"abc\"");
    ck_assert(!exists(out));

    write_text("unseen.csv", "color,age,extra\ngreen,3,x\nred,,y\n");
    ck_assert_int_eq(run("predict", model, path_in("unseen.csv"), "-o", out, NULL), 0);
    ck_assert(exists(out));
    ck_assert(no_temporary_files());
}
END_TEST

static void copy_prefix(const char *from, const char *to, long len, long flip_at)
{
    FILE *f = fopen(from, "rb");
    static unsigned char buf[1 << 20];
    long n = (long)fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (len > n)
        len = n;
    if (flip_at >= 0 && flip_at < len)
        buf[flip_at] ^= 0x5A;
    f = fopen(to, "wb");
    fwrite(buf, 1, (size_t)len, f);
    fclose(f);
}

START_TEST(bad_model_files)
{
    const char *model = path_in("m.automl");
    ck_assert_int_eq(run("fit", DATA "pima_diabetes_train.csv", "--target", "diabetes",
                         "--max-trials", "2", "-o", model, NULL), 0);
    struct stat st;
    stat(model, &st);
    const char *bad = path_in("bad.automl");

    copy_prefix(model, bad, st.st_size / 2, -1);
    ck_assert_int_eq(run("predict", bad, DATA "pima_diabetes_test.csv", NULL), 5);
    assert_err_has("bad.automl");

    copy_prefix(model, bad, st.st_size, st.st_size - 20);
    ck_assert_int_eq(run("inspect", bad, NULL), 5);
    assert_err_has("checksum");

    /* Format version 99 (bytes 8..11, little-endian). */
    copy_prefix(model, bad, st.st_size, -1);
    FILE *f = fopen(bad, "r+b");
    fseek(f, 8, SEEK_SET);
    fputc(99, f);
    fclose(f);
    ck_assert_int_eq(run("evaluate", bad, DATA "pima_diabetes_test.csv", NULL), 5);
    assert_err_has("newer");

    write_text("text.automl", "not a model\n");
    ck_assert_int_eq(run("inspect", path_in("text.automl"), NULL), 5);
    ck_assert_int_eq(run("inspect", path_in("nothing.automl"), NULL), 4);
}
END_TEST

START_TEST(usage_errors)
{
    ck_assert_int_eq(run(NULL), 2);
    ck_assert_int_eq(run("frobnicate", NULL), 2);
    ck_assert_int_eq(run("fit", NULL), 2);
    ck_assert_int_eq(run("fit", DATA "concrete_train.csv", NULL), 2);
    assert_err_has("--target");
    ck_assert_int_eq(run("predict", "model.automl", NULL), 2);
    ck_assert_int_eq(run("help", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out_text, "ridge"));
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("end_to_end");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fit_predict_evaluate_binary);
    tcase_add_test(tc, fit_json_is_one_object);
    tcase_add_test(tc, regression_and_inspect);
    tcase_add_test(tc, estimator_mode);
    tcase_add_test(tc, inspect_linear_coefficients);
    tcase_add_test(tc, same_seed_same_model_bytes);
    tcase_add_test(tc, time_budget_is_kept);
    tcase_add_test(tc, interrupt_keeps_best_model);
    tcase_add_test(tc, messy_table_guardrails);
    tcase_add_test(tc, column_types_and_drop);
    suite_add_tcase(s, tc);

    TCase *bad = tcase_create("bad_input");
    tcase_add_checked_fixture(bad, setup, teardown);
    tcase_set_timeout(bad, 60);
    tcase_add_loop_test(bad, bad_fit_input, 0, (int)(sizeof(bad_fit) / sizeof(bad_fit[0])));
    tcase_add_test(bad, duplicate_param);
    tcase_add_test(bad, dropped_target_rows_are_counted);
    tcase_add_test(bad, bad_predict_input);
    tcase_add_test(bad, bad_model_files);
    tcase_add_test(bad, usage_errors);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cli_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
