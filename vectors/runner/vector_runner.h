/* `ttrpc-conform vectors`: the golden vectors (vectors/<area>.json) against any implementation, run
 * as a testee process that speaks the testee protocol of vectors/README.md on its stdin and
 * stdout. Lives apart from the socket harness; conformance/harness/main.c only dispatches. */
#ifndef VECTOR_RUNNER_H
#define VECTOR_RUNNER_H

/* argv[0] is "vectors"; the options follow. Exit status: 0 every vector as expected, 1 some
 * vector failed (FAIL, ERROR, XPASS), 2 the run could not be made (usage, unreadable vector
 * files, a testee that never answers its hello). */
int tc_vectors_main(int argc, char **argv);

#endif
