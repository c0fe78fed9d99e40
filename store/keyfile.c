/* keyfile.c — atomic 0600 secret files and the node identity (see keyfile.h). */
#include "store/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "outpost-secret-v1 "
#define LINE_MAX_BYTES 256

static op_err
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno == ENOSPC ? OP_E_DISK_FULL : OP_E_IO;
        p += w;
        n -= (size_t)w;
    }
    return OP_OK;
}

static op_err
fsync_dir_of(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return OP_E_IO;
    op_err r = fsync(fd) == 0 ? OP_OK : OP_E_IO;
    close(fd);
    return r;
}

op_err
store_keyfile_write(const char *path, const uint8_t *secret, size_t n)
{
    char tmp[PATH_MAX], line[LINE_MAX_BYTES];
    op_err r = OP_OK;
    int fd = -1;
    size_t b64 = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);

    if (sizeof MAGIC + b64 + 1 > sizeof line)
        return OP_E_TOOBIG;
    if (access(path, F_OK) == 0)
        return OP_E_EXISTS;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return OP_E_TOOBIG;
    memcpy(line, MAGIC, sizeof MAGIC - 1);
    sodium_bin2base64(line + sizeof MAGIC - 1, b64, secret, n, sodium_base64_VARIANT_ORIGINAL);
    size_t len = strlen(line);
    line[len++] = '\n';

    unlink(tmp); /* a leftover from a crash before rename; it never became the key */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        r = OP_E_IO;
        goto out;
    }
    if ((r = write_all(fd, line, len)) != OP_OK)
        goto out;
    if (fsync(fd) != 0) {
        r = OP_E_IO;
        goto out;
    }
    close(fd);
    fd = -1;
    /* link() fails if path appeared meanwhile, where rename() would replace it. */
    if (link(tmp, path) != 0) {
        r = errno == EEXIST ? OP_E_EXISTS : OP_E_IO;
        goto out;
    }
    r = fsync_dir_of(path);
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    sodium_memzero(line, sizeof line);
    return r;
}

op_err
store_keyfile_read(const char *path, uint8_t *secret, size_t n)
{
    char line[LINE_MAX_BYTES];
    struct stat st;
    op_err r = OP_OK;
    size_t got = 0;
    const char *end;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? OP_E_NOTFOUND : OP_E_IO;
    if (fstat(fd, &st) != 0) {
        r = OP_E_IO;
        goto out;
    }
    if (st.st_mode & 077) {
        r = OP_E_AUTH;
        goto out;
    }
    ssize_t len = read(fd, line, sizeof line - 1);
    if (len < 0) {
        r = OP_E_IO;
        goto out;
    }
    line[len] = '\0';
    line[strcspn(line, "\n")] = '\0';
    const char *b64 = line + sizeof MAGIC - 1;
    if (strncmp(line, MAGIC, sizeof MAGIC - 1) != 0 ||
        /* libsodium 1.0.18 takes some bytes over 0x7f as base64 digits: check the alphabet */
        strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
            strlen(b64) ||
        sodium_base642bin(secret, n, line + sizeof MAGIC - 1, strlen(line + sizeof MAGIC - 1),
                          NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != n || *end != '\0')
        r = OP_E_MALFORMED;
out:
    close(fd);
    sodium_memzero(line, sizeof line);
    return r;
}

static op_err
identity_new(store_identity **out)
{
    store_identity *id = sodium_malloc(sizeof *id);
    *out = NULL;
    if (!id)
        return OP_E_NOMEM;
    if (!(id->sk = sodium_malloc(PROTO_SECRET_BYTES))) {
        sodium_free(id);
        return OP_E_NOMEM;
    }
    *out = id;
    return OP_OK;
}

static void
key_path(char *buf, size_t n, const char *dir)
{
    snprintf(buf, n, "%s/%s", dir, STORE_IDENTITY_FILE);
}

op_err
store_identity_create(const char *dir, store_identity **out)
{
    char path[PATH_MAX];
    store_identity *id;
    op_err r;

    *out = NULL;
    if ((r = identity_new(&id)) != OP_OK)
        return r;
    crypto_sign_keypair(id->pk, id->sk);
    key_path(path, sizeof path, dir);
    if ((r = store_keyfile_write(path, id->sk, PROTO_SECRET_BYTES)) != OP_OK) {
        store_identity_free(id);
        return r;
    }
    *out = id;
    return OP_OK;
}

op_err
store_identity_load(const char *dir, store_identity **out)
{
    char path[PATH_MAX];
    store_identity *id;
    op_err r;

    *out = NULL;
    if ((r = identity_new(&id)) != OP_OK)
        return r;
    key_path(path, sizeof path, dir);
    if ((r = store_keyfile_read(path, id->sk, PROTO_SECRET_BYTES)) != OP_OK) {
        store_identity_free(id);
        return r;
    }
    /* The secret carries its public half; check it is a real pair, not a damaged file. */
    uint8_t seed[crypto_sign_SEEDBYTES], pk[PROTO_KEY_BYTES], sk[PROTO_SECRET_BYTES];
    crypto_sign_ed25519_sk_to_seed(seed, id->sk);
    crypto_sign_seed_keypair(pk, sk, seed);
    bool ok = memcmp(pk, id->sk + 32, PROTO_KEY_BYTES) == 0;
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    if (!ok) {
        store_identity_free(id);
        return OP_E_MALFORMED;
    }
    memcpy(id->pk, pk, PROTO_KEY_BYTES);
    *out = id;
    return OP_OK;
}

void
store_identity_free(store_identity *id)
{
    if (!id)
        return;
    sodium_free(id->sk); /* sodium_free wipes before freeing */
    sodium_free(id);
}
