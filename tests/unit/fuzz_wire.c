/* libFuzzer target for the wire decoder (cmake -DSCTPGW_FUZZ=ON, clang).
 *
 * Input: sid selector u8 | type u8 | payload. Whatever the payload, decoding
 * must not misbehave (the sanitizers watch), must accept only messages of a
 * known type on the right kind of stream, and anything it accepts must
 * re-encode to the very same bytes (the encoding is canonical) and decode to
 * the same fields again. */
#include "wire.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_fields(const wire_msg_t *a, const wire_msg_t *b)
{
    int same = a->type == b->type;

    switch (a->type) {
    case WIRE_HELLO:
        same = same && a->u.hello.version == b->u.hello.version &&
               a->u.hello.flags == b->u.hello.flags &&
               memcmp(a->u.hello.nonce, b->u.hello.nonce, WIRE_NONCE_LEN) == 0 &&
               a->u.hello.flow_window == b->u.hello.flow_window &&
               strcmp(a->u.hello.name, b->u.hello.name) == 0;
        break;
    case WIRE_AUTH:
        same = same && memcmp(a->u.proof, b->u.proof, WIRE_PROOF_LEN) == 0;
        break;
    case WIRE_ERROR:
    case WIRE_RESULT:
    case WIRE_RST:
        same = same && a->u.reason.code == b->u.reason.code &&
               strcmp(a->u.reason.text, b->u.reason.text) == 0;
        break;
    case WIRE_OPEN:
        same = same && strcmp(a->u.service, b->u.service) == 0;
        break;
    case WIRE_WINDOW:
        same = same && a->u.window == b->u.window;
        break;
    default:
        break;
    }
    if (!same)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t sids[] = {0, 1, 2, 65535};
    static uint8_t re[WIRE_MSG_MAX];
    wire_msg_t m, m2;
    uint16_t sid;
    uint32_t ppid;
    ssize_t n;

    if (size < 2)
        return 0;
    sid = sids[data[0] % 4];
    /* mostly near the known types, sometimes anywhere */
    ppid = data[1] < 0xf0 ? WIRE_PPID_BASE + data[1] % 32u - 4u : (uint32_t)data[1] << 24;
    data += 2;
    size -= 2;

    if (wire_decode(sid, ppid, size ? data : NULL, size, &m) != 0)
        return 0;
    if (wire_ppid(m.type) != ppid)
        abort();
    if ((sid == WIRE_CONTROL_SID) != (m.type >= WIRE_HELLO && m.type <= WIRE_ERROR))
        abort();
    if (m.type == WIRE_DATA) {
        if (m.u.data.bytes != data || m.u.data.len != size || size > WIRE_DATA_MAX)
            abort();
        return 0;
    }
    n = wire_encode(&m, re, sizeof(re));
    if (n < 0 || (size_t)n != size || memcmp(re, data, size) != 0)
        abort();
    if (wire_decode(sid, ppid, re, (size_t)n, &m2) != 0)
        abort();
    same_fields(&m, &m2);
    return 0;
}
