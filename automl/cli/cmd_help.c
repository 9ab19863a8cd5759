/* cmd_help.c — `automl help [learner NAME]`, printed from the learners' parameter tables. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int learner_help(const char *name)
{
    for (int32_t i = 0; i < automl_learner_count(); i++) {
        if (strcmp(automl_learner_name(i), name))
            continue;
        printf("%s — %s\ntasks: %s\n", name, automl_learner_summary(i), automl_learner_tasks(i));
        if (!automl_learner_searched_by_default(i))
            printf("searched only when named: --learners %s,...\n", name);
        printf("\n");
        printf("%-16s %-5s %-10s %-22s %-22s %s\n", "parameter", "kind", "default", "valid",
               "searched", "meaning");
        for (int32_t j = 0; j < automl_learner_n_params(i); j++) {
            automl_param_info p;
            automl_learner_param(i, j, &p);
            printf("%-16s %-5s %-10s %-22s %-22s %s\n", p.key, p.kind, p.default_text, p.range,
                   p.search[0] ? p.search : "-", p.doc);
        }
        printf("\nuse: automl fit TRAIN.csv --target COL --learner %s --param key=value\n", name);
        return EXIT_OK;
    }
    return cli_usage_error("help", "unknown learner \"%s\"", name);
}

int cmd_help(int argc, char **argv)
{
    if (argc == 0) {
        cli_print_usage();
        return EXIT_OK;
    }
    if (argc == 2 && !strcmp(argv[0], "learner"))
        return learner_help(argv[1]);
    if (argc == 1 && !strcmp(argv[0], "learners")) {
        for (int32_t i = 0; i < automl_learner_count(); i++)
            printf("%-12s %-30s %s\n", automl_learner_name(i), automl_learner_tasks(i),
                   automl_learner_summary(i));
        return EXIT_OK;
    }
    return cli_usage_error("help", "usage: automl help [learner NAME | learners]");
}
