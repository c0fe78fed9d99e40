/*
 * invite.c — fuzz target "invite": invite codes (proto_invite_decode) and the address rule
 * (proto_invite_addr_ok), TESTING §D6.
 *
 * Input: the code text, exactly as pasted (not NUL-terminated: the decoder takes a length).
 *
 * Proves: no crash, overread, UB or leak on any text; an accepted code has at most 8 addresses,
 * each NUL-terminated and accepted by proto_invite_addr_ok; it is canonical: encoding it again
 * gives back exactly the input text (one invite, one spelling), which decodes to the same invite;
 * a refused code leaves the output wiped (the network key and token are secrets).
 *
 * Run: tools/fuzz.sh invite (FUZZ_SECONDS=1800: long mode); replay: ctest -R fuzz.replay.invite
 */
#include "proto/invite.h"

#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static proto_invite inv, inv2, zero;
    static char text[PROTO_INVITE_TEXT_MAX_BYTES];
    size_t len;

    /* The address rule alone, on the raw bytes (it takes a length, no NUL needed). */
    (void)proto_invite_addr_ok((const char *)data, size);

    memset(&inv, 0xaa, sizeof inv); /* decode must wipe what was there */
    op_err r = proto_invite_decode((const char *)data, size, &inv);
    if (r != OP_OK) {
        FUZZ_CHECK(memcmp(&inv, &zero, sizeof inv) == 0);
        return 0;
    }
    FUZZ_CHECK(inv.n_addrs <= PROTO_INVITE_MAX_ADDRS);
    for (size_t i = 0; i < inv.n_addrs; i++) {
        size_t al = strnlen(inv.addrs[i], sizeof inv.addrs[i]);
        FUZZ_CHECK(al < sizeof inv.addrs[i]);
        FUZZ_CHECK(proto_invite_addr_ok(inv.addrs[i], al));
    }
    FUZZ_CHECK(proto_invite_encode(&inv, text, sizeof text, &len) == OP_OK);
    FUZZ_CHECK(len == size && memcmp(text, data, size) == 0 && text[len] == '\0');
    FUZZ_CHECK(proto_invite_decode(text, len, &inv2) == OP_OK);
    FUZZ_CHECK(memcmp(&inv, &inv2, sizeof inv) == 0);
    proto_invite_wipe(&inv);
    proto_invite_wipe(&inv2);
    return 0;
}
