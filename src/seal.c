/* Sealed messages and rekeying (see seal.h). */
#include "seal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define CTR_LIMIT (1ull << 48) /* a counter stays below the stream bits */

/* Associated data: the stream and the PPID (which carries the epoch). */
static void seal_ad(uint16_t sid, uint32_t ppid, uint8_t ad[6])
{
    ad[0] = (uint8_t)(sid >> 8);
    ad[1] = (uint8_t)sid;
    ad[2] = (uint8_t)(ppid >> 24);
    ad[3] = (uint8_t)(ppid >> 16);
    ad[4] = (uint8_t)(ppid >> 8);
    ad[5] = (uint8_t)ppid;
}

static uint64_t seal_nonce(uint16_t sid, uint64_t ctr)
{
    return (uint64_t)sid << 48 | ctr;
}

static void rx_install(seal_rx_t *rx, const uint8_t key[NOISE_KEY_LEN], uint32_t epoch)
{
    memcpy(rx->key, key, NOISE_KEY_LEN);
    rx->epoch = epoch;
    rx->live = 1;
    rx->opened = rx->last = 0;
    rx->last_known = 0;
}

static void rx_wipe(seal_rx_t *rx)
{
    sodium_memzero(rx, sizeof(*rx));
}

/* The old receive key goes once the peer's last message under it is in. */
static void rx_retire(seal_rx_t *rx)
{
    if (rx->live && rx->last_known && rx->opened >= rx->last)
        rx_wipe(rx);
}

int seal_init(seal_t *s, int initiator, const noise_keys_t *k, uint64_t rekey_bytes)
{
    memset(s, 0, sizeof(*s));
    s->initiator = initiator;
    s->rekey_at = rekey_bytes ? rekey_bytes : SEAL_REKEY_BYTES;
    memcpy(s->tx_key, initiator ? k->i2r : k->r2i, NOISE_KEY_LEN);
    rx_install(&s->rx[0], initiator ? k->r2i : k->i2r, 0);
    memcpy(s->ck, k->ck, NOISE_HASH_LEN);
    return seal_streams(s, 1);
}

int seal_streams(seal_t *s, unsigned n)
{
    uint64_t *tx, *rx;

    if (n <= s->nstreams)
        return 0;
    tx = calloc(n, sizeof(*tx));
    rx = calloc(n, sizeof(*rx));
    if (!tx || !rx) {
        free(tx);
        free(rx);
        return -ENOMEM;
    }
    if (s->nstreams) {
        memcpy(tx, s->tx_ctr, s->nstreams * sizeof(*tx));
        memcpy(rx, s->rx_ctr, s->nstreams * sizeof(*rx));
    }
    free(s->tx_ctr);
    free(s->rx_ctr);
    s->tx_ctr = tx;
    s->rx_ctr = rx;
    s->nstreams = n;
    return 0;
}

void seal_free(seal_t *s)
{
    free(s->tx_ctr);
    free(s->rx_ctr);
    sodium_memzero(s, sizeof(*s));
}

int seal_is_sealed(uint32_t ppid)
{
    return (ppid & ~0xffu) == WIRE_PPID_SEALED;
}

size_t seal_msg(seal_t *s, uint16_t sid, wire_type_t type, uint8_t *buf, size_t len, uint32_t *ppid)
{
    uint8_t ad[6];

    if (sid >= s->nstreams || s->tx_ctr[sid] >= CTR_LIMIT)
        return 0;
    *ppid = WIRE_PPID_SEALED | (s->tx_epoch & 0xffu);
    buf[len] = (uint8_t)type;
    seal_ad(sid, *ppid, ad);
    noise_encrypt(s->tx_key, seal_nonce(sid, s->tx_ctr[sid]++), ad, sizeof(ad), buf, len + 1, buf);
    s->tx_sealed++;
    s->bytes += len;
    return len + SEAL_OVERHEAD;
}

static seal_rx_t *rx_for(seal_t *s, uint32_t ppid)
{
    seal_rx_t *rx = &s->rx[ppid & 1u];

    if (!rx->live || (rx->epoch & 0xffu) != (ppid & 0xffu))
        return NULL;
    /* An old key past its announced last message is as good as gone. */
    if (rx->last_known && rx->opened >= rx->last)
        return NULL;
    return rx;
}

seal_err_t seal_open(seal_t *s, uint16_t sid, uint32_t ppid, uint8_t *buf, size_t len,
                     wire_type_t *type, size_t *plen)
{
    seal_rx_t *rx;
    uint8_t ad[6];

    if (len < SEAL_OVERHEAD)
        return SEAL_E_SHORT;
    if (sid >= s->nstreams)
        return SEAL_E_STREAM;
    if (!seal_is_sealed(ppid) || !(rx = rx_for(s, ppid)))
        return SEAL_E_EPOCH;
    seal_ad(sid, ppid, ad);
    if (noise_decrypt(rx->key, seal_nonce(sid, s->rx_ctr[sid]), ad, sizeof(ad), buf, len, buf) < 0)
        return SEAL_E_TAG;
    s->rx_ctr[sid]++;
    s->rx_last = rx->epoch;
    rx->opened++;
    *plen = len - SEAL_OVERHEAD;
    *type = (wire_type_t)buf[*plen];
    s->bytes += *plen;
    rx_retire(rx);
    return SEAL_OK;
}

int seal_rekey_due(const seal_t *s)
{
    return s->initiator && s->phase == SEAL_IDLE && s->bytes >= s->rekey_at;
}

/* Our fresh ephemeral for a rekey; its public half goes in out. */
static void rekey_ephemeral(seal_t *s, wire_msg_t *out)
{
    *out = (wire_msg_t){.type = WIRE_REKEY};
    noise_keypair(s->e_priv, out->u.key);
}

int seal_rekey_start(seal_t *s, wire_msg_t *out)
{
    if (!s->initiator || s->phase != SEAL_IDLE || s->rx[(s->tx_epoch + 1) & 1u].live)
        return 0;
    rekey_ephemeral(s, out);
    s->phase = SEAL_OFFERED;
    return 1;
}

/* ck', k_i2r', k_r2i' = HKDF(ck, DH(ours, theirs), 3). The next receive
 * key goes in its slot at once; the next send key waits for the switch. */
static int rekey_derive(seal_t *s, const uint8_t peer[WIRE_KEY_LEN])
{
    uint8_t dh[NOISE_DH_LEN], i2r[NOISE_KEY_LEN], r2i[NOISE_KEY_LEN];
    uint32_t next = s->tx_epoch + 1;
    int r = noise_dh(dh, s->e_priv, peer);

    sodium_memzero(s->e_priv, sizeof(s->e_priv));
    if (r < 0)
        return -1;
    noise_hkdf(s->ck, dh, sizeof(dh), s->ck, i2r, r2i);
    rx_install(&s->rx[next & 1u], s->initiator ? r2i : i2r, next);
    s->rx_newest = next;
    memcpy(s->tx_next, s->initiator ? i2r : r2i, NOISE_KEY_LEN);
    sodium_memzero(dh, sizeof(dh));
    sodium_memzero(i2r, sizeof(i2r));
    sodium_memzero(r2i, sizeof(r2i));
    return 0;
}

/* From here we seal under the next keys; out says how many went before. */
static void rekey_switch(seal_t *s, wire_msg_t *out)
{
    *out = (wire_msg_t){.type = WIRE_SWITCH, .u.count = s->tx_sealed};
    memcpy(s->tx_key, s->tx_next, NOISE_KEY_LEN);
    sodium_memzero(s->tx_next, sizeof(s->tx_next));
    s->tx_epoch++;
    s->tx_sealed = 0;
}

/* The peer has switched (its SWITCH came under the new key): its old key
 * lasts for `count` messages. */
static int rekey_peer_switched(seal_t *s, uint64_t count)
{
    seal_rx_t *old = &s->rx[(s->rx_newest + 1) & 1u];

    if (s->rx_last != s->rx_newest)
        return -1;
    old->last = count;
    old->last_known = 1;
    rx_retire(old);
    return 0;
}

/* Whether a peer's rekey key is of low order. Its DH with every clamped
 * private key is then all zeros and with none otherwise, so one fresh key
 * tells now what the answer's DH would tell later. */
static int rekey_key_bad(const uint8_t key[WIRE_KEY_LEN])
{
    uint8_t priv[NOISE_DH_LEN], pub[NOISE_DH_LEN], dh[NOISE_DH_LEN];
    int r;

    noise_keypair(priv, pub);
    r = noise_dh(dh, priv, key);
    sodium_memzero(priv, sizeof(priv));
    sodium_memzero(dh, sizeof(dh));
    return r < 0;
}

static int rekey_answer(seal_t *s, const uint8_t offer[WIRE_KEY_LEN], wire_msg_t *out)
{
    wire_msg_t mine;

    rekey_ephemeral(s, &mine);
    if (rekey_derive(s, offer) < 0)
        return -1;
    *out = mine;
    s->phase = SEAL_ANSWERED;
    return 1;
}

int seal_on_control(seal_t *s, const wire_msg_t *m, wire_msg_t *out)
{
    if (m->type == WIRE_REKEY && !s->initiator && s->phase == SEAL_IDLE && !s->offer_waits) {
        if (!s->rx[(s->tx_epoch + 1) & 1u].live)
            return rekey_answer(s, m->u.key, out);
        /* A bad offer is refused now: seal_pending has no way to say so. */
        if (rekey_key_bad(m->u.key))
            return -1;
        memcpy(s->offer, m->u.key, WIRE_KEY_LEN);
        s->offer_waits = 1;
        return 0;
    }
    if (m->type == WIRE_REKEY && s->initiator && s->phase == SEAL_OFFERED) {
        if (rekey_derive(s, m->u.key) < 0)
            return -1;
        rekey_switch(s, out);
        s->phase = SEAL_SWITCHED;
        return 1;
    }
    if (m->type == WIRE_SWITCH && !s->initiator && s->phase == SEAL_ANSWERED) {
        if (rekey_peer_switched(s, m->u.count) < 0)
            return -1;
        rekey_switch(s, out);
        s->phase = SEAL_IDLE;
        s->rekeys++;
        return 1;
    }
    if (m->type == WIRE_SWITCH && s->initiator && s->phase == SEAL_SWITCHED) {
        if (rekey_peer_switched(s, m->u.count) < 0)
            return -1;
        s->phase = SEAL_IDLE;
        s->bytes = 0;
        s->rekeys++;
        return 0;
    }
    return -1;
}

int seal_pending(seal_t *s, wire_msg_t *out)
{
    int r;

    if (!s->offer_waits || s->rx[(s->tx_epoch + 1) & 1u].live)
        return 0;
    s->offer_waits = 0;
    r = rekey_answer(s, s->offer, out);
    sodium_memzero(s->offer, sizeof(s->offer));
    return r;
}

int seal_old_waits(const seal_t *s, uint64_t *announced, uint64_t *opened)
{
    const seal_rx_t *old = &s->rx[(s->rx_newest + 1) & 1u];

    if (!old->live || !old->last_known)
        return 0;
    *announced = old->last;
    *opened = old->opened;
    return 1;
}

const char *seal_err_name(seal_err_t e)
{
    switch (e) {
    case SEAL_OK:
        return "ok";
    case SEAL_E_SHORT:
        return "too short to be sealed";
    case SEAL_E_STREAM:
        return "on a stream beyond the association's";
    case SEAL_E_EPOCH:
        return "under keys not held (unsealed, or an old key already retired)";
    case SEAL_E_TAG:
        return "does not authenticate (forged, corrupted, replayed or out of order)";
    case SEAL_E_REKEY:
        return "a rekey message out of turn";
    }
    return "?";
}
