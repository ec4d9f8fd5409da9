/* Internal: a test hook for the file sink's direct I/O (src/base/stream.c).
 * 0 (default): normal. 1: the next file behaves as if the file system refused
 * O_DIRECT. 2: the next direct write fails with EINVAL as if the file system
 * accepted the flag but not the I/O (the hook then resets itself to 0). Both
 * must give buffered writes with the same bytes. Not thread-safe; tests only. */
#ifndef PQF_BASE_OSTREAM_FAULT_H
#define PQF_BASE_OSTREAM_FAULT_H

extern int pqf__ostream_direct_fault;
/* 1: the next pqf_ostream_create fails as if out of memory (the hook then
 * resets itself to 0). Not thread-safe; tests only. */
extern int pqf__ostream_create_fault;

#endif
