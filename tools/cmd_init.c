/* cmd_init.c — `outpost init`: a node's key, its store and, for an office, the team's network
 * key and the first entry of the membership list (a member entry for the office itself).
 * Everything is checked before anything is written; a failure part way removes what this run
 * created. */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/seal.h"
#include "store/log.h"
#include "store/view.h"
#include "tools/cli.h"

#define NETWORK_KEY_FILE "network.key"

static const char help[] =
    "usage: outpost init --name NAME [--site SITE] [--office] [--dir DIR] [--json]\n"
    "\n"
    "Create a node in DIR: an ed25519 identity key (DIR/identity.key, mode 0600) and an empty\n"
    "store. With --office the node is a home office: a network key for the team is made\n"
    "(DIR/network.key, mode 0600), and the office's log starts the membership list with the\n"
    "office itself. A worker joins a team with 'outpost join CODE' (the office runs\n"
    "'outpost invite').\n"
    "\n"
    "  --name NAME   how colleagues and the office see this node (required)\n"
    "  --site SITE   where you work now, e.g. the client's name\n"
    "  --office      make this node the team's home office\n";

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

/* mkdir -p with mode 0700 for what it creates. */
static int
make_dirs(const char *dir)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s", dir) >= sizeof p)
        return -1;
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            if (mkdir(p, 0700) != 0 && errno != EEXIST)
                return -1;
            *s = '/';
        }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(p, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int
cli_init_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"site", required_argument, NULL, 's'},
        {"office", no_argument, NULL, 'o'},
        CLI_COMMON_OPTS,
        {0},
    };
    const char *name = NULL, *site = NULL;
    bool office = false;
    char path[PATH_MAX], key[PROTO_KEY_TEXT_BYTES];
    store_identity *id = NULL;
    store_db *db = NULL;
    store_reader *rd = NULL;
    bool made_key = false;
    op_err r;
    int opt, code;

    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'n': name = optarg; break;
        case 's': site = optarg; break;
        case 'o': office = true; break;
        default:
            if ((code = cli_common_opt(c, opt, help, argv)) >= 0)
                return code;
        }
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument '%s'", argv[optind]);
    if (!name)
        return cli_usage(c, "--name is required: how colleagues and the office see you");
    if (!good_text(name, PROTO_NAME_MAX_BYTES))
        return cli_usage(c, "--name must be 1-%d bytes of UTF-8 text with no control characters",
                         PROTO_NAME_MAX_BYTES);
    if (site && !good_text(site, PROTO_NAME_MAX_BYTES))
        return cli_usage(c, "--site must be 1-%d bytes of UTF-8 text with no control characters",
                         PROTO_NAME_MAX_BYTES);

    struct stat dst;
    if (stat(c->dir, &dst) == 0 && !S_ISDIR(dst.st_mode))
        return cli_fail(c, CLI_FAIL, "%s is not a directory; pass a directory with --dir",
                        c->dir);
    snprintf(path, sizeof path, "%s/%s", c->dir, STORE_IDENTITY_FILE);
    if (access(path, F_OK) == 0)
        return cli_fail(c, CLI_FAIL, "%s already holds a node; see 'outpost status', or pass a "
                                     "new --dir", c->dir);
    if (make_dirs(c->dir) != 0)
        return cli_fail(c, CLI_FAIL, "cannot create %s: %s", c->dir, strerror(errno));
    snprintf(path, sizeof path, "%s/%s", c->dir, STORE_DB_FILE);
    if (access(path, F_OK) == 0)
        return cli_fail(c, CLI_FAIL, "%s holds a database but no key; move it away or pass a "
                                     "new --dir", c->dir);

    if ((r = store_identity_create(c->dir, &id)) != OP_OK) {
        code = cli_fail_err(c, r, "cannot write the identity key");
        goto out;
    }
    made_key = true;
    if ((r = store_db_open(path, STORE_OPEN_CREATE, &db)) != OP_OK) {
        code = cli_fail_err(c, r, "cannot create the database");
        goto out;
    }
    char created[32];
    snprintf(created, sizeof created, "%llu", (unsigned long long)c->now_ms);
    if ((r = store_db_begin(db, true)) != OP_OK ||
        (r = store_db_meta_put_blob(db, "key", id->pk, PROTO_KEY_BYTES)) != OP_OK ||
        (r = store_db_meta_put_text(db, "name", name)) != OP_OK ||
        (r = store_db_meta_put_text(db, "role", office ? "office" : "worker")) != OP_OK ||
        (r = store_db_meta_put_text(db, "site", site ? site : "")) != OP_OK ||
        (r = store_db_meta_put_text(db, "created", created)) != OP_OK ||
        (r = store_view_stamp(db)) != OP_OK ||
        (office && (r = store_db_meta_put_blob(db, "office_key", id->pk, PROTO_KEY_BYTES)) !=
                       OP_OK) ||
        (r = store_db_commit(db)) != OP_OK) {
        store_db_rollback(db);
        code = cli_fail_err(c, r, "cannot write the database");
        goto out;
    }
    if (office) { /* the membership list starts with the office itself */
        proto_body b;
        store_appended ap;
        proto_body_init(&b, PROTO_KIND_MEMBER);
        memcpy(b.key, id->pk, PROTO_KEY_BYTES);
        b.has_key = true;
        b.name = (char *)name; /* borrowed: not fini'd */
        b.site = (char *)site;
        b.role = (char *)"office";
        if ((r = store_reader_new(id, &rd)) == OP_OK)
            r = store_log_append(db, rd, id, &b, c->now_ms, &ap);
        if (r != OP_OK) {
            code = cli_fail_err(c, r, "cannot write the office's member entry");
            goto out;
        }
    }
    if (office) {
        uint8_t netkey[32];
        char npath[PATH_MAX];
        randombytes_buf(netkey, sizeof netkey);
        snprintf(npath, sizeof npath, "%s/%s", c->dir, NETWORK_KEY_FILE);
        r = store_keyfile_write(npath, netkey, sizeof netkey);
        sodium_memzero(netkey, sizeof netkey);
        if (r != OP_OK) {
            code = cli_fail_err(c, r, "cannot write the network key");
            goto out;
        }
    }
    proto_key_to_text(id->pk, key);
    if (c->json) {
        cli_node n = {.db = db};
        if (cli_sql_functions(store_db_handle(db)) != SQLITE_OK) {
            code = cli_fail(c, CLI_FAIL, "cannot set up SQL functions");
            goto out;
        }
        code = cli_print_json(c, &n,
                              "SELECT json_object('key', b64((SELECT v FROM meta WHERE k='key')),"
                              " 'name', (SELECT v FROM meta WHERE k='name'),"
                              " 'role', (SELECT v FROM meta WHERE k='role'),"
                              " 'site', nullif((SELECT v FROM meta WHERE k='site'), ''),"
                              " 'dir', ?1)",
                              cli_bind_text, (void *)c->dir);
        if (code != CLI_OK)
            goto out;
    } else {
        printf("Created %s node '%s' in %s\nkey: %s\n", office ? "office" : "worker", name,
               c->dir, key);
        if (!office)
            printf("Record a check-in with 'outpost checkin'; it is kept here until a link "
                   "appears.\n");
    }
    code = CLI_OK;
out:
    store_reader_free(rd);
    store_db_close(db);
    if (code != CLI_OK && made_key) { /* leave nothing half made */
        char p[PATH_MAX];
        const char *files[] = {STORE_IDENTITY_FILE, STORE_DB_FILE, "outpost.db-wal",
                               "outpost.db-shm", NETWORK_KEY_FILE};
        for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
            snprintf(p, sizeof p, "%s/%s", c->dir, files[i]);
            unlink(p);
        }
    }
    store_identity_free(id);
    return code;
}
