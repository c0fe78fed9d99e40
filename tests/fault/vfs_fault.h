/*
 * vfs_fault.h — a SQLite VFS shim for fault tests (TESTING A3, A4), modelled on SQLite's own
 * src/test6.c (crash simulation) and the I/O error injection behind its do_ioerr_test.
 *
 * The shim wraps the default ("unix") VFS and becomes the default itself, so the store's real
 * code (store_db_open and everything after it) runs on it unchanged.
 *
 * Crash simulation. Every write to a database, WAL or rollback journal goes to the real file at
 * once, and the shim keeps, per file, the ordered list of writes (and truncations) since that
 * file's last xSync, with the bytes each one replaced. xSync makes a file's list durable (it is
 * dropped; the real fsync is skipped, since nothing here survives a real power cut anyway).
 * At every xSync the test's hook runs first, before the sync takes effect: that is the crash
 * point. vf_crash_copy() then writes the file as a disk would hold it after a power cut at that
 * instant: the state at the file's last sync, plus each later write applied, dropped, or (in
 * torn mode) cut at 512-byte boundaries with each piece applied, dropped or filled with random
 * bytes. Bytes outside a write's range are never touched: the unix VFS reports
 * SQLITE_IOCAP_POWERSAFE_OVERWRITE and SQLite relies on it. Deleting or creating a file is
 * treated as durable at once (directory entries are not simulated).
 *
 * I/O errors. Every call of xOpen, xDelete, xAccess, xRead, xWrite, xSync, xTruncate,
 * xFileSize, xLock and xShmMap is counted; vf_fail_at(n, ...) makes the nth of them fail
 * (once, or that one and every later one), or only writes fail with SQLITE_FULL (a full disk).
 */
#ifndef OUTPOST_TESTS_FAULT_VFS_FAULT_H
#define OUTPOST_TESTS_FAULT_VFS_FAULT_H

#include <stdbool.h>
#include <stdint.h>

/* Registers the shim as the default VFS (once). 0 on success, else a SQLite code. */
int vf_install(void);

/* Forgets every tracked file and counter, clears hooks and faults. */
void vf_reset(void);

/* While paused the shim passes everything through: nothing is tracked, counted or failed and
 * no hook runs (for checks made from inside a hook). */
void vf_pause(bool paused);

/* xSync calls counted since vf_reset. */
uint64_t vf_syncs(void);
/* Calls hook(ctx, n) at xSync number `at` (1-based), before it takes effect; at 0: at every
 * xSync, n being its number. */
void vf_on_sync(void (*hook)(void *ctx, uint64_t n), void *ctx, uint64_t at);

enum vf_crash_mode {
    VF_CRASH_APPLY, /* every unsynced write reached the disk */
    VF_CRASH_DROP,  /* none did */
    VF_CRASH_TORN,  /* each 512-byte piece of each: applied, dropped or garbage (seeded) */
};
/* Writes dst as the file at src would be after a power cut now (see above). A src that does
 * not exist gives no dst. 0 on success, else -errno. */
int vf_crash_copy(const char *src, const char *dst, enum vf_crash_mode mode, uint64_t seed);
/* Puts every tracked file in that state in place (for a crash followed by _exit). */
int vf_crash_in_place(enum vf_crash_mode mode, uint64_t seed);

/* Operations counted since vf_reset (see above). */
uint64_t vf_ops(void);
enum vf_fault {
    VF_FAULT_ONCE,    /* the nth operation fails, the ones after it work */
    VF_FAULT_PERSIST, /* the nth and every later operation fails */
    VF_FAULT_FULL,    /* from the nth operation on, every write fails with SQLITE_FULL */
};
/* Arms a fault at operation n (counted from vf_reset); n = 0 disarms. */
void vf_fail_at(uint64_t n, enum vf_fault kind);
/* How many operations failed so far. */
uint64_t vf_failed(void);

#endif
