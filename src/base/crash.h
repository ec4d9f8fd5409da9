/* Internal: named crash points for crash-safety tests.
 *
 * pqf__crashpoint("export.before-publish") kills the process with SIGKILL
 * when the environment variable PQF_CRASHPOINT names that point ("NAME", or
 * "NAME:N" for its N-th hit). Tests use it to stop a run at exactly the
 * moments a random kill -9 rarely hits; without the variable it costs one
 * cached getenv. */
#ifndef PQF_BASE_CRASH_H
#define PQF_BASE_CRASH_H

void pqf__crashpoint(const char *name);

#endif
