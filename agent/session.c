/* session.c — the sync conversation (see session.h, SPEC §7). No I/O: messages in, messages out. */
#include "agent/session.h"

#include <stdlib.h>
#include <string.h>

#include "proto/frame.h"
#include "store/have.h"
#include "store/log.h"
#include "store/member.h"

/* Entries read from the store per RUN at most (about 35 KB); the frame size caps it further. */
#define RUN_READ_MAX 128

typedef struct job {
    uint8_t author[PROTO_KEY_BYTES];
    uint64_t next, last; /* seqs still to send, inclusive */
} job;

struct agent_session {
    store_db *db;
    store_reader *rd;
    agent_session_io io;
    store_have_summary mine;
    uint8_t office[PROTO_KEY_BYTES];
    bool has_office;
    bool reconciled; /* we know everything the peer lacked when we compared */
    bool sent_done, peer_done, started;
    uint64_t runs_unanswered; /* RUNs sent that the peer has not answered (ACK or WANT) yet */
    /* Bytes of those RUNs (the window, AGENT_SESSION_WINDOW_BYTES), and each RUN's size,
     * oldest first (answers come in the order the RUNs went: a ring) */
    uint64_t bytes_unanswered;
    uint32_t unanswered[AGENT_SESSION_WINDOW_RUNS];
    size_t unanswered_first;
    int haves_expected, haves_got;
    job *jobs;
    size_t n_jobs, cap_jobs;
    /* Authors with a run refused in this session (over quota, a fork, revoked): their later
     * runs are refused too and never answered with WANT. A later run does not connect to what
     * is held, and WANT would ask for the refused ones again, for ever. */
    uint8_t (*refused)[PROTO_KEY_BYTES];
    size_t n_refused;
    /* Per author, the WANTs of this session. A run past a gap is answered with one WANT; the
     * runs the sender had already sent behind it arrive past the gap too, each starting further
     * on, and are answered with ACK while the WANT is fresh (AGENT_SESSION_WANT_AGAIN_MS since
     * it went out or since the log last grew here): a WANT each made the sender go back and
     * send everything since again, once per run in flight. A run past the gap that starts no
     * further on than one already seen was sent again after the WANT and still does not
     * connect (a hole in the peer's store, or a hostile peer): asked again, and past
     * AGENT_SESSION_MAX_WANTS refused. */
    struct wanted {
        uint8_t author[PROTO_KEY_BYTES];
        uint32_t n;        /* WANTs sent since the author's log last grew here */
        bool asked;        /* a WANT went out in this session */
        uint64_t fresh_ms; /* when it went out, or when the log last grew after it */
        uint64_t past;     /* the furthest start of a run past the gap since the WANT */
    } *wanted;
    size_t n_wanted;
    agent_session_stats stats;
    uint8_t *buf; /* one message being built */
};

#define BUF_BYTES PROTO_FRAME_MAX_BYTES

op_err
agent_session_new(store_db *db, store_reader *rd, const agent_session_io *io,
                  agent_session **out)
{
    agent_session *s = calloc(1, sizeof *s);
    int olen = 0;
    *out = NULL;
    if (!s || !(s->buf = malloc(BUF_BYTES))) {
        free(s);
        return OP_E_NOMEM;
    }
    s->db = db;
    s->rd = rd;
    s->io = *io;
    if (store_db_meta_get(db, "office_key", s->office, sizeof s->office, &olen) == OP_OK &&
        olen == PROTO_KEY_BYTES)
        s->has_office = true;
    *out = s;
    return OP_OK;
}

void
agent_session_free(agent_session *s)
{
    if (!s)
        return;
    free(s->jobs);
    free(s->refused);
    free(s->wanted);
    free(s->buf);
    free(s);
}

static op_err
send_buf(agent_session *s, proto_wbuf *w, op_err built)
{
    if (built != OP_OK)
        return built;
    s->stats.msgs_out++;
    return s->io.send(s->io.ctx, w->p, w->len);
}

/* Queues (or widens) the job for author; the office's log goes first: memberships and
 * revocations matter most on a poor link (SPEC §7). */
static op_err
enqueue(agent_session *s, const uint8_t author[PROTO_KEY_BYTES], uint64_t first, uint64_t last)
{
    if (first == 0 || first > last)
        return OP_OK;
    for (size_t i = 0; i < s->n_jobs; i++)
        if (memcmp(s->jobs[i].author, author, PROTO_KEY_BYTES) == 0) {
            if (first < s->jobs[i].next)
                s->jobs[i].next = first;
            if (last > s->jobs[i].last)
                s->jobs[i].last = last;
            return OP_OK;
        }
    if (s->n_jobs == s->cap_jobs) {
        size_t ncap = s->cap_jobs ? s->cap_jobs * 2 : 64;
        job *nj = realloc(s->jobs, ncap * sizeof *nj);
        if (!nj)
            return OP_E_NOMEM;
        s->jobs = nj;
        s->cap_jobs = ncap;
    }
    job j = {.next = first, .last = last};
    memcpy(j.author, author, PROTO_KEY_BYTES);
    bool urgent = s->has_office && memcmp(author, s->office, PROTO_KEY_BYTES) == 0;
    if (urgent) {
        memmove(s->jobs + 1, s->jobs, s->n_jobs * sizeof *s->jobs);
        s->jobs[0] = j;
    } else {
        s->jobs[s->n_jobs] = j;
    }
    s->n_jobs++;
    return OP_OK;
}

static void
pop_job(agent_session *s)
{
    memmove(s->jobs, s->jobs + 1, (s->n_jobs - 1) * sizeof *s->jobs);
    s->n_jobs--;
}

op_err
agent_session_start(agent_session *s, uint64_t now_ms)
{
    proto_wbuf w;
    op_err r;
    if ((r = store_have_summary_get(s->db, &s->mine)) != OP_OK)
        return r;
    s->started = true;
    proto_wbuf_init(&w, s->buf, BUF_BYTES);
    return send_buf(s, &w, proto_msg_hello(&w, s->mine.root, s->mine.authors, now_ms));
}

static int
cmp_head(const void *a, const void *b)
{
    return memcmp(((const proto_head_ref *)a)->author, ((const proto_head_ref *)b)->author,
                  PROTO_KEY_BYTES);
}

/* The peer's heads in one bucket against ours: queue what it lacks. */
static op_err
on_have(agent_session *s, proto_msg *m)
{
    store_head *mine = NULL;
    size_t n = 0;
    op_err r;
    if ((r = store_have_bucket(s->db, (unsigned)m->bucket, &mine, &n)) != OP_OK)
        return r;
    qsort(m->heads, m->n_heads, sizeof *m->heads, cmp_head);
    for (size_t i = 0; i < n && r == OP_OK; i++) {
        proto_head_ref key = {.author = mine[i].author};
        proto_head_ref *theirs = bsearch(&key, m->heads, m->n_heads, sizeof *m->heads, cmp_head);
        uint64_t peer_seq = theirs ? theirs->seq : 0;
        if (peer_seq < mine[i].seq)
            r = enqueue(s, mine[i].author, peer_seq + 1, mine[i].seq);
    }
    free(mine);
    if (r == OP_OK && ++s->haves_got >= s->haves_expected)
        s->reconciled = true;
    return r;
}

static op_err
on_buckets(agent_session *s, const proto_msg *m)
{
    store_head *mine = NULL;
    proto_head_ref *refs = NULL;
    size_t n = 0;
    proto_wbuf w;
    op_err r = OP_OK;
    int differ = 0;
    for (unsigned b = 0; b < PROTO_BUCKETS; b++)
        differ += memcmp(m->buckets + b * PROTO_BUCKET_HASH_BYTES,
                         s->mine.buckets + b * PROTO_BUCKET_HASH_BYTES,
                         PROTO_BUCKET_HASH_BYTES) != 0;
    s->haves_expected = differ;
    if (differ == 0) { /* equal buckets but different roots cannot happen; treat as synced */
        s->reconciled = true;
        return OP_OK;
    }
    for (unsigned b = 0; b < PROTO_BUCKETS && r == OP_OK; b++) {
        if (memcmp(m->buckets + b * PROTO_BUCKET_HASH_BYTES,
                   s->mine.buckets + b * PROTO_BUCKET_HASH_BYTES, PROTO_BUCKET_HASH_BYTES) == 0)
            continue;
        if ((r = store_have_bucket(s->db, b, &mine, &n)) != OP_OK)
            break;
        if (n > PROTO_MSG_MAX_ITEMS) {
            r = OP_E_TOOBIG; /* over a million authors: needs a finer split than buckets */
        } else if (!(refs = calloc(n ? n : 1, sizeof *refs))) {
            r = OP_E_NOMEM;
        } else {
            for (size_t i = 0; i < n; i++)
                refs[i] = (proto_head_ref){mine[i].author, mine[i].seq};
            proto_wbuf_init(&w, s->buf, BUF_BYTES);
            r = send_buf(s, &w, proto_msg_heads(&w, PROTO_MSG_HAVE, b, refs, n));
        }
        free(refs);
        free(mine);
        refs = NULL;
        mine = NULL;
    }
    return r;
}

/*
 * Whether a run of this author may be stored: members, the office and this node always; others
 * (a worker not admitted yet, or a stranger's key that holds the network key) up to
 * AGENT_NONMEMBER_QUOTA_BYTES. A node that knows no office yet cannot tell and takes all.
 */
static bool
was_refused(const agent_session *s, const uint8_t author[PROTO_KEY_BYTES])
{
    for (size_t i = 0; i < s->n_refused; i++)
        if (memcmp(s->refused[i], author, PROTO_KEY_BYTES) == 0)
            return true;
    return false;
}


static op_err
within_quota(agent_session *s, const uint8_t author[PROTO_KEY_BYTES], const proto_msg *m)
{
    sqlite3_stmt *st;
    op_err r;
    if (!s->has_office || memcmp(author, s->office, PROTO_KEY_BYTES) == 0)
        return OP_OK;
    if ((r = store_db_stmt(s->db,
                           "SELECT EXISTS (SELECT 1 FROM members WHERE key = ?1),"
                           " ?1 = (SELECT v FROM meta WHERE k = 'key'),"
                           " (SELECT coalesce(sum(length(e.envelope) + coalesce(length(e.body), 0)),"
                           "  0) FROM entries e JOIN authors a ON a.id = e.author WHERE a.key = ?1)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, author, PROTO_KEY_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    bool member = rc == SQLITE_ROW && (sqlite3_column_int(st, 0) || sqlite3_column_int(st, 1));
    uint64_t held = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 2) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return store_db_code(rc);
    if (member)
        return OP_OK;
    uint64_t offered = 0;
    for (size_t i = 0; i < m->n_items; i++)
        offered += m->items[i].env_len + m->items[i].body_len;
    return held + offered > AGENT_NONMEMBER_QUOTA_BYTES ? OP_E_QUOTA : OP_OK;
}

/* The answer to every RUN that is not a WANT: how far we durably hold the author's log. The
 * sender counts on one answer per RUN to know when the peer holds all it was sent. */
static op_err
send_ack(agent_session *s, const uint8_t author[PROTO_KEY_BYTES])
{
    uint64_t head;
    proto_wbuf w;
    op_err r;
    if ((r = store_have_head(s->db, author, &head)) != OP_OK)
        return r;
    proto_head_ref ack = {author, head};
    proto_wbuf_init(&w, s->buf, BUF_BYTES);
    return send_buf(s, &w, proto_msg_heads(&w, PROTO_MSG_ACK, 0, &ack, 1));
}

/* Refuses a run of author for `why`, and its later runs in this session (said once); the
 * session goes on for everyone else. The ACK tells the sender what is held. */
static op_err
refuse(agent_session *s, const uint8_t author[PROTO_KEY_BYTES], op_err why)
{
    uint8_t(*more)[PROTO_KEY_BYTES] = realloc(s->refused, (s->n_refused + 1) * sizeof *more);
    if (!more)
        return OP_E_NOMEM;
    s->refused = more;
    memcpy(s->refused[s->n_refused++], author, PROTO_KEY_BYTES);
    if (s->io.refused)
        s->io.refused(s->io.ctx, author, why);
    return send_ack(s, author);
}

/* The WANT state of author (added if new); NULL when out of memory. */
static struct wanted *
wanted_of(agent_session *s, const uint8_t author[PROTO_KEY_BYTES])
{
    for (size_t i = 0; i < s->n_wanted; i++)
        if (memcmp(s->wanted[i].author, author, PROTO_KEY_BYTES) == 0)
            return &s->wanted[i];
    struct wanted *more = realloc(s->wanted, (s->n_wanted + 1) * sizeof *more);
    if (!more)
        return NULL;
    s->wanted = more;
    struct wanted *w = &s->wanted[s->n_wanted++];
    *w = (struct wanted){.n = 0};
    memcpy(w->author, author, PROTO_KEY_BYTES);
    return w;
}

/* Entries of author were stored: the WANTs so far were answered, and the answer is flowing. */
static void
progressed(agent_session *s, const uint8_t author[PROTO_KEY_BYTES], uint64_t now_ms)
{
    for (size_t i = 0; i < s->n_wanted; i++)
        if (memcmp(s->wanted[i].author, author, PROTO_KEY_BYTES) == 0) {
            s->wanted[i].n = 0;
            if (s->wanted[i].asked)
                s->wanted[i].fresh_ms = now_ms;
        }
}

/* A run of author starting at seq first does not connect to what we hold: ask for the rest
 * (WANT), unless it was sent before the peer saw a fresh WANT (ACK), or the peer was asked too
 * often with no progress (refused with OP_E_GAP). */
static op_err
on_gap(agent_session *s, const uint8_t author[PROTO_KEY_BYTES], uint64_t first, uint64_t now_ms)
{
    uint64_t head;
    proto_wbuf w;
    op_err r;
    struct wanted *wt = wanted_of(s, author);
    if (!wt)
        return OP_E_NOMEM;
    bool fresh = wt->asked && now_ms >= wt->fresh_ms &&
                 now_ms - wt->fresh_ms < AGENT_SESSION_WANT_AGAIN_MS;
    if (fresh && first > wt->past) {
        wt->past = first;
        return send_ack(s, author);
    }
    if (++wt->n > AGENT_SESSION_MAX_WANTS) {
        s->stats.refused++;
        return refuse(s, author, OP_E_GAP);
    }
    if ((r = store_have_head(s->db, author, &head)) != OP_OK)
        return r;
    wt->asked = true;
    wt->fresh_ms = now_ms;
    wt->past = first;
    proto_wbuf_init(&w, s->buf, BUF_BYTES);
    return send_buf(s, &w, proto_msg_want(&w, author, head + 1));
}

bool
agent_session_local_failure(op_err r)
{
    return r == OP_E_NOMEM || r == OP_E_BUSY || r == OP_E_IO || r == OP_E_DISK_FULL ||
           r == OP_E_CORRUPT;
}

static op_err
on_run(agent_session *s, const proto_msg *m, uint64_t now_ms)
{
    store_ingested got;
    proto_envelope first;
    size_t bad;
    op_err r;

    /* Which author and where it starts: for the answer when the run does not connect. */
    if ((r = proto_envelope_decode(m->items[0].env, m->items[0].env_len, &first)) != OP_OK)
        return r;
    if (was_refused(s, first.author)) {
        s->stats.refused++;
        return send_ack(s, first.author);
    }
    if ((r = within_quota(s, first.author, m)) == OP_E_QUOTA) {
        s->stats.refused++;
        return refuse(s, first.author, r);
    }
    if (r != OP_OK)
        return r;
    r = store_log_ingest(s->db, s->rd, m->items, m->n_items, now_ms, &got, &bad);
    if (r == OP_E_GAP)
        return on_gap(s, first.author, first.seq, now_ms);
    if (((r == OP_E_FORK || r == OP_E_CHAIN) && got.evidence) || r == OP_E_REVOKED) {
        /* The author wrote two different logs (the evidence is kept in the forks table), or
         * was revoked before these entries: the run is refused, the session goes on. */
        if (r != OP_E_REVOKED)
            s->stats.forks++;
        else /* evidence for the office's alerts (revoked_activity); lost, the run is still
              * refused and the log line stands */
            OP_IGNORE(store_member_refused(s->db, first.author, STORE_REFUSED_ENTRIES, now_ms));
        return refuse(s, first.author, r);
    }
    if (r == OP_E_DISK_FULL) {
        /* Our disk, not the peer's fault: nothing of the run is stored, the ACK says so, and
         * the session goes on, so that what we send still goes out (SPEC §10: a full disk
         * keeps outbound sync). Not remembered as refused: a later RUN of the author (a push,
         * the answer to a WANT, the next session) is tried again once there is space. */
        s->stats.not_stored++;
        if (s->io.refused)
            s->io.refused(s->io.ctx, first.author, r);
        return send_ack(s, first.author);
    }
    if (r != OP_OK) {
        /* A forged or malformed run: the peer is broken or hostile. Nothing of the run was
         * stored; the session ends with this code. Said first naming the author, for the log. */
        if (!agent_session_local_failure(r) && s->io.refused)
            s->io.refused(s->io.ctx, first.author, r);
        return r;
    }
    s->stats.entries_received += got.stored;
    s->stats.entries_already += got.already;
    if (got.already && s->io.already) {
        /* the entries held already are the run's first ones (store_log_ingest) */
        uint64_t bytes = 0;
        for (size_t i = 0; i < got.already && i < m->n_items; i++)
            bytes += m->items[i].env_len + (m->items[i].body ? m->items[i].body_len : 0);
        s->io.already(s->io.ctx, first.author, got.already, bytes);
    }
    uint64_t head;
    if ((r = store_have_head(s->db, first.author, &head)) != OP_OK)
        return r;
    if (got.stored)
        progressed(s, first.author, now_ms);
    if (got.stored && s->io.stored)
        s->io.stored(s->io.ctx, first.author, head - got.stored + 1, head);
    return send_ack(s, first.author);
}

/* The peer durably holds author's log up to seq (its ACK): what is queued for it below that
 * need not go. In a mesh the peer often got the same entries from another peer meanwhile
 * (every node relays what it stores at once), and without this a long run would still be sent
 * in full, each entry arriving twice or more on a narrow link. */
static void
skip_acked(agent_session *s, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq)
{
    for (size_t i = 0; i < s->n_jobs; i++) {
        job *j = &s->jobs[i];
        if (memcmp(j->author, author, PROTO_KEY_BYTES) != 0 || seq < j->next)
            continue;
        j->next = seq + 1;
        if (j->next > j->last) {
            memmove(j, j + 1, (s->n_jobs - i - 1) * sizeof *j);
            s->n_jobs--;
        }
        return; /* one job per author (enqueue widens it) */
    }
}

static void
answered(agent_session *s)
{
    if (s->runs_unanswered == 0)
        return; /* an answer to nothing (a broken peer): the window stays as it is */
    s->bytes_unanswered -= s->unanswered[s->unanswered_first];
    s->unanswered_first = (s->unanswered_first + 1) % AGENT_SESSION_WINDOW_RUNS;
    s->runs_unanswered--;
}

op_err
agent_session_recv(agent_session *s, const uint8_t *msg, size_t n, uint64_t now_ms)
{
    proto_msg m;
    proto_wbuf w;
    op_err r;
    uint64_t head;

    if ((r = proto_msg_decode(msg, n, &m)) != OP_OK)
        return r;
    s->stats.msgs_in++;
    switch (m.type) {
    case PROTO_MSG_HELLO:
        s->stats.peer_clock_ms = m.now_ms;
        s->stats.my_clock_ms = now_ms;
        if (memcmp(m.root, s->mine.root, PROTO_ROOT_BYTES) == 0) {
            s->reconciled = true; /* one round trip: nothing to do */
            r = OP_OK;
        } else {
            proto_wbuf_init(&w, s->buf, BUF_BYTES);
            r = send_buf(s, &w, proto_msg_buckets(&w, s->mine.buckets));
        }
        break;
    case PROTO_MSG_BUCKETS:
        r = on_buckets(s, &m);
        break;
    case PROTO_MSG_HAVE:
        r = on_have(s, &m);
        break;
    case PROTO_MSG_RUN:
        r = on_run(s, &m, now_ms);
        break;
    case PROTO_MSG_ACK:
        answered(s);
        for (size_t i = 0; i < m.n_heads; i++) {
            skip_acked(s, m.heads[i].author, m.heads[i].seq);
            if (s->io.acked)
                s->io.acked(s->io.ctx, m.heads[i].author, m.heads[i].seq);
        }
        r = OP_OK;
        break;
    case PROTO_MSG_WANT:
        answered(s);
        if ((r = store_have_head(s->db, m.author, &head)) == OP_OK)
            r = enqueue(s, m.author, m.seq, head);
        break;
    case PROTO_MSG_PING:
        proto_wbuf_init(&w, s->buf, BUF_BYTES);
        r = send_buf(s, &w, proto_msg_simple(&w, PROTO_MSG_PONG, m.nonce));
        break;
    case PROTO_MSG_PONG:
        r = OP_OK;
        break;
    case PROTO_MSG_DONE:
        s->peer_done = true;
        r = OP_OK;
        break;
    default:
        r = OP_E_MALFORMED;
    }
    proto_msg_free(&m);
    return r;
}

/* Sends the next RUN of the first job, as many entries as fit in one frame. */
static op_err
send_one_run(agent_session *s, size_t *sent)
{
    job *j = &s->jobs[0];
    store_run run;
    proto_wbuf w;
    op_err r;
    uint64_t want = j->last - j->next + 1;

    *sent = 0;
    if ((r = store_log_read(s->db, j->author, j->next, want < RUN_READ_MAX ? want : RUN_READ_MAX,
                            &run)) != OP_OK)
        return r;
    if (run.n == 0) { /* nothing held there (any more): the job is done */
        store_run_free(&run);
        pop_job(s);
        return OP_OK;
    }
    /* A full frame each time: the budget only decides whether another one goes out. */
    size_t n = run.n;
    while (n > 1 && proto_msg_run_size(run.items, n) > BUF_BYTES)
        n = n * 3 / 4;
    proto_wbuf_init(&w, s->buf, BUF_BYTES);
    r = send_buf(s, &w, proto_msg_run(&w, run.items, n));
    if (r == OP_OK) {
        *sent = w.len;
        /* the pump sends only while runs_unanswered < AGENT_SESSION_WINDOW_RUNS: the ring has
         * room; a RUN is at most a frame (BUF_BYTES), so its size fits */
        s->unanswered[(s->unanswered_first + s->runs_unanswered) % AGENT_SESSION_WINDOW_RUNS] =
            (uint32_t)w.len;
        s->bytes_unanswered += w.len;
        s->runs_unanswered++;
        s->stats.entries_sent += n;
        j->next += n;
        if (j->next > j->last)
            pop_job(s);
    }
    store_run_free(&run);
    return r;
}

op_err
agent_session_pump(agent_session *s, size_t budget, bool *more)
{
    op_err r = OP_OK;
    size_t sent;
    /* Nothing before the comparison is done: a push queued meanwhile may start past what the
     * peer holds (it is only known from its HAVE), and such a run is refused and sent again.
     * Then the window: another RUN only while one as large as a frame still fits in it. */
    while (s->reconciled && s->n_jobs && budget > 0 &&
           s->bytes_unanswered + BUF_BYTES <= AGENT_SESSION_WINDOW_BYTES &&
           s->runs_unanswered < AGENT_SESSION_WINDOW_RUNS) {
        if ((r = send_one_run(s, &sent)) != OP_OK)
            break;
        budget = sent >= budget ? 0 : budget - sent;
    }
    if (r == OP_OK && s->reconciled && s->n_jobs == 0 && !s->sent_done) {
        proto_wbuf w;
        proto_wbuf_init(&w, s->buf, BUF_BYTES);
        if ((r = send_buf(s, &w, proto_msg_simple(&w, PROTO_MSG_DONE, 0))) == OP_OK)
            s->sent_done = true;
    }
    *more = s->n_jobs > 0;
    return r;
}

op_err
agent_session_push(agent_session *s, const uint8_t author[PROTO_KEY_BYTES], uint64_t first,
                   uint64_t last)
{
    return enqueue(s, author, first, last);
}

bool
agent_session_synced(const agent_session *s)
{
    return s->sent_done && s->peer_done && s->n_jobs == 0 && s->runs_unanswered == 0;
}

const agent_session_stats *
agent_session_stats_get(const agent_session *s)
{
    return &s->stats;
}
