/* example_host.c — the README's example of a host program, built and run by the test suite so
 * the example cannot rot. Usage: example_host TRAIN.csv TARGET DATA.csv */
#include <stdio.h>
#include <stdlib.h>

#include <automl.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s TRAIN.csv TARGET DATA.csv\n", argv[0]);
        return 2;
    }
    automl_session *s = NULL;
    automl_model *m = NULL;
    if (automl_session_new(&s) != AUTOML_OK)
        return 1;
    automl_session_set(s, "target", argv[2]);
    automl_session_set(s, "time_budget", "10");
    automl_session_set(s, "max_trials", "8");
    automl_status st = automl_fit_csv(s, argv[1], &m);
    if (st == AUTOML_OK)
        st = automl_predict_csv(s, m, argv[3], "-", AUTOML_PREDICT_PROBA);
    if (st != AUTOML_OK)
        fprintf(stderr, "error: %s\n", automl_session_errmsg(s));
    else
        fprintf(stderr, "best learner: %s (%s = %g)\n", automl_model_learner(m),
                automl_model_metric(m), automl_model_best_score(m));
    automl_model_free(m);
    automl_session_free(s);
    return st == AUTOML_OK ? 0 : 1;
}
