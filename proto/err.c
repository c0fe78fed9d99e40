/* err.c — text for the codes of err.h, generated from the same X-macro list. */
#include "proto/err.h"

const char *
op_strerror(op_err e)
{
    switch (e) {
    case OP_OK:
        return "ok";
#define OP_ERR_TEXT_(name, val, text)                                                              \
    case OP_E_##name:                                                                              \
        return text;
        OP_ERRORS(OP_ERR_TEXT_)
#undef OP_ERR_TEXT_
    }
    return "unknown error";
}

const char *
op_errname(op_err e)
{
    switch (e) {
    case OP_OK:
        return "OK";
#define OP_ERR_NAME_(name, val, text)                                                              \
    case OP_E_##name:                                                                              \
        return #name;
        OP_ERRORS(OP_ERR_NAME_)
#undef OP_ERR_NAME_
    }
    return "UNKNOWN";
}
