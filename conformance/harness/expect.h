/* What a case observed (the frames received, the connection's fate) and the predicates over
 * it. No I/O: the runner fills a tc_obs, these functions judge it. */
#ifndef TC_EXPECT_H
#define TC_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "case.h"
#include "script.h"
#include "ttrpc/frame.h"

#define TC_RX_KEEP 256u /* payload bytes kept per received frame */

typedef struct tc_rx_frame {
    ttrpc_frame_header hdr;
    bool oversize;      /* the length was above the limit; no data kept */
    bool decoded;       /* Response: the body decoded */
    int32_t code;       /* Response: status code (0 when absent) */
    uint32_t payload_len;            /* Response: payload length; Data: the data length */
    uint8_t payload[TC_RX_KEEP];     /* its first bytes */
} tc_rx_frame;

/* A frame the harness sent, placed in time among the received ones: it went out after
 * frames[0, at) had arrived. */
typedef struct tc_tx_mark {
    uint32_t id;
    size_t at;
    bool request; /* a Request (it opens a stream, or reuses the id) */
} tc_tx_mark;

typedef struct tc_obs {
    tc_rx_frame *frames; /* owned, in arrival order */
    size_t n_frames;
    size_t cap;
    tc_tx_mark *sent;    /* owned: what the harness sent, in order */
    size_t n_sent;
    size_t sent_cap;
    bool closed;      /* the peer closed (EOF, reset, or a write found it gone) */
    bool we_closed;   /* the script closed the connection */
    bool alive;       /* the liveness probe after the case was answered */
    uint32_t probe_id;/* the NOTHING_ON probe's id, 0 when none was sent */
} tc_obs;

/* Records a frame (data: hdr.length bytes, or NULL when oversize). Errors: TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err tc_obs_add(tc_obs *o, const ttrpc_frame_header *hdr,
                                    const uint8_t *data, bool oversize);
void tc_obs_free(tc_obs *o);
/* Records that the harness sent a frame on id now. Errors: TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err tc_obs_note_sent(tc_obs *o, uint32_t id, bool request);

/* PROTOCOL.md, Message Types: a Response ends a stream, and a Data with the remote-closed
 * flag is the sender's last message. Counts the frames the peer sent on a stream after that
 * stream's terminal frame, where the harness had sent nothing on the id since that terminal
 * and no further Request reopened it (an answer to our own violation, or to a reused id, is
 * not counted). *first is the index of the first such frame (unchanged when none). Applies
 * to every case: tc_case_judge fails both expectations when it is not zero. */
size_t tc_obs_after_end(const tc_obs *o, size_t *first);

/* Terminal frames on id so far: Responses and Data frames carrying RC. */
uint32_t tc_obs_terminals(const tc_obs *o, uint32_t id);
/* Message-bearing Data frames on id (no ND flag). */
uint32_t tc_obs_data_messages(const tc_obs *o, uint32_t id);
/* The nth Response on id, or NULL. */
const tc_rx_frame *tc_obs_response(const tc_obs *o, uint32_t id, uint32_t nth);

/* True when p holds over o. ALIVE reads o->alive, so judge it after the liveness probe. */
bool tc_pred_eval(const tc_pred *p, const tc_obs *o);

/* True when waiting longer cannot change p: the frames it looks at have arrived (CLOSED and
 * ALIVE never make the runner wait; NOTHING_ON waits for the probe's answer). */
bool tc_pred_settled(const tc_pred *p, const tc_obs *o);

/* Adds the ids p waits on for frames to ids (up to max); returns how many there are. */
size_t tc_pred_ids(const tc_pred *p, uint32_t *ids, size_t max);

/* Human-readable forms for reports: "ALL(RESP_CODE(1, 12), RESP_OK(3))" and a summary of
 * what arrived: "1: Response 12; 3: Data, Data[RC|ND]; peer closed", followed by
 * "; 1 frame after its stream's end (first: Data on 1)" when tc_obs_after_end finds any. */
TTRPC_MUST_USE ttrpc_err tc_pred_render(const tc_pred *p, tc_buf *out);
TTRPC_MUST_USE ttrpc_err tc_obs_render(const tc_obs *o, tc_buf *out);

/* Decoders for the interop messages in a received payload (proto2 Bytes and Count: field 1,
 * last one wins, unknown fields skipped). False when the bytes do not parse. */
bool tc_decode_bytes_value(const uint8_t *p, size_t len, const uint8_t **value,
                           size_t *value_len);
bool tc_decode_count_value(const uint8_t *p, size_t len, uint64_t *value);

#endif
