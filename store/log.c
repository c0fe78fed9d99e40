/* log.c — append, ingest, have-vector and run reads (see log.h, SPEC §4). */
#include "store/log.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/seal.h"
#include "proto/time.h"
#include "store/erase.h"
#include "store/view.h"

typedef struct head {
    int64_t author;
    uint64_t seq;
    uint8_t hash[PROTO_HASH_BYTES];
    uint64_t last_seen; /* when this node last stored an entry of the author (its clock) */
} head;

static op_err
get_head(store_db *db, int64_t author, head *h)
{
    sqlite3_stmt *st;
    op_err r;
    memset(h, 0, sizeof *h);
    h->author = author;
    if ((r = store_db_stmt(db, "SELECT head_seq, head_hash, coalesce(last_seen, 0) FROM authors"
                               " WHERE id = ?", &st)) !=
        OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        h->seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (sqlite3_column_bytes(st, 1) == PROTO_HASH_BYTES)
            memcpy(h->hash, sqlite3_column_blob(st, 1), PROTO_HASH_BYTES);
        h->last_seen = (uint64_t)sqlite3_column_int64(st, 2);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return store_db_code(rc);
}

/* Stores the head, stored at `now`; live: the latest min(ts, now) of the entries just stored,
 * so that authors.live_at says when the author was last alive without trusting its clock
 * further than our own (the office's `team` and `alerts`). */
static op_err
put_head(store_db *db, const head *h, uint64_t now, uint64_t live)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_stmt(db,
                           "UPDATE authors SET head_seq = ?, head_hash = ?,"
                           " first_seen = coalesce(first_seen, ?3), last_seen = ?3,"
                           " live_at = max(coalesce(live_at, 0), ?5) WHERE id = ?4",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, (int64_t)h->seq);
    sqlite3_bind_blob(st, 2, h->hash, PROTO_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)now);
    sqlite3_bind_int64(st, 4, h->author);
    sqlite3_bind_int64(st, 5, (int64_t)(live > INT64_MAX ? INT64_MAX : live));
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

static op_err
insert_entry(store_db *db, int64_t author, const proto_envelope *e, const uint8_t hash[32],
             const uint8_t *env, size_t env_len, const uint8_t *body, size_t body_len,
             uint64_t now)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_stmt(db,
                           "INSERT INTO entries(id, author, seq, hash, kind, ts, epoch, envelope,"
                           " body, received) VALUES(?,?,?,?,?,?,?,?,?,?)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, STORE_ROWID(author, e->seq));
    sqlite3_bind_int64(st, 2, author);
    sqlite3_bind_int64(st, 3, (int64_t)e->seq);
    sqlite3_bind_blob(st, 4, hash, PROTO_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)e->kind);
    sqlite3_bind_int64(st, 6, (int64_t)(e->ts > INT64_MAX ? INT64_MAX : e->ts));
    sqlite3_bind_int64(st, 7, (int64_t)(e->epoch > INT64_MAX ? INT64_MAX : e->epoch));
    sqlite3_bind_blob(st, 8, env, (int)env_len, SQLITE_STATIC);
    if (body)
        sqlite3_bind_blob(st, 9, body, (int)body_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, (int64_t)now);
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

/* Signs and stores one entry of our own at h->seq + 1, written at ts and filed as received at
 * h->last_seen; advances h. */
static op_err
append_one(store_db *db, const store_identity *id, head *h, uint64_t kind, uint64_t epoch,
           const uint8_t *body, size_t body_len, uint64_t ts)
{
    proto_envelope e = {.seq = h->seq + 1, .ts = ts, .kind = kind, .epoch = epoch};
    uint8_t env[PROTO_ENVELOPE_MAX_BYTES], hash[PROTO_HASH_BYTES];
    size_t env_len;
    op_err r;

    if (e.seq > STORE_SEQ_MAX)
        return OP_E_TOOBIG;
    memcpy(e.author, id->pk, PROTO_KEY_BYTES);
    memcpy(e.prev, h->hash, PROTO_HASH_BYTES);
    proto_hash(body, body_len, e.body_hash);
    if ((r = proto_envelope_sign(&e, id->sk, env, sizeof env, &env_len)) != OP_OK)
        return r;
    proto_hash(env, env_len, hash);
    if ((r = insert_entry(db, h->author, &e, hash, env, env_len, body, body_len, h->last_seen)) !=
        OP_OK)
        return r;
    h->seq = e.seq;
    memcpy(h->hash, hash, PROTO_HASH_BYTES);
    return OP_OK;
}

/* The office's key (meta office_key); *known false while this node has joined no team. */
static op_err
office_key(store_db *db, uint8_t office[PROTO_KEY_BYTES], bool *known)
{
    int len = 0;
    op_err r = store_db_meta_get(db, "office_key", office, PROTO_KEY_BYTES, &len);
    *known = r == OP_OK && len == PROTO_KEY_BYTES;
    return r == OP_E_NOTFOUND ? OP_OK : r;
}

/* Who must be able to read a body (SPEC §6): this node, the office, and the addressee of
 * feedback (`extra`, may be NULL). Repeats are dropped; *tag names the set. */
#define MAX_READERS 3
static op_err
readers(store_db *db, const store_identity *id, const uint8_t *extra,
        uint8_t out[MAX_READERS][PROTO_KEY_BYTES], size_t *n, uint8_t tag[16])
{
    uint8_t office[PROTO_KEY_BYTES];
    bool known;
    op_err r = office_key(db, office, &known);
    if (r != OP_OK)
        return r;
    memcpy(out[0], id->pk, PROTO_KEY_BYTES);
    *n = 1;
    if (known && memcmp(office, id->pk, PROTO_KEY_BYTES) != 0)
        memcpy(out[(*n)++], office, PROTO_KEY_BYTES);
    bool repeat = false;
    for (size_t i = 0; extra && i < *n; i++)
        repeat |= memcmp(out[i], extra, PROTO_KEY_BYTES) == 0;
    if (extra && !repeat)
        memcpy(out[(*n)++], extra, PROTO_KEY_BYTES);
    crypto_generichash(tag, 16, out[0], *n * PROTO_KEY_BYTES, NULL, 0);
    return OP_OK;
}

/* The epoch in use for this set of readers and its key entry's time; epoch 0 if none. */
static op_err
epoch_for(store_db *db, int64_t author, const uint8_t tag[16], uint64_t *epoch, uint64_t *since)
{
    sqlite3_stmt *st;
    op_err r;
    *epoch = *since = 0;
    if ((r = store_db_stmt(db,
                           "SELECT o.epoch, e.ts FROM own_epochs o JOIN key_entries k"
                           " ON k.author = ?1 AND k.epoch = o.epoch JOIN entries e"
                           " ON e.id = (k.author << 32) | k.seq WHERE o.readers = ?2",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    sqlite3_bind_blob(st, 2, tag, 16, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *epoch = (uint64_t)sqlite3_column_int64(st, 0);
        *since = (uint64_t)sqlite3_column_int64(st, 1);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return store_db_code(rc);
}

/* Starts a new epoch for the readers: a fresh key sealed to each, published as a key entry,
 * numbered after every epoch this node has used. */
static op_err
new_epoch(store_db *db, store_reader *rd, const store_identity *id, head *h,
          uint8_t who[MAX_READERS][PROTO_KEY_BYTES], size_t n, const uint8_t tag[16],
          uint64_t ts, uint64_t *epoch)
{
    uint8_t key[PROTO_EPOCH_KEY_BYTES], buf[1024];
    proto_sealed sealed[MAX_READERS];
    proto_body kb;
    proto_wbuf w;
    sqlite3_stmt *st;
    op_err r;

    proto_body_init(&kb, PROTO_KIND_KEY);
    proto_epoch_key_new(key);
    if ((r = store_db_stmt(db, "SELECT coalesce(max(epoch), 0) + 1 FROM key_entries"
                               " WHERE author = ?", &st)) != OP_OK)
        goto out;
    sqlite3_bind_int64(st, 1, h->author);
    int rc = sqlite3_step(st);
    kb.epoch = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        r = store_db_code(rc);
        goto out;
    }
    kb.sealed = sealed;
    for (size_t i = 0; i < n; i++) {
        memcpy(sealed[i].reader, who[i], PROTO_KEY_BYTES);
        if ((r = proto_seal_epoch_key(who[i], key, sealed[i].box)) != OP_OK)
            goto out;
    }
    kb.n_sealed = n;
    proto_wbuf_init(&w, buf, sizeof buf);
    if ((r = proto_body_encode(&kb, &w)) != OP_OK ||
        (r = append_one(db, id, h, PROTO_KIND_KEY, 0, buf, w.len, ts)) != OP_OK ||
        (r = store_view_project(db, rd, h->author, h->seq, ts, &kb)) != OP_OK ||
        (r = store_db_stmt(db, "INSERT OR REPLACE INTO own_epochs(readers, epoch) VALUES(?, ?)",
                           &st)) != OP_OK)
        goto out;
    sqlite3_bind_blob(st, 1, tag, 16, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)kb.epoch);
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    if (r != OP_OK)
        goto out;
    store_reader_remember(rd, h->author, kb.epoch, key);
    *epoch = kb.epoch;
out:
    kb.sealed = NULL; /* on our stack, not the body's to free */
    kb.n_sealed = 0;
    proto_body_fini(&kb);
    sodium_memzero(key, sizeof key);
    return r;
}

/* Bodies every member must read are never encrypted (SPEC §4): the membership kinds, key
 * entries, receipts, erasures (every holder, relays too, must act on them), and the office's
 * KPI definitions (each worker needs the team's targets; a worker's own definitions stay sealed
 * to it and the office). */
static op_err
plaintext_body(store_db *db, const store_identity *id, uint64_t kind, bool *plain)
{
    uint8_t office[PROTO_KEY_BYTES];
    bool known;
    *plain = kind == PROTO_KIND_MEMBER || kind == PROTO_KIND_REVOKE || kind == PROTO_KIND_KEY ||
             kind == PROTO_KIND_JOIN || kind == PROTO_KIND_RECEIPT || kind == PROTO_KIND_ERASE;
    if (*plain || kind != PROTO_KIND_KPI_DEF)
        return OP_OK;
    op_err r = office_key(db, office, &known);
    *plain = known && memcmp(office, id->pk, PROTO_KEY_BYTES) == 0;
    return r;
}

/* The epoch to seal a body under: the one for its readers while it is younger than
 * STORE_EPOCH_MAX_AGE_MS, else a new one (a changed set of readers has no epoch yet). Both
 * times are this node's clock; one set back by up to PROTO_TIME_TOLERANCE_MS since the epoch
 * began keeps the epoch (a clock fixed by a few minutes must not start an epoch per write
 * burst), one set back further starts a new epoch (else an epoch begun under a clock a year
 * ahead would live 13 months). */
static op_err
pick_epoch(store_db *db, store_reader *rd, const store_identity *id, head *h,
           const uint8_t *extra, uint64_t ts, uint64_t *epoch)
{
    uint8_t who[MAX_READERS][PROTO_KEY_BYTES], tag[16];
    uint64_t since;
    size_t n;
    op_err r;
    if ((r = readers(db, id, extra, who, &n, tag)) != OP_OK ||
        (r = epoch_for(db, h->author, tag, epoch, &since)) != OP_OK)
        return r;
    if (*epoch != 0 && ts + PROTO_TIME_TOLERANCE_MS >= since &&
        (ts < since || ts - since <= STORE_EPOCH_MAX_AGE_MS))
        return OP_OK;
    return new_epoch(db, rd, id, h, who, n, tag, ts, epoch);
}

/* Whether key has been revoked (members.revoked_after; SPEC §6). */
static op_err
is_revoked(store_db *db, const uint8_t key[PROTO_KEY_BYTES], bool *yes)
{
    sqlite3_stmt *st;
    op_err r;
    *yes = false;
    if ((r = store_db_stmt(db,
                           "SELECT EXISTS (SELECT 1 FROM members WHERE key = ?"
                           " AND revoked_after IS NOT NULL)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, key, PROTO_KEY_BYTES, SQLITE_STATIC);
    return store_db_stmt_bool(st, yes);
}

op_err
store_log_append(store_db *db, store_reader *rd, const store_identity *id, const proto_body *b,
                 uint64_t ts, store_appended *out)
{
    return store_log_append_to(db, rd, id, b, NULL, ts, out);
}

op_err
store_log_append_to(store_db *db, store_reader *rd, const store_identity *id,
                    const proto_body *b, const uint8_t *also, uint64_t ts, store_appended *out)
{
    uint8_t *plain = NULL, *sealed = NULL;
    const uint8_t *key;
    uint64_t epoch = 0;
    int64_t author;
    proto_wbuf w;
    size_t n;
    head h;
    op_err r;

    memset(out, 0, sizeof *out);
    if (b->kind == PROTO_KIND_KEY)
        return OP_E_INVAL; /* key entries are made here, with their epoch */
    if (!(plain = sodium_malloc(PROTO_BODY_MAX_BYTES)) ||
        !(sealed = sodium_malloc(PROTO_BODY_MAX_BYTES))) {
        r = OP_E_NOMEM;
        goto out;
    }
    proto_wbuf_init(&w, plain, PROTO_BODY_MAX_BYTES - PROTO_SEAL_OVERHEAD);
    if ((r = proto_body_encode(b, &w)) != OP_OK)
        goto out;
    if ((r = store_db_begin(db, true)) != OP_OK)
        goto out;
    if ((r = store_db_author_id(db, id->pk, &author)) != OP_OK ||
        (r = get_head(db, author, &h)) != OP_OK)
        goto fail;
    if (also) {
        /* A revoked key's laptop may be in a thief's hands (TESTING C16): nothing new is
         * sealed to it, so no epoch that includes it is used again. */
        bool revoked;
        if ((r = is_revoked(db, also, &revoked)) != OP_OK)
            goto fail;
        if (revoked) {
            r = OP_E_REVOKED;
            goto fail;
        }
    }
    /* Our own entries are filed in the order written even if the clock steps back, so that
     * "newest first" lists show the one just written first. */
    h.last_seen = ts > h.last_seen ? ts : h.last_seen + 1;
    bool plain_body;
    if ((r = plaintext_body(db, id, b->kind, &plain_body)) != OP_OK)
        goto fail;
    if (plain_body) {
        if ((r = append_one(db, id, &h, b->kind, 0, plain, w.len, ts)) != OP_OK)
            goto fail;
    } else {
        if ((r = pick_epoch(db, rd, id, &h, also, ts, &epoch)) != OP_OK ||
            (r = store_reader_epoch_key(rd, db, author, epoch, &key)) != OP_OK ||
            (r = proto_seal_body(key, id->pk, h.seq + 1, b->kind, plain, w.len, sealed,
                                 PROTO_BODY_MAX_BYTES, &n)) != OP_OK ||
            (r = append_one(db, id, &h, b->kind, epoch, sealed, n, ts)) != OP_OK)
            goto fail;
    }
    if ((r = store_view_project(db, rd, author, h.seq, ts, b)) != OP_OK ||
        (r = put_head(db, &h, h.last_seen, ts < h.last_seen ? ts : h.last_seen)) != OP_OK)
        goto fail;
    if ((r = store_db_commit(db)) != OP_OK)
        goto out;
    out->seq = h.seq;
    memcpy(out->hash, h.hash, PROTO_HASH_BYTES);
    goto out;
fail:
    store_db_rollback(db);
out:
    sodium_free(plain); /* wipes the plaintext */
    sodium_free(sealed);
    return r;
}

/* The hash held at (author, seq) and whether its body is held, or OP_E_NOTFOUND. */
static op_err
held_entry(store_db *db, int64_t author, uint64_t seq, uint8_t out[PROTO_HASH_BYTES],
           bool *has_body)
{
    sqlite3_stmt *st;
    op_err r;
    *has_body = false;
    if ((r = store_db_stmt(db, "SELECT hash, body IS NOT NULL FROM entries WHERE id = ?", &st)) !=
        OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, STORE_ROWID(author, seq));
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == PROTO_HASH_BYTES) {
        memcpy(out, sqlite3_column_blob(st, 0), PROTO_HASH_BYTES);
        *has_body = sqlite3_column_int(st, 1) != 0;
        r = OP_OK;
    } else {
        r = rc == SQLITE_ROW || rc == SQLITE_DONE ? OP_E_NOTFOUND : store_db_code(rc);
    }
    sqlite3_reset(st);
    return r;
}

/* Stores the body of an entry held without one. */
static op_err
fill_body(store_db *db, int64_t author, uint64_t seq, const uint8_t *body, size_t len)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_stmt(db, "UPDATE entries SET body = ? WHERE id = ? AND body IS NULL", &st)) !=
        OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, STORE_ROWID(author, seq));
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

/*
 * Revocation (SPEC §4 rule 4, §6): if the author is revoked after seq R (members.revoked_after,
 * projected from the office's revoke entries), a run whose new entries, envs[first..n), go past
 * R is refused whole with OP_E_REVOKED; *where is the first entry above R.
 */
static op_err
check_revoked(store_db *db, const proto_envelope *envs, size_t first, size_t n, size_t *where)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_stmt(db,
                           "SELECT revoked_after FROM members WHERE key = ?"
                           " AND revoked_after IS NOT NULL",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, envs[0].author, PROTO_KEY_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return store_db_code(rc);
    }
    int64_t after = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    for (size_t k = first; k < n; k++)
        if (after < 0 || envs[k].seq > (uint64_t)after) {
            *where = k;
            return OP_E_REVOKED;
        }
    return OP_OK;
}

static op_err
record_fork(store_db *db, int64_t author, uint64_t seq, const proto_run_item *it, uint64_t now)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_stmt(db,
                           "INSERT INTO forks(author, seq, envelope, body, received)"
                           " SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM forks"
                           " WHERE author = ?1 AND seq = ?2 AND envelope = ?3)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    sqlite3_bind_blob(st, 3, it->env, (int)it->env_len, SQLITE_STATIC);
    if (it->body)
        sqlite3_bind_blob(st, 4, it->body, (int)it->body_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (int64_t)now);
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

/* Refuses a run that contradicts the log held (returns `why`), keeping the entry that proves
 * it in the forks table, in a transaction of its own. */
static op_err
refuse_fork(store_db *db, int64_t author, uint64_t seq, const proto_run_item *it, uint64_t now,
            op_err why)
{
    op_err r;
    store_db_rollback(db);
    if ((r = store_db_begin(db, false)) != OP_OK ||
        (r = record_fork(db, author, seq, it, now)) != OP_OK || (r = store_db_commit(db)) != OP_OK)
        return r;
    return why;
}

op_err
store_log_ingest(store_db *db, store_reader *rd, const proto_run_item *items, size_t n,
                 uint64_t now, store_ingested *out, size_t *bad)
{
    proto_envelope *envs = NULL;
    uint8_t(*hashes)[PROTO_HASH_BYTES] = NULL;
    uint8_t held[PROTO_HASH_BYTES];
    size_t i = 0, where = 0;
    uint64_t live = 0;
    bool counts; /* whether the author's records count here (store_view_author_counts) */
    int64_t author;
    head h;
    op_err r;

    memset(out, 0, sizeof *out);
    if (n == 0)
        return OP_OK;
    if (!(envs = malloc(n * sizeof *envs)) || !(hashes = malloc(n * sizeof *hashes))) {
        r = OP_E_NOMEM;
        goto out;
    }
    /* All the CPU work (decode, links, body hashes, one signature) before the transaction. */
    if ((r = proto_run_verify(items, n, envs, hashes, &where)) != OP_OK)
        goto out;
    if (envs[n - 1].seq > STORE_SEQ_MAX) {
        r = OP_E_TOOBIG;
        where = n - 1;
        goto out;
    }
    if ((r = store_db_begin(db, false)) != OP_OK)
        goto out;
    if ((r = store_db_author_id(db, envs[0].author, &author)) != OP_OK ||
        (r = get_head(db, author, &h)) != OP_OK)
        goto fail;
    if (envs[0].seq > h.seq + 1) {
        r = OP_E_GAP;
        goto fail;
    }
    /* Entries we hold already must be the very same entries. */
    for (i = 0; i < n && envs[i].seq <= h.seq; i++) {
        bool has_body;
        if ((r = held_entry(db, author, envs[i].seq, held, &has_body)) != OP_OK)
            goto fail;
        if (memcmp(held, hashes[i], PROTO_HASH_BYTES) != 0) {
            r = refuse_fork(db, author, envs[i].seq, &items[i], now, OP_E_FORK);
            out->evidence = r == OP_E_FORK;
            where = i;
            goto fail;
        }
        out->already++;
        if (!items[i].body || has_body)
            continue;
        /* It came before without its body (from a peer that did not hold it, or chose to
         * strip it). proto_run_verify matched this body to the signed body_hash: store and
         * project it now. Else the node could never read it: a revoke whose body a relay
         * withheld once would never take effect here (found by tests/fuzz/ingest.c). An erased
         * body stays erased, of a kind that may be erased only, as when an entry is stored
         * (below): a tombstone recorded before its entry was held (an office erasing ahead) must
         * not keep a key entry's body out, and with it every body of that epoch. */
        bool erased = false;
        if (store_erase_kind_ok(envs[i].kind) &&
            (r = store_erase_is(db, author, envs[i].seq, &erased)) != OP_OK) {
            where = i;
            goto fail;
        }
        if (erased)
            continue;
        if ((out->filled == 0 && (r = store_view_author_counts(db, author, &counts)) != OP_OK) ||
            (r = fill_body(db, author, envs[i].seq, items[i].body, items[i].body_len)) != OP_OK ||
            (r = store_view_apply(db, rd, author, counts, &envs[i], items[i].body,
                                  items[i].body_len)) != OP_OK) {
            where = i;
            goto fail;
        }
        out->filled++;
    }
    if (i == n) { /* all held: re-delivery changes nothing but bodies that were missing */
        if (out->filled == 0) {
            store_db_rollback(db);
            goto out;
        }
        r = store_db_commit(db);
        goto out;
    }
    /* (Re-deliveries, above, look it up only when they fill in a body.) */
    if ((r = check_revoked(db, envs, i, n, &where)) != OP_OK ||
        (out->filled == 0 && (r = store_view_author_counts(db, author, &counts)) != OP_OK))
        goto fail;
    /* (With nothing held, h.hash is zero, and so is the prev of seq 1: proto_run_verify.) */
    if (i == 0 && memcmp(envs[0].prev, h.hash, PROTO_HASH_BYTES) != 0) {
        /* The run is signed (its head) and chained, so its first entry is the author's word
         * that seq-1 was something else than what we hold: two logs, the evidence of a fork
         * (a copied laptop writing on), kept like one found at a held seq. */
        r = refuse_fork(db, author, envs[0].seq, &items[0], now, OP_E_CHAIN);
        out->evidence = r == OP_E_CHAIN;
        goto fail;
    }
    /* Bodies erased here already (the erase arrived first): the entries are stored without
     * them. One query for the run; one per entry only when it finds any. */
    bool erased_any;
    if ((r = store_erase_any(db, author, envs[i].seq, envs[n - 1].seq, &erased_any)) != OP_OK)
        goto fail;
    for (; i < n; i++) {
        const uint8_t *body = items[i].body;
        bool erased = false;
        if (body && erased_any && store_erase_kind_ok(envs[i].kind) &&
            (r = store_erase_is(db, author, envs[i].seq, &erased)) != OP_OK)
            goto fail;
        if (erased)
            body = NULL;
        if ((r = insert_entry(db, author, &envs[i], hashes[i], items[i].env, items[i].env_len,
                              body, body ? items[i].body_len : 0, now)) != OP_OK ||
            (r = store_view_apply(db, rd, author, counts, &envs[i], body,
                                  body ? items[i].body_len : 0)) != OP_OK) {
            where = i;
            goto fail;
        }
        out->stored++;
        uint64_t seen = envs[i].ts < now ? envs[i].ts : now;
        if (seen > live)
            live = seen;
    }
    h.seq = envs[n - 1].seq;
    memcpy(h.hash, hashes[n - 1], PROTO_HASH_BYTES);
    if ((r = put_head(db, &h, now, live)) != OP_OK)
        goto fail;
    if ((r = store_db_commit(db)) != OP_OK)
        goto out;
    goto out;
fail:
    store_db_rollback(db);
    /* Keys cached during the transaction may belong to author ids that the rollback freed. */
    store_reader_clear(rd);
    if (r == OP_E_GAP || r == OP_E_CHAIN)
        where = 0;
out:
    if (r != OP_OK)
        out->filled = 0; /* rolled back */
    if (r != OP_OK && r != OP_E_FORK)
        out->stored = out->already = 0;
    if (bad)
        *bad = where;
    free(envs);
    free(hashes);
    return r;
}

op_err
store_log_have(store_db *db, store_head **out, size_t *n)
{
    sqlite3_stmt *st;
    store_head *v = NULL;
    size_t cap = 0, len = 0;
    op_err r;
    int rc;

    *out = NULL;
    *n = 0;
    if ((r = store_db_stmt(db, "SELECT key, head_seq FROM authors WHERE head_seq > 0 ORDER BY key",
                           &st)) != OP_OK)
        return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            store_head *nv = realloc(v, ncap * sizeof *v);
            if (!nv) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        if (sqlite3_column_bytes(st, 0) != PROTO_KEY_BYTES) {
            rc = SQLITE_CORRUPT;
            break;
        }
        memcpy(v[len].author, sqlite3_column_blob(st, 0), PROTO_KEY_BYTES);
        v[len].seq = (uint64_t)sqlite3_column_int64(st, 1);
        len++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return store_db_code(rc);
    }
    *out = v;
    *n = len;
    return OP_OK;
}

op_err
store_log_read(store_db *db, const uint8_t author[PROTO_KEY_BYTES], uint64_t from, size_t max,
               store_run *out)
{
    sqlite3_stmt *st;
    size_t cap = 0, used = 0, n = 0;
    uint8_t *buf = NULL;
    size_t *offs = NULL; /* env off, env len, body off, body len (or SIZE_MAX) per item */
    op_err r;
    int rc;

    memset(out, 0, sizeof *out);
    if ((r = store_db_stmt(db,
                           "SELECT e.envelope, e.body FROM authors a JOIN entries e"
                           " ON e.id BETWEEN (a.id << 32) | ?2 AND (a.id << 32) | 4294967295"
                           " WHERE a.key = ?1 ORDER BY e.id LIMIT ?3",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, author, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)(from > STORE_SEQ_MAX ? STORE_SEQ_MAX : from));
    sqlite3_bind_int64(st, 3, max > INT64_MAX ? INT64_MAX : (int64_t)max);
    size_t ocap = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == ocap) { /* grown as rows come: max may be far more than the log holds */
            size_t ncap = ocap ? ocap * 2 : 64;
            size_t *no = realloc(offs, ncap * 4 * sizeof *offs);
            if (!no) {
                rc = SQLITE_NOMEM;
                break;
            }
            offs = no;
            ocap = ncap;
        }
        size_t el = (size_t)sqlite3_column_bytes(st, 0), bl = (size_t)sqlite3_column_bytes(st, 1);
        bool has_body = sqlite3_column_type(st, 1) != SQLITE_NULL;
        if (used + el + bl > cap) {
            size_t ncap = (cap ? cap * 2 : 64 * 1024) + el + bl;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                rc = SQLITE_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        offs[4 * n] = used;
        offs[4 * n + 1] = el;
        if (el)
            memcpy(buf + used, sqlite3_column_blob(st, 0), el);
        used += el;
        offs[4 * n + 2] = used;
        offs[4 * n + 3] = has_body ? bl : SIZE_MAX;
        if (bl)
            memcpy(buf + used, sqlite3_column_blob(st, 1), bl);
        used += bl;
        n++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        r = store_db_code(rc);
        goto fail;
    }
    if (!(out->items = calloc(n ? n : 1, sizeof *out->items))) {
        r = OP_E_NOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n; i++) { /* pointers only now: buf may have moved while growing */
        out->items[i].env = buf + offs[4 * i];
        out->items[i].env_len = offs[4 * i + 1];
        out->items[i].body = offs[4 * i + 3] == SIZE_MAX ? NULL : buf + offs[4 * i + 2];
        out->items[i].body_len = offs[4 * i + 3] == SIZE_MAX ? 0 : offs[4 * i + 3];
    }
    out->n = n;
    out->buf = buf;
    free(offs);
    return OP_OK;
fail:
    free(buf);
    free(offs);
    return r;
}

void
store_run_free(store_run *run)
{
    free(run->items);
    free(run->buf);
    run->items = NULL;
    run->buf = NULL;
    run->n = 0;
}
