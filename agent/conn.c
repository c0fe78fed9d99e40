/* conn.c — one peer connection on libuv (see conn.h). */
#include "agent/conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "agent/log.h"
#include "proto/frame.h"

#define READ_MAX (PROTO_FRAME_MAX_BYTES + PROTO_FRAME_OVERHEAD + 64)
#define READ_CHUNK 65536 /* one read from the socket */

typedef struct write_req {
    uv_write_t req;
    agent_conn *c;
    size_t len;
    uint8_t data[]; /* the bytes being written */
} write_req;

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void pump(agent_conn *c);

agent_conn *
agent_conn_new(agent_node *n, bool initiator, const char *addr, const uint8_t *expect)
{
    agent_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->node = n;
    c->initiator = initiator;
    snprintf(c->addr, sizeof c->addr, "%s", addr ? addr : "?");
    if (expect) {
        c->has_expect = true;
        memcpy(c->expect, expect, 32);
    }
    c->state = initiator ? CONN_CONNECTING : CONN_HANDSHAKE;
    c->started_ms = c->last_rx_ms = uv_now(n->loop);
    uv_tcp_init(n->loop, &c->tcp);
    uv_timer_init(n->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    return c;
}

/* One of the things that keep the conn alive (its two handles, a name lookup) is over. */
static void
release(agent_conn *c)
{
    if (--c->open_handles > 0)
        return;
    agent_node_conn_closed(c->node, c, c->why, c->synced_reported);
    agent_session_free(c->session);
    proto_hs_free(c->hs);
    sodium_memzero(&c->tx, sizeof c->tx);
    sodium_memzero(&c->rx, sizeof c->rx);
    sodium_memzero(c->rx_key, sizeof c->rx_key);
    free(c->in);
    free(c);
}

static void
on_handle_closed(uv_handle_t *h)
{
    release(h->data);
}

void
agent_conn_close(agent_conn *c, const char *why)
{
    if (c->state == CONN_CLOSING)
        return;
    c->state = CONN_CLOSING;
    if (!c->why[0]) /* the first reason given is the one that counts */
        snprintf(c->why, sizeof c->why, "%s", why ? why : "closed");
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

/* The link died under a live session before the peer's goodbye (a read error, a failed
 * write, EOF): whichever shows first, it is a cut stream (C9), reported as TRUNCATED. */
static void
close_cut(agent_conn *c, const char *what, int uv_err)
{
    char why[640];
    if (what)
        snprintf(why, sizeof why,
                 "connection cut before goodbye (TRUNCATED); what arrived whole "
                 "is kept (%s failed: %s)",
                 what, uv_strerror(uv_err));
    else
        snprintf(why, sizeof why,
                 "connection cut before goodbye (TRUNCATED); what arrived whole "
                 "is kept");
    agent_conn_close(c, why);
}

static void
close_err(agent_conn *c, const char *what, op_err e)
{
    char why[640];
    snprintf(why, sizeof why, "%s: %s (%s)", what, op_strerror(e), op_errname(e));
    agent_conn_close(c, why);
}

/* Both streams have ended and everything of ours is out: the connection can close without
 * leaving bytes unread on either side (which would reset it and could lose our last frames). */
static void
close_when_both_said_goodbye(agent_conn *c)
{
    if (c->goodbye_sent && c->goodbye_received &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
        agent_conn_close(c, NULL);
}

static void
on_written(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    agent_conn *c = w->c;
    free(w);
    if (c->state == CONN_CLOSING)
        return;
    if (status < 0) {
        char why[640];
        snprintf(why, sizeof why, "write failed: %s", uv_strerror(status));
        if (c->state == CONN_LIVE && !c->goodbye_received)
            close_cut(c, "write", status);
        else
            agent_conn_close(c, why);
        return;
    }
    if (c->goodbye_sent) { /* waiting for the peer's goodbye (on_timer gives up on it) */
        close_when_both_said_goodbye(c);
        return;
    }
    pump(c);
}

/* A write that could not even be queued (out of memory, or libuv refused it) closes the link
 * with that reason at once: the caller's later reason ("peer sent bad data" when the session
 * was answering a message, say) would blame the peer for our failure, and only the first
 * reason given counts. */
static op_err
write_failed(agent_conn *c, op_err e, int uv_err)
{
    char why[640];
    if (uv_err)
        snprintf(why, sizeof why, "write failed: %s", uv_strerror(uv_err));
    else
        snprintf(why, sizeof why, "write failed: %s (%s)", op_strerror(e), op_errname(e));
    agent_conn_close(c, why);
    return e;
}

static op_err
write_raw(agent_conn *c, const uint8_t *p, size_t n)
{
    write_req *w = malloc(sizeof *w + n);
    if (!w)
        return write_failed(c, OP_E_NOMEM, 0);
    w->c = c;
    w->len = n;
    memcpy(w->data, p, n);
    c->bytes_out += n;
    if (c->state == CONN_LIVE)
        c->live_out += n;
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)n);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written);
    if (rc < 0) {
        free(w);
        return write_failed(c, OP_E_IO, rc);
    }
    return OP_OK;
}

/* The session's messages, each sealed into one frame. */
static op_err
send_frame(void *ctx, const uint8_t *msg, size_t n)
{
    agent_conn *c = ctx;
    size_t len;
    write_req *w;
    op_err r;
    if (c->goodbye_sent)
        return OP_OK; /* our stream has ended: answers to what still arrives are not sent */
    if (!(w = malloc(sizeof *w + n + PROTO_FRAME_OVERHEAD)))
        return write_failed(c, OP_E_NOMEM, 0);
    if ((r = proto_stream_seal(&c->tx, msg, n, false, w->data, n + PROTO_FRAME_OVERHEAD, &len)) !=
        OP_OK) {
        free(w);
        return r;
    }
    w->c = c;
    w->len = len;
    c->bytes_out += len;
    c->live_out += len;
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_written);
    if (rc < 0) {
        free(w);
        return write_failed(c, OP_E_IO, rc);
    }
    return OP_OK;
}

static void
session_stored(void *ctx, const uint8_t author[32], uint64_t first, uint64_t last)
{
    agent_conn *c = ctx;
    agent_node_stored(c->node, c, author, first, last);
}

static void
session_refused(void *ctx, const uint8_t author[32], op_err why)
{
    agent_conn *c = ctx;
    char k[9], p[9];
    agent_short_key(author, k);
    agent_short_key(c->peer, p);
    if (why == OP_E_DISK_FULL)
        agent_log("cannot store a run of %s from %s: the disk is full (DISK_FULL); free some "
                  "space: sending goes on, receiving resumes by itself", k, p);
    else
        agent_log("refused a run of %s from %s: %s (%s)", k, p, op_strerror(why),
                  op_errname(why));
}

static void
session_already(void *ctx, const uint8_t author[32], uint64_t n, uint64_t bytes)
{
    agent_conn *c = ctx;
    char k[9], p[9];
    agent_short_key(author, k);
    agent_short_key(c->peer, p);
    agent_log("received %llu entries of %s from %s again (%llu bytes): held already",
              (unsigned long long)n, k, p, (unsigned long long)bytes);
}

static void
session_acked(void *ctx, const uint8_t author[32], uint64_t seq)
{
    agent_conn *c = ctx;
    agent_node_acked(c->node, c, author, seq);
}

void
agent_conn_finish(agent_conn *c, const char *why)
{
    uint8_t frame[PROTO_FRAME_OVERHEAD];
    size_t len;
    if (c->state != CONN_LIVE || c->goodbye_sent)
        return;
    snprintf(c->why, sizeof c->why, "%s", why);
    c->goodbye_sent = true;
    c->goodbye_ms = uv_now(c->node->loop);
    /* An empty final frame: the stream ends here, on purpose (a cut has no final tag). */
    if (proto_stream_seal(&c->tx, NULL, 0, true, frame, sizeof frame, &len) != OP_OK ||
        write_raw(c, frame, len) != OP_OK)
        agent_conn_close(c, why);
}

/* Sends queued runs while the socket's write queue has room (back-pressure). */
static void
pump(agent_conn *c)
{
    if (c->state != CONN_LIVE || !c->session || c->goodbye_sent)
        return;
    size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    if (queued < AGENT_WRITE_HIGH_WATER) {
        bool more;
        op_err r = agent_session_pump(c->session, AGENT_WRITE_HIGH_WATER - queued, &more);
        if (r != OP_OK) {
            close_err(c, "sending runs failed", r);
            return;
        }
    }
    if (!c->synced_reported && agent_session_synced(c->session)) {
        c->synced_reported = true;
        agent_node_conn_ready(c->node, c); /* the node decides: stay (live) or say goodbye */
    }
}

void
agent_conn_push(agent_conn *c, const uint8_t author[32], uint64_t first, uint64_t last)
{
    if (c->state != CONN_LIVE || !c->session)
        return;
    op_err r = agent_session_push(c->session, author, first, last);
    if (r != OP_OK) {
        close_err(c, "queueing entries failed", r);
        return;
    }
    c->synced_reported = false; /* work again: report when it is done */
    pump(c);
}

static void
on_timer(uv_timer_t *t)
{
    agent_conn *c = t->data;
    uint64_t now = uv_now(c->node->loop);
    if (c->state == CONN_CONNECTING) {
        /* TCP retries a lost SYN after 1 s, 3 s, 7 s ...: on a lossy link with a long RTT the
         * connection alone may take most of 10 s, so it has its own, longer limit. */
        if (now - c->started_ms >= AGENT_CONNECT_TIMEOUT_MS)
            agent_conn_close(c, "no TCP connection within 30 s");
        return;
    }
    if (c->state == CONN_HANDSHAKE || c->state == CONN_HEADERS) {
        /* From the TCP connection (accepted, or connected for a dial): C18's bound on what an
         * unauthenticated peer may hold, and the same 10 s for a dial on a slow link. */
        if (now - c->started_ms >= AGENT_HANDSHAKE_TIMEOUT_MS)
            agent_conn_close(c, "no handshake within 10 s");
        return;
    }
    if (c->goodbye_sent && now - c->goodbye_ms >= AGENT_GOODBYE_WAIT_MS) {
        agent_conn_close(c, NULL); /* the peer does not answer our goodbye: do not wait */
        return;
    }
    if (now - c->last_rx_ms >= AGENT_DEAD_AFTER_MS) {
        agent_conn_close(c, "peer silent for 30 s: link presumed dead");
        return;
    }
    if (c->state == CONN_LIVE && now - c->last_rx_ms >= AGENT_KEEPALIVE_MS / 2) {
        uint8_t msg[16];
        proto_wbuf w;
        proto_wbuf_init(&w, msg, sizeof msg);
        if (proto_msg_simple(&w, PROTO_MSG_PING, now) == OP_OK)
            OP_IGNORE(send_frame(c, msg, w.len)); /* a failed ping shows up as silence */
    }
}

static void
start_timer(agent_conn *c)
{
    uv_timer_start(&c->timer, on_timer, 1000, 1000);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = malloc(READ_CHUNK);
    buf->len = buf->base ? READ_CHUNK : 0;
}

static op_err
hs_write(agent_conn *c)
{
    uint8_t msg[PROTO_HS_MSG2_BYTES];
    size_t len;
    op_err r;
    if ((r = proto_hs_write(c->hs, msg, sizeof msg, &len)) != OP_OK)
        return r;
    return write_raw(c, msg, len);
}

/* The handshake finished: the keys become streams; our stream header goes out first. */
static op_err
hs_finished(agent_conn *c)
{
    proto_hs_result res;
    uint8_t header[PROTO_FRAME_HEADER_BYTES];
    op_err r;
    if ((r = proto_hs_get(c->hs, &res)) != OP_OK)
        return r;
    memcpy(c->peer, res.peer, 32);
    r = proto_stream_push_init(&c->tx, res.tx, header);
    memcpy(c->rx_key, res.rx, sizeof res.rx); /* until the peer's stream header arrives */
    sodium_memzero(&res, sizeof res);
    proto_hs_free(c->hs);
    c->hs = NULL;
    if (r != OP_OK)
        return r;
    c->state = CONN_HEADERS;
    return write_raw(c, header, sizeof header);
}

/* Consumes what is buffered, as far as it goes. */
static void
process(agent_conn *c)
{
    size_t off = 0;
    op_err r = OP_OK;
    while (c->state != CONN_CLOSING && off < c->in_len) {
        const uint8_t *p = c->in + off;
        size_t have = c->in_len - off;
        if (c->state == CONN_HANDSHAKE) {
            size_t want = proto_hs_want(c->hs);
            if (want == 0 || have < want)
                break;
            if ((r = proto_hs_read(c->hs, p, want)) != OP_OK) {
                /* Nothing is sent back: a stranger learns nothing about us. */
                close_err(c, "handshake refused", r);
                return;
            }
            off += want;
            if (!proto_hs_done(c->hs) && (r = hs_write(c)) != OP_OK) {
                close_err(c, "handshake", r);
                return;
            }
            if (proto_hs_done(c->hs) && (r = hs_finished(c)) != OP_OK) {
                close_err(c, "handshake", r);
                return;
            }
        } else if (c->state == CONN_HEADERS) {
            if (have < PROTO_FRAME_HEADER_BYTES)
                break;
            r = proto_stream_pull_init(&c->rx, c->rx_key, p);
            sodium_memzero(c->rx_key, sizeof c->rx_key);
            if (r != OP_OK) {
                close_err(c, "stream header", r);
                return;
            }
            off += PROTO_FRAME_HEADER_BYTES;
            c->state = CONN_LIVE;
            c->live_ms = uv_now(c->node->loop);
            c->live_in = c->in_len - off; /* what already came after the handshake */
            agent_session_io io = {.ctx = c, .send = send_frame, .stored = session_stored,
                                   .acked = session_acked, .refused = session_refused,
                                   .already = session_already};
            if ((r = agent_session_new(c->node->db, c->node->rd, &io, &c->session)) != OP_OK) {
                close_err(c, "session", r);
                return;
            }
            /* The node may refuse the peer (revoked, or a second link to it) before a byte of
             * the session is sent. */
            agent_node_conn_ready(c->node, c);
            if (c->state == CONN_CLOSING)
                return;
            if ((r = agent_session_start(c->session, agent_now_ms())) != OP_OK) {
                close_err(c, "session", r);
                return;
            }
            pump(c);
        } else if (c->state == CONN_LIVE) {
            size_t flen, mlen;
            bool final;
            static uint8_t msg[PROTO_FRAME_MAX_BYTES];
            r = proto_frame_peek(p, have, &flen);
            if (r == OP_E_TRUNCATED)
                break;
            if (r != OP_OK) {
                close_err(c, "bad frame", r);
                return;
            }
            if ((r = proto_stream_open(&c->rx, p, flen, msg, sizeof msg, &mlen, &final)) !=
                OP_OK) {
                close_err(c, "frame did not authenticate", r);
                return;
            }
            off += flen;
            if (mlen > 0 &&
                (r = agent_session_recv(c->session, msg, mlen, agent_now_ms())) != OP_OK) {
                close_err(c,
                          agent_session_local_failure(r) ? "storing what the peer sent failed"
                                                         : "peer sent bad data",
                          r);
                return;
            }
            if (!c->clock_judged && agent_session_stats_get(c->session)->peer_clock_ms) {
                c->clock_judged = true; /* its HELLO: once per connection */
                agent_node_clock_judged(c->node, c);
            }
            if (final) {
                /* The peer's stream has ended: answer with our own goodbye, then close. */
                c->goodbye_received = true;
                if (!c->goodbye_sent)
                    agent_conn_finish(c, "peer said goodbye");
                else
                    close_when_both_said_goodbye(c);
                off = c->in_len; /* nothing may follow the final frame: drop it */
                break;
            }
            pump(c);
        } else {
            break;
        }
    }
    if (c->state == CONN_CLOSING)
        return;
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    agent_conn *c = s->data;
    if (n < 0) {
        free(buf->base);
        if (n == UV_EOF && (c->goodbye_received || c->goodbye_sent))
            agent_conn_close(c, NULL);
        else if (n == UV_EOF && c->state != CONN_LIVE)
            /* A responder that does not like our first message closes without a word (C3). */
            agent_conn_close(c, c->initiator
                                    ? "handshake refused by the peer (HANDSHAKE): another "
                                      "team's network key, or not the node expected at this "
                                      "address"
                                    : "the peer left during the handshake (HANDSHAKE)");
        else if (n == UV_EOF)
            close_cut(c, NULL, 0);
        else {
            char why[640];
            snprintf(why, sizeof why, "read failed: %s", uv_strerror((int)n));
            if (c->state == CONN_LIVE && !c->goodbye_received)
                close_cut(c, "read", (int)n);
            else
                agent_conn_close(c, why);
        }
        return;
    }
    if (n == 0 || c->state == CONN_CLOSING || c->goodbye_received) {
        free(buf->base); /* after the peer's final frame its stream is over: bytes are ignored */
        return;
    }
    c->last_rx_ms = uv_now(c->node->loop);
    c->bytes_in += (size_t)n;
    if (c->state == CONN_LIVE)
        c->live_in += (size_t)n;
    /* What is left after processing is less than one frame (or, before authentication, one
     * handshake message: C18); one more read comes on top of it. */
    size_t limit = c->state == CONN_LIVE ? READ_MAX : 4096;
    if (c->in_len > limit || (size_t)n > READ_CHUNK) {
        free(buf->base);
        agent_conn_close(c, "peer sent more than a frame may hold");
        return;
    }
    if (c->in_len + (size_t)n > c->in_cap) {
        /* Before authentication exactly what arrived (it is at most one handshake message
         * after processing, freed below): a peer that has not authenticated costs little
         * memory (C18). After it, room to grow to a whole frame. */
        size_t ncap = c->in_len + (size_t)n + (c->state == CONN_LIVE ? 65536 : 0);
        if (ncap > READ_MAX + READ_CHUNK)
            ncap = READ_MAX + READ_CHUNK;
        uint8_t *ni = realloc(c->in, ncap);
        if (!ni) {
            free(buf->base);
            agent_conn_close(c, "out of memory");
            return;
        }
        c->in = ni;
        c->in_cap = ncap;
    }
    memcpy(c->in + c->in_len, buf->base, (size_t)n);
    c->in_len += (size_t)n;
    free(buf->base);
    process(c);
    if (c->state == CONN_HANDSHAKE && c->in_len == 0) {
        free(c->in); /* nothing pending while the handshake waits for the peer */
        c->in = NULL;
        c->in_cap = 0;
    }
}

/* Left alone, the kernel takes up to tcp_wmem's 4 MiB a socket, and on a slow link what sits
 * there is out of the session's hands for minutes: the peer's ACK that it already holds those
 * entries (from another peer), or its WANT after a gap, comes too late to send less, and the
 * peer's answers wait behind it. TCP_NOTSENT_LOWAT keeps the kernel's unsent bytes near
 * AGENT_UNSENT_MAX (what is in flight is not limited); the rest waits in the session. Best
 * effort: a kernel without it (before 3.12) just buffers more. */
static void
limit_unsent(agent_conn *c)
{
    uv_os_fd_t fd;
    int lowat = AGENT_UNSENT_MAX;
    if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
}

static op_err
begin_handshake(agent_conn *c)
{
    op_err r = proto_hs_new(c->initiator, c->node->netkey, c->node->id->sk,
                            c->has_expect ? c->expect : NULL, &c->hs);
    if (r != OP_OK)
        return r;
    c->state = CONN_HANDSHAKE;
    uv_tcp_nodelay(&c->tcp, 1);
    limit_unsent(c);
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0)
        return OP_E_IO;
    if (c->initiator)
        return hs_write(c);
    return OP_OK;
}

void
agent_conn_accepted(agent_conn *c)
{
    op_err r = begin_handshake(c);
    start_timer(c);
    if (r != OP_OK)
        close_err(c, "accept", r);
}

static void
on_connected(uv_connect_t *req, int status)
{
    agent_conn *c = req->data;
    free(req);
    if (c->state == CONN_CLOSING)
        return;
    if (status < 0) {
        char why[640];
        snprintf(why, sizeof why, "cannot connect to %s: %s", c->addr, uv_strerror(status));
        agent_conn_close(c, why);
        return;
    }
    c->started_ms = c->last_rx_ms = uv_now(c->node->loop); /* the handshake's 10 s start now */
    op_err r = begin_handshake(c);
    if (r != OP_OK)
        close_err(c, "handshake", r);
}

static void
connect_to(agent_conn *c, const struct sockaddr *sa)
{
    uv_connect_t *req = malloc(sizeof *req);
    if (!req) {
        agent_conn_close(c, "out of memory");
        return;
    }
    req->data = c;
    int rc = uv_tcp_connect(req, &c->tcp, sa, on_connected);
    if (rc < 0) {
        char why[640];
        free(req);
        snprintf(why, sizeof why, "cannot connect to %s: %s", c->addr, uv_strerror(rc));
        agent_conn_close(c, why);
    }
}

typedef struct resolve_req {
    uv_getaddrinfo_t req;
    agent_conn *c;
} resolve_req;

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve_req *rr = (resolve_req *)req;
    agent_conn *c = rr->c;
    free(rr);
    if (c->state == CONN_CLOSING) {
        /* closed while we looked the name up */
    } else if (status < 0 || !res) {
        char why[640];
        snprintf(why, sizeof why, "cannot find %s: %s", c->addr, uv_strerror(status));
        agent_conn_close(c, why);
    } else {
        connect_to(c, res->ai_addr);
    }
    uv_freeaddrinfo(res);
    release(c); /* the lookup held the conn */
}

/* Splits "host:port" or "[v6]:port". */
static bool
split_addr(const char *addr, char *host, size_t hn, char *port, size_t pn)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1])
        return false;
    const char *h = addr, *he = colon;
    if (*h == '[' && he > h + 1 && he[-1] == ']') {
        h++;
        he--;
    }
    if ((size_t)(he - h) >= hn || strlen(colon + 1) >= pn)
        return false;
    memcpy(host, h, (size_t)(he - h));
    host[he - h] = '\0';
    snprintf(port, pn, "%s", colon + 1);
    return true;
}

op_err
agent_conn_dial(agent_conn *c)
{
    char host[256], port[16];
    struct sockaddr_storage ss;
    start_timer(c);
    if (!split_addr(c->addr, host, sizeof host, port, sizeof port)) {
        agent_conn_close(c, "address is not HOST:PORT");
        return OP_E_INVAL;
    }
    int p = atoi(port);
    if (uv_ip4_addr(host, p, (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(host, p, (struct sockaddr_in6 *)&ss) == 0) {
        connect_to(c, (struct sockaddr *)&ss);
        return OP_OK;
    }
    resolve_req *rr = malloc(sizeof *rr);
    if (!rr) {
        agent_conn_close(c, "out of memory");
        return OP_E_NOMEM;
    }
    rr->c = c;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->open_handles++; /* the conn lives until the lookup answers */
    int rc = uv_getaddrinfo(c->node->loop, &rr->req, on_resolved, host, port, &hints);
    if (rc < 0) {
        c->open_handles--;
        free(rr);
        char why[640];
        snprintf(why, sizeof why, "cannot look up %s: %s", host, uv_strerror(rc));
        agent_conn_close(c, why);
        return OP_E_IO;
    }
    return OP_OK;
}
