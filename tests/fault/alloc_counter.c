/* alloc_counter.c — see alloc_counter.h. */
#include "tests/fault/alloc_counter.h"

#include <msgpack.h>
#include <sqlite3.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#endif

fa_counter fa;

/* Where a failure is injected: a breakpoint for gdb (`break fa_injected`). */
__attribute__((noinline)) static void
fa_injected(void)
{
    __asm__ volatile("");
}

bool
fa_fail(bool abort_path)
{
    if (!fa.armed)
        return false;
    uint64_t n = ++fa.n;
    if (!fa.fail_at || !(n == fa.fail_at || (fa.persist && n > fa.fail_at)))
        return false;
    if (abort_path) {
        if (!fa.exempt++)
            fa.exempt_at = n;
        return false;
    }
    fa.failed++;
    fa_injected();
    return true;
}

char *__real_strdup(const char *s);
void *__real_sodium_malloc(size_t n);
msgpack_unpack_return __real_msgpack_unpack_next(msgpack_unpacked *r, const char *data, size_t len,
                                                 size_t *off);

void *
__wrap_malloc(size_t n)
{
    return fa_fail(false) ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t k, size_t n)
{
    return fa_fail(false) ? NULL : __real_calloc(k, n);
}

void *
__wrap_realloc(void *p, size_t n)
{
    return fa_fail(false) ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
    return fa_fail(false) ? NULL : __real_strdup(s);
}

void *
__wrap_sodium_malloc(size_t n)
{
    return fa_fail(false) ? NULL : __real_sodium_malloc(n);
}

msgpack_unpack_return
__wrap_msgpack_unpack_next(msgpack_unpacked *r, const char *data, size_t len, size_t *off)
{
    return fa_fail(false) ? MSGPACK_UNPACK_NOMEM_ERROR
                          : __real_msgpack_unpack_next(r, data, len, off);
}

static sqlite3_mem_methods sq_real;

static void *
sq_malloc(int n)
{
    return fa_fail(false) ? NULL : sq_real.xMalloc(n);
}

static void *
sq_realloc(void *p, int n)
{
    return fa_fail(false) ? NULL : sq_real.xRealloc(p, n);
}

bool
fa_install_sqlite(void)
{
    if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sq_real) != SQLITE_OK)
        return false;
    sqlite3_mem_methods m = sq_real;
    m.xMalloc = sq_malloc;
    m.xRealloc = sq_realloc;
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &m) == SQLITE_OK;
}

bool
fa_leak_free(void)
{
#ifdef HAVE_LSAN
    static unsigned long every, runs;
    if (!every) {
        const char *v = getenv("ALLOC_LEAK_EVERY");
        every = v && *v && strtoul(v, NULL, 10) ? strtoul(v, NULL, 10) : 20;
    }
    return ++runs % every != 0 || __lsan_do_recoverable_leak_check() == 0;
#else
    return true;
#endif
}
