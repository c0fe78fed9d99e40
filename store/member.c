/* member.c — invitations, joining and admission (see member.h, SPEC §6). */
#include "store/member.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/view.h"

/* Copies a text column into out (size n), "" for NULL. */
static void
column_text(sqlite3_stmt *st, int i, char *out, size_t n)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    snprintf(out, n, "%s", t ? t : "");
}

/* meta office_key: *has is false when this node knows no office. */
static op_err
office_key(store_db *db, uint8_t key[PROTO_KEY_BYTES], bool *has)
{
    int len = 0;
    op_err r = store_db_meta_get(db, "office_key", key, PROTO_KEY_BYTES, &len);
    *has = r == OP_OK && len == PROTO_KEY_BYTES;
    return r == OP_E_NOTFOUND ? OP_OK : r;
}

static op_err
is_office_role(store_db *db, bool *yes)
{
    char role[16];
    op_err r = store_db_meta_get(db, "role", role, sizeof role, NULL);
    *yes = r == OP_OK && strcmp(role, "office") == 0;
    return r == OP_E_NOTFOUND ? OP_OK : r;
}

op_err
store_member_get(store_db *db, const uint8_t key[PROTO_KEY_BYTES], store_member *out)
{
    uint8_t office[PROTO_KEY_BYTES];
    bool has_office;
    sqlite3_stmt *st;
    op_err r;

    memset(out, 0, sizeof *out);
    if ((r = office_key(db, office, &has_office)) != OP_OK)
        return r;
    bool is_office = has_office && memcmp(office, key, PROTO_KEY_BYTES) == 0;
    if ((r = store_db_stmt(db,
                           "SELECT name, site, role, admitted, revoked_after FROM members"
                           " WHERE key = ?",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, key, PROTO_KEY_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        column_text(st, 0, out->name, sizeof out->name);
        column_text(st, 1, out->site, sizeof out->site);
        const char *role = (const char *)sqlite3_column_text(st, 2);
        out->admitted = (uint64_t)sqlite3_column_int64(st, 3);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL && !is_office) {
            out->state = STORE_MEMBER_REVOKED;
            out->revoked_after = (uint64_t)sqlite3_column_int64(st, 4);
        } else if (is_office || (role && strcmp(role, "office") == 0)) {
            out->state = STORE_MEMBER_OFFICE;
        } else {
            out->state = STORE_MEMBER_MEMBER; /* rows come from member (or revoke) entries */
        }
        rc = SQLITE_DONE;
    } else if (rc == SQLITE_DONE && is_office) {
        out->state = STORE_MEMBER_OFFICE; /* known from the invite before its log arrives */
    }
    sqlite3_reset(st);
    return store_db_code(rc);
}

op_err
store_member_invite_add(store_db *db, const uint8_t token[PROTO_INVITE_TOKEN_BYTES],
                        const char *name, const char *site, uint64_t now)
{
    uint8_t hash[PROTO_HASH_BYTES];
    sqlite3_stmt *st;
    op_err r;

    proto_hash(token, PROTO_INVITE_TOKEN_BYTES, hash);
    if ((r = store_db_begin(db, true)) != OP_OK)
        return r;
    if ((r = store_db_stmt(db,
                           "INSERT INTO invites(token_hash, name, site, created) VALUES(?,?,?,?)",
                           &st)) != OP_OK)
        goto fail;
    sqlite3_bind_blob(st, 1, hash, sizeof hash, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    if (site)
        sqlite3_bind_text(st, 3, site, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)now);
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    if (r != OP_OK)
        goto fail;
    return store_db_commit(db);
fail:
    store_db_rollback(db);
    return r;
}

/* Projects the office's member, revoke and erase entries this node holds (after office_key was set:
 * they were stored before without counting). Inside the caller's transaction. */
static op_err
project_office_log(store_db *db, const uint8_t office[PROTO_KEY_BYTES])
{
    sqlite3_stmt *st;
    op_err r = OP_OK;
    int rc;

    /* A statement of its own, not from the cache: store_view_project prepares others while
     * this one steps, and a full cache finalizes its oldest entry. */
    rc = sqlite3_prepare_v2(store_db_handle(db),
                            "SELECT e.author, e.seq, e.ts, e.kind, e.body FROM authors a"
                            " JOIN entries e ON e.author = a.id WHERE a.key = ? AND e.epoch = 0"
                            " AND e.kind IN (6, 7, 10) AND e.body IS NOT NULL ORDER BY e.id",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_code(rc);
    sqlite3_bind_blob(st, 1, office, PROTO_KEY_BYTES, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        proto_body b;
        op_err d =
            proto_body_decode((uint64_t)sqlite3_column_int64(st, 3), sqlite3_column_blob(st, 4),
                              (size_t)sqlite3_column_bytes(st, 4), &b);
        if (d == OP_OK)
            r = store_view_project(db, NULL, sqlite3_column_int64(st, 0),
                                   (uint64_t)sqlite3_column_int64(st, 1),
                                   (uint64_t)sqlite3_column_int64(st, 2), &b);
        proto_body_fini(&b);
        if (r != OP_OK)
            break; /* an invalid body is skipped, as on ingest; a store failure stops */
    }
    sqlite3_finalize(st);
    return r != OP_OK ? r : store_db_code(rc);
}

static op_err
add_peer(store_db *db, const char *addr, const uint8_t key[PROTO_KEY_BYTES], uint64_t now)
{
    sqlite3_stmt *st;
    op_err r;
    /* An address known already (say, added by hand without a key) now names the office. */
    if ((r = store_db_stmt(db,
                           "INSERT INTO peers(addr, key, added) VALUES(?, ?, ?)"
                           " ON CONFLICT(addr) DO UPDATE SET key = excluded.key",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, key, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)now);
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

op_err
store_member_join(store_db *db, store_reader *rd, const store_identity *id, const proto_invite *inv,
                  uint64_t now, store_joined *out)
{
    uint8_t office[PROTO_KEY_BYTES], hash[PROTO_HASH_BYTES], had[PROTO_HASH_BYTES];
    char name[PROTO_NAME_MAX_BYTES + 1] = "", site[PROTO_NAME_MAX_BYTES + 1] = "", seqtext[24];
    bool has_office, office_role;
    store_appended done;
    proto_body b;
    int len = 0;
    op_err r;

    memset(out, 0, sizeof *out);
    proto_body_init(&b, PROTO_KIND_JOIN);
    if ((r = is_office_role(db, &office_role)) != OP_OK ||
        (r = office_key(db, office, &has_office)) != OP_OK)
        goto out;
    if (office_role || memcmp(inv->office, id->pk, PROTO_KEY_BYTES) == 0) {
        r = OP_E_INVAL; /* an office does not join; it invites */
        goto out;
    }
    if (has_office && memcmp(office, inv->office, PROTO_KEY_BYTES) != 0) {
        r = OP_E_EXISTS; /* one team per node */
        goto out;
    }
    proto_hash(inv->token, PROTO_INVITE_TOKEN_BYTES, hash);
    r = store_db_meta_get(db, "join_token", had, sizeof had, &len);
    if (r != OP_OK && r != OP_E_NOTFOUND)
        goto out;
    if (r == OP_OK && has_office && len == (int)sizeof had && memcmp(had, hash, sizeof hash) == 0) {
        char seq[24] = "0";
        OP_IGNORE(store_db_meta_get(db, "join_seq", seq, sizeof seq, NULL)); /* 0: unknown */
        out->already = true;
        out->join_seq = strtoull(seq, NULL, 10);
        r = OP_OK;
        goto out;
    }

    /* The join entry first: it is what matters, and it is plaintext, so it does not depend on
     * the readers that office_key changes. */
    r = store_db_meta_get(db, "name", name, sizeof name, NULL);
    if (r != OP_OK && r != OP_E_NOTFOUND)
        goto out;
    r = store_db_meta_get(db, "site", site, sizeof site, NULL);
    if (r != OP_OK && r != OP_E_NOTFOUND)
        goto out;
    if (!(b.name = strdup(name)) || (site[0] && !(b.site = strdup(site)))) {
        r = OP_E_NOMEM;
        goto out;
    }
    if ((r = proto_join_proof_seal(inv->office, inv->token, id->pk, b.proof)) != OP_OK)
        goto out;
    b.has_proof = true;
    if ((r = store_log_append(db, rd, id, &b, now, &done)) != OP_OK)
        goto out;
    out->join_seq = done.seq;

    snprintf(seqtext, sizeof seqtext, "%llu", (unsigned long long)done.seq);
    if ((r = store_db_begin(db, true)) != OP_OK)
        goto out;
    if ((r = store_db_meta_put_blob(db, "office_key", inv->office, PROTO_KEY_BYTES)) != OP_OK ||
        (r = store_db_meta_put_blob(db, "join_token", hash, sizeof hash)) != OP_OK ||
        (r = store_db_meta_put_text(db, "join_seq", seqtext)) != OP_OK ||
        (r = project_office_log(db, inv->office)) != OP_OK)
        goto fail;
    for (size_t i = 0; i < inv->n_addrs; i++)
        if ((r = add_peer(db, inv->addrs[i], inv->office, now)) != OP_OK)
            goto fail;
    if ((r = store_db_commit(db)) != OP_OK)
        goto out;
    out->peers = inv->n_addrs;
    goto out;
fail:
    store_db_rollback(db);
out:
    proto_body_fini(&b);
    return r;
}

op_err
store_member_pending(store_db *db, store_join **out, size_t *n)
{
    sqlite3_stmt *st;
    store_join *v = NULL;
    size_t cap = 0, len = 0;
    op_err r;
    int rc;

    *out = NULL;
    *n = 0;
    if ((r = store_db_stmt(db,
                           "SELECT a.key, j.seq, j.ts, j.name, j.site, j.proof FROM joins j"
                           " JOIN authors a ON a.id = j.author"
                           " WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.key = a.key)"
                           " ORDER BY j.ts, j.author, j.seq",
                           &st)) != OP_OK)
        return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != PROTO_KEY_BYTES)
            continue; /* cannot happen: authors.key is always 32 bytes */
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_join *nv = realloc(v, ncap * sizeof *v);
            if (!nv) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        store_join *j = &v[len++];
        memset(j, 0, sizeof *j);
        memcpy(j->author, sqlite3_column_blob(st, 0), PROTO_KEY_BYTES);
        j->seq = (uint64_t)sqlite3_column_int64(st, 1);
        j->ts = (uint64_t)sqlite3_column_int64(st, 2);
        column_text(st, 3, j->name, sizeof j->name);
        column_text(st, 4, j->site, sizeof j->site);
        if (sqlite3_column_bytes(st, 5) == PROTO_JOIN_PROOF_BYTES)
            memcpy(j->proof, sqlite3_column_blob(st, 5), PROTO_JOIN_PROOF_BYTES);
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

/* Claims the invitation with this token hash for worker, in one durable transaction, and
 * reads its name and site. *claimed is false if there is no such invitation or another key
 * used it. Claiming again for the same worker succeeds: a crash between the claim and the
 * member entry must not lock that worker out. */
static op_err
claim_invite(store_db *db, const uint8_t hash[PROTO_HASH_BYTES],
             const uint8_t worker[PROTO_KEY_BYTES], uint64_t now, char *name, char *site,
             bool *claimed)
{
    sqlite3_stmt *st;
    op_err r;

    *claimed = false;
    if ((r = store_db_begin(db, true)) != OP_OK)
        return r;
    if ((r = store_db_stmt(db,
                           "UPDATE invites SET used_by = ?2, used_at = coalesce(used_at, ?3)"
                           " WHERE token_hash = ?1 AND (used_by IS NULL OR used_by = ?2)",
                           &st)) != OP_OK)
        goto fail;
    sqlite3_bind_blob(st, 1, hash, PROTO_HASH_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, worker, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)now);
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    if (r != OP_OK)
        goto fail;
    if (sqlite3_changes(store_db_handle(db)) != 1) {
        store_db_rollback(db);
        return OP_OK;
    }
    if ((r = store_db_stmt(db, "SELECT name, site FROM invites WHERE token_hash = ?", &st)) !=
        OP_OK)
        goto fail;
    sqlite3_bind_blob(st, 1, hash, PROTO_HASH_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        column_text(st, 0, name, PROTO_NAME_MAX_BYTES + 1);
        column_text(st, 1, site, PROTO_NAME_MAX_BYTES + 1);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    if ((r = store_db_code(rc)) != OP_OK)
        goto fail;
    if ((r = store_db_commit(db)) != OP_OK)
        return r;
    *claimed = true;
    return OP_OK;
fail:
    store_db_rollback(db);
    return r;
}

/* Admits one join if its proof holds; *done tells whether a member entry was written. */
static op_err
admit_one(store_db *db, store_reader *rd, const store_identity *id, const store_join *j,
          uint64_t now, bool *done)
{
    uint8_t token[PROTO_INVITE_TOKEN_BYTES], worker[PROTO_KEY_BYTES], hash[PROTO_HASH_BYTES];
    char name[PROTO_NAME_MAX_BYTES + 1], site[PROTO_NAME_MAX_BYTES + 1];
    store_member m;
    store_appended ap;
    proto_body b;
    bool claimed;
    op_err r;

    *done = false;
    proto_body_init(&b, PROTO_KIND_MEMBER);
    if ((r = store_member_get(db, j->author, &m)) != OP_OK)
        goto out;
    if (m.state != STORE_MEMBER_NONE) /* admitted by an earlier join in this round, or revoked */
        goto out;
    /* A proof that does not open, or that names another key (copied from someone else's join
     * entry), is not ours to act on: skipped, not an error. */
    if (proto_join_proof_open(id->sk, j->proof, token, worker) != OP_OK ||
        sodium_memcmp(worker, j->author, PROTO_KEY_BYTES) != 0)
        goto out;
    proto_hash(token, sizeof token, hash);
    if ((r = claim_invite(db, hash, j->author, now, name, site, &claimed)) != OP_OK || !claimed)
        goto out;
    memcpy(b.key, j->author, PROTO_KEY_BYTES);
    b.has_key = true;
    const char *s = site[0] ? site : j->site[0] ? j->site : NULL;
    if (!(b.name = strdup(name)) || !(b.role = strdup("worker")) || (s && !(b.site = strdup(s)))) {
        r = OP_E_NOMEM;
        goto out;
    }
    if ((r = store_log_append(db, rd, id, &b, now, &ap)) != OP_OK)
        goto out;
    *done = true;
out:
    sodium_memzero(token, sizeof token);
    proto_body_fini(&b);
    return r;
}

op_err
store_member_admit_pending(store_db *db, store_reader *rd, const store_identity *id, uint64_t now,
                           size_t *admitted)
{
    uint8_t office[PROTO_KEY_BYTES];
    bool has_office, office_role;
    store_join *joins = NULL;
    size_t n = 0;
    op_err r;

    *admitted = 0;
    if ((r = is_office_role(db, &office_role)) != OP_OK ||
        (r = office_key(db, office, &has_office)) != OP_OK)
        return r;
    if (!office_role || !has_office || memcmp(office, id->pk, PROTO_KEY_BYTES) != 0)
        return OP_OK; /* only the office admits */
    if ((r = store_member_pending(db, &joins, &n)) != OP_OK)
        return r;
    for (size_t i = 0; i < n; i++) {
        bool done;
        if (memcmp(joins[i].author, id->pk, PROTO_KEY_BYTES) == 0)
            continue;
        if ((r = admit_one(db, rd, id, &joins[i], now, &done)) != OP_OK)
            break;
        *admitted += done;
    }
    free(joins);
    return r;
}

op_err
store_member_refused(store_db *db, const uint8_t key[PROTO_KEY_BYTES], const char *why,
                     uint64_t at)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_stmt(db,
                           "INSERT INTO refusals(key, why, first, last, n)"
                           " VALUES(?1, ?2, ?3, ?3, 1) ON CONFLICT(key, why) DO UPDATE SET"
                           " first = min(first, excluded.first), last = max(last, excluded.last),"
                           " n = n + 1",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, key, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, why, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (int64_t)(at > INT64_MAX ? INT64_MAX : at));
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}
