/* node.c — outpostd's node: listener, dialer, control socket, relaying (see node.h). */
#include "agent/node.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent/conn.h"
#include "agent/log.h"
#include "proto/seal.h"
#include "proto/time.h"
#include "store/have.h"
#include "store/log.h"
#include "store/member.h"
#include "store/view.h"

/* Statements here bind with SQLITE_STATIC: each is stepped and reset while what it binds is
 * alive, and store_db_stmt clears the bindings on the next fetch. A SQLITE_TRANSIENT bind
 * copies, so it can fail for memory, and unchecked it left the parameter NULL: the revocation
 * check then found no row and let a revoked key in, and `--once HOST:PORT` matched every peer
 * and skipped the pinned key (tests/fault/README.md, A5 through the event loop). */

/* OUTPOST_CLOCK_OFFSET, set once by main before the loop runs. */
static int64_t clock_offset_ms;

void
agent_clock_set_offset(int64_t offset_ms)
{
    clock_offset_ms = offset_ms;
}

/* The real wall clock (shifted by OUTPOST_CLOCK_OFFSET), for scheduling retries: OUTPOST_NOW
 * may fix the clock that entries and status show, but a retry "in 2 s" must still come. */
static uint64_t
real_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return proto_time_shift((uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000,
                            clock_offset_ms);
}

uint64_t
agent_now_ms(void)
{
    const char *fixed = getenv("OUTPOST_NOW");
    uint64_t ms;
    if (fixed && *fixed && proto_time_parse(fixed, &ms))
        return proto_time_shift(ms, clock_offset_ms);
    return real_ms();
}

/* ---- peers table: dialing and backoff ---- */

/* 1 s, 2 s, 4 s ... capped at 30 s, with +-20 % jitter so that a team's agents do not all
 * retry the office at the same instant after an outage. The cap is what a user waits, at
 * worst, after a flapping or long-lost link returns (TESTING B5); a dial costs one SYN. */
static uint64_t
backoff_ms(int fails)
{
    uint64_t d = AGENT_BACKOFF_MIN_MS;
    for (int i = 1; i < fails && d < AGENT_BACKOFF_MAX_MS; i++)
        d *= 2;
    if (d > AGENT_BACKOFF_MAX_MS)
        d = AGENT_BACKOFF_MAX_MS;
    int64_t jitter = (int64_t)(d / 5);
    return (uint64_t)((int64_t)d - jitter + (int64_t)randombytes_uniform((uint32_t)(2 * jitter + 1)));
}

static void
peer_result(agent_node *n, const char *addr, bool ok, const char *why)
{
    sqlite3_stmt *st;
    uint64_t now = real_ms();
    const char *sql = ok ? "UPDATE peers SET last_ok = ?2, last_error = NULL, fails = 0,"
                           " next_retry = ?2 + ?3 WHERE addr = ?1"
                         : "UPDATE peers SET last_error = ?4, fails = fails + 1,"
                           " next_retry = ?2 + ?3 WHERE addr = ?1";
    int fails = 0;
    if (!ok && store_db_stmt(n->db, "SELECT fails FROM peers WHERE addr = ?", &st) == OP_OK) {
        sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            fails = sqlite3_column_int(st, 0);
        sqlite3_reset(st);
    }
    if (store_db_stmt(n->db, sql, &st) != OP_OK)
        return;
    sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)now);
    sqlite3_bind_int64(st, 3, (int64_t)(ok ? AGENT_BACKOFF_MIN_MS : backoff_ms(fails + 1)));
    if (!ok)
        sqlite3_bind_text(st, 4, why, -1, SQLITE_STATIC);
    OP_IGNORE(store_db_code(sqlite3_step(st))); /* bookkeeping only; the log has the reason */
    sqlite3_reset(st);
}

static agent_conn *
conn_to(agent_node *n, const char *addr)
{
    for (agent_conn *c = n->conns; c; c = c->next)
        if (c->initiator && strcmp(c->addr, addr) == 0 && c->state != CONN_CLOSING)
            return c;
    return NULL;
}

/* --once: every dialled peer has an outcome; the run ends with the last. */
static void
once_settled(agent_node *n)
{
    if (n->opt.once && n->once_dialled && n->once_done + n->once_failed >= n->once_dialled)
        agent_node_stop(n, NULL);
}

static void
dial(agent_node *n, const char *addr, const uint8_t *key)
{
    agent_conn *c = agent_conn_new(n, true, addr, key);
    sqlite3_stmt *st;
    if (!c) {
        /* No conn, so no close callback will tell: a --once run counts this peer as failed
         * here (it waited forever before), the daemon dials again when the peer is next due. */
        agent_log("no link to %s: %s (%s)", addr, op_strerror(OP_E_NOMEM), op_errname(OP_E_NOMEM));
        if (n->opt.once) {
            n->once_failed++;
            snprintf(n->once_error, sizeof n->once_error, "%s: %s (%s)", addr,
                     op_strerror(OP_E_NOMEM), op_errname(OP_E_NOMEM));
        }
        return;
    }
    c->next = n->conns;
    n->conns = c;
    if (store_db_stmt(n->db, "UPDATE peers SET last_attempt = ? WHERE addr = ?", &st) == OP_OK) {
        sqlite3_bind_int64(st, 1, (int64_t)agent_now_ms());
        sqlite3_bind_text(st, 2, addr, -1, SQLITE_STATIC);
        OP_IGNORE(store_db_code(sqlite3_step(st))); /* bookkeeping only */
        sqlite3_reset(st);
    }
    OP_IGNORE(agent_conn_dial(c)); /* a failure closes the conn, which reports why */
}

/* Dials every known peer that is due (all of them when `all`). A retry is due at its time,
 * or at once when that time is further ahead than any backoff could have put it, plus
 * PROTO_TIME_TOLERANCE_MS: the wall clock was set back since it was scheduled (or the retry
 * was scheduled under a clock that was ahead), and waiting for the old clock would leave the
 * peer undialled for as long as the clock was off. */
static void
dial_due(agent_node *n, bool all)
{
    sqlite3_stmt *st;
    if (n->stopping || n->opt.once)
        return;
    if (store_db_stmt(n->db, "SELECT addr, key FROM peers WHERE ?1 OR next_retry IS NULL"
                             " OR next_retry <= ?2 OR next_retry > ?2 + ?3", &st) != OP_OK)
        return;
    sqlite3_bind_int(st, 1, all);
    sqlite3_bind_int64(st, 2, (int64_t)real_ms());
    sqlite3_bind_int64(st, 3, AGENT_RETRY_HORIZON_MS);
    char addrs[64][300];
    uint8_t keys[64][32];
    bool has_key[64];
    int k = 0;
    while (k < 64 && sqlite3_step(st) == SQLITE_ROW) {
        snprintf(addrs[k], sizeof addrs[k], "%s", (const char *)sqlite3_column_text(st, 0));
        has_key[k] = sqlite3_column_bytes(st, 1) == 32;
        if (has_key[k])
            memcpy(keys[k], sqlite3_column_blob(st, 1), 32);
        k++;
    }
    sqlite3_reset(st);
    for (int i = 0; i < k; i++)
        if (!conn_to(n, addrs[i]))
            dial(n, addrs[i], has_key[i] ? keys[i] : NULL);
}

static void admit(agent_node *n);

/* ---- live pushes and relaying ---- */

static void
push_all(agent_node *n, agent_conn *except, const uint8_t author[32], uint64_t first,
         uint64_t last)
{
    for (agent_conn *c = n->conns; c; c = c->next)
        if (c != except && c->state == CONN_LIVE)
            agent_conn_push(c, author, first, last);
}

/* New entries of our own (the CLI wrote them): push to every live peer. */
static void
push_own(agent_node *n)
{
    uint64_t head;
    if (store_have_head(n->db, n->id->pk, &head) != OP_OK || head <= n->own_pushed)
        return;
    push_all(n, NULL, n->id->pk, n->own_pushed + 1, head);
    n->own_pushed = head;
}

void
agent_node_stored(agent_node *n, agent_conn *from, const uint8_t author[32], uint64_t first,
                  uint64_t last)
{
    push_all(n, from, author, first, last); /* store-and-forward: relay at once */
    if (n->is_office)
        admit(n); /* a join entry may have come in */
}

/* Acks are bookkeeping for `status` (pending) and the office's receipts, not for safety: a
 * lost one only means entries are offered again. So they are gathered in memory and written
 * in one NORMAL-sync transaction per tick, not one fsync each (a big sync brings thousands). */
static void
flush_acks(agent_node *n)
{
    sqlite3_stmt *st;
    op_err r;
    if (n->n_acks == 0)
        return;
    if ((r = store_db_begin(n->db, false)) != OP_OK)
        goto done;
    for (size_t i = 0; i < n->n_acks && r == OP_OK; i++) {
        int64_t aid;
        if ((r = store_db_author_id(n->db, n->acks[i].author, &aid)) != OP_OK ||
            (r = store_db_stmt(n->db, "INSERT INTO acks(peer, author, seq, at) VALUES(?, ?, ?, ?)"
                                      " ON CONFLICT(peer, author) DO UPDATE SET"
                                      " seq = max(seq, excluded.seq), at = excluded.at",
                               &st)) != OP_OK)
            break;
        sqlite3_bind_blob(st, 1, n->acks[i].peer, 32, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, aid);
        sqlite3_bind_int64(st, 3, (int64_t)n->acks[i].seq);
        sqlite3_bind_int64(st, 4, (int64_t)n->acks[i].at);
        r = store_db_code(sqlite3_step(st));
        sqlite3_reset(st);
    }
    if (r == OP_OK)
        r = store_db_commit(n->db);
    else
        store_db_rollback(n->db);
done:
    if (r != OP_OK)
        agent_log("recording acks failed (they come again): %s (%s)", op_strerror(r),
                  op_errname(r));
    n->n_acks = 0;
}

void
agent_node_acked(agent_node *n, agent_conn *c, const uint8_t author[32], uint64_t seq)
{
    if (n->n_acks == n->cap_acks) {
        size_t ncap = n->cap_acks ? n->cap_acks * 2 : 256;
        agent_ack *na = ncap <= AGENT_ACKS_MAX ? realloc(n->acks, ncap * sizeof *na) : NULL;
        if (!na) {
            flush_acks(n);
            if (n->cap_acks == 0)
                return; /* no memory at all: this ack comes again next time */
        } else {
            n->acks = na;
            n->cap_acks = ncap;
        }
    }
    agent_ack *a = &n->acks[n->n_acks++];
    memcpy(a->peer, c->peer, 32);
    memcpy(a->author, author, 32);
    a->seq = seq;
    a->at = agent_now_ms();
}

static void
link_update(agent_node *n, agent_conn *c, bool connected, bool synced)
{
    sqlite3_stmt *st;
    const agent_session_stats *s = c->session ? agent_session_stats_get(c->session) : NULL;
    if (store_db_stmt(n->db,
                      "INSERT INTO links(key, addr, connected, last_seen, last_sync, clock_skew_ms)"
                      " VALUES(?1, ?2, ?3, ?4, CASE WHEN ?5 THEN ?4 END, ?6)"
                      " ON CONFLICT(key) DO UPDATE SET addr = excluded.addr,"
                      " connected = excluded.connected, last_seen = excluded.last_seen,"
                      " last_sync = coalesce(excluded.last_sync, last_sync),"
                      " clock_skew_ms = coalesce(excluded.clock_skew_ms, clock_skew_ms)",
                      &st) != OP_OK)
        return;
    sqlite3_bind_blob(st, 1, c->peer, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->addr, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, connected);
    sqlite3_bind_int64(st, 4, (int64_t)agent_now_ms());
    sqlite3_bind_int(st, 5, synced);
    if (s && s->peer_clock_ms)
        sqlite3_bind_int64(st, 6, (int64_t)s->peer_clock_ms - (int64_t)s->my_clock_ms);
    OP_IGNORE(store_db_code(sqlite3_step(st))); /* bookkeeping for status */
    sqlite3_reset(st);
}

void
agent_node_clock_judged(agent_node *n, agent_conn *c)
{
    const agent_session_stats *s = agent_session_stats_get(c->session);
    int64_t skew = (int64_t)s->peer_clock_ms - (int64_t)s->my_clock_ms;
    link_update(n, c, true, false); /* stores the skew now, not only once in sync */
    if (skew > PROTO_TIME_SKEW_WARN_MS || skew < -PROTO_TIME_SKEW_WARN_MS) {
        char k[9];
        uint64_t a = (uint64_t)(skew < 0 ? -skew : skew) / 1000;
        agent_short_key(c->peer, k);
        agent_log("clock of %s is %llu h %02llu min %02llu s %s ours (over %d min: a warning "
                  "in status; entries keep their order by seq)", k,
                  (unsigned long long)(a / 3600), (unsigned long long)(a / 60 % 60),
                  (unsigned long long)(a % 60), skew > 0 ? "ahead of" : "behind",
                  PROTO_TIME_SKEW_WARN_MS / 60000);
    }
}

/* A peer added without a key is pinned to the key it proved on first contact: from then on
 * only that node is accepted at that address (like ssh's known_hosts). */
static void
pin_key(agent_node *n, agent_conn *c)
{
    sqlite3_stmt *st;
    if (store_db_stmt(n->db, "UPDATE peers SET key = ? WHERE addr = ? AND key IS NULL", &st) !=
        OP_OK)
        return;
    sqlite3_bind_blob(st, 1, c->peer, 32, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->addr, -1, SQLITE_STATIC);
    OP_IGNORE(store_db_code(sqlite3_step(st))); /* unpinned, it is simply checked less */
    sqlite3_reset(st);
}

void
agent_node_conn_ready(agent_node *n, agent_conn *c)
{
    char k[9];
    agent_short_key(c->peer, k);
    if (!c->synced_reported) { /* just became live */
        /* A revoked key is refused after the handshake, everywhere the revocation reached. */
        sqlite3_stmt *st;
        bool revoked = false;
        op_err r = store_db_stmt(n->db, "SELECT EXISTS (SELECT 1 FROM members WHERE key = ? AND"
                                        " revoked_after IS NOT NULL)", &st);
        if (r == OP_OK) {
            sqlite3_bind_blob(st, 1, c->peer, 32, SQLITE_STATIC);
            r = store_db_stmt_bool(st, &revoked);
        }
        if (r != OP_OK) {
            /* Fail closed: a key whose revocation cannot be looked up is not let in (the store
             * is failing anyway; the dialler retries with backoff). */
            char why[200];
            snprintf(why, sizeof why, "refused: cannot tell whether its key is revoked: %s (%s)",
                     op_strerror(r), op_errname(r));
            agent_conn_close(c, why);
            return;
        }
        if (revoked) {
            /* Evidence for the office's alerts (revoked_activity); if it cannot be written, the
             * refusal stands and the log line below still tells. */
            OP_IGNORE(store_member_refused(n->db, c->peer, STORE_REFUSED_CONNECT,
                                           agent_now_ms()));
            agent_conn_close(c, "refused: its key has been revoked (REVOKED)");
            return;
        }
        /* Two links to one peer (both dialled at once): keep the one dialled by the smaller key. */
        for (agent_conn *o = n->conns; o; o = o->next)
            if (o != c && o->state == CONN_LIVE && memcmp(o->peer, c->peer, 32) == 0) {
                bool mine_smaller = memcmp(n->id->pk, c->peer, 32) < 0;
                agent_conn *drop = (c->initiator == mine_smaller) ? o : c;
                agent_conn_close(drop, "already connected to this peer");
                if (drop == c)
                    return;
            }
        agent_log("connected to %s at %s (%s)", k, c->addr, c->initiator ? "dialled" : "accepted");
        link_update(n, c, true, false);
        if (c->initiator) {
            peer_result(n, c->addr, true, NULL);
            pin_key(n, c);
        }
        return;
    }
    const agent_session_stats *s = agent_session_stats_get(c->session);
    agent_log("in sync with %s: sent %llu, received %llu new entries; after the handshake "
              "%llu bytes out, %llu in, %llu ms", k, (unsigned long long)s->entries_sent,
              (unsigned long long)s->entries_received, (unsigned long long)c->live_out,
              (unsigned long long)c->live_in,
              (unsigned long long)(uv_now(n->loop) - c->live_ms));
    link_update(n, c, true, true);
    if (n->opt.once)
        agent_conn_finish(c, "synced");
}

void
agent_node_conn_closed(agent_node *n, agent_conn *c, const char *why, bool synced)
{
    char k[9] = "?";
    bool was_live = c->session != NULL;
    for (agent_conn **p = &n->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    if (was_live) {
        flush_acks(n);
        agent_short_key(c->peer, k);
        link_update(n, c, false, synced);
    }
    agent_log("%s %s: %s", was_live ? "disconnected from" : "no link to",
              was_live ? k : c->addr, why);
    if (was_live) {
        /* What the link carried in all, so that a resend after a cut (entries the peer already
         * held) can be seen and counted (TESTING B5: a resumed sync re-sends at most a batch). */
        const agent_session_stats *s = agent_session_stats_get(c->session);
        agent_log("link to %s carried: sent %llu entries, received %llu new and %llu already "
                  "held; %llu bytes out, %llu in", k, (unsigned long long)s->entries_sent,
                  (unsigned long long)s->entries_received,
                  (unsigned long long)s->entries_already, (unsigned long long)c->bytes_out,
                  (unsigned long long)c->bytes_in);
    }
    /* A live link that ended in a goodbye (either side's) was no failure of the peer; one cut
     * without a goodbye was, and backs off like a failed dial. */
    if (c->initiator && !(synced || (was_live && (c->goodbye_sent || c->goodbye_received))))
        peer_result(n, c->addr, false, why);
    if (n->opt.once) {
        if (synced)
            n->once_done++;
        else {
            n->once_failed++;
            snprintf(n->once_error, sizeof n->once_error, "%s: %s", c->addr, why);
        }
        once_settled(n);
    }
}

/* ---- the office's duties: admitting members, receipts ---- */

/* Admits every valid pending join (a member entry each), then pushes them out. */
static void
admit(agent_node *n)
{
    size_t admitted = 0;
    op_err r = store_member_admit_pending(n->db, n->rd, n->id, agent_now_ms(), &admitted);
    if (r != OP_OK)
        agent_log("admitting members failed: %s (%s)", op_strerror(r), op_errname(r));
    if (admitted) {
        agent_log("admitted %zu new member%s", admitted, admitted == 1 ? "" : "s");
        push_own(n);
    }
}

/* A receipt entry for the logs whose held head advanced since the last one, so that workers
 * whose records travelled through colleagues learn that the office holds them (SPEC §7). The
 * office's own receipts project into acks under its key: that is "the last receipt". */
static void
write_receipt(agent_node *n)
{
    sqlite3_stmt *st;
    proto_body b;
    store_appended done;
    if (store_db_stmt(n->db,
                      "SELECT a.key, a.head_seq FROM authors a LEFT JOIN acks k"
                      " ON k.peer = ?1 AND k.author = a.id"
                      " WHERE a.head_seq > coalesce(k.seq, 0) AND a.key != ?1"
                      " ORDER BY a.key LIMIT ?2", &st) != OP_OK)
        return;
    proto_body_init(&b, PROTO_KIND_RECEIPT);
    if (!(b.heads = calloc(PROTO_RECEIPT_MAX_HEADS, sizeof *b.heads))) {
        sqlite3_reset(st);
        return;
    }
    sqlite3_bind_blob(st, 1, n->id->pk, 32, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, PROTO_RECEIPT_MAX_HEADS);
    while (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32) {
        memcpy(b.heads[b.n_heads].author, sqlite3_column_blob(st, 0), 32);
        b.heads[b.n_heads++].seq = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    if (b.n_heads) {
        op_err r = store_log_append(n->db, n->rd, n->id, &b, agent_now_ms(), &done);
        if (r != OP_OK)
            agent_log("writing a receipt failed: %s (%s)", op_strerror(r), op_errname(r));
        else
            push_own(n);
    }
    proto_body_fini(&b);
}

static void
office_duties(agent_node *n)
{
    if (!n->is_office || n->stopping)
        return;
    admit(n);
    if (uv_now(n->loop) - n->last_receipt_ms >= AGENT_RECEIPT_EVERY_MS) {
        n->last_receipt_ms = uv_now(n->loop);
        write_receipt(n);
    }
}

/* ---- listener ---- */

/* libuv holds an incoming connection until uv_accept takes it, and stops listening until then
 * (uv__server_io): a connection the node has no memory for must still be taken, and closed,
 * or the listener (or the control socket) would stay deaf for good. A spare handle in the node
 * takes it; another one that comes while the spare is closing waits for it. */
static void take_and_close(agent_node *n, int which);

static void
spare_closed(uv_handle_t *h)
{
    agent_node *n = h->data;
    int which = h == (uv_handle_t *)&n->spare_pipe;
    n->spare_busy[which] = false;
    if (n->spare_waiting[which]) {
        n->spare_waiting[which] = false;
        take_and_close(n, which);
    }
}

static void
take_and_close(agent_node *n, int which)
{
    uv_stream_t *server = which ? (uv_stream_t *)&n->ctl : (uv_stream_t *)&n->listener;
    uv_handle_t *h = which ? (uv_handle_t *)&n->spare_pipe : (uv_handle_t *)&n->spare_tcp;
    if (n->stopping) /* the server is closing: what it held goes with it */
        return;
    if (n->spare_busy[which]) {
        n->spare_waiting[which] = true;
        return;
    }
    if (which)
        uv_pipe_init(n->loop, &n->spare_pipe, 0);
    else
        uv_tcp_init(n->loop, &n->spare_tcp);
    h->data = n;
    n->spare_busy[which] = true;
    if (uv_accept(server, (uv_stream_t *)h) == 0)
        agent_log("closed a new %s connection: %s", which ? "control" : "peer",
                  op_strerror(OP_E_NOMEM));
    uv_close(h, spare_closed);
}

/* Whether the accepted conn c would pass a cap on connections still in their handshake:
 * AGENT_HANDSHAKES_PER_ADDR from c's address (its text up to the port), AGENT_HANDSHAKES_MAX
 * in all. The scan is bounded by the caps themselves (and the live links). */
static bool
handshakes_full(agent_node *n, const agent_conn *c)
{
    const char *colon = strrchr(c->addr, ':');
    size_t hl = colon ? (size_t)(colon - c->addr) : strlen(c->addr);
    int same = 0, all = 0;
    for (agent_conn *o = n->conns; o; o = o->next) {
        if (o == c || o->initiator || (o->state != CONN_HANDSHAKE && o->state != CONN_HEADERS))
            continue;
        all++;
        if (strncmp(o->addr, c->addr, hl) == 0 && (o->addr[hl] == ':' || o->addr[hl] == '\0'))
            same++;
    }
    return same >= AGENT_HANDSHAKES_PER_ADDR || all >= AGENT_HANDSHAKES_MAX;
}

static void
on_accept(uv_stream_t *server, int status)
{
    agent_node *n = server->data;
    if (status < 0 || n->stopping)
        return;
    agent_conn *c = agent_conn_new(n, false, NULL, NULL);
    if (!c) {
        take_and_close(n, 0);
        return;
    }
    c->next = n->conns;
    n->conns = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        agent_conn_close(c, "accept failed");
        return;
    }
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        char ip[64] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        snprintf(c->addr, sizeof c->addr, "%s:%d", ip, port);
    }
    if (handshakes_full(n, c)) {
        char why[200];
        snprintf(why, sizeof why, "refused: %s (%s)", op_strerror(OP_E_OVERLOAD),
                 op_errname(OP_E_OVERLOAD));
        agent_conn_close(c, why);
        return;
    }
    agent_conn_accepted(c);
}

static op_err
listen_on(agent_node *n, const char *spec)
{
    char host[256];
    struct sockaddr_storage ss;
    const char *colon = strrchr(spec, ':');
    /* HOST:PORT, both there, the port in digits. Before, "127.0.0.1" (no colon) listened on
     * 0.0.0.0:7420 and "127.0.0.1:x" on a random port: not what the user meant. */
    size_t hl = colon ? (size_t)(colon - spec) : 0, pl = colon ? strlen(colon + 1) : 0;
    int port = pl >= 1 && pl <= 5 && strspn(colon + 1, "0123456789") == pl ? atoi(colon + 1) : -1;
    if (hl > 0 && hl < sizeof host) {
        memcpy(host, spec, hl);
        host[hl] = '\0';
    }
    if (hl == 0 || hl >= sizeof host || port < 0 || port > 65535 ||
        (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
         uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0)) {
        agent_log("cannot listen on '%s': give HOST:PORT with a numeric address", spec);
        return OP_E_INVAL;
    }
    uv_tcp_init(n->loop, &n->listener);
    n->listener.data = n;
    n->listening = true;
    int rc = uv_tcp_bind(&n->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&n->listener, 128, on_accept);
    if (rc != 0) {
        agent_log("cannot listen on %s: %s", spec, uv_strerror(rc));
        return OP_E_IO;
    }
    agent_log("listening on %s", spec);
    return OP_OK;
}

/* ---- control socket: one line in, one line out ---- */

typedef struct ctl_client {
    uv_pipe_t pipe;
    agent_node *n;
    char line[128];
    size_t len;
} ctl_client;

static void
ctl_closed(uv_handle_t *h)
{
    free(h->data);
}

typedef struct ctl_write {
    uv_write_t req;
    ctl_client *cl;
    char text[256];
} ctl_write;

static void
ctl_written(uv_write_t *req, int status)
{
    ctl_write *w = (ctl_write *)req;
    (void)status;
    uv_close((uv_handle_t *)&w->cl->pipe, ctl_closed);
    free(w);
}

static void
ctl_reply(ctl_client *cl, const char *text)
{
    ctl_write *w = malloc(sizeof *w);
    if (!w) {
        uv_close((uv_handle_t *)&cl->pipe, ctl_closed);
        return;
    }
    w->cl = cl;
    snprintf(w->text, sizeof w->text, "%s\n", text);
    uv_buf_t buf = uv_buf_init(w->text, (unsigned)strlen(w->text));
    if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &buf, 1, ctl_written) != 0) {
        free(w);
        uv_close((uv_handle_t *)&cl->pipe, ctl_closed);
    }
}

static void
ctl_command(ctl_client *cl, const char *cmd)
{
    agent_node *n = cl->n;
    if (strcmp(cmd, "nudge") == 0) {
        push_own(n);
        ctl_reply(cl, "ok");
    } else if (strcmp(cmd, "sync") == 0) {
        dial_due(n, true);
        push_own(n);
        ctl_reply(cl, "ok");
    } else if (strcmp(cmd, "stop") == 0) {
        ctl_reply(cl, "ok");
        agent_node_stop(n, "asked to stop");
    } else {
        ctl_reply(cl, "error unknown command");
    }
}

static void
ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    ctl_client *cl = h->data;
    (void)suggested;
    buf->base = cl->line + cl->len;
    buf->len = sizeof cl->line - 1 - cl->len;
}

static void
ctl_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    ctl_client *cl = s->data;
    (void)buf;
    if (nread < 0 || (nread == 0 && cl->len == sizeof cl->line - 1)) {
        uv_close((uv_handle_t *)&cl->pipe, ctl_closed);
        return;
    }
    cl->len += (size_t)nread;
    cl->line[cl->len] = '\0';
    char *nl = strchr(cl->line, '\n');
    if (nl) {
        *nl = '\0';
        uv_read_stop(s);
        ctl_command(cl, cl->line);
    } else if (cl->len == sizeof cl->line - 1) {
        uv_close((uv_handle_t *)&cl->pipe, ctl_closed);
    }
}

static void
on_ctl(uv_stream_t *server, int status)
{
    agent_node *n = server->data;
    ctl_client *cl;
    if (status < 0 || n->stopping)
        return;
    if (!(cl = calloc(1, sizeof *cl))) {
        take_and_close(n, 1);
        return;
    }
    cl->n = n;
    uv_pipe_init(n->loop, &cl->pipe, 0);
    cl->pipe.data = cl;
    if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0 ||
        uv_read_start((uv_stream_t *)&cl->pipe, ctl_alloc, ctl_read) != 0)
        uv_close((uv_handle_t *)&cl->pipe, ctl_closed);
}

static op_err
ctl_open(agent_node *n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", n->opt.dir, AGENT_CTL_SOCKET);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    /* libuv 1.44 cuts a longer path short and binds there, beside DIR: the CLI could not find
     * the socket, and a second agent on DIR would not see the first. */
    if (strlen(path) >= sizeof sa.sun_path) {
        agent_log("the path %s is too long for a control socket", path);
        return OP_E_INVAL;
    }
    uv_pipe_init(n->loop, &n->ctl, 0);
    n->ctl.data = n;
    n->ctl_open = true;
    int rc = uv_pipe_bind(&n->ctl, path);
    if (rc == UV_EADDRINUSE) {
        /* A socket file is there: an agent that is alive, or one that died without cleaning. */
        memcpy(sa.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool alive = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (fd >= 0)
            close(fd);
        if (alive) {
            agent_log("another outpostd is already running for %s", n->opt.dir);
            return OP_E_BUSY;
        }
        unlink(path);
        rc = uv_pipe_bind(&n->ctl, path);
    }
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&n->ctl, 16, on_ctl);
    if (rc != 0) {
        agent_log("cannot open the control socket %s: %s", path, uv_strerror(rc));
        return OP_E_IO;
    }
    n->ctl_bound = true;
    return OP_OK;
}

/* ---- the rest ---- */

static void
on_signal(uv_signal_t *s, int signum)
{
    agent_node *n = s->data;
    if (signum == SIGHUP) {
        agent_log("SIGHUP: reloading peers");
        dial_due(n, true);
        return;
    }
    agent_node_stop(n, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

static void
on_tick(uv_timer_t *t)
{
    agent_node *n = t->data;
    flush_acks(n);
    office_duties(n);
    push_own(n);
    dial_due(n, false);
    if (n->opt.once && n->opt.progress) {
        uint64_t sent = 0, recv = 0;
        for (agent_conn *c = n->conns; c; c = c->next)
            if (c->session) {
                sent += agent_session_stats_get(c->session)->entries_sent;
                recv += agent_session_stats_get(c->session)->entries_received;
            }
        fprintf(stderr, "\rsyncing: %llu entries sent, %llu received", (unsigned long long)sent,
                (unsigned long long)recv);
    }
}

op_err
agent_node_start(agent_node *n, uv_loop_t *loop, const agent_options *opt)
{
    char path[PATH_MAX];
    op_err r;

    memset(n, 0, sizeof *n);
    n->loop = loop;
    n->opt = *opt;
    if ((r = store_identity_load(opt->dir, &n->id)) != OP_OK) {
        agent_log("cannot load %s/%s: %s", opt->dir, STORE_IDENTITY_FILE, op_strerror(r));
        return r;
    }
    snprintf(path, sizeof path, "%s/%s", opt->dir, STORE_DB_FILE);
    if ((r = store_db_open(path, 0, &n->db)) != OP_OK) {
        agent_log("cannot open %s: %s", path, op_strerror(r));
        return r;
    }
    if ((r = store_reader_new(n->id, &n->rd)) != OP_OK) {
        agent_log("cannot start: %s (%s)", op_strerror(r), op_errname(r));
        return r;
    }
    bool rebuilt;
    if ((r = store_view_ensure(n->db, n->rd, &rebuilt)) != OP_OK) {
        agent_log("cannot rebuild the views: %s", op_strerror(r));
        return r;
    }
    if (rebuilt)
        agent_log("rebuilt the views from the log (a new version of outpost)");
    snprintf(path, sizeof path, "%s/network.key", opt->dir);
    if ((r = store_keyfile_read(path, n->netkey, sizeof n->netkey)) != OP_OK) {
        agent_log(r == OP_E_NOTFOUND ? "this node has not joined a team: run 'outpost join CODE'"
                                     : "cannot read %s: %s", path, op_strerror(r));
        return r;
    }
    OP_IGNORE(store_have_head(n->db, n->id->pk, &n->own_pushed)); /* 0 on failure: all resent */
    char role[16] = "";
    OP_IGNORE(store_db_meta_get(n->db, "role", role, sizeof role, NULL)); /* blank: a worker */
    n->is_office = strcmp(role, "office") == 0;
    /* Links left "connected" by an agent that was killed are not connected now. */
    OP_IGNORE(store_db_exec(n->db, "UPDATE links SET connected = 0")); /* status only */
    if (!opt->once && (r = ctl_open(n)) != OP_OK)
        return r;
    const char *listen = opt->listen ? opt->listen : (opt->once ? "" : "0.0.0.0:7420");
    if (*listen && (r = listen_on(n, listen)) != OP_OK)
        return r;
    int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(loop, &n->sig[i]);
        n->sig[i].data = n;
        uv_signal_start(&n->sig[i], on_signal, sigs[i]);
    }
    uv_timer_init(loop, &n->tick);
    n->tick.data = n;
    uv_timer_start(&n->tick, on_tick, 1000, 1000);
    if (opt->once) {
        /* A known peer's pinned key is checked here as in the daemon (C5): without it, any
         * node holding the network key could answer at the office's address. */
        sqlite3_stmt *st;
        char addrs[64][300];
        uint8_t keys[64][32];
        bool has_key[64];
        int k = 0;
        if ((r = store_db_stmt(n->db,
                               "SELECT addr, key FROM peers WHERE ?1 IS NULL OR addr = ?1"
                               " ORDER BY addr",
                               &st)) != OP_OK) {
            agent_log("cannot read the peers: %s (%s)", op_strerror(r), op_errname(r));
            return r;
        }
        if (opt->once_peer)
            sqlite3_bind_text(st, 1, opt->once_peer, -1, SQLITE_STATIC);
        while (k < 64 && sqlite3_step(st) == SQLITE_ROW) {
            snprintf(addrs[k], sizeof addrs[0], "%s", sqlite3_column_text(st, 0));
            has_key[k] = sqlite3_column_bytes(st, 1) == 32;
            if (has_key[k])
                memcpy(keys[k], sqlite3_column_blob(st, 1), 32);
            k++;
        }
        sqlite3_reset(st);
        if (opt->once_peer) {
            dial(n, opt->once_peer, k == 1 && has_key[0] ? keys[0] : NULL);
            n->once_dialled = 1;
        } else {
            for (int i = 0; i < k; i++)
                dial(n, addrs[i], has_key[i] ? keys[i] : NULL);
            n->once_dialled = k;
            if (k == 0) {
                snprintf(n->once_error, sizeof n->once_error,
                         "no peers known: add one with 'outpost peers add HOST:PORT'");
                n->once_failed = 1;
            }
        }
        /* Every dial failed before a conn existed (or there was none): nothing is left to
         * wait for. A conn reports its end later, from its close callback. */
        if (n->once_done + n->once_failed >= n->once_dialled)
            agent_node_stop(n, NULL);
    } else {
        dial_due(n, true);
    }
    return OP_OK;
}

static void
noop_close(uv_handle_t *h)
{
    (void)h;
}

void
agent_node_stop(agent_node *n, const char *why)
{
    if (n->stopping)
        return;
    n->stopping = true;
    if (why)
        agent_log("stopping (%s)", why);
    for (agent_conn *c = n->conns; c; c = c->next)
        if (c->state == CONN_LIVE)
            agent_conn_finish(c, "agent stopping");
        else
            agent_conn_close(c, "agent stopping");
    if (n->listening)
        uv_close((uv_handle_t *)&n->listener, noop_close);
    if (n->ctl_open) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", n->opt.dir, AGENT_CTL_SOCKET);
        uv_close((uv_handle_t *)&n->ctl, noop_close);
        /* Not if the socket is another agent's: refused as a second agent (OP_E_BUSY), this
         * one removed the live agent's socket, and the CLI could no longer reach it. */
        if (n->ctl_bound)
            unlink(path);
    }
    for (int i = 0; i < 3; i++)
        if (uv_is_active((uv_handle_t *)&n->sig[i]) || n->sig[i].data)
            uv_close((uv_handle_t *)&n->sig[i], noop_close);
    if (n->tick.data)
        uv_close((uv_handle_t *)&n->tick, noop_close);
}

void
agent_node_fini(agent_node *n)
{
    if (n->db)
        flush_acks(n);
    free(n->acks);
    store_reader_free(n->rd);
    store_db_close(n->db);
    store_identity_free(n->id);
    sodium_memzero(n->netkey, sizeof n->netkey);
}
