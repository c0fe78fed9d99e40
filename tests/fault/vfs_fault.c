/* vfs_fault.c — the fault-injecting SQLite VFS shim (see vfs_fault.h). Test code: it aborts
 * on its own out-of-memory, never on what SQLite asks of it. */
#include "tests/fault/vfs_fault.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR 512

/* One write or truncation not yet synced. */
typedef struct op {
    bool trunc;
    int64_t off;      /* write: where; trunc: the new size */
    int64_t len;      /* write: how many bytes */
    int64_t old_size; /* the file's size before the operation */
    uint8_t *old;     /* the bytes it replaced, old_len of them from off (trunc: from new size) */
    int64_t old_len;
    uint8_t *data; /* write: the bytes written */
} op;

/* A file whose unsynced operations are tracked, by path (it outlives each open handle). */
typedef struct track {
    char *path;
    op *ops;
    size_t n, cap;
    struct track *next;
} track;

typedef struct vf_file {
    sqlite3_file base;
    sqlite3_file *real; /* right after this struct, szOsFile of the real VFS */
    track *t;           /* NULL: not tracked (temp files) */
} vf_file;

static struct {
    sqlite3_vfs vfs;
    sqlite3_vfs *real;
    bool installed, paused;
    track *tracks;
    uint64_t syncs, ops, fail_at, failed;
    enum vf_fault fault;
    void (*hook)(void *, uint64_t);
    void *hook_ctx;
    uint64_t hook_at;
} g;

static void *
xalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "vfs_fault: out of memory\n");
        abort();
    }
    return p;
}

/* ---- fault injection ---- */

/* Counts one operation; true if it must fail. A write asks with is_write so that a full disk
 * fails writes only. */
static bool
fault(bool is_write, int *code, int io_code)
{
    if (g.paused)
        return false;
    uint64_t n = ++g.ops;
    if (g.fail_at == 0 || n < g.fail_at)
        return false;
    switch (g.fault) {
    case VF_FAULT_ONCE:
        if (n != g.fail_at)
            return false;
        *code = io_code;
        break;
    case VF_FAULT_PERSIST:
        *code = io_code;
        break;
    case VF_FAULT_FULL:
        if (!is_write)
            return false;
        *code = SQLITE_FULL;
        break;
    }
    g.failed++;
    return true;
}

/* ---- tracking ---- */

static track *
track_get(const char *path, bool create)
{
    for (track *t = g.tracks; t; t = t->next)
        if (strcmp(t->path, path) == 0)
            return t;
    if (!create)
        return NULL;
    track *t = xalloc(sizeof *t);
    memset(t, 0, sizeof *t);
    t->path = strdup(path);
    if (!t->path)
        abort();
    t->next = g.tracks;
    g.tracks = t;
    return t;
}

static void
track_clear(track *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->ops[i].old);
        free(t->ops[i].data);
    }
    t->n = 0;
}

static void
track_drop(const char *path)
{
    for (track **pp = &g.tracks; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->path, path) == 0) {
            track *t = *pp;
            *pp = t->next;
            track_clear(t);
            free(t->ops);
            free(t->path);
            free(t);
            return;
        }
}

static op *
track_push(track *t)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        op *no = realloc(t->ops, t->cap * sizeof *no);
        if (!no)
            abort();
        t->ops = no;
    }
    op *o = &t->ops[t->n++];
    memset(o, 0, sizeof *o);
    return o;
}

/* Reads [off, off + len) of the real file, as far as it exists, into a new buffer. */
static uint8_t *
read_old(sqlite3_file *real, int64_t off, int64_t len, int64_t size, int64_t *got)
{
    *got = 0;
    if (off >= size || len <= 0)
        return NULL;
    int64_t n = off + len <= size ? len : size - off;
    uint8_t *b = xalloc((size_t)n);
    if (real->pMethods->xRead(real, b, (int)n, off) != SQLITE_OK)
        memset(b, 0, (size_t)n); /* cannot happen on a file we just measured */
    *got = n;
    return b;
}

/* ---- io methods ---- */

static int
f_close(sqlite3_file *f)
{
    vf_file *p = (vf_file *)f;
    return p->real->pMethods->xClose(p->real);
}

static int
f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    vf_file *p = (vf_file *)f;
    int rc;
    if (fault(false, &rc, SQLITE_IOERR_READ))
        return rc;
    return p->real->pMethods->xRead(p->real, buf, n, off);
}

static int
f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    vf_file *p = (vf_file *)f;
    int rc;
    if (fault(true, &rc, SQLITE_IOERR_WRITE))
        return rc;
    if (!p->t || g.paused)
        return p->real->pMethods->xWrite(p->real, buf, n, off);
    sqlite3_int64 size;
    if ((rc = p->real->pMethods->xFileSize(p->real, &size)) != SQLITE_OK)
        return rc;
    op *o = track_push(p->t);
    o->off = off;
    o->len = n;
    o->old_size = size;
    o->old = read_old(p->real, off, n, size, &o->old_len);
    o->data = xalloc((size_t)n);
    memcpy(o->data, buf, (size_t)n);
    return p->real->pMethods->xWrite(p->real, buf, n, off);
}

static int
f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    vf_file *p = (vf_file *)f;
    int rc;
    if (fault(false, &rc, SQLITE_IOERR_TRUNCATE))
        return rc;
    if (!p->t || g.paused)
        return p->real->pMethods->xTruncate(p->real, size);
    sqlite3_int64 cur;
    if ((rc = p->real->pMethods->xFileSize(p->real, &cur)) != SQLITE_OK)
        return rc;
    op *o = track_push(p->t);
    o->trunc = true;
    o->off = size;
    o->old_size = cur;
    o->old = read_old(p->real, size, cur - size, cur, &o->old_len);
    return p->real->pMethods->xTruncate(p->real, size);
}

static int
f_sync(sqlite3_file *f, int flags)
{
    vf_file *p = (vf_file *)f;
    int rc;
    (void)flags;
    if (fault(false, &rc, SQLITE_IOERR_FSYNC))
        return rc;
    if (g.paused)
        return SQLITE_OK;
    uint64_t n = ++g.syncs;
    if (g.hook && (g.hook_at == 0 || g.hook_at == n)) {
        g.paused = true; /* the hook's own checks are not part of the workload */
        g.hook(g.hook_ctx, n);
        g.paused = false;
    }
    if (p->t)
        track_clear(p->t); /* durable now */
    return SQLITE_OK;      /* the real fsync is skipped: see vfs_fault.h */
}

static int
f_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    vf_file *p = (vf_file *)f;
    int rc;
    if (fault(false, &rc, SQLITE_IOERR_FSTAT))
        return rc;
    return p->real->pMethods->xFileSize(p->real, size);
}

static int
f_lock(sqlite3_file *f, int level)
{
    vf_file *p = (vf_file *)f;
    int rc;
    if (fault(false, &rc, SQLITE_IOERR_LOCK))
        return rc;
    return p->real->pMethods->xLock(p->real, level);
}

static int
f_unlock(sqlite3_file *f, int level)
{
    vf_file *p = (vf_file *)f;
    return p->real->pMethods->xUnlock(p->real, level);
}

static int
f_check_reserved(sqlite3_file *f, int *out)
{
    vf_file *p = (vf_file *)f;
    return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int
f_file_control(sqlite3_file *f, int op, void *arg)
{
    vf_file *p = (vf_file *)f;
    if (op == SQLITE_FCNTL_MMAP_SIZE) { /* no memory-mapped reads: every read is an xRead */
        *(sqlite3_int64 *)arg = 0;
        return SQLITE_OK;
    }
    return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int
f_sector_size(sqlite3_file *f)
{
    vf_file *p = (vf_file *)f;
    return p->real->pMethods->xSectorSize(p->real);
}

static int
f_device_characteristics(sqlite3_file *f)
{
    vf_file *p = (vf_file *)f;
    return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int
f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    vf_file *p = (vf_file *)f;
    int rc;
    if (fault(false, &rc, SQLITE_IOERR_SHMMAP)) {
        *pp = NULL;
        return rc;
    }
    return p->real->pMethods->xShmMap(p->real, pg, pgsz, extend, pp);
}

static int
f_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    vf_file *p = (vf_file *)f;
    return p->real->pMethods->xShmLock(p->real, off, n, flags);
}

static void
f_shm_barrier(sqlite3_file *f)
{
    vf_file *p = (vf_file *)f;
    p->real->pMethods->xShmBarrier(p->real);
}

static int
f_shm_unmap(sqlite3_file *f, int del)
{
    vf_file *p = (vf_file *)f;
    return p->real->pMethods->xShmUnmap(p->real, del);
}

static int
f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    (void)f, (void)off, (void)n;
    *pp = NULL; /* never mapped: SQLite reads with xRead instead */
    return SQLITE_OK;
}

static int
f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    (void)f, (void)off, (void)p;
    return SQLITE_OK;
}

static const sqlite3_io_methods methods = {
    3,
    f_close,
    f_read,
    f_write,
    f_truncate,
    f_sync,
    f_file_size,
    f_lock,
    f_unlock,
    f_check_reserved,
    f_file_control,
    f_sector_size,
    f_device_characteristics,
    f_shm_map,
    f_shm_lock,
    f_shm_barrier,
    f_shm_unmap,
    f_fetch,
    f_unfetch,
};

/* ---- vfs methods ---- */

static int
v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    vf_file *p = (vf_file *)f;
    int rc;
    (void)vfs;
    memset(p, 0, sizeof *p);
    if (fault(false, &rc, SQLITE_CANTOPEN))
        return rc;
    p->real = (sqlite3_file *)(p + 1);
    rc = g.real->xOpen(g.real, name, p->real, flags, out_flags);
    if (rc != SQLITE_OK || !p->real->pMethods) {
        if (p->real->pMethods)
            p->real->pMethods->xClose(p->real);
        return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
    }
    if (name && !g.paused &&
        (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)))
        p->t = track_get(name, true);
    p->base.pMethods = &methods;
    return SQLITE_OK;
}

static int
v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    int rc;
    (void)vfs;
    if (fault(false, &rc, SQLITE_IOERR_DELETE))
        return rc;
    track_drop(name);
    (void)sync_dir; /* no directory fsync: nothing here outlives a real power cut anyway */
    return g.real->xDelete(g.real, name, 0);
}

static int
v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    int rc;
    (void)vfs;
    if (fault(false, &rc, SQLITE_IOERR_ACCESS))
        return rc;
    return g.real->xAccess(g.real, name, flags, out);
}

static int
v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return g.real->xFullPathname(g.real, name, n, out);
}

static void *
v_dlopen(sqlite3_vfs *vfs, const char *p)
{
    (void)vfs;
    return g.real->xDlOpen(g.real, p);
}

static void
v_dlerror(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    g.real->xDlError(g.real, n, out);
}

static void (*v_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return g.real->xDlSym(g.real, h, sym);
}

static void
v_dlclose(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    g.real->xDlClose(g.real, h);
}

static int
v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return g.real->xRandomness(g.real, n, out);
}

static int
v_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return g.real->xSleep(g.real, us);
}

static int
v_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return g.real->xCurrentTime(g.real, out);
}

static int
v_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return g.real->xGetLastError(g.real, n, out);
}

static int
v_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return g.real->xCurrentTimeInt64(g.real, out);
}

int
vf_install(void)
{
    if (g.installed)
        return SQLITE_OK;
    int rc = sqlite3_initialize();
    if (rc != SQLITE_OK)
        return rc;
    if (!(g.real = sqlite3_vfs_find(NULL)))
        return SQLITE_ERROR;
    g.vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)sizeof(vf_file) + g.real->szOsFile,
        .mxPathname = g.real->mxPathname,
        .zName = "outpost-fault",
        .xOpen = v_open,
        .xDelete = v_delete,
        .xAccess = v_access,
        .xFullPathname = v_full_pathname,
        .xDlOpen = v_dlopen,
        .xDlError = v_dlerror,
        .xDlSym = v_dlsym,
        .xDlClose = v_dlclose,
        .xRandomness = v_randomness,
        .xSleep = v_sleep,
        .xCurrentTime = v_current_time,
        .xGetLastError = v_last_error,
        .xCurrentTimeInt64 = v_current_time_int64,
    };
    if ((rc = sqlite3_vfs_register(&g.vfs, 1)) != SQLITE_OK)
        return rc;
    g.installed = true;
    return SQLITE_OK;
}

void
vf_reset(void)
{
    while (g.tracks)
        track_drop(g.tracks->path);
    g.syncs = g.ops = g.fail_at = g.failed = 0;
    g.hook = NULL;
    g.hook_ctx = NULL;
    g.hook_at = 0;
    g.paused = false;
}

void
vf_pause(bool paused)
{
    g.paused = paused;
}

uint64_t
vf_syncs(void)
{
    return g.syncs;
}

void
vf_on_sync(void (*hook)(void *, uint64_t), void *ctx, uint64_t at)
{
    g.hook = hook;
    g.hook_ctx = ctx;
    g.hook_at = at;
}

uint64_t
vf_ops(void)
{
    return g.ops;
}

void
vf_fail_at(uint64_t n, enum vf_fault kind)
{
    g.fail_at = n;
    g.fault = kind;
}

uint64_t
vf_failed(void)
{
    return g.failed;
}

/* ---- crash images ---- */

static uint64_t
rng_next(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int
pwrite_all(int fd, const void *buf, size_t n, int64_t off)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Rewinds fd to the file's state at its last sync, then replays each operation as the crash
 * mode decides. */
static int
crash_apply(int fd, const track *t, enum vf_crash_mode mode, uint64_t seed)
{
    uint64_t s = seed;
    int rc;
    for (size_t i = t->n; i-- > 0;) {
        const op *o = &t->ops[i];
        if (o->trunc) {
            if (ftruncate(fd, (off_t)o->old_size) != 0)
                return -errno;
            if (o->old_len && (rc = pwrite_all(fd, o->old, (size_t)o->old_len, o->off)) != 0)
                return rc;
        } else {
            if (o->old_len && (rc = pwrite_all(fd, o->old, (size_t)o->old_len, o->off)) != 0)
                return rc;
            if (ftruncate(fd, (off_t)o->old_size) != 0)
                return -errno;
        }
    }
    for (size_t i = 0; i < t->n; i++) {
        const op *o = &t->ops[i];
        if (o->trunc) {
            bool apply = mode == VF_CRASH_APPLY || (mode == VF_CRASH_TORN && rng_next(&s) & 1);
            if (apply && ftruncate(fd, (off_t)o->off) != 0)
                return -errno;
            continue;
        }
        for (int64_t at = o->off; at < o->off + o->len;) {
            int64_t end = (at / SECTOR + 1) * SECTOR;
            if (end > o->off + o->len)
                end = o->off + o->len;
            unsigned fate = mode == VF_CRASH_APPLY  ? 0
                            : mode == VF_CRASH_DROP ? 1
                                                    : (unsigned)(rng_next(&s) % 5);
            /* torn: 2 in 5 applied, 2 in 5 dropped, 1 in 5 garbage */
            if (fate == 0 || fate == 2) {
                if ((rc = pwrite_all(fd, o->data + (at - o->off), (size_t)(end - at), at)) != 0)
                    return rc;
            } else if (fate == 4) {
                uint8_t junk[SECTOR];
                for (int64_t k = 0; k < end - at; k += 8) {
                    uint64_t v = rng_next(&s);
                    memcpy(junk + k, &v, (size_t)(end - at - k < 8 ? end - at - k : 8));
                }
                if ((rc = pwrite_all(fd, junk, (size_t)(end - at), at)) != 0)
                    return rc;
            }
            at = end;
        }
    }
    return 0;
}

int
vf_crash_copy(const char *src, const char *dst, enum vf_crash_mode mode, uint64_t seed)
{
    int in = open(src, O_RDONLY), out = -1, rc = 0;
    if (in < 0)
        return errno == ENOENT ? 0 : -errno;
    if ((out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0) {
        rc = -errno;
        goto out;
    }
    uint8_t buf[65536];
    int64_t off = 0;
    for (;;) {
        ssize_t n = pread(in, buf, sizeof buf, (off_t)off);
        if (n < 0) {
            rc = -errno;
            goto out;
        }
        if (n == 0)
            break;
        if ((rc = pwrite_all(out, buf, (size_t)n, off)) != 0)
            goto out;
        off += n;
    }
    const track *t = track_get(src, false);
    if (t)
        rc = crash_apply(out, t, mode, seed);
out:
    close(in);
    if (out >= 0)
        close(out);
    return rc;
}

int
vf_crash_in_place(enum vf_crash_mode mode, uint64_t seed)
{
    int rc = 0;
    for (const track *t = g.tracks; t && rc == 0; t = t->next) {
        int fd = open(t->path, O_RDWR);
        if (fd < 0)
            continue; /* deleted: deletions are durable here */
        rc = crash_apply(fd, t, mode, seed ^ (uint64_t)(uintptr_t)t->path[0]);
        close(fd);
    }
    return rc;
}
