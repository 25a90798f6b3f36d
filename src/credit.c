/* Per-flow credit accounting (see credit.h). */
#include "credit.h"

#include <errno.h>

void credit_init(credit_t *c, uint32_t send_window, uint32_t recv_window)
{
    c->send = send_window;
    c->send_window = send_window;
    c->recv_window = recv_window;
    c->recv_held = 0;
    c->recv_owed = 0;
}

void credit_sent(credit_t *c, uint32_t n)
{
    c->send = n > c->send ? 0 : c->send - n;
}

int credit_granted(credit_t *c, uint32_t n)
{
    if (n > c->send_window - c->send)
        return -EPROTO;
    c->send += n;
    return 0;
}

int credit_received(credit_t *c, uint32_t n)
{
    uint64_t after = (uint64_t)c->recv_held + c->recv_owed + n;

    if (after > c->recv_window)
        return -EOVERFLOW;
    c->recv_held += n;
    return 0;
}

uint32_t credit_consumed(credit_t *c, uint32_t n)
{
    uint32_t grant;
    uint32_t threshold = c->recv_window / 4 ? c->recv_window / 4 : 1;

    if (n > c->recv_held)
        n = c->recv_held;
    c->recv_held -= n;
    c->recv_owed += n;
    if (c->recv_owed < threshold)
        return 0;
    grant = c->recv_owed;
    c->recv_owed = 0;
    return grant;
}
