/*
 * fault_util.h — what the fault tests share (TESTING A3-A5): a node opened the way the
 * `outpost` CLI opens it, the workload's appends (check-ins and KPI values with notes "c<i>",
 * through store_log_append as `outpost checkin` and `outpost kpi record` write them), and the
 * consistency check run after every crash or fault.
 */
#ifndef OUTPOST_TESTS_FAULT_FAULT_UTIL_H
#define OUTPOST_TESTS_FAULT_FAULT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/db.h"
#include "store/keyfile.h"
#include "store/reader.h"

typedef struct fu_node {
    store_db *db;
    store_identity *id;
    store_reader *rd;
} fu_node;

/* The office key every node opened with fu_open has joined (meta office_key, set on the first
 * open): by default a random one, made once per process. */
void fu_set_office(const uint8_t pk[PROTO_KEY_BYTES]);

/* Opens the node in dir as cli_node_open does (identity, database, reader, views). On failure
 * nothing stays open. */
op_err fu_open(fu_node *n, const char *dir, int flags);
void fu_close(fu_node *n);

/* Appends note i: a check-in, or every fifth a KPI value, with note "c<i>", written at ts. */
op_err fu_append(fu_node *n, int i, uint64_t ts);

/* What the workload knows of note i. */
enum { FU_NOT_TRIED = 0, FU_TRIED = 1, FU_ACKED = 2 };

typedef struct fu_expect {
    const uint8_t *state; /* per note index, FU_* */
    int n;
    bool prefix; /* no failed appends: the notes present are exactly c0..c(m-1) */
    bool resume; /* also append one more entry and check again */
} fu_expect;

/*
 * Opens the store in dir (identity from id_dir) with the real code and checks: PRAGMA
 * integrity_check is ok; every acknowledged note is there exactly once, no note that was not
 * tried is there, none twice; each entry is whole (its projection row is there, the author's
 * head and counters agree with the entries, every epoch in use has its key entry); and
 * store_verify finds no problem (the hash chain, signatures, bodies). With e->resume, a new
 * append must then succeed and the store verify again. Returns 0, or 1 with the reason in why.
 * *present (may be NULL) gets the number of notes present.
 */
int fu_check(const char *dir, const char *id_dir, const fu_expect *e, int *present, char *why,
             size_t why_len);

/* Removes the files a node's store may leave in dir (database, -wal, -shm, -journal). */
void fu_rm_store(const char *dir);
/* Copies a file: 0 (also when from is absent: nothing copied), -1 on an error. */
int fu_copy_file(const char *from, const char *to);
/* mkdir -p for one level; 0 or -errno. */
int fu_mkdir(const char *dir);
/* A fresh identity in dir (removing the old one and the store). */
op_err fu_fresh_node(const char *dir);

#endif
