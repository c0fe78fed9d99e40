/* alloc_counter.h — one counter over every allocation the fault tests can fail (TESTING A5):
 * SQLite's (SQLITE_CONFIG_MALLOC), ours and libsodium's sodium_malloc (link-time wraps: the
 * target links with OP_ALLOC_WRAPS, tests/fault/tests.cmake), and msgpack-c's (it allocates
 * inside its shared library, out of a wrap's reach: msgpack_unpack_next is wrapped and counts as
 * one allocation). While armed, the Nth counted allocation fails once (transient) or every one
 * from N on (persistent). Used by alloc_fault, ops_fault and alloc_fault_loop. */
#ifndef OUTPOST_TESTS_FAULT_ALLOC_COUNTER_H
#define OUTPOST_TESTS_FAULT_ALLOC_COUNTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fa_counter {
    bool armed, persist;
    uint64_t n;       /* allocations counted since the counter was last reset */
    uint64_t fail_at; /* N: 0 fails none */
    uint64_t failed;  /* allocations failed */
    uint64_t exempt, exempt_at; /* let through: their caller aborts on failure (and the first N) */
} fa_counter;

extern fa_counter fa;

/* Counts one allocation; true if it is to fail. abort_path: its caller aborts on failure (libuv's
 * watcher array), so it is counted as exempt and let through instead. */
bool fa_fail(bool abort_path);

/* Puts the counter in front of SQLite's allocator; before sqlite3_initialize. False if SQLite
 * refused. */
bool fa_install_sqlite(void);

/* No leak so far (LeakSanitizer, every ALLOC_LEAK_EVERY calls, default 20; true without it). */
bool fa_leak_free(void);

/* The real allocators, behind the wraps (for an allocator handed to a library, e.g. libuv's). */
void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);

#endif
