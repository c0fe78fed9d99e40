/*
 * keyfile_test.c — store/keyfile.c: secret files written atomically with mode 0600, never
 * overwritten, refused when others can read them or when damaged; the identity round trip;
 * bare file names, paths too long for the temporary file, a directory in place of the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "store_test_util.h"

#define MAGIC "outpost-secret-v1 "

static void
write_file(const char *path, const char *text, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

static char *
read_text(const char *path)
{
    static char buf[1024];
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static void
written_with_mode_0600_and_format(void **state)
{
    tu_fixture *f = *state;
    uint8_t secret[64], back[64];
    randombytes_buf(secret, sizeof secret);

    static const mode_t masks[] = {022, 0, 077};
    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "k%zu.key", i);
        char *path = tu_path(f->dir, name);
        mode_t old = umask(masks[i]);
        OK(store_keyfile_write(path, secret, sizeof secret));
        umask(old);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);

        /* One line: the magic and the secret in standard base64. */
        char want[256];
        memcpy(want, MAGIC, sizeof MAGIC - 1);
        sodium_bin2base64(want + sizeof MAGIC - 1, sizeof want - sizeof MAGIC, secret,
                          sizeof secret, sodium_base64_VARIANT_ORIGINAL);
        strcat(want, "\n");
        assert_string_equal(read_text(path), want);

        memset(back, 0, sizeof back);
        OK(store_keyfile_read(path, back, sizeof back));
        assert_memory_equal(back, secret, sizeof secret);

        /* No temporary file is left behind. */
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        assert_int_not_equal(access(tmp, F_OK), 0);
        free(path);
    }
}

static void
never_overwrites(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, "secret.key");
    uint8_t a[32], b[32], back[32];
    randombytes_buf(a, sizeof a);
    randombytes_buf(b, sizeof b);

    OK(store_keyfile_write(path, a, sizeof a));
    EXPECT(OP_E_EXISTS, store_keyfile_write(path, b, sizeof b));
    OK(store_keyfile_read(path, back, sizeof back));
    assert_memory_equal(back, a, sizeof a);

    /* Any file in the way counts, not just key files. */
    char *other = tu_path(f->dir, "other");
    write_file(other, "not a key\n", 0600);
    EXPECT(OP_E_EXISTS, store_keyfile_write(other, b, sizeof b));
    assert_string_equal(read_text(other), "not a key\n");
    free(other);
    free(path);
}

static void
leftover_temporary_file_is_replaced(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, "secret.key");
    char *tmp = tu_path(f->dir, "secret.key.tmp");
    uint8_t s[32], back[32];
    randombytes_buf(s, sizeof s);

    /* A crash between writing the temporary file and linking it leaves this. */
    write_file(tmp, "half-written junk", 0644);
    OK(store_keyfile_write(path, s, sizeof s));
    OK(store_keyfile_read(path, back, sizeof back));
    assert_memory_equal(back, s, sizeof s);
    assert_int_not_equal(access(tmp, F_OK), 0);
    free(tmp);
    free(path);
}

static void
refuses_files_others_can_use(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, "secret.key");
    uint8_t s[64], back[64];
    randombytes_buf(s, sizeof s);
    OK(store_keyfile_write(path, s, sizeof s));

    static const mode_t bad[] = {0644, 0640, 0604, 0620, 0602, 0660, 0666, 0610, 0601, 0700 | 070};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(chmod(path, bad[i]), 0);
        memset(back, 0, sizeof back);
        EXPECT(OP_E_AUTH, store_keyfile_read(path, back, sizeof back));
    }
    /* Owner-only modes are fine, even stricter than 0600. */
    static const mode_t good[] = {0600, 0400, 0700};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(chmod(path, good[i]), 0);
        OK(store_keyfile_read(path, back, sizeof back));
        assert_memory_equal(back, s, sizeof s);
    }
    free(path);
}

static void
missing_is_notfound(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, "nothere.key");
    uint8_t back[32] = {0}; /* also the secret written below: defined bytes (valgrind) */
    EXPECT(OP_E_NOTFOUND, store_keyfile_read(path, back, sizeof back));
    free(path);

    /* Writing into a directory that does not exist is an I/O error, and leaves nothing. */
    path = tu_path(f->dir, "no/such/dir.key");
    EXPECT(OP_E_IO, store_keyfile_write(path, back, sizeof back));
    free(path);
}

static void
damaged_contents_are_malformed(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, "secret.key");
    uint8_t s[32], back[32];
    char b64[64], line[256];
    randombytes_buf(s, sizeof s);
    sodium_bin2base64(b64, sizeof b64, s, sizeof s, sodium_base64_VARIANT_ORIGINAL);

    /* The well-formed line reads, with or without its newline. */
    snprintf(line, sizeof line, MAGIC "%s\n", b64);
    write_file(path, line, 0600);
    OK(store_keyfile_read(path, back, sizeof back));
    assert_memory_equal(back, s, sizeof s);
    snprintf(line, sizeof line, MAGIC "%s", b64);
    write_file(path, line, 0600);
    OK(store_keyfile_read(path, back, sizeof back));

    char cut[64];
    snprintf(cut, sizeof cut, "%.*s", (int)strlen(b64) - 4, b64);
    char bad_char[64];
    snprintf(bad_char, sizeof bad_char, "%s", b64);
    bad_char[5] = '*';
    const char *cases[] = {
        "",                         /* empty */
        "\n",                       /* empty line */
        "outpost-secret-v2 AAAA\n", /* another version */
        "OUTPOST-SECRET-V1 AAAA\n", /* wrong magic */
        "outpost-secret-v1\n",      /* no secret */
        "outpost-secret-v1 \n",     /* empty secret */
        NULL,                       /* truncated base64, below */
        NULL,                       /* a character outside base64, below */
        NULL,                       /* trailing text on the line, below */
        NULL,                       /* a secret of another length, below */
        NULL,                       /* url-safe alphabet, below */
    };
    char dyn[5][256];
    snprintf(dyn[0], sizeof dyn[0], MAGIC "%s\n", cut);
    snprintf(dyn[1], sizeof dyn[1], MAGIC "%s\n", bad_char);
    snprintf(dyn[2], sizeof dyn[2], MAGIC "%s extra\n", b64);
    uint8_t s48[48];
    char b48[80];
    randombytes_buf(s48, sizeof s48);
    sodium_bin2base64(b48, sizeof b48, s48, sizeof s48, sodium_base64_VARIANT_ORIGINAL);
    snprintf(dyn[3], sizeof dyn[3], MAGIC "%s\n", b48);
    /* 0xfb.. bytes make '+' and '/' in the standard alphabet, '-' and '_' in the URL one. */
    uint8_t special[32];
    memset(special, 0xfb, sizeof special);
    char url[64];
    sodium_bin2base64(url, sizeof url, special, sizeof special, sodium_base64_VARIANT_URLSAFE);
    snprintf(dyn[4], sizeof dyn[4], MAGIC "%s\n", url);
    int d = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *text = cases[i] ? cases[i] : dyn[d++];
        write_file(path, text, 0600);
        op_err r = store_keyfile_read(path, back, sizeof back);
        if (r != OP_E_MALFORMED)
            fail_msg("case %zu (%s): %s, want MALFORMED", i, text, op_errname(r));
    }
    /* A 64-byte secret file read as 32 bytes is not a 32-byte key file. */
    unlink(path);
    uint8_t s64[64];
    randombytes_buf(s64, sizeof s64);
    OK(store_keyfile_write(path, s64, sizeof s64));
    EXPECT(OP_E_MALFORMED, store_keyfile_read(path, back, sizeof back));
    free(path);
}

static void
oversized_secret_is_refused(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, "big.key");
    uint8_t big[256] = {0};
    EXPECT(OP_E_TOOBIG, store_keyfile_write(path, big, sizeof big));
    assert_int_not_equal(access(path, F_OK), 0);
    free(path);
}

static void
identity_round_trip(void **state)
{
    tu_fixture *f = *state;
    store_identity *a = NULL, *b = NULL;

    EXPECT(OP_E_NOTFOUND, store_identity_load(f->dir, &a));
    assert_null(a);
    OK(store_identity_create(f->dir, &a));
    assert_non_null(a);
    /* The secret key carries the public key in its second half. */
    assert_memory_equal(a->sk + 32, a->pk, 32);
    char *path = tu_path(f->dir, STORE_IDENTITY_FILE);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    OK(store_identity_load(f->dir, &b));
    assert_memory_equal(b->pk, a->pk, PROTO_KEY_BYTES);
    assert_memory_equal(b->sk, a->sk, PROTO_SECRET_BYTES);
    /* And it signs like the original. */
    uint8_t sig[64];
    const uint8_t msg[] = "check-in";
    crypto_sign_detached(sig, NULL, msg, sizeof msg, b->sk);
    assert_int_equal(crypto_sign_verify_detached(sig, msg, sizeof msg, a->pk), 0);
    store_identity_free(b);
    b = NULL;

    /* A second create does not replace the node's key. */
    EXPECT(OP_E_EXISTS, store_identity_create(f->dir, &b));
    assert_null(b);
    OK(store_identity_load(f->dir, &b));
    assert_memory_equal(b->pk, a->pk, PROTO_KEY_BYTES);
    store_identity_free(b);
    b = NULL;

    /* A readable identity is refused like ssh refuses one. */
    assert_int_equal(chmod(path, 0644), 0);
    EXPECT(OP_E_AUTH, store_identity_load(f->dir, &b));
    assert_null(b);
    assert_int_equal(chmod(path, 0600), 0);

    store_identity_free(a);
    store_identity_free(NULL);
    free(path);
}

static void
identity_with_damaged_key_is_malformed(void **state)
{
    tu_fixture *f = *state;
    store_identity *a, *b = NULL;
    OK(store_identity_create(f->dir, &a));
    char *path = tu_path(f->dir, STORE_IDENTITY_FILE);

    /* The file still decodes to 64 bytes, but the halves no longer form a key pair: the seed
     * (first half) or the public key (second half) was changed. */
    for (int half = 0; half < 2; half++) {
        uint8_t sk[64];
        memcpy(sk, a->sk, sizeof sk);
        sk[half * 32 + 7] ^= 0x01;
        unlink(path);
        OK(store_keyfile_write(path, sk, sizeof sk));
        EXPECT(OP_E_MALFORMED, store_identity_load(f->dir, &b));
        assert_null(b);
    }
    /* A key file of the wrong size. */
    unlink(path);
    OK(store_keyfile_write(path, a->pk, 32));
    EXPECT(OP_E_MALFORMED, store_identity_load(f->dir, &b));
    assert_null(b);
    store_identity_free(a);
    free(path);
}

/* A bare file name is written in (and its directory entry synced in) the working directory; a
 * path with no room for its ".tmp" sibling is refused before anything is created; a directory
 * in place of the file cannot be read as a key (I/O error, not "missing"). */
static void
relative_overlong_and_directory_paths(void **state)
{
    tu_fixture *f = *state;
    uint8_t s[32], back[32];
    char cwd[PATH_MAX];
    randombytes_buf(s, sizeof s);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    op_err w = store_keyfile_write("bare.key", s, sizeof s);
    assert_int_equal(chdir(cwd), 0);
    OK(w);
    char *path = tu_path(f->dir, "bare.key");
    OK(store_keyfile_read(path, back, sizeof back));
    assert_memory_equal(back, s, sizeof s);
    free(path);

    static char longp[PATH_MAX];
    size_t k = (size_t)snprintf(longp, sizeof longp, "%s/", f->dir);
    memset(longp + k, 'k', sizeof longp - k - 3); /* the name fits PATH_MAX, ".tmp" does not */
    longp[sizeof longp - 3] = '\0';
    EXPECT(OP_E_TOOBIG, store_keyfile_write(longp, s, sizeof s));

    char *sub = tu_path(f->dir, "adir");
    assert_int_equal(mkdir(sub, 0700), 0);
    EXPECT(OP_E_IO, store_keyfile_read(sub, back, sizeof back));
    EXPECT(OP_E_EXISTS, store_keyfile_write(sub, s, sizeof s));
    free(sub);
    /* nothing else was left in the directory: bare.key and adir only */
    DIR *d = opendir(f->dir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)))
        n += de->d_name[0] != '.';
    closedir(d);
    assert_int_equal(n, 2);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(written_with_mode_0600_and_format, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(never_overwrites, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(leftover_temporary_file_is_replaced, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(refuses_files_others_can_use, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(missing_is_notfound, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(damaged_contents_are_malformed, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(oversized_secret_is_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(identity_round_trip, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(relative_overlong_and_directory_paths, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(identity_with_damaged_key_is_malformed, tu_setup,
                                        tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
