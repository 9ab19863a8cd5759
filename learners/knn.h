/* knn.h — test-only entry points of the k-nearest-neighbours learner (learners/knn.c).
 *
 * Private to learners/knn.c and tests/test_knn.c: the tests use these to prove that their data
 * span more than one block in both directions, which is where blocking bugs live. */
#ifndef AM_KNN_H
#define AM_KNN_H

#include "internal.h"

/* The block geometry predict uses for a fitted knn model: query rows per block (the unit of
 * parallel work and of stop polling) and training rows per distance tile. Both depend on the
 * model only (n_neighbors, the training rows and the features), never on the thread count. */
void am_knn_blocks(const am_model *m, int64_t *query_rows, int64_t *train_rows);

#endif
