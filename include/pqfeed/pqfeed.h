/* pqfeed — umbrella header. */
#ifndef PQFEED_PQFEED_H
#define PQFEED_PQFEED_H

#include "pqfeed/error.h"
#include "pqfeed/stream.h"
#include "pqfeed/schema.h"
#include "pqfeed/writer.h"

#define PQF_VERSION "0.1.0"

/* Library version string ("0.1.0"). */
const char *pqf_version(void);

#endif
