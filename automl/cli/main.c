/* main.c — the automl command line: a table of commands, argument parsing shared by them, and
 * the mapping from statuses to exit codes. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;

static const cli_command commands[] = {
    {"fit", cmd_fit, "search learners and hyperparameters on a CSV file, save the best model"},
    {"predict", cmd_predict, "predict with a saved model"},
    {"evaluate", cmd_evaluate, "score a saved model on a CSV file that holds the target"},
    {"inspect", cmd_inspect, "show what a model file holds"},
    {"help", cmd_help, "this text, or a learner's parameters: automl help learner NAME"},
};

void cli_print_usage(void)
{
    printf("automl %s — automated machine learning on CSV files\n\n", AUTOML_VERSION_STRING);
    printf("usage:\n"
           "  automl fit TRAIN.csv --target COL [--task auto|binary|multiclass|regression]\n"
           "             [--metric NAME] [--time-budget SECONDS] [--max-trials N]\n"
           "             [--exit-score X] [--patience N] [--learners a,b]\n"
           "             [--exclude-learners a,b] [--cv K | --holdout FRACTION] [--seed N]\n"
           "             [--threads N] [--max-bin N] [--column-types name=type,...]\n"
           "             [--drop a,b] [--scaling standard|robust] [-o MODEL] [--json]\n"
           "             [--verbose]\n"
           "  automl fit TRAIN.csv --target COL --learner NAME [--param key=value ...]\n"
           "  automl predict MODEL DATA.csv [-o PREDICTIONS.csv] [--proba] [--threads N]\n"
           "  automl evaluate MODEL DATA.csv [--json] [--threads N]\n"
           "  automl inspect MODEL [--json]\n"
           "  automl help [learner NAME]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  %-9s %s\n", commands[i].name, commands[i].summary);
    printf("\nlearners:");
    for (int32_t i = 0; i < automl_learner_count(); i++)
        printf(" %s", automl_learner_name(i));
    printf("\nmetrics: auc log_loss accuracy f1_macro (classification), rmse mae r2 "
           "(regression)\n");
    printf("\nexit codes: 0 success, 2 usage error, 3 bad data or configuration, 4 I/O error,\n"
           "            5 bad model file, 1 other failure (out of memory, no model in time)\n");
}

int cli_exit_code(automl_status st)
{
    switch (st) {
    case AUTOML_OK: return EXIT_OK;
    case AUTOML_ERR_ARG: return EXIT_USAGE;
    case AUTOML_ERR_CONFIG:
    case AUTOML_ERR_DATA:
    case AUTOML_ERR_NUMERIC: return EXIT_DATA;
    case AUTOML_ERR_IO: return EXIT_IO;
    case AUTOML_ERR_FORMAT: return EXIT_MODEL;
    default: return EXIT_FAILURE_OTHER;
    }
}

int cli_fail(automl_session *s, automl_status st)
{
    const char *msg = automl_session_errmsg(s);
    fprintf(stderr, "automl: error: %s\n", msg && *msg ? msg : automl_status_name(st));
    return cli_exit_code(st);
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "automl: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'automl help'%s%s)\n", command ? " for " : "", command ? command : "");
    va_end(ap);
    return EXIT_USAGE;
}

void cli_log(int level, const char *message, void *user)
{
    const bool *verbose = user;
    if (level == AUTOML_LOG_WARN)
        fprintf(stderr, "automl: warning: %s\n", message);
    else if (level == AUTOML_LOG_INFO || (verbose && *verbose))
        fprintf(stderr, "automl: %s\n", message);
}

static const cli_option *find_option(const cli_option *allowed, const char *name, size_t len)
{
    for (; allowed->name; allowed++)
        if (strlen(allowed->name) == len && !strncmp(allowed->name, name, len))
            return allowed;
    return NULL;
}

bool cli_parse(const char *command, int argc, char **argv, const cli_option *allowed,
               int max_pos, cli_args *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || !strcmp(arg, "-")) {
            if (out->n_pos >= max_pos || out->n_pos >= 8) {
                cli_usage_error(command, "unexpected argument \"%s\"", arg);
                return false;
            }
            out->pos[out->n_pos++] = arg;
            continue;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_option *opt = find_option(allowed, name, len);
        if (!opt) {
            cli_usage_error(command, "unknown option \"%s\"", arg);
            return false;
        }
        const char *value = NULL;
        if (opt->takes_value) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                cli_usage_error(command, "option \"%s\" needs a value", arg);
                return false;
            }
        } else if (eq) {
            cli_usage_error(command, "option \"--%s\" takes no value", opt->name);
            return false;
        }
        if (out->n_opt >= 64) {
            cli_usage_error(command, "too many options");
            return false;
        }
        out->opt_name[out->n_opt] = opt->name;
        out->opt_value[out->n_opt++] = value;
    }
    return true;
}

const char *cli_opt(const cli_args *a, const char *name)
{
    const char *v = NULL;
    for (int i = 0; i < a->n_opt; i++)
        if (!strcmp(a->opt_name[i], name))
            v = a->opt_value[i];
    return v;
}

bool cli_flag(const cli_args *a, const char *name)
{
    for (int i = 0; i < a->n_opt; i++)
        if (!strcmp(a->opt_name[i], name))
            return true;
    return false;
}

/* OpenMP threads that spin while they wait (libgomp's default) collapse on a busy machine: a
 * 2-thread gbdt fit measured 0.45 s with sleeping waits and 3.6–20 s with spinning ones when
 * another process shared the cores. The wait policy is read when the OpenMP runtime loads,
 * before main, so the only way to change it for this process is to run it again with the
 * variable set. A user who sets OMP_WAIT_POLICY keeps their choice. */
static void prefer_passive_waits(char **argv)
{
    if (getenv("OMP_WAIT_POLICY"))
        return;
    /* Under valgrind, /proc/self/exe is valgrind's tool: exec'ing it would end the run. */
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload"))
        return;
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the default policy. */
}

int main(int argc, char **argv)
{
    prefer_passive_waits(argv);
    if (argc < 2) {
        cli_print_usage();
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("automl %s\n", AUTOML_VERSION_STRING);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return cmd_help(0, argv + 2);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 2, argv + 2);
    return cli_usage_error(NULL, "unknown command \"%s\"", argv[1]);
}
