/*
 * cmd_member.c — team membership (SPEC §6): `outpost invite` and `outpost revoke` on the office,
 * `outpost join CODE` on a worker. The store does the work (store/member.h); this file checks
 * the arguments, handles the network key file, and reports.
 *
 * An invite code carries the team's network key: it is printed once, on stdout, and never
 * echoed in an error message. invite and revoke also admit the join requests that reached the
 * office since it last looked (the agent does the same after each sync).
 */
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "proto/invite.h"
#include "proto/seal.h"
#include "store/have.h"
#include "store/log.h"
#include "store/member.h"
#include "tools/cli.h"

#define NETWORK_KEY_FILE "network.key"

static const char invite_help[] =
    "usage: outpost invite --name NAME [--site SITE] [--addr HOST:PORT]... [--dir DIR] [--json]\n"
    "\n"
    "On the office: make a one-time invite code for a new team member and print it. Give it\n"
    "to that person privately: it carries the team's network key. They run\n"
    "'outpost join CODE' on their node; when their join request reaches the office (by any\n"
    "path), the office admits them under NAME.\n"
    "\n"
    "  --name NAME        who is invited (required); the name the team will see\n"
    "  --site SITE        where they work, e.g. the client's name\n"
    "  --addr HOST:PORT   where the office (or a relay) can be reached; up to 8, e.g.\n"
    "                     --addr office.example.org:7420 --addr 192.0.2.7:7420\n"
    "\n"
    "It also admits join requests that arrived since the last look.\n";

static const char join_help[] =
    "usage: outpost join CODE [--dir DIR] [--json]\n"
    "\n"
    "On a worker node (made with 'outpost init --name NAME'): join the team whose office gave\n"
    "you CODE. Stores the team's network key (DIR/network.key, mode 0600), the office's key and\n"
    "addresses, and writes a join request into your log. From then on your entries are\n"
    "encrypted for you and the office. The office admits you when your join request reaches\n"
    "it: run the agent (outpostd) or 'outpost sync' when a link is up.\n"
    "Joining again with the same code changes nothing.\n";

static const char revoke_help[] =
    "usage: outpost revoke KEY [--dir DIR] [--json]\n"
    "\n"
    "On the office: revoke a member's key (for a lost laptop, or someone who left). Entries of\n"
    "that key beyond the ones this office already holds are refused by every node the\n"
    "revocation reaches, and the office stops reading them. It cannot be undone: the person\n"
    "joins again with a new node and a new invite.\n"
    "\n"
    "It also admits join requests that arrived since the last look.\n";

/* ---- shared ------------------------------------------------------------------------------ */

/* Parameters for a JSON query, bound in order as ?1, ?2, ... */
typedef struct param {
    enum { P_NULL, P_TEXT, P_BLOB, P_INT } t;
    const void *p;
    int n;
    int64_t i;
} param;

typedef struct params {
    int n;
    param v[PROTO_INVITE_MAX_ADDRS + 4];
} params;

static void
push(params *ps, param p)
{
    if (ps->n < (int)(sizeof ps->v / sizeof ps->v[0]))
        ps->v[ps->n++] = p;
}

static void
bind_params(sqlite3_stmt *st, void *arg)
{
    const params *ps = arg;
    for (int i = 0; i < ps->n; i++) {
        const param *p = &ps->v[i];
        switch (p->t) {
        case P_NULL: sqlite3_bind_null(st, i + 1); break;
        case P_TEXT: sqlite3_bind_text(st, i + 1, p->p, -1, SQLITE_STATIC); break;
        case P_BLOB: sqlite3_bind_blob(st, i + 1, p->p, p->n, SQLITE_STATIC); break;
        case P_INT: sqlite3_bind_int64(st, i + 1, p->i); break;
        }
    }
}

static param
text_or_null(const char *s)
{
    return s ? (param){.t = P_TEXT, .p = s} : (param){.t = P_NULL};
}

/* Like init's --name: 1..max bytes of UTF-8 without control characters. */
static bool
good_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !proto_is_utf8(s, n))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

/* Options with no arguments of their own, for join and revoke: returns the exit code, or -1
 * with *pos set to the one positional argument. secret: the arguments may hold an invite code,
 * which carries the network key: never echo them. */
static int
one_argument(cli_ctx *c, int argc, char **argv, const char *help, const char *what, bool secret,
             const char **pos)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0}};
    int opt, code;
    *pos = NULL;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1)
        if ((code = cli_common_opt(c, opt, help, argv)) >= 0)
            return code;
    if (optind >= argc)
        return cli_usage(c, "%s", what);
    if (argc - optind > 1 && secret)
        return cli_usage(c, "unexpected argument: %s takes one argument, got %d", c->cmd,
                         argc - optind);
    if (argc - optind > 1)
        return cli_usage(c, "unexpected argument '%s'", argv[optind + 1]);
    *pos = argv[optind];
    return -1;
}

/* Opens the node and checks that it is the office. */
static int
open_office(cli_ctx *c, cli_node *n, const char *why)
{
    int code = cli_node_open(c, n);
    if (code != CLI_OK)
        return code;
    if (strcmp(n->role, "office") != 0) {
        cli_node_close(n);
        return cli_fail(c, CLI_USAGE, "this node is a %s, not the office: %s",
                        n->role[0] ? n->role : "worker", why);
    }
    return CLI_OK;
}

/* Admits pending join requests on the office; says so on stderr. A failure here does not undo
 * what the command did, so it is a warning. */
static void
admit(cli_ctx *c, cli_node *n)
{
    size_t admitted = 0;
    op_err r = store_member_admit_pending(n->db, n->rd, n->id, c->now_ms, &admitted);
    if (r != OP_OK)
        fprintf(stderr, "outpost %s: warning: could not look at pending join requests: %s\n",
                c->cmd, op_strerror(r));
    else if (admitted)
        fprintf(stderr, "outpost %s: admitted %zu pending join request%s\n", c->cmd, admitted,
                admitted == 1 ? "" : "s");
}

static void
network_key_path(const cli_ctx *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", c->dir, NETWORK_KEY_FILE);
}

/* ---- invite ------------------------------------------------------------------------------ */

int
cli_invite_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"site", required_argument, NULL, 's'},
        {"addr", required_argument, NULL, 'a'},
        CLI_COMMON_OPTS,
        {0},
    };
    const char *name = NULL, *site = NULL, *addrs[PROTO_INVITE_MAX_ADDRS];
    char path[PATH_MAX], *text = NULL;
    size_t n_addrs = 0, len;
    proto_invite *inv = NULL;
    cli_node n;
    op_err r;
    int opt, code;

    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'n': name = optarg; break;
        case 's': site = optarg; break;
        case 'a': {
            bool dup = false;
            if (!proto_invite_addr_ok(optarg, strlen(optarg)))
                return cli_usage(c, "--addr must be HOST:PORT with a port from 1 to 65535 "
                                    "(e.g. office.example.org:7420 or [2001:db8::7]:7420), not "
                                    "'%s'", optarg);
            for (size_t i = 0; i < n_addrs; i++)
                dup |= strcmp(addrs[i], optarg) == 0;
            if (dup)
                break; /* the same address twice is the same address */
            if (n_addrs == PROTO_INVITE_MAX_ADDRS)
                return cli_usage(c, "--addr can be given at most %d times",
                                 PROTO_INVITE_MAX_ADDRS);
            addrs[n_addrs++] = optarg;
            break;
        }
        default:
            if ((code = cli_common_opt(c, opt, invite_help, argv)) >= 0)
                return code;
        }
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument '%s'", argv[optind]);
    if (!name)
        return cli_usage(c, "--name is required: who is invited");
    if (!good_text(name, PROTO_NAME_MAX_BYTES))
        return cli_usage(c, "--name must be 1-%d bytes of UTF-8 text with no control characters",
                         PROTO_NAME_MAX_BYTES);
    if (site && !good_text(site, PROTO_NAME_MAX_BYTES))
        return cli_usage(c, "--site must be 1-%d bytes of UTF-8 text with no control characters",
                         PROTO_NAME_MAX_BYTES);
    if ((code = open_office(c, &n, "invites are made on the office ('outpost join CODE' joins "
                                   "a team)")) != CLI_OK)
        return code;

    /* The invite holds the network key and the token: keep both out of swap and wipe them. */
    if (!(inv = sodium_malloc(sizeof *inv)) ||
        !(text = sodium_malloc(PROTO_INVITE_TEXT_MAX_BYTES))) {
        code = cli_fail_err(c, OP_E_NOMEM, "cannot make the invite");
        goto out;
    }
    proto_invite_wipe(inv);
    network_key_path(c, path, sizeof path);
    r = store_keyfile_read(path, inv->netkey, sizeof inv->netkey);
    if (r == OP_E_NOTFOUND) {
        code = cli_fail(c, CLI_FAIL, "%s is missing: this office has no network key; restore it "
                                     "from a backup", path);
        goto out;
    } else if (r == OP_E_AUTH) {
        code = cli_fail(c, CLI_FAIL, "%s can be read by other users; run 'chmod 600 %s'", path,
                        path);
        goto out;
    } else if (r != OP_OK) {
        code = cli_fail_err(c, r, "cannot read the network key");
        goto out;
    }
    memcpy(inv->office, n.id->pk, PROTO_KEY_BYTES);
    randombytes_buf(inv->token, sizeof inv->token);
    for (size_t i = 0; i < n_addrs; i++)
        snprintf(inv->addrs[i], sizeof inv->addrs[i], "%s", addrs[i]);
    inv->n_addrs = n_addrs;
    if ((r = proto_invite_encode(inv, text, PROTO_INVITE_TEXT_MAX_BYTES, &len)) != OP_OK) {
        code = cli_fail_err(c, r, "cannot make the invite");
        goto out;
    }
    if ((r = store_member_invite_add(n.db, inv->token, name, site, c->now_ms)) != OP_OK) {
        code = cli_fail_err(c, r, "the invite was not saved");
        goto out;
    }
    if (c->json) {
        params ps = {0};
        push(&ps, (param){.t = P_TEXT, .p = text});
        push(&ps, (param){.t = P_TEXT, .p = name});
        push(&ps, text_or_null(site));
        code = cli_print_json(c, &n, "SELECT json_object('code', ?1, 'name', ?2, 'site', ?3)",
                              bind_params, &ps);
        if (code != CLI_OK)
            goto out;
    } else {
        printf("%s\n", text);
    }
    fprintf(stderr, "outpost invite: give this code to %s privately (it carries the team's network "
                    "key); they run 'outpost join CODE'%s\n", name,
            n_addrs ? "" : " and, as the code names no address, 'outpost peers add HOST:PORT'");
    admit(c, &n);
    code = CLI_OK;
out:
    sodium_free(inv); /* wipes */
    sodium_free(text);
    cli_node_close(&n);
    return code;
}

/* ---- join -------------------------------------------------------------------------------- */

/* The usage message for a code that does not decode. The code itself is never echoed. */
static int
bad_code(cli_ctx *c, op_err r)
{
    switch (r) {
    case OP_E_VERSION:
        return cli_usage(c, "CODE is not an invite code for this version of outpost (codes start "
                            "with '%s'); ask the office for one", PROTO_INVITE_PREFIX);
    case OP_E_TRUNCATED:
        return cli_usage(c, "CODE is cut short; paste all of it, as one line");
    case OP_E_TOOBIG:
        return cli_usage(c, "CODE is longer than any invite code; paste exactly what the office "
                            "gave you");
    case OP_E_MALFORMED:
    case OP_E_TRAILING:
        return cli_usage(c, "CODE is damaged (a character is wrong or missing); paste it again "
                            "exactly as the office gave it");
    default:
        return cli_usage(c, "CODE is damaged (%s); paste it again exactly as the office gave it, "
                            "or ask for a new one", op_strerror(r));
    }
}

int
cli_join_main(cli_ctx *c, int argc, char **argv)
{
    const char *arg;
    uint8_t current[PROTO_NETKEY_BYTES], office[PROTO_KEY_BYTES];
    char path[PATH_MAX], okey[PROTO_KEY_TEXT_BYTES], sql[512];
    proto_invite *inv = NULL;
    store_joined joined;
    cli_node n = {0};
    bool opened = false;
    int code, olen = 0;
    op_err r;

    if ((code = one_argument(c, argc, argv, join_help,
                             "join needs the invite CODE that the office gave you", true,
                             &arg)) >= 0)
        return code;
    /* Pasted codes often come with a newline or blanks around them. */
    size_t start = 0, end = strlen(arg);
    while (start < end && strchr(" \t\r\n", arg[start]))
        start++;
    while (end > start && strchr(" \t\r\n", arg[end - 1]))
        end--;
    if (!(inv = sodium_malloc(sizeof *inv)))
        return cli_fail_err(c, OP_E_NOMEM, "cannot read the code");
    if ((r = proto_invite_decode(arg + start, end - start, inv)) != OP_OK) {
        code = bad_code(c, r);
        goto out;
    }
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        goto out;
    opened = true;
    proto_key_to_text(inv->office, okey);
    if (strcmp(n.role, "office") == 0 || memcmp(inv->office, n.id->pk, PROTO_KEY_BYTES) == 0) {
        code = cli_fail(c, CLI_USAGE, "this node is the office: it invites others with 'outpost "
                                     "invite'; run 'outpost join' on a worker node");
        goto out;
    }
    r = store_db_meta_get(n.db, "office_key", office, sizeof office, &olen);
    if (r != OP_OK && r != OP_E_NOTFOUND) {
        code = cli_fail_err(c, r, "cannot read the database");
        goto out;
    }
    if (r == OP_OK && olen == PROTO_KEY_BYTES && memcmp(office, inv->office, sizeof office) != 0) {
        char mine[PROTO_KEY_TEXT_BYTES];
        proto_key_to_text(office, mine);
        code = cli_fail(c, CLI_FAIL, "this node already belongs to the team of office %s; this "
                                     "code is from another team (office %s). A node belongs to "
                                     "one team: make a new one with 'outpost init --dir NEWDIR'",
                        mine, okey);
        goto out;
    }
    /* The network key: written once; the same bytes again are fine, others are not. */
    network_key_path(c, path, sizeof path);
    r = store_keyfile_read(path, current, sizeof current);
    if (r == OP_OK && sodium_memcmp(current, inv->netkey, sizeof current) != 0) {
        code = cli_fail(c, CLI_FAIL, "%s holds another team's network key; this node cannot join "
                                     "a second team (make a new node with 'outpost init --dir "
                                     "NEWDIR')", path);
        goto out;
    } else if (r == OP_E_NOTFOUND) {
        r = store_keyfile_write(path, inv->netkey, sizeof inv->netkey);
        if (r != OP_OK) {
            code = cli_fail_err(c, r, "cannot write the network key");
            goto out;
        }
    } else if (r == OP_E_AUTH) {
        code = cli_fail(c, CLI_FAIL, "%s can be read by other users; run 'chmod 600 %s'", path,
                        path);
        goto out;
    } else if (r != OP_OK) {
        code = cli_fail(c, CLI_FAIL, "%s is damaged (%s); move it away and run 'outpost join' "
                                     "again", path, op_strerror(r));
        goto out;
    }
    if ((r = store_member_join(n.db, n.rd, n.id, inv, c->now_ms, &joined)) != OP_OK) {
        code = cli_fail_err(c, r, "not joined");
        goto out;
    }
    if (c->json) {
        params ps = {0};
        int k = snprintf(sql, sizeof sql, "SELECT json_object('office', b64(?1), 'peers', "
                                          "json_array(");
        push(&ps, (param){.t = P_BLOB, .p = inv->office, .n = PROTO_KEY_BYTES});
        push(&ps, (param){.t = P_INT, .i = (int64_t)joined.join_seq});
        push(&ps, (param){.t = P_INT, .i = joined.already});
        for (size_t i = 0; i < inv->n_addrs; i++) {
            push(&ps, (param){.t = P_TEXT, .p = inv->addrs[i]});
            k += snprintf(sql + k, sizeof sql - (size_t)k, "%s?%zu", i ? ", " : "", i + 4);
        }
        snprintf(sql + k, sizeof sql - (size_t)k, "), 'join_seq', ?2, 'already', json(CASE ?3 "
                                                  "WHEN 1 THEN 'true' ELSE 'false' END))");
        code = cli_print_json(c, &n, sql, bind_params, &ps);
        goto out;
    }
    if (joined.already) {
        printf("Already joined the team of office %s with this code (join request: entry %llu).\n"
               "Nothing to do; 'outpost status' shows whether it has reached the office.\n",
               okey, (unsigned long long)joined.join_seq);
    } else {
        printf("Joined the team of office %s.\n"
               "Your join request is entry %llu of your log; the office admits you when it "
               "receives it.\n", okey, (unsigned long long)joined.join_seq);
        if (inv->n_addrs) {
            printf("Peers:");
            for (size_t i = 0; i < inv->n_addrs; i++)
                printf(" %s", inv->addrs[i]);
            printf("\n");
        } else {
            printf("The code names no address: add the office's with 'outpost peers add "
                   "HOST:PORT'.\n");
        }
        printf("Next: run the agent ('outpostd --dir %s') so it syncs whenever a link is up, or "
               "'outpost sync' now.\n", c->dir);
    }
    code = CLI_OK;
out:
    sodium_memzero(current, sizeof current);
    sodium_free(inv);
    if (opened)
        cli_node_close(&n);
    return code;
}

/* ---- revoke ------------------------------------------------------------------------------ */

int
cli_revoke_main(cli_ctx *c, int argc, char **argv)
{
    const char *arg;
    uint8_t key[PROTO_KEY_BYTES];
    char text[PROTO_KEY_TEXT_BYTES], who[PROTO_NAME_MAX_BYTES + PROTO_KEY_TEXT_BYTES + 4];
    store_member m;
    store_appended ap;
    uint64_t head = 0;
    proto_body b;
    cli_node n;
    int code;
    op_err r;

    if ((code = one_argument(c, argc, argv, revoke_help, "revoke needs the KEY of the member to "
                             "revoke (44 characters of base64)", false, &arg)) >= 0)
        return code;
    if (proto_key_from_text(arg, key) != OP_OK)
        return cli_usage(c, "KEY must be a member key (44 characters of base64), not '%s'", arg);
    if ((code = open_office(c, &n, "only the office revokes keys")) != CLI_OK)
        return code;
    proto_body_init(&b, PROTO_KIND_REVOKE);
    proto_key_to_text(key, text);
    if (memcmp(key, n.id->pk, PROTO_KEY_BYTES) == 0) {
        code = cli_usage(c, "KEY is this office's own key; the office cannot revoke itself");
        goto out;
    }
    if ((r = store_member_get(n.db, key, &m)) != OP_OK ||
        (r = store_have_head(n.db, key, &head)) != OP_OK) {
        code = cli_fail_err(c, r, "cannot read the database");
        goto out;
    }
    if (m.state == STORE_MEMBER_NONE && head == 0) {
        code = cli_fail(c, CLI_FAIL, "no member or author with key %s is known here; check the "
                                     "key ('outpost log --kind member' lists the members)", text);
        goto out;
    }
    if (m.name[0])
        snprintf(who, sizeof who, "%s (%s)", m.name, text);
    else
        snprintf(who, sizeof who, "%s", text);
    if (m.state == STORE_MEMBER_REVOKED) {
        head = m.revoked_after;
        if (!c->json)
            printf("%s was revoked already (after entry %llu); nothing to do.\n", who,
                   (unsigned long long)head);
    } else {
        memcpy(b.key, key, PROTO_KEY_BYTES);
        b.has_key = true;
        b.after_seq = head;
        if ((r = store_log_append(n.db, n.rd, n.id, &b, c->now_ms, &ap)) != OP_OK) {
            code = cli_fail_err(c, r, "not revoked");
            goto out;
        }
        if (!c->json)
            printf("Revoked %s: its entries after entry %llu are refused wherever the "
                   "revocation reaches.\nIt spreads with the office's log; run 'outpost sync' to "
                   "send it now.\n", who, (unsigned long long)head);
    }
    if (c->json) {
        params ps = {0};
        push(&ps, (param){.t = P_BLOB, .p = key, .n = PROTO_KEY_BYTES});
        push(&ps, (param){.t = P_INT, .i = (int64_t)head});
        if ((code = cli_print_json(c, &n, "SELECT json_object('key', b64(?1), 'after_seq', ?2)",
                                   bind_params, &ps)) != CLI_OK)
            goto out;
    }
    admit(c, &n);
    code = CLI_OK;
out:
    proto_body_fini(&b);
    cli_node_close(&n);
    return code;
}
