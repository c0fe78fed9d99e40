/*
 * gen_office.h — a synthetic home office for `outpost-bench office`: an office node's store as it
 * would be after `days` days with `members` field workers, built with the machinery of gen.h
 * (gen_run_append signs each entry; gen_pipeline signs logs on several threads and ingests
 * their runs with store_log_ingest, which verifies and projects them as the office would).
 *
 * The store must hold only what `outpost init --office` wrote: the office's log with its own
 * member entry. Then:
 *
 *   the office's log, in time order: a member entry (plaintext, role worker) for each member,
 *     the day before the first day, so every member is admitted; three KPI definitions
 *     (GEN_OFFICE_KPIS: tickets per day, summed; reply-hours per week, mean, at most 4;
 *     backlog per month, last value, at most 10); contacts with each member every 7 to 42 days;
 *     feedback to each member every 45 to 120 days. Bodies are encrypted as store_log_append
 *     would: contacts and definitions under the office's own epoch (sealed to the office),
 *     feedback under an epoch sealed to the office and the addressee; a new epoch when one is
 *     older than STORE_EPOCH_MAX_AGE_MS.
 *   member i's log (key: gen_author_key(seed, i)): per day one check-in (kind 1) in the
 *     morning, about three KPI values (kind 3) in the afternoon (one or two for tickets, one
 *     for reply-hours on nine days in ten, one for backlog), and now and then feedback to the
 *     office (kind 4); bodies encrypted under epochs sealed to the member and the office,
 *     renewed every 30 days (key entries, kind 8). Answers and values follow a per-member
 *     profile: most members thrive; a few struggle, a few dipped in their last days, and
 *     about 3 in 100 stopped writing 2 to 13 days before `now` (overdue and silent).
 *     Member i's runs are `sync_days` days of its entries each, received by the office a
 *     few minutes to hours after the run's last entry (never after `now`).
 *
 * Day 0 .. days-1 end on the UTC date of `now`; no entry is later than `now`. The contents
 * follow the seed; epoch keys and nonces are random (as in store_log_append).
 */
#ifndef OUTPOST_TOOLS_GEN_OFFICE_H
#define OUTPOST_TOOLS_GEN_OFFICE_H

#include <stdint.h>

#include "proto/entry.h"
#include "store/db.h"
#include "store/keyfile.h"
#include "store/reader.h"

#define GEN_OFFICE_KPIS 3
#define GEN_OFFICE_MEMBERS_MAX 100000
#define GEN_OFFICE_DAYS_MAX 3660
#define GEN_OFFICE_SYNC_DAYS_MAX 366
#define GEN_OFFICE_DAY_MS 86400000ull

/* The KPI ids the office defines, in order. */
extern const char *const gen_office_kpi_ids[GEN_OFFICE_KPIS];

typedef struct gen_office_opts {
    uint32_t members; /* 1..GEN_OFFICE_MEMBERS_MAX */
    uint32_t days;    /* 1..GEN_OFFICE_DAYS_MAX */
    uint64_t seed;
    uint64_t now; /* ms since the epoch: day days-1 is its UTC date */
    uint32_t
        sync_days; /* days of a member's entries per ingested run, 1..GEN_OFFICE_SYNC_DAYS_MAX */
    int threads;   /* signing threads for the members' logs, 1..16 */
    /* Called from the ingesting thread after each run (may be NULL); total is an estimate. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *ctx;
} gen_office_opts;

typedef struct gen_office_stats {
    uint64_t entries, runs, env_bytes, body_bytes;
    uint64_t kinds[PROTO_KIND_RECEIPT + 1]; /* entries written, by kind */
    uint64_t office_entries;                /* of them, in the office's log */
    uint32_t silent;                        /* members who stopped writing before now's day */
    double seconds, office_seconds;         /* wall time in all, and of the office's log */
} gen_office_stats;

/* Midnight (UTC, ms) of day 0 of o. */
uint64_t gen_office_first_day(const gen_office_opts *o);

/*
 * Writes the office's log and the members' logs described above into db, ingested through rd
 * (the office's reader: store_reader_new(office)). office is the node's identity (borrowed).
 * OP_E_INVAL for options out of range; OP_E_EXISTS unless db holds exactly the office's log at
 * seq 1; store codes. On failure what was ingested stays (the caller removes the store).
 */
OP_MUST_CHECK op_err gen_office_fill(store_db *db, store_reader *rd, const store_identity *office,
                                     const gen_office_opts *o, gen_office_stats *out);

#endif
