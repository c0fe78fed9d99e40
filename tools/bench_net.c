/*
 * bench_net.c — the wire-level baselines of `outpost-bench sync` (see bench_net.h): sockets on
 * 127.0.0.1 and frame sizes computed with proto/msg.h, nothing sent to an agent.
 */
#include "tools/bench_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/frame.h"
#include "proto/msg.h"
#include "store/have.h"
#include "store/log.h"
#include "tools/bench_util.h"
#include "tools/gen.h"

int
bench_net_free_ports(int out[2])
{
    int fds[2] = {-1, -1}, ret = 0;
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sa;
        if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
            bind(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &len) != 0) {
            ret = bench_fail("cannot find a free port on 127.0.0.1: %s", strerror(errno));
            break;
        }
        out[i] = ntohs(sa.sin_port);
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return ret;
}

int
bench_net_loopback_rtt(int rounds, double *median_s, double *p99_s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), fd = -1, ret = 0;
    char msg[64] = {0};
    double *v = calloc((size_t)rounds, sizeof *v);
    pid_t pid = -1;

    if (!v || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) != 0) {
        ret = bench_fail("loopback baseline: %s", strerror(errno));
        goto out;
    }
    if ((pid = fork()) == 0) { /* the echo side */
        int c = accept(lfd, NULL, NULL);
        char b[64];
        if (c < 0)
            _exit(1);
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (;;) {
            size_t got = 0;
            while (got < sizeof b) {
                ssize_t k = read(c, b + got, sizeof b - got);
                if (k <= 0)
                    _exit(0);
                got += (size_t)k;
            }
            if (write(c, b, sizeof b) != (ssize_t)sizeof b)
                _exit(1);
        }
    }
    if (pid < 0 || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        ret = bench_fail("loopback baseline: %s", strerror(errno));
        goto out;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < rounds; i++) {
        double t0 = bench_mono();
        if (write(fd, msg, sizeof msg) != (ssize_t)sizeof msg) {
            ret = bench_fail("loopback baseline: write: %s", strerror(errno));
            goto out;
        }
        size_t got = 0;
        while (got < sizeof msg) {
            ssize_t k = read(fd, msg + got, sizeof msg - got);
            if (k <= 0) {
                ret = bench_fail("loopback baseline: the echo process went away");
                goto out;
            }
            got += (size_t)k;
        }
        v[i] = bench_mono() - t0;
    }
    bench_sort(v, (size_t)rounds);
    *median_s = bench_pct(v, (size_t)rounds, 50);
    *p99_s = bench_pct(v, (size_t)rounds, 99);
out:
    if (fd >= 0)
        close(fd);
    if (lfd >= 0)
        close(lfd);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    free(v);
    return ret;
}

op_err
bench_net_have_vector_bytes(store_db *db, uint64_t *bytes)
{
    op_err r = OP_OK;
    *bytes = 0;
    for (unsigned b = 0; b < PROTO_BUCKETS && r == OP_OK; b++) {
        store_head *h = NULL;
        size_t n = 0;
        if ((r = store_have_bucket(db, b, &h, &n)) != OP_OK)
            break;
        for (size_t off = 0; off < n && r == OP_OK; off += PROTO_MSG_MAX_ITEMS) {
            size_t k = n - off < PROTO_MSG_MAX_ITEMS ? n - off : PROTO_MSG_MAX_ITEMS;
            proto_head_ref *refs = calloc(k, sizeof *refs);
            size_t cap = 64 + k * (PROTO_KEY_BYTES + 16);
            uint8_t *buf = malloc(cap);
            if (!refs || !buf) {
                r = OP_E_NOMEM;
            } else {
                proto_wbuf w;
                for (size_t i = 0; i < k; i++)
                    refs[i] = (proto_head_ref){h[off + i].author, h[off + i].seq};
                proto_wbuf_init(&w, buf, cap);
                if ((r = proto_msg_heads(&w, PROTO_MSG_HAVE, b, refs, k)) == OP_OK)
                    *bytes += w.len + PROTO_FRAME_OVERHEAD;
            }
            free(refs);
            free(buf);
        }
        free(h);
    }
    return r;
}

size_t
bench_net_one_rtt_bytes(uint64_t authors)
{
    uint8_t buf[128], root[PROTO_ROOT_BYTES] = {0};
    proto_wbuf w;
    size_t total = 0;
    proto_wbuf_init(&w, buf, sizeof buf);
    if (proto_msg_hello(&w, root, authors, bench_wall_ms()) == OP_OK)
        total += w.len + PROTO_FRAME_OVERHEAD;
    proto_wbuf_init(&w, buf, sizeof buf);
    if (proto_msg_simple(&w, PROTO_MSG_DONE, 0) == OP_OK)
        total += w.len + PROTO_FRAME_OVERHEAD;
    return total;
}

int
bench_net_run_frame_bytes(const char *dir, uint64_t seed, uint32_t n, uint64_t *bytes)
{
    char path[4300];
    store_db *db = NULL;
    op_err r;
    *bytes = 0;
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    if ((r = store_db_open(path, STORE_OPEN_READONLY, &db)) != OP_OK)
        return bench_fail("cannot open %s: %s", path, op_strerror(r));
    for (uint32_t i = 0; i < n && r == OP_OK; i++) {
        uint8_t pk[PROTO_KEY_BYTES], sk[PROTO_SECRET_BYTES];
        store_run run;
        gen_author_key(seed, i, pk, sk);
        sodium_memzero(sk, sizeof sk);
        if ((r = store_log_read(db, pk, 1, GEN_RUN_MAX, &run)) == OP_OK) {
            *bytes += proto_msg_run_size(run.items, run.n) + PROTO_FRAME_OVERHEAD;
            store_run_free(&run);
        }
    }
    store_db_close(db);
    if (r != OP_OK)
        return bench_fail("cannot read the new entries back from %s: %s", path, op_strerror(r));
    return 0;
}
