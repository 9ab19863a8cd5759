#include "automl.h"
unsigned automl_version(void) { return 0; }
