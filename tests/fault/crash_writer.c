/*
 * crash_writer.c — the process that tests/fault/crash_test.py kills with SIGKILL (TESTING A1).
 *
 *   crash_writer DIR RUN [MAX]   opens (creating if missing) the identity and store in DIR and
 *                                appends check-ins with notes "w<RUN>-<i>", i = 0, 1, ... (at
 *                                most MAX, default unlimited). After each append returned OP_OK
 *                                (that is, after COMMIT and its fsync) it prints "ack <note>"
 *                                and flushes, so every acknowledged note must survive the kill.
 *   crash_writer --check DIR     prints "note <note>" for every check-in in the projection, then
 *                                "entries N checkin_entries N checkins N problems N" and any
 *                                store_verify problems as "problem ..." lines. Exit 0 if the
 *                                store opened and verified with no problems, 1 otherwise.
 *
 * Exit codes: 0 ok, 1 a check failed, 2 usage, 3 a store call failed (with a stderr line).
 */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "proto/seal.h"
#include "store/db.h"
#include "store/keyfile.h"
#include "store/log.h"
#include "store/reader.h"
#include "store/verify.h"

static int
fail(const char *what, op_err r)
{
    fprintf(stderr, "crash_writer: %s: %s\n", what, op_strerror(r));
    return 3;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
write_loop(const char *dir, const char *run, unsigned long long max)
{
    char path[PATH_MAX];
    store_identity *id = NULL;
    store_reader *rd = NULL;
    store_db *db = NULL;
    int rc = 0;
    op_err r;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "crash_writer: mkdir %s: %s\n", dir, strerror(errno));
        return 3;
    }
    /* A kill during an earlier first start may have left no key (the key file is written
     * atomically, so it is there whole or not at all). */
    r = store_identity_load(dir, &id);
    if (r == OP_E_NOTFOUND)
        r = store_identity_create(dir, &id);
    if (r != OP_OK)
        return fail("identity", r);
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    if ((r = store_db_open(path, STORE_OPEN_CREATE, &db)) != OP_OK) {
        rc = fail("open", r);
        goto out;
    }
    if ((r = store_reader_new(id, &rd)) != OP_OK) {
        rc = fail("reader", r);
        goto out;
    }
    for (unsigned long long i = 0; max == 0 || i < max; i++) {
        char note[64];
        proto_body b;
        store_appended ap;
        snprintf(note, sizeof note, "w%s-%llu", run, i);
        proto_body_init(&b, PROTO_KIND_CHECKIN);
        b.thriving = PROTO_YES;
        b.energy = 3;
        b.note = note; /* borrowed: no fini */
        if ((r = store_log_append(db, rd, id, &b, now_ms(), &ap)) != OP_OK) {
            rc = fail("append", r);
            goto out;
        }
        /* Only now is the entry durable: acknowledge it. */
        printf("ack %s\n", note);
        fflush(stdout);
    }
out:
    store_reader_free(rd);
    store_db_close(db);
    store_identity_free(id);
    return rc;
}

static void
on_problem(void *ctx, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, op_err e,
           const char *what)
{
    char key[PROTO_KEY_TEXT_BYTES] = "-"; /* no author: the database as a whole */
    (void)ctx;
    if (author)
        proto_key_to_text(author, key);
    printf("problem %s seq %llu %s: %s\n", key, (unsigned long long)seq, op_errname(e), what);
}

static int64_t
one_int(store_db *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(store_db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int
check(const char *dir)
{
    char path[PATH_MAX];
    store_db *db = NULL;
    sqlite3_stmt *st;
    store_verified v;
    op_err r;
    int rc;

    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    if ((r = store_db_open(path, 0, &db)) != OP_OK)
        return fail("open for check", r);
    if (sqlite3_prepare_v2(store_db_handle(db), "SELECT note FROM checkins ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "crash_writer: %s\n", store_db_errmsg(db));
        store_db_close(db);
        return 3;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        printf("note %s\n", t ? (const char *)t : "(null)");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "crash_writer: reading check-ins: %s\n", store_db_errmsg(db));
        store_db_close(db);
        return 3;
    }
    store_verify_cb cb = {NULL, on_problem, NULL};
    if ((r = store_verify(db, &cb, &v)) != OP_OK) {
        store_db_close(db);
        return fail("verify", r);
    }
    printf("entries %lld checkin_entries %lld checkins %lld problems %llu\n",
           (long long)one_int(db, "SELECT count(*) FROM entries"),
           (long long)one_int(db, "SELECT count(*) FROM entries WHERE kind = 1"),
           (long long)one_int(db, "SELECT count(*) FROM checkins"), (unsigned long long)v.problems);
    store_db_close(db);
    return v.problems == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "crash_writer: libsodium failed to initialise\n");
        return 3;
    }
    if (argc == 3 && strcmp(argv[1], "--check") == 0)
        return check(argv[2]);
    if (argc == 3 || argc == 4) {
        unsigned long long max = argc == 4 ? strtoull(argv[3], NULL, 10) : 0;
        return write_loop(argv[1], argv[2], max);
    }
    fprintf(stderr, "usage: crash_writer DIR RUN [MAX] | crash_writer --check DIR\n");
    return 2;
}
