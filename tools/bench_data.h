/*
 * bench_data.h — the entries `ingest` and `sync` time, read into memory before any timing,
 * the store_log_ingest of them into a fresh relay store, and the raw-SQLite baseline database
 * (store/db.c's entries table and pragmas) that `ingest` and `checkin` write beside outpost.
 */
#ifndef OUTPOST_TOOLS_BENCH_DATA_H
#define OUTPOST_TOOLS_BENCH_DATA_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/entry.h"
#include "store/db.h"
#include "store/log.h"

/* The column values of one entry, computed before any timing. */
typedef struct bench_entry {
    int64_t author; /* 1.. in the order the runs were read */
    proto_envelope env;
    uint8_t hash[PROTO_HASH_BYTES];
} bench_entry;

typedef struct bench_dataset {
    store_run *runs;
    size_t n_runs;
    bench_entry *rows; /* one per entry, in run order */
    size_t n_rows;
    uint64_t authors, env_bytes, body_bytes;
} bench_dataset;

/* Reads every run of every author in db, up to batch entries each, and decodes each entry.
 * Store codes; on failure d holds nothing. Free with bench_dataset_free. */
op_err bench_dataset_load(store_db *db, size_t batch, bench_dataset *d);

/* Frees what d holds and zeroes it; a zeroed d is fine. */
void bench_dataset_free(bench_dataset *d);

/* Entries of the RUN message that agent/session.c would send from items[0..n): at most 512
 * read at once, shrunk by 3/4 until the message fits a frame. */
size_t bench_frame_run_len(const proto_run_item *items, size_t n);

/* The times of one bench_dataset_ingest, in seconds. */
typedef struct bench_ingest_time {
    double ingest_s; /* the store_log_ingest calls alone */
    double total_s;  /* store_db_open .. store_db_close (the close checkpoints: durable) */
    double close_s;  /* store_db_close alone */
    size_t n_runs;   /* store_log_ingest calls */
    uint64_t stored; /* entries they stored */
} bench_ingest_time;

/* store_log_ingest of every run of d into a fresh relay store at path (removed first), with
 * received = now. With frame_runs, each run is cut into the runs one frame carries. 0, or
 * BENCH_EXIT_FAIL with a message. */
int bench_dataset_ingest(const char *path, const bench_dataset *d, bool frame_runs, uint64_t now,
                         bench_ingest_time *t);

/* The insert of one row into the baseline's entries table, 10 parameters in column order. */
extern const char bench_raw_insert_sql[];

/* A fresh database at path (removed first) with store_db_open's pragmas (synchronous=FULL when
 * durable, else NORMAL) and store/db.c's entries table. 0 and *out (close it with
 * sqlite3_close), or BENCH_EXIT_FAIL with a message. */
int bench_raw_open(const char *path, bool durable, sqlite3 **out);

#endif
