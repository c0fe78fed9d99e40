/* cli.c — shared pieces of the outpost subcommands (see cli.h). */
#include "tools/cli.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/body.h"
#include "store/member.h"
#include "store/view.h"
#include "proto/seal.h"
#include "proto/time.h"

static void
vsay(const cli_ctx *c, const char *fmt, va_list ap)
{
    fprintf(stderr, "outpost%s%s: ", c->cmd ? " " : "", c->cmd ? c->cmd : "");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

int
cli_fail(const cli_ctx *c, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(c, fmt, ap);
    va_end(ap);
    return code;
}

int
cli_usage(const cli_ctx *c, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cli_fail(c, CLI_USAGE, "%s (see 'outpost %s --help')", msg, c->cmd ? c->cmd : "");
}

int
cli_fail_err(const cli_ctx *c, op_err e, const char *doing)
{
    switch (e) {
    case OP_E_BUSY:
        return cli_fail(c, CLI_FAIL, "%s: the database is locked by another process; try again",
                        doing);
    case OP_E_DISK_FULL:
        return cli_fail(c, CLI_DISK_FULL, "%s: the disk holding %s is full; free some space "
                                          "and run it again (nothing was saved)", doing, c->dir);
    case OP_E_CORRUPT:
        return cli_fail(c, CLI_FAIL, "%s: the database in %s is damaged; run 'outpost verify' "
                                     "and restore it from a colleague or the office", doing, c->dir);
    case OP_E_VERSION:
        return cli_fail(c, CLI_FAIL, "%s: the database in %s was written by a newer outpost; "
                                     "upgrade outpost", doing, c->dir);
    default:
        return cli_fail(c, CLI_FAIL, "%s: %s (%s)", doing, op_strerror(e), op_errname(e));
    }
}

int
cli_common_opt(cli_ctx *c, int opt, const char *help, char **argv)
{
    const char *given = optind > 0 ? argv[optind - 1] : "?";
    switch (opt) {
    case CLI_OPT_DIR:
        if (!*optarg)
            return cli_usage(c, "--dir needs a directory");
        c->dir = optarg;
        return -1;
    case CLI_OPT_JSON:
        c->json = true;
        return -1;
    case CLI_OPT_HELP:
        fputs(help, stdout);
        return CLI_OK;
    case ':':
        return cli_usage(c, "%s needs a value", given);
    default:
        if (given[0] == '-' && given[1] >= '0' && given[1] <= '9')
            return cli_usage(c, "unknown option '%s' (a negative number goes after --, as in "
                                "'-- %s')", given, given);
        return cli_usage(c, "unknown option '%s'", given);
    }
}

int
cli_parse_plain(cli_ctx *c, int argc, char **argv, const char *help)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0}};
    int opt, code;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1)
        if ((code = cli_common_opt(c, opt, help, argv)) >= 0)
            return code;
    if (optind < argc)
        return cli_usage(c, "unexpected argument '%s'", argv[optind]);
    return -1;
}

int
cli_node_open(const cli_ctx *c, cli_node *n)
{
    return cli_node_open_ex(c, n, 0);
}

int
cli_node_open_ex(const cli_ctx *c, cli_node *n, int flags)
{
    char path[PATH_MAX];
    op_err r;
    memset(n, 0, sizeof *n);
    snprintf(path, sizeof path, "%s/%s", c->dir, STORE_DB_FILE);
    r = store_identity_load(c->dir, &n->id);
    if (r == OP_E_NOTFOUND)
        return cli_fail(c, CLI_FAIL, "no outpost node in %s; run 'outpost init --name NAME' "
                                     "first, or pass --dir", c->dir);
    if (r == OP_E_AUTH)
        return cli_fail(c, CLI_FAIL, "%s/%s can be read by other users; run 'chmod 600 %s/%s'",
                        c->dir, STORE_IDENTITY_FILE, c->dir, STORE_IDENTITY_FILE);
    if (r == OP_E_MALFORMED)
        return cli_fail(c, CLI_FAIL, "%s/%s is damaged: it holds no valid key", c->dir,
                        STORE_IDENTITY_FILE);
    if (r != OP_OK)
        return cli_fail_err(c, r, "cannot read the identity key");
    if ((r = store_db_open(path, 0, &n->db)) != OP_OK) {
        int code = r == OP_E_NOTFOUND
                       ? cli_fail(c, CLI_FAIL, "%s has a key but no database; it was not "
                                               "initialised completely: run 'outpost init' in a new "
                                               "--dir", c->dir)
                       : cli_fail_err(c, r, "cannot open the database");
        cli_node_close(n);
        return code;
    }
    if ((r = store_reader_new(n->id, &n->rd)) != OP_OK) {
        cli_node_close(n);
        return cli_fail_err(c, r, "cannot set up");
    }
    bool rebuilt;
    if (!(flags & CLI_OPEN_KEEP_VIEWS) &&
        (r = store_view_ensure(n->db, n->rd, &rebuilt)) != OP_OK) {
        cli_node_close(n);
        return cli_fail_err(c, r, "cannot rebuild the views after an upgrade");
    }
    if (cli_sql_functions(store_db_handle(n->db)) != SQLITE_OK) {
        cli_node_close(n);
        return cli_fail(c, CLI_FAIL, "cannot set up SQL functions");
    }
    OP_IGNORE(store_db_meta_get(n->db, "name", n->name, sizeof n->name, NULL)); /* blank: unset */
    OP_IGNORE(store_db_meta_get(n->db, "role", n->role, sizeof n->role, NULL));
    OP_IGNORE(store_db_meta_get(n->db, "site", n->site, sizeof n->site, NULL));
    return CLI_OK;
}

void
cli_node_close(cli_node *n)
{
    store_reader_free(n->rd);
    store_db_close(n->db);
    store_identity_free(n->id);
    memset(n, 0, sizeof *n);
}

bool
cli_parse_yesno(const char *s, bool *out)
{
    if (!strcasecmp(s, "yes") || !strcasecmp(s, "y") || !strcasecmp(s, "true")) {
        *out = true;
        return true;
    }
    if (!strcasecmp(s, "no") || !strcasecmp(s, "n") || !strcasecmp(s, "false")) {
        *out = false;
        return true;
    }
    return false;
}

bool
cli_parse_number(const char *s, double *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    double d = strtod(s, &end);
    if (*end || errno || !isfinite(d))
        return false;
    /* strtod also takes hex and "inf"; a KPI value is written in decimal */
    for (const char *p = s; *p; p++)
        if (!strchr("0123456789.-+eE", *p))
            return false;
    *out = d;
    return true;
}

bool
cli_parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

bool
cli_parse_time(const char *s, uint64_t *ms)
{
    return proto_time_parse(s, ms);
}

void
cli_date(uint64_t ms, char out[11])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* b64(key) and short_key(key): a 32-byte key as base64, whole or cut to 8 characters (like a
 * short git hash: enough to tell members apart). Anything else is NULL. */
static void
sql_key_text(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    char text[PROTO_KEY_TEXT_BYTES];
    size_t keep = (size_t)(intptr_t)sqlite3_user_data(ctx);
    (void)argc;
    if (sqlite3_value_type(argv[0]) != SQLITE_BLOB ||
        sqlite3_value_bytes(argv[0]) != PROTO_KEY_BYTES) {
        sqlite3_result_null(ctx);
        return;
    }
    proto_key_to_text(sqlite3_value_blob(argv[0]), text);
    text[keep] = '\0';
    sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
}

/*
 * plain_field(body, kind, name): one field of a plaintext body (member, revoke, join, receipt,
 * erase), decoded by proto/ with all its checks: text as text, keys as base64, numbers as
 * integers, the receipt's heads as their count, an erase's `re` as re_author and re_seq. NULL when absent, unreadable or invalid. Lets the log
 * show these bodies with SQLite's JSON functions doing the JSON.
 */
static void
sql_plain_field(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    proto_body b;
    char text[PROTO_KEY_TEXT_BYTES];
    (void)argc;
    const char *name = (const char *)sqlite3_value_text(argv[2]);
    uint64_t kind = (uint64_t)sqlite3_value_int64(argv[1]);
    if (sqlite3_value_type(argv[0]) != SQLITE_BLOB || !name ||
        (kind != PROTO_KIND_MEMBER && kind != PROTO_KIND_REVOKE && kind != PROTO_KIND_JOIN &&
         kind != PROTO_KIND_RECEIPT && kind != PROTO_KIND_ERASE) ||
        proto_body_decode(kind, sqlite3_value_blob(argv[0]),
                          (size_t)sqlite3_value_bytes(argv[0]), &b) != OP_OK) {
        sqlite3_result_null(ctx);
        return;
    }
    const char *s = strcmp(name, "name") == 0   ? b.name
                    : strcmp(name, "site") == 0 ? b.site
                    : strcmp(name, "role") == 0 ? b.role
                                                : NULL;
    if (s) {
        sqlite3_result_text(ctx, s, -1, SQLITE_TRANSIENT);
    } else if (strcmp(name, "key") == 0 && b.has_key) {
        proto_key_to_text(b.key, text);
        sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
    } else if (strcmp(name, "after_seq") == 0 && kind == PROTO_KIND_REVOKE) {
        sqlite3_result_int64(ctx, (sqlite3_int64)b.after_seq);
    } else if (strcmp(name, "re_author") == 0 && kind == PROTO_KIND_ERASE) {
        proto_key_to_text(b.re.author, text);
        sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
    } else if (strcmp(name, "re_seq") == 0 && kind == PROTO_KIND_ERASE) {
        sqlite3_result_int64(ctx, (sqlite3_int64)b.re.seq);
    } else if (strcmp(name, "heads") == 0 && kind == PROTO_KIND_RECEIPT) {
        sqlite3_result_int64(ctx, (sqlite3_int64)b.n_heads);
    } else {
        sqlite3_result_null(ctx);
    }
    proto_body_fini(&b);
}

int
cli_sql_functions(sqlite3 *h)
{
    int rc = sqlite3_create_function(h, "b64", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                     (void *)(intptr_t)(PROTO_KEY_TEXT_BYTES - 1), sql_key_text,
                                     NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(h, "short_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                     (void *)(intptr_t)8, sql_key_text, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(h, "plain_field", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                     sql_plain_field, NULL, NULL);
    return rc;
}

int
cli_print_json(const cli_ctx *c, cli_node *n, const char *sql,
               void (*bind)(sqlite3_stmt *st, void *arg), void *arg)
{
    return cli_print_json_counted(c, n, sql, bind, arg, NULL);
}

/* Prepares sql and binds its parameters: CLI_OK, or the exit code after saying why not. */
static int
prepare_bound(const cli_ctx *c, cli_node *n, const char *sql,
              void (*bind)(sqlite3_stmt *st, void *arg), void *arg, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(store_db_handle(n->db), sql, -1, st, NULL) != SQLITE_OK)
        return cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n->db));
    if (bind)
        bind(*st, arg);
    return CLI_OK;
}

int
cli_print_json_counted(const cli_ctx *c, cli_node *n, const char *sql,
                       void (*bind)(sqlite3_stmt *st, void *arg), void *arg, long *count)
{
    sqlite3_stmt *st;
    int code = prepare_bound(c, n, sql, bind, arg, &st);
    if (code != CLI_OK)
        return code;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        code = cli_fail_err(c, store_db_code(rc), "query failed");
        sqlite3_finalize(st);
        return code;
    }
    const char *doc = (const char *)sqlite3_column_text(st, 0);
    printf("%s\n", doc ? doc : "null");
    if (count)
        *count = (long)sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    return CLI_OK;
}

int
cli_print_json_rows(const cli_ctx *c, cli_node *n, const char *sql,
                    void (*bind)(sqlite3_stmt *st, void *arg), void *arg, long *count)
{
    sqlite3_stmt *st;
    int rc, code = prepare_bound(c, n, sql, bind, arg, &st);
    *count = 0;
    if (code != CLI_OK)
        return code;
    /* Rows go out as they come; a failure half-way must not leave a half array on stdout
     * looking complete, so the closing bracket is printed only on success. */
    fputc('[', stdout);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *row = (const char *)sqlite3_column_text(st, 0);
        printf("%s%s", *count ? "," : "", row ? row : "null");
        ++*count;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        fputc('\n', stdout);
        return cli_fail_err(c, store_db_code(rc), "query failed");
    }
    fputs("]\n", stdout);
    return CLI_OK;
}

void
cli_bind_text(sqlite3_stmt *st, void *arg)
{
    sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
}

bool
cli_agent_call(const char *dir, const char *cmd)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char reply[64];
    struct timeval tv = {.tv_sec = 0, .tv_usec = 500000};
    if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/outpostd.sock", dir) >=
        sizeof sa.sun_path)
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (ok && cmd) {
        char line[64];
        int n = snprintf(line, sizeof line, "%s\n", cmd);
        ok = write(fd, line, (size_t)n) == n && read(fd, reply, sizeof reply) > 0;
    }
    close(fd);
    return ok;
}

bool
cli_key_arg_parse(const char *s, cli_key_arg *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(s, "office") == 0) {
        out->office = true;
        return true;
    }
    return proto_key_from_text(s, out->key) == OP_OK;
}

int
cli_key_arg_resolve(const cli_ctx *c, cli_node *n, cli_key_arg *k, const char *what)
{
    int len = 0;
    if (!k->office)
        return -1;
    op_err r = store_db_meta_get(n->db, "office_key", k->key, PROTO_KEY_BYTES, &len);
    if (r == OP_E_NOTFOUND || (r == OP_OK && len != PROTO_KEY_BYTES))
        return cli_fail(c, CLI_USAGE, "%s 'office': this node has not joined a team, so it knows "
                                      "no office; run 'outpost join CODE' first", what);
    if (r != OP_OK)
        return cli_fail_err(c, r, "cannot read the database");
    return -1;
}

bool
cli_text_ok(const char *s, size_t max, char *why, size_t why_len)
{
    size_t n = strlen(s);
    if (n == 0) {
        snprintf(why, why_len, "is empty");
        return false;
    }
    if (n > max) {
        snprintf(why, why_len, "is %zu bytes; at most %zu are kept", n, max);
        return false;
    }
    if (!proto_is_utf8(s, n)) {
        snprintf(why, why_len, "is not valid UTF-8 text");
        return false;
    }
    /* Text travels to someone else's terminal: an escape sequence could rewrite what they see. */
    for (; *s; s++)
        if (((unsigned char)*s < 0x20 && !strchr("\t\n\r", *s)) || *s == 0x7f) {
            snprintf(why, why_len, "holds a control character (only tabs and line breaks may "
                                   "be used)");
            return false;
        }
    return true;
}

int
cli_member_check(const cli_ctx *c, cli_node *n, const uint8_t key[PROTO_KEY_BYTES],
                 const char *what, store_member *m)
{
    char text[PROTO_KEY_TEXT_BYTES];
    op_err r;
    proto_key_to_text(key, text);
    if (memcmp(key, n->id->pk, PROTO_KEY_BYTES) == 0)
        return cli_fail(c, CLI_USAGE, "%s is this node's own key%s; name another member of the "
                                      "team", what,
                        strcmp(n->role, "office") == 0 ? " (this node is the office)" : "");
    if ((r = store_member_get(n->db, key, m)) != OP_OK)
        return cli_fail_err(c, r, "cannot read the database");
    if (m->state == STORE_MEMBER_REVOKED)
        return cli_fail(c, CLI_USAGE, "%s %s%s%s%s was revoked: it is no longer a member of the "
                                      "team", what, text, m->name[0] ? " (" : "", m->name,
                        m->name[0] ? ")" : "");
    if (m->state == STORE_MEMBER_NONE)
        return cli_fail(c, CLI_USAGE, "%s %s is not a member this node knows: check the key "
                                      "('outpost log --kind member' lists the members), or sync "
                                      "first to receive the office's membership list", what, text);
    return -1;
}

const char *
cli_echo(const char *s, char out[CLI_ECHO_BYTES])
{
    size_t i = 0, chars = 0;
    const char *p = s;
    /* Whole UTF-8 characters only, so a cut never leaves half of one. */
    for (; *p && chars < 40 && i + 4 < CLI_ECHO_BYTES - 4; chars++) {
        size_t len = 1;
        while (((unsigned char)p[len] & 0xc0) == 0x80 && len < 4)
            len++;
        for (size_t k = 0; k < len; k++) {
            unsigned char ch = (unsigned char)p[k];
            out[i++] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
        }
        p += len;
    }
    if (*p) {
        memcpy(out + i, "\xe2\x80\xa6", 3); /* … */
        i += 3;
    }
    out[i] = '\0';
    return out;
}
