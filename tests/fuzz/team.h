/*
 * team.h — the fixed team of the "ingest" fuzz target and its seeds (header-only; include after
 * fuzz.h). Built with the real writers (store_log_append) in in-memory stores, with the
 * deterministic randomness of fuzz.h, so every build makes the very same bytes:
 *
 *   log 0  the office O: member O (office), member W1, member W2, revoke W2 after seq 3
 *   log 1  worker W1: a key entry, then check-ins (7 entries)
 *   log 2  W1's second device: W1's first two entries, then its own (a fork from seq 3)
 *   log 3  worker W2: a key entry, then check-ins (7 entries), revoked after seq 3
 */
#ifndef OUTPOST_TESTS_FUZZ_TEAM_H
#define OUTPOST_TESTS_FUZZ_TEAM_H

#include "store/db.h"
#include "store/log.h"
#include "store/reader.h"

#define T0 1764000000000ull
#define N_LOGS 4
#define REVOKE_SEQ 4 /* O's revoke entry */
#define REVOKED_AFTER 3
#define FORK_FROM 3 /* the two W1 logs differ from this seq on */

static store_identity ids[3]; /* O, W1, W2 */
static store_run pool[N_LOGS];
static const int log_author[N_LOGS] = {0, 1, 1, 2};
static const int log_branch[N_LOGS] = {0, 0, 1, 0};

static inline void
team_must(op_err r, const char *what)
{
    if (r != OP_OK) {
        fprintf(stderr, "fuzz team: %s: %s\n", what, op_strerror(r));
        abort();
    }
}

static inline void
team_node_open(const store_identity *id, bool office, store_db **db, store_reader **rd)
{
    team_must(store_db_open(":memory:", STORE_OPEN_CREATE, db), "open");
    team_must(store_db_meta_put_text(*db, "role", office ? "office" : "worker"), "role");
    team_must(store_db_meta_put_blob(*db, "office_key", ids[0].pk, PROTO_KEY_BYTES),
              "office_key");
    team_must(store_reader_new(id, rd), "reader");
}

static inline void
team_append(store_db *db, store_reader *rd, const store_identity *id, proto_body *b,
            uint64_t ts)
{
    store_appended a;
    team_must(store_log_append(db, rd, id, b, ts, &a), "append");
}

static inline void
team_checkin(store_db *db, store_reader *rd, const store_identity *id, uint64_t ts,
             const char *note)
{
    proto_body b;
    proto_body_init(&b, PROTO_KIND_CHECKIN);
    b.thriving = PROTO_YES;
    b.energy = 3;
    b.note = (char *)note;
    team_append(db, rd, id, &b, ts);
}

static inline void
team_member(store_db *db, store_reader *rd, const uint8_t *key, const char *name,
            const char *role, uint64_t ts)
{
    proto_body b;
    proto_body_init(&b, PROTO_KIND_MEMBER);
    b.has_key = true;
    memcpy(b.key, key, PROTO_KEY_BYTES);
    b.name = (char *)name;
    b.role = (char *)role;
    team_append(db, rd, &ids[0], &b, ts);
}

/* Builds ids[] and pool[]; call once, after fuzz_sodium_init. */
static inline void
team_build(void)
{
    store_db *db;
    store_reader *rd;
    store_ingested ing;
    proto_body b;
    const uint8_t tags[3] = {0x0f, 0x01, 0x02};

    fuzz_rng_reset(42);
    for (int i = 0; i < 3; i++) {
        if (!(ids[i].sk = sodium_malloc(PROTO_SECRET_BYTES)))
            abort();
        fuzz_keypair(tags[i], ids[i].pk, ids[i].sk);
    }
    team_node_open(&ids[0], true, &db, &rd);
    team_member(db, rd, ids[0].pk, "Office", "office", T0);
    team_member(db, rd, ids[1].pk, "Ann", "worker", T0 + 1000);
    team_member(db, rd, ids[2].pk, "Bo", "worker", T0 + 2000);
    proto_body_init(&b, PROTO_KIND_REVOKE);
    b.has_key = true;
    memcpy(b.key, ids[2].pk, PROTO_KEY_BYTES);
    b.after_seq = REVOKED_AFTER;
    team_append(db, rd, &ids[0], &b, T0 + 3000);
    team_must(store_log_read(db, ids[0].pk, 1, 100, &pool[0]), "read O");
    store_reader_free(rd);
    store_db_close(db);

    team_node_open(&ids[1], false, &db, &rd);
    for (int i = 0; i < 6; i++)
        team_checkin(db, rd, &ids[1], T0 + 10000 + 1000 * (uint64_t)i, "first device");
    team_must(store_log_read(db, ids[1].pk, 1, 100, &pool[1]), "read W1");
    store_reader_free(rd);
    store_db_close(db);

    team_node_open(&ids[1], false, &db, &rd);
    team_must(store_log_ingest(db, rd, pool[1].items, FORK_FROM - 1, T0 + 20000, &ing, NULL),
              "copy W1");
    for (int i = 0; i < 4; i++)
        team_checkin(db, rd, &ids[1], T0 + 30000 + 1000 * (uint64_t)i, "second device");
    team_must(store_log_read(db, ids[1].pk, 1, 100, &pool[2]), "read W1'");
    store_reader_free(rd);
    store_db_close(db);

    team_node_open(&ids[2], false, &db, &rd);
    for (int i = 0; i < 6; i++)
        team_checkin(db, rd, &ids[2], T0 + 40000 + 1000 * (uint64_t)i, "to be revoked");
    team_must(store_log_read(db, ids[2].pk, 1, 100, &pool[3]), "read W2");
    store_reader_free(rd);
    store_db_close(db);
    if (pool[0].n != REVOKE_SEQ || pool[2].n < FORK_FROM + 1) {
        fprintf(stderr, "fuzz team: unexpected log lengths\n");
        abort();
    }
}

#endif
