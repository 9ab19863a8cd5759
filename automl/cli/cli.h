/* cli.h — what the command files of the automl command line share. The CLI is a client of
 * automl.h and of nothing else in the project. */
#ifndef AM_CLI_H
#define AM_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "../automl.h"

/* Exit codes (a contract: scripts depend on them). */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_OTHER = 1, /* out of memory, cancelled, internal error */
    EXIT_USAGE = 2,
    EXIT_DATA = 3,   /* bad data or configuration */
    EXIT_IO = 4,
    EXIT_MODEL = 5   /* bad model file */
};

/* A parsed command line: options by name (without the leading dashes) and positional
 * arguments, in order. Repeated options keep every value (for --param). */
typedef struct cli_args {
    int n_pos;
    const char *pos[8];
    int n_opt;
    const char *opt_name[64];
    const char *opt_value[64]; /* NULL for a flag without a value */
} cli_args;

/* How a command accepts an option: with a value or as a bare flag. */
typedef struct cli_option {
    const char *name;
    bool takes_value;
} cli_option;

/* Parses argv against the allowed options; prints a usage error and returns false on an unknown
 * option, a missing value or too many positional arguments. */
bool cli_parse(const char *command, int argc, char **argv, const cli_option *allowed,
               int max_pos, cli_args *out);
const char *cli_opt(const cli_args *a, const char *name); /* last value, or NULL */
bool cli_flag(const cli_args *a, const char *name);

/* Prints "automl: error: <message>" and returns the exit code for the status. */
int cli_fail(automl_session *s, automl_status st);
int cli_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_exit_code(automl_status st);
/* Log callback printing INFO and WARN lines to standard error (DEBUG with verbose). */
void cli_log(int level, const char *message, void *user);

int cmd_fit(int argc, char **argv);
/* The model's data report, one line per check (fit and inspect print it). */
void cli_print_guardrails(FILE *out, const automl_model *m);
int cmd_predict(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_help(int argc, char **argv);
void cli_print_usage(void);

#endif
