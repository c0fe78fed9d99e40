/*
 * seeds.c — writes the seed corpora of the fuzz targets with the real encoders (and a few
 * hand-made msgpack edge cases for "mp"). Deterministic (fuzz.h's randomness, fixed keys):
 * running it again gives the same files.
 *
 *   fuzz_seeds DIR      writes DIR/<target>/<name> for every target
 *
 * `tools/fuzz.sh seeds` runs it into tests/fuzz/corpus/. Each file is named after what it holds.
 */
#include <errno.h>
#include <sys/stat.h>

#include "proto/body.h"
#include "proto/entry.h"
#include "proto/frame.h"
#include "proto/hs.h"
#include "proto/invite.h"
#include "proto/mp.h"
#include "proto/msg.h"
#include "proto/seal.h"

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/team.h"

/* Unused here: seeds.c is not a harness, but fuzz.h declares these. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}

static const char *root;
static size_t files, bytes;

static void
put(const char *target, const char *name, const uint8_t *p, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    files++;
    bytes += n;
}

/* A growable byte string. */
typedef struct bytes_ {
    uint8_t p[200000];
    size_t n;
} bstr;

static bstr B;

static void
b_reset(void)
{
    B.n = 0;
}

static void
b_add(const void *p, size_t n)
{
    if (B.n + n > sizeof B.p)
        abort();
    memcpy(B.p + B.n, p, n);
    B.n += n;
}

static void
b_u8(uint8_t v)
{
    b_add(&v, 1);
}

static void
b_u16(uint16_t v)
{
    b_u8((uint8_t)(v >> 8));
    b_u8((uint8_t)v);
}

static void
b_sep(void)
{
    b_add(FUZZ_SEP, FUZZ_SEP_BYTES);
}

/* ---- mp: hand-made edge cases, plus every real message below ---- */

static void
seeds_mp(void)
{
    static const struct {
        const char *name;
        const char *hex;
    } cases[] = {
        {"map32_huge_count", "df01c6c6c6"},           /* 29.7 M pairs claimed, 2 given */
        {"array32_huge_count", "ddffffffff00"},       /* 4 G elements claimed */
        {"str32_huge_len", "dbffffffff61"},           /* 4 GiB string claimed */
        {"bin32_huge_len", "c6ffffffff00"},
        {"nested_9", "919191919191919191c0"},         /* one too deep */
        {"nested_8", "9191919191919191c0"},
        {"ext8", "c70101ff"},
        {"never_used_c1", "c1"},
        {"floats", "93ca3fc00000cb7ff8000000000000cbfff0000000000000"}, /* 1.5, NaN, -inf */
        {"ints", "96ccffcdffffceffffffffcfffffffffffffffffd080d38000000000000000"},
        {"map_dup_keys", "82a16101a16102"},
        {"trailing", "c0c0"},
        {"empty", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t buf[64];
        size_t n = strlen(cases[i].hex) / 2;
        for (size_t k = 0; k < n; k++) {
            unsigned v;
            sscanf(cases[i].hex + 2 * k, "%2x", &v);
            buf[k] = (uint8_t)v;
        }
        put("mp", cases[i].name, buf, n);
    }
}

/* ---- messages (msg, mp, frame, ingest) ---- */

static uint8_t msgs[10][70000];
static size_t msg_len[10];
static const char *msg_names[10];
static size_t n_msgs;

static void
add_msg(const char *name, proto_wbuf *w)
{
    team_must(w->err, name);
    msg_names[n_msgs] = name;
    msg_len[n_msgs] = w->len;
    n_msgs++;
}

static void
seeds_msg(void)
{
    static uint8_t buckets[PROTO_BUCKETS * PROTO_BUCKET_HASH_BYTES];
    proto_wbuf w;
    uint8_t rootb[PROTO_ROOT_BYTES];
    proto_head_ref heads[3];
    for (size_t i = 0; i < sizeof buckets; i++)
        buckets[i] = (uint8_t)(i * 7);
    memset(rootb, 0x33, sizeof rootb);
    for (int i = 0; i < 3; i++) {
        heads[i].author = ids[i].pk;
        heads[i].seq = (uint64_t)(i + 1) * 3;
    }
#define M(name, call)                                                                              \
    do {                                                                                           \
        proto_wbuf_init(&w, msgs[n_msgs], sizeof msgs[n_msgs]);                                    \
        OP_IGNORE(call);                                                                           \
        add_msg(name, &w);                                                                         \
    } while (0)
    M("hello", proto_msg_hello(&w, rootb, 3, T0));
    M("buckets", proto_msg_buckets(&w, buckets));
    M("have", proto_msg_heads(&w, PROTO_MSG_HAVE, 7, heads, 3));
    M("ack", proto_msg_heads(&w, PROTO_MSG_ACK, 0, heads, 3));
    M("run_w1", proto_msg_run(&w, pool[1].items, pool[1].n));
    M("run_office", proto_msg_run(&w, pool[0].items, pool[0].n));
    M("ping", proto_msg_simple(&w, PROTO_MSG_PING, 99));
    M("pong", proto_msg_simple(&w, PROTO_MSG_PONG, 99));
    M("done", proto_msg_simple(&w, PROTO_MSG_DONE, 0));
    M("want", proto_msg_want(&w, ids[1].pk, 4));
#undef M
    for (size_t i = 0; i < n_msgs; i++) {
        put("msg", msg_names[i], msgs[i], msg_len[i]);
        char name[64];
        snprintf(name, sizeof name, "msg_%s", msg_names[i]);
        put("mp", name, msgs[i], msg_len[i]);
    }
}

/* ---- envelope: runs as pieces [u16 env_len | 0x8000 = no body] env body ---- */

static void
add_item(const proto_run_item *it, bool body)
{
    b_u16((uint16_t)(it->env_len | (body && it->body ? 0 : 0x8000)));
    b_add(it->env, it->env_len);
    if (body && it->body)
        b_add(it->body, it->body_len);
}

static void
seeds_envelope(void)
{
    static const char *names[N_LOGS] = {"office", "w1", "w1_fork", "w2"};
    char name[64];
    for (int l = 0; l < N_LOGS; l++) {
        b_reset();
        for (size_t i = 0; i < pool[l].n; i++) {
            if (i)
                b_sep();
            add_item(&pool[l].items[i], true);
        }
        snprintf(name, sizeof name, "run_%s", names[l]);
        put("envelope", name, B.p, B.n);
        b_reset(); /* the same, without bodies, from seq 2 */
        for (size_t i = 1; i < pool[l].n; i++) {
            if (i > 1)
                b_sep();
            add_item(&pool[l].items[i], false);
        }
        snprintf(name, sizeof name, "run_%s_from2_nobody", names[l]);
        put("envelope", name, B.p, B.n);
        snprintf(name, sizeof name, "env_%s_1", names[l]);
        put("mp", name, pool[l].items[0].env, pool[l].items[0].env_len);
    }
    b_reset(); /* two authors in one run: AUTHOR */
    add_item(&pool[0].items[0], true);
    b_sep();
    add_item(&pool[1].items[1], true);
    put("envelope", "run_two_authors", B.p, B.n);
}

/* ---- body: [kind | 0x80 sealed] body ---- */

static void
body_seed(const char *name, proto_body *b)
{
    static uint8_t buf[PROTO_BODY_MAX_BYTES], box[PROTO_BODY_MAX_BYTES + PROTO_SEAL_OVERHEAD];
    static const uint8_t epoch_key[PROTO_EPOCH_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    uint8_t author_pk[32], author_sk[64];
    proto_wbuf w;
    size_t n;
    char sname[64];
    fuzz_keypair(0xa1, author_pk, author_sk); /* as tests/fuzz/body.c */
    proto_wbuf_init(&w, buf, sizeof buf);
    team_must(proto_body_encode(b, &w), name);
    b_reset();
    b_u8((uint8_t)b->kind);
    b_add(buf, w.len);
    put("body", name, B.p, B.n);
    snprintf(sname, sizeof sname, "body_%s", name);
    put("mp", sname, buf, w.len);
    team_must(proto_seal_body(epoch_key, author_pk, 1, b->kind, buf, w.len, box, sizeof box, &n),
              name);
    b_reset();
    b_u8((uint8_t)(b->kind | 0x80));
    b_add(box, n);
    snprintf(sname, sizeof sname, "sealed_%s", name);
    put("body", sname, B.p, B.n);
}

static void
seeds_body(void)
{
    proto_body b;
    proto_sealed sealed[3];
    proto_receipt_head heads[3];
    uint8_t ek[32] = {7};

    proto_body_init(&b, PROTO_KIND_CHECKIN);
    b.delivering = PROTO_YES;
    b.thriving = PROTO_NO;
    b.support = PROTO_YES;
    b.energy = 4;
    b.note = "long day";
    b.blockers = "VPN";
    b.wins = "demo went well";
    b.site = "Aarhus";
    body_seed("checkin", &b);

    proto_body_init(&b, PROTO_KIND_KPI_DEF);
    b.id = "reply_4h";
    b.title = "Replies within 4 hours";
    b.unit = "%";
    b.target = 90;
    b.direction = "at_least";
    b.period = "week";
    b.has_for = true;
    memcpy(b.for_key, ids[1].pk, 32);
    b.aggregate = "mean";
    body_seed("kpi_def", &b);

    proto_body_init(&b, PROTO_KIND_KPI_VALUE);
    b.id = "articles";
    b.value = 2.5;
    b.at = "2026-02-28";
    b.note = "draft";
    body_seed("kpi_value", &b);

    proto_body_init(&b, PROTO_KIND_FEEDBACK);
    b.has_who = true;
    memcpy(b.who, ids[1].pk, 32);
    b.text = "Thanks for the report";
    b.has_re = true;
    memcpy(b.re.author, ids[1].pk, 32);
    b.re.seq = 3;
    body_seed("feedback", &b);

    proto_body_init(&b, PROTO_KIND_CONTACT);
    b.has_who = true;
    memcpy(b.who, ids[2].pk, 32);
    b.topic = "wellbeing";
    b.note = "call on Monday";
    body_seed("contact", &b);

    proto_body_init(&b, PROTO_KIND_MEMBER);
    b.has_key = true;
    memcpy(b.key, ids[1].pk, 32);
    b.name = "Ann Åberg";
    b.site = "Oslo";
    b.role = "worker";
    body_seed("member", &b);

    proto_body_init(&b, PROTO_KIND_REVOKE);
    b.has_key = true;
    memcpy(b.key, ids[2].pk, 32);
    b.after_seq = 3;
    body_seed("revoke", &b);

    proto_body_init(&b, PROTO_KIND_KEY);
    b.epoch = 2;
    for (int i = 0; i < 3; i++) {
        memcpy(sealed[i].reader, ids[i].pk, 32);
        team_must(proto_seal_epoch_key(ids[i].pk, ek, sealed[i].box), "seal");
    }
    b.sealed = sealed;
    b.n_sealed = 3;
    body_seed("key", &b);

    proto_body_init(&b, PROTO_KIND_JOIN);
    b.name = "Cy";
    b.site = "Bergen";
    b.has_proof = true;
    uint8_t token[32] = {9};
    team_must(proto_join_proof_seal(ids[0].pk, token, ids[2].pk, b.proof), "proof");
    body_seed("join", &b);

    proto_body_init(&b, PROTO_KIND_RECEIPT);
    for (int i = 0; i < 3; i++) {
        memcpy(heads[i].author, ids[i].pk, 32);
        heads[i].seq = (uint64_t)i + 1;
    }
    b.heads = heads;
    b.n_heads = 3;
    body_seed("receipt", &b);
}

/* ---- hs: [mode] rest ---- */

static void
seeds_hs(void)
{
    uint8_t i_pk[32], i_sk[64], r_pk[32], r_sk[64], m1[65], m2[176], m3[112];
    proto_hs *I, *R;
    size_t len;
    fuzz_keypair(0x11, i_pk, i_sk); /* as tests/fuzz/hs.c */
    fuzz_keypair(0x22, r_pk, r_sk);
    fuzz_rng_reset(7); /* the harness's ephemerals: I first, then R */
    team_must(proto_hs_new(true, fuzz_netkey, i_sk, r_pk, &I), "hs");
    team_must(proto_hs_write(I, m1, sizeof m1, &len), "m1");
    team_must(proto_hs_new(false, fuzz_netkey, r_sk, NULL, &R), "hs");
    team_must(proto_hs_read(R, m1, sizeof m1), "read m1");
    team_must(proto_hs_write(R, m2, sizeof m2, &len), "m2");
    team_must(proto_hs_read(I, m2, sizeof m2), "read m2");
    team_must(proto_hs_write(I, m3, sizeof m3, &len), "m3");
    proto_hs_free(I);
    proto_hs_free(R);

    b_reset();
    b_u8(0);
    b_add(m1, sizeof m1);
    put("hs", "mode0_msg1", B.p, B.n);
    b_reset();
    b_u8(1);
    b_add(m1, 33);
    put("hs", "mode1_version_eI", B.p, B.n);
    b_reset();
    b_u8(2);
    b_add(m2, sizeof m2);
    put("hs", "mode2_honest_msg2", B.p, B.n);
    b_reset();
    b_u8(3);
    b_add(m2, 32);
    b_add(m2 + 64, sizeof m2 - 64);
    put("hs", "mode3_eR_sealed", B.p, B.n);
    static const uint8_t z[1 + 65 + 176 + 112];
    put("hs", "mode4_honest", (const uint8_t *)"\x04\x00", 2);
    b_reset();
    b_u8(4);
    b_add(z, sizeof z);
    put("hs", "mode4_zero_masks", B.p, B.n);
    put("hs", "mode4_wrong_expect", (const uint8_t *)"\x04\x01", 2);
    put("hs", "mode4_wrong_netkey", (const uint8_t *)"\x04\x02", 2);
    b_reset();
    b_u8(4);
    b_add(z, 1 + 65 + 40);
    b_u8(0x80);
    put("hs", "mode4_flip_msg2", B.p, B.n);
}

/* ---- frame: control piece, then plaintexts; frame_cipher: sealed streams ---- */

static void
seeds_frame(void)
{
    static uint8_t stream[300000];
    static const uint8_t key[32] = {'f', 'r', 'a', 'm', 'e', 'k', 'e', 'y'}; /* as the harness */
    static const struct {
        const char *name;
        uint8_t ctl[6];
        size_t nctl;
    } ctls[] = {
        {"final_whole", {1}, 1},
        {"nofinal_whole", {0}, 1},
        {"final_bytewise", {1, 0, 0, 0}, 4},
        {"final_chunks", {1, 0, 0, 6, 199, 31}, 6},
        {"flip_header", {3, 0, 5}, 3},
        {"flip_frame", {3 | (5 << 5), 0, 60, 16}, 4},
    };
    for (size_t c = 0; c < sizeof ctls / sizeof ctls[0]; c++) {
        b_reset();
        b_add(ctls[c].ctl, ctls[c].nctl);
        for (size_t i = 0; i < n_msgs; i++) {
            b_sep();
            b_add(msgs[i], msg_len[i]);
        }
        put("frame", ctls[c].name, B.p, B.n);
    }
    /* frame_cipher: [1] frames (the real header) and [0] header frames. */
    proto_stream tx;
    uint8_t header[PROTO_FRAME_HEADER_BYTES];
    for (int with_header = 0; with_header < 2; with_header++) {
        fuzz_rng_reset(3);
        team_must(proto_stream_push_init(&tx, key, header), "push");
        size_t len = 0, k;
        for (size_t i = 0; i < n_msgs; i++) {
            team_must(proto_stream_seal(&tx, msgs[i], msg_len[i], i == n_msgs - 1, stream + len,
                                        sizeof stream - len, &k),
                      "seal");
            len += k;
        }
        b_reset();
        b_u8(with_header ? 0 : 1);
        if (with_header)
            b_add(header, sizeof header);
        b_add(stream, len);
        put("frame_cipher", with_header ? "header_and_stream" : "real_header_stream", B.p, B.n);
        b_reset(); /* one PING frame, not final */
        fuzz_rng_reset(3);
        team_must(proto_stream_push_init(&tx, key, header), "push");
        team_must(proto_stream_seal(&tx, msgs[6], msg_len[6], false, stream, sizeof stream, &k),
                  "seal");
        b_u8(with_header ? 0 : 1);
        if (with_header)
            b_add(header, sizeof header);
        b_add(stream, k);
        put("frame_cipher", with_header ? "header_ping" : "real_header_ping", B.p, B.n);
    }
}

/* ---- invite ---- */

static void
seeds_invite(void)
{
    static const char *addrs[] = {"office.example.org:7420", "192.0.2.7:7420", "[2001:db8::7]:1",
                                  "a:65535", "x-y_z.example:80", "[::1]:7420", "h:1", "10.0.0.1:9"};
    proto_invite inv;
    char text[PROTO_INVITE_TEXT_MAX_BYTES], name[32];
    size_t len;
    static const size_t counts[] = {0, 1, 3, 8};
    for (size_t c = 0; c < 4; c++) {
        memset(&inv, 0, sizeof inv);
        memcpy(inv.office, ids[0].pk, 32);
        memset(inv.netkey, 0x4e, 32);
        memset(inv.token, 0x54, 32);
        inv.n_addrs = counts[c];
        for (size_t i = 0; i < inv.n_addrs; i++)
            strcpy(inv.addrs[i], addrs[i]);
        team_must(proto_invite_encode(&inv, text, sizeof text, &len), "invite");
        snprintf(name, sizeof name, "addrs_%zu", counts[c]);
        put("invite", name, (const uint8_t *)text, len);
    }
    memset(&inv, 0, sizeof inv); /* the largest: 8 addresses of 255 bytes */
    inv.n_addrs = 8;
    for (size_t i = 0; i < 8; i++) {
        memset(inv.addrs[i], 'a' + (int)i, 249);
        strcpy(inv.addrs[i] + 249, ":7420");
    }
    team_must(proto_invite_encode(&inv, text, sizeof text, &len), "invite");
    put("invite", "largest", (const uint8_t *)text, len);
}

/* ---- ingest: [flags] ops, or [flags | 2] RUN messages ---- */

static void
seeds_ingest(void)
{
    static const struct {
        const char *name;
        const char *ops; /* 4 bytes an op: log|flags, first seq, count-1, corrupt */
        size_t n;
    } cases[] = {
        {"office_then_workers", "\x00\x00\x07\x00\x01\x00\x07\x00\x03\x00\x07\x00", 12},
        {"workers_first", "\x01\x00\x07\x00\x03\x00\x07\x00\x00\x00\x07\x00", 12},
        {"fork_at_held_seq", "\x01\x00\x07\x00\x02\x00\x07\x00", 8},
        {"second_device_from_3", "\x01\x00\x01\x00\x02\x02\x03\x00", 8},
        {"chain_break_at_head", "\x01\x00\x02\x00\x02\x03\x03\x00", 8},
        {"gap", "\x01\x03\x02\x00", 4},
        {"overlap_and_repeat",
         "\x01\x00\x02\x00\x01\x01\x03\x00\x01\x00\x07\x00\x01\x00\x07\x00", 16},
        {"revoked_after_3", "\x00\x00\x07\x00\x03\x00\x02\x00\x03\x03\x03\x00", 12},
        {"revoked_late", "\x03\x00\x07\x00\x00\x00\x07\x00\x03\x00\x07\x00", 12},
        {"no_bodies", "\x05\x00\x07\x00\x04\x00\x07\x00", 8},
        {"corrupt_body", "\x09\x00\x07\x02", 4},
        {"corrupt_env", "\x09\x00\x07\x85", 4},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int reader = 0; reader < 2; reader++) {
            char name[64];
            b_reset();
            b_u8((uint8_t)reader);
            b_add(cases[c].ops, cases[c].n);
            snprintf(name, sizeof name, "%s%s", cases[c].name, reader ? "_as_w1" : "");
            put("ingest", name, B.p, B.n);
        }
    }
    /* Raw RUN messages: the office log, W1 in two parts, then W1's fork. */
    static uint8_t m[70000];
    proto_wbuf w;
    b_reset();
    b_u8(2);
    proto_wbuf_init(&w, m, sizeof m);
    team_must(proto_msg_run(&w, pool[0].items, pool[0].n), "run");
    b_add(m, w.len);
    b_sep();
    proto_wbuf_init(&w, m, sizeof m);
    team_must(proto_msg_run(&w, pool[1].items, 3), "run");
    b_add(m, w.len);
    b_sep();
    proto_wbuf_init(&w, m, sizeof m);
    team_must(proto_msg_run(&w, pool[1].items + 3, pool[1].n - 3), "run");
    b_add(m, w.len);
    b_sep();
    proto_wbuf_init(&w, m, sizeof m);
    team_must(proto_msg_run(&w, pool[2].items + 2, pool[2].n - 2), "run");
    b_add(m, w.len);
    put("ingest", "raw_runs", B.p, B.n);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    if (mkdir(root, 0755) != 0 && errno != EEXIST) {
        perror(root);
        return 1;
    }
    fuzz_sodium_init();
    team_build();
    seeds_mp();
    seeds_msg();
    seeds_envelope();
    seeds_body();
    seeds_hs();
    seeds_frame();
    seeds_invite();
    seeds_ingest();
    printf("fuzz_seeds: %zu files, %zu bytes in %s\n", files, bytes, root);
    return 0;
}
