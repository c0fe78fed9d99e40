/*
 * bench_data.c — entries read for timing, their ingest into a fresh relay store, and the
 * raw-SQLite baseline database (see bench_data.h).
 */
#include "tools/bench_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "proto/msg.h"
#include "store/reader.h"
#include "tools/bench_util.h"

void
bench_dataset_free(bench_dataset *d)
{
    for (size_t i = 0; i < d->n_runs; i++)
        store_run_free(&d->runs[i]);
    free(d->runs);
    free(d->rows);
    memset(d, 0, sizeof *d);
}

op_err
bench_dataset_load(store_db *db, size_t batch, bench_dataset *d)
{
    store_head *have = NULL;
    size_t n_have = 0, cap = 0;
    op_err r;

    memset(d, 0, sizeof *d);
    if ((r = store_log_have(db, &have, &n_have)) != OP_OK)
        return r;
    d->authors = n_have;
    for (size_t a = 0; a < n_have; a++) {
        for (uint64_t from = 1; from <= have[a].seq;) {
            if (d->n_runs == cap) {
                size_t ncap = cap ? 2 * cap : 1024;
                store_run *nr = realloc(d->runs, ncap * sizeof *nr);
                if (!nr) {
                    r = OP_E_NOMEM;
                    goto out;
                }
                d->runs = nr;
                cap = ncap;
            }
            store_run *run = &d->runs[d->n_runs];
            if ((r = store_log_read(db, have[a].author, from, batch, run)) != OP_OK)
                goto out;
            if (run->n == 0) {
                store_run_free(run);
                break;
            }
            d->n_runs++;
            d->n_rows += run->n;
            from += run->n;
        }
    }
    if (!(d->rows = calloc(d->n_rows ? d->n_rows : 1, sizeof *d->rows))) {
        r = OP_E_NOMEM;
        goto out;
    }
    size_t k = 0;
    int64_t author_id = 0;
    for (size_t i = 0; i < d->n_runs; i++) {
        const store_run *run = &d->runs[i];
        for (size_t j = 0; j < run->n; j++, k++) {
            const proto_run_item *it = &run->items[j];
            if ((r = proto_envelope_decode(it->env, it->env_len, &d->rows[k].env)) != OP_OK)
                goto out;
            if (j == 0 && (k == 0 || memcmp(d->rows[k].env.author, d->rows[k - 1].env.author,
                                            PROTO_KEY_BYTES) != 0))
                author_id++;
            d->rows[k].author = author_id;
            proto_hash(it->env, it->env_len, d->rows[k].hash);
            d->env_bytes += it->env_len;
            d->body_bytes += it->body_len;
        }
    }
out:
    free(have);
    if (r != OP_OK)
        bench_dataset_free(d);
    return r;
}

size_t
bench_frame_run_len(const proto_run_item *items, size_t n)
{
    size_t k = n < 512 ? n : 512;
    while (k > 1 && proto_msg_run_size(items, k) > PROTO_FRAME_MAX_BYTES)
        k = k * 3 / 4;
    return k;
}

int
bench_dataset_ingest(const char *path, const bench_dataset *d, bool frame_runs, uint64_t now,
                     bench_ingest_time *t)
{
    store_db *db = NULL;
    store_reader *rd = NULL;
    op_err r = OP_OK;
    size_t i = 0, bad = 0;

    memset(t, 0, sizeof *t);
    bench_remove_db(path);
    double t_open = bench_mono();
    if ((r = store_db_open(path, STORE_OPEN_CREATE, &db)) != OP_OK)
        return bench_fail("cannot create %s: %s", path, op_strerror(r));
    if ((r = store_reader_new(NULL, &rd)) != OP_OK) {
        store_db_close(db);
        return bench_fail("store_reader_new: %s", op_strerror(r));
    }
    double t0 = bench_mono();
    for (; i < d->n_runs && r == OP_OK; i++) {
        const proto_run_item *it = d->runs[i].items;
        for (size_t off = 0, k; off < d->runs[i].n && r == OP_OK; off += k) {
            store_ingested ing;
            k = frame_runs ? bench_frame_run_len(it + off, d->runs[i].n - off) : d->runs[i].n - off;
            /* Each run received a moment after the one before, as by an agent (a constant
             * time would file every entry of the receive-time index out of order). */
            r = store_log_ingest(db, rd, it + off, k, now + t->n_runs, &ing, &bad);
            t->n_runs++;
            if (r == OP_OK)
                t->stored += ing.stored;
        }
    }
    t->ingest_s = bench_mono() - t0;
    store_reader_free(rd);
    double t1 = bench_mono();
    store_db_close(db);
    t->total_s = bench_mono() - t_open;
    t->close_s = bench_mono() - t1;
    if (r != OP_OK) /* the loop moved past the run that failed */
        return bench_fail("store_log_ingest of run %zu (entry %zu) failed: %s", i - 1, bad,
                          op_strerror(r));
    return 0;
}

const char bench_raw_insert_sql[] = "INSERT INTO entries(id, author, seq, hash, kind, ts, epoch,"
                                    " envelope, body, received) VALUES(?,?,?,?,?,?,?,?,?,?)";

static const char entries_ddl[] =
    "CREATE TABLE entries("
    "  id INTEGER PRIMARY KEY, author INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  hash BLOB NOT NULL, kind INTEGER NOT NULL, ts INTEGER NOT NULL, epoch INTEGER NOT NULL,"
    "  envelope BLOB NOT NULL, body BLOB, received INTEGER NOT NULL);";

int
bench_raw_open(const char *path, bool durable, sqlite3 **out)
{
    sqlite3 *h = NULL;
    char sql[512];
    bench_remove_db(path);
    int rc = sqlite3_open_v2(
        path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;"
             " PRAGMA secure_delete=ON; %s",
             durable ? "FULL" : "NORMAL", entries_ddl);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int r =
            bench_fail("cannot create %s: %s", path, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return r;
    }
    *out = h;
    return 0;
}
