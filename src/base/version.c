#include "pqfeed/pqfeed.h"

const char *pqf_version(void) { return PQF_VERSION; }
