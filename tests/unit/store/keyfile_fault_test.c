/*
 * keyfile_fault_test.c — store/keyfile.c when the system calls under it fail: write(2)
 * interrupted or short, the disk full or an I/O error mid-write, fsync(2) of the file or its
 * directory failing, link(2) refused, fstat(2) failing on read. write, fsync, link and fstat are
 * wrapped at link time (-Wl,--wrap, tests.cmake): each passes through to the real call unless
 * the test armed a failure for it. The files are real, in a fresh temporary directory.
 *
 * What it proves: each failure comes back as its own code (OP_E_DISK_FULL for ENOSPC, OP_E_IO
 * otherwise), an interrupted or short write still writes the whole key, and a write that failed
 * before the key was linked into place leaves neither the key nor its temporary file behind, so
 * that trying again works.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_test_util.h"

/* ---- the wraps ---- */

typedef struct armed {
    int skip;  /* calls to let through first */
    int fails; /* then this many fail (-1: all) */
    int err;   /* with this errno */
    int calls; /* calls seen */
} armed;

static armed w_write, w_fsync, w_link, w_fstat;
static size_t short_write; /* > 0: each write writes at most this many bytes */

ssize_t __real_write(int fd, const void *p, size_t n);
int __real_fsync(int fd);
int __real_link(const char *from, const char *to);
int __real_fstat(int fd, struct stat *st);

static bool
fail_now(armed *a)
{
    a->calls++;
    if (a->fails == 0 || a->skip-- > 0)
        return false;
    if (a->fails > 0)
        a->fails--;
    errno = a->err;
    return true;
}

ssize_t
__wrap_write(int fd, const void *p, size_t n)
{
    if (fail_now(&w_write))
        return -1;
    return __real_write(fd, p, short_write && n > short_write ? short_write : n);
}

int
__wrap_fsync(int fd)
{
    return fail_now(&w_fsync) ? -1 : __real_fsync(fd);
}

int
__wrap_link(const char *from, const char *to)
{
    return fail_now(&w_link) ? -1 : __real_link(from, to);
}

int
__wrap_fstat(int fd, struct stat *st)
{
    return fail_now(&w_fstat) ? -1 : __real_fstat(fd, st);
}

static int
reset(void **state)
{
    memset(&w_write, 0, sizeof w_write);
    memset(&w_fsync, 0, sizeof w_fsync);
    memset(&w_link, 0, sizeof w_link);
    memset(&w_fstat, 0, sizeof w_fstat);
    short_write = 0;
    return tu_setup(state);
}

/* ---- helpers ---- */

static const uint8_t secret[64] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};

static bool
exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Writing at dir/key fails with want, and leaves nothing there; with the fault gone, it works. */
static void
write_fails_cleanly(tu_fixture *f, op_err want)
{
    char *path = tu_path(f->dir, "key"), *tmp = tu_path(f->dir, "key.tmp");
    EXPECT(want, store_keyfile_write(path, secret, sizeof secret));
    assert_false(exists(path));
    assert_false(exists(tmp));
    memset(&w_write, 0, sizeof w_write);
    memset(&w_fsync, 0, sizeof w_fsync);
    memset(&w_link, 0, sizeof w_link);
    OK(store_keyfile_write(path, secret, sizeof secret));
    uint8_t back[sizeof secret];
    OK(store_keyfile_read(path, back, sizeof back));
    assert_memory_equal(back, secret, sizeof secret);
    free(path);
    free(tmp);
}

/* ---- tests ---- */

/* An interrupted write (EINTR) is retried, and short writes go on where they stopped: the key
 * file is whole. */
static void
interrupted_and_short_writes_complete(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, "key");
    w_write = (armed){.skip = 0, .fails = 1, .err = EINTR};
    short_write = 7;
    OK(store_keyfile_write(path, secret, sizeof secret));
    assert_true(w_write.calls > 10); /* 1 interrupted, then 7 bytes at a time */
    short_write = 0;
    uint8_t back[sizeof secret];
    OK(store_keyfile_read(path, back, sizeof back));
    assert_memory_equal(back, secret, sizeof secret);
    free(path);
}

static void
full_disk_is_disk_full(void **state)
{
    short_write = 10; /* the disk fills after the first piece */
    w_write = (armed){.skip = 1, .fails = -1, .err = ENOSPC};
    write_fails_cleanly(*state, OP_E_DISK_FULL);
}

static void
write_error_is_io(void **state)
{
    w_write = (armed){.fails = 1, .err = EIO};
    write_fails_cleanly(*state, OP_E_IO);
}

static void
fsync_error_is_io(void **state)
{
    w_fsync = (armed){.fails = 1, .err = EIO};
    write_fails_cleanly(*state, OP_E_IO);
}

/* link(2) refused for another reason than an existing file (EPERM: a file system without hard
 * links): an I/O error, not "exists". */
static void
link_refused_is_io(void **state)
{
    w_link = (armed){.fails = 1, .err = EPERM};
    write_fails_cleanly(*state, OP_E_IO);
}

/* The directory's fsync failing (after the key is linked into place): reported, and the key
 * that is there is whole. */
static void
directory_fsync_error_is_io(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, "key");
    w_fsync = (armed){.skip = 1, .fails = 1, .err = EIO};
    EXPECT(OP_E_IO, store_keyfile_write(path, secret, sizeof secret));
    assert_int_equal(w_fsync.calls, 2);
    uint8_t back[sizeof secret];
    OK(store_keyfile_read(path, back, sizeof back));
    assert_memory_equal(back, secret, sizeof secret);
    free(path);
}

/* fstat failing while reading: an I/O error, not "missing" or "malformed"; the identity too. */
static void
fstat_error_on_read_is_io(void **state)
{
    tu_fixture *f = *state;
    store_identity *id;
    OK(store_identity_create(f->dir, &id));
    store_identity_free(id);
    w_fstat = (armed){.fails = 1, .err = EIO};
    EXPECT(OP_E_IO, store_identity_load(f->dir, &id));
    assert_null(id);
    OK(store_identity_load(f->dir, &id));
    store_identity_free(id);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, reset, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(interrupted_and_short_writes_complete),
        T(full_disk_is_disk_full),
        T(write_error_is_io),
        T(fsync_error_is_io),
        T(link_refused_is_io),
        T(directory_fsync_error_is_io),
        T(fstat_error_on_read_is_io),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
