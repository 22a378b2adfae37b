/* A case's wire log as data: every frame the harness sent or received (time, header fields,
 * header and payload bytes, a decoded summary) and the events around them (connect, close,
 * deadline, peer exit), for the JSON report and the HTML page. The text log (--trace) stays
 * separate; this one is for machines.
 *
 * Storage is fixed inside the struct, no heap: a run result owns it by value, so whoever
 * frees a result's text log cannot leak it, and a flood or a 4 MiB frame cannot make a
 * report large. Payloads of up to TC_WIRE_PAYLOAD_WHOLE bytes are kept whole, longer ones
 * only their first TC_WIRE_PAYLOAD_HEAD bytes, all drawn from one pool per case; past
 * TC_WIRE_MAX_ENTRIES entries only a count of the dropped ones is kept. */
#ifndef TC_WIRELOG_H
#define TC_WIRELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "script.h"
#include "ttrpc/frame.h"

#define TC_WIRE_MAX_ENTRIES 256u
#define TC_WIRE_POOL 32768u
#define TC_WIRE_PAYLOAD_WHOLE 4096u
#define TC_WIRE_PAYLOAD_HEAD 64u
#define TC_WIRE_TEXT 120u

typedef enum tc_wire_kind {
    TC_WIRE_FRAME = 0, /* a whole frame, or a bare header (payload not part of this write) */
    TC_WIRE_BYTES,     /* bytes that do not start a frame: a cut header, zeros, garbage */
    TC_WIRE_EVENT,     /* connect, close, deadline, peer exit, ... */
} tc_wire_kind;

typedef enum tc_wire_dir {
    TC_WIRE_SENT = 0,  /* by the harness */
    TC_WIRE_RECEIVED,  /* from the testee */
    TC_WIRE_LOCAL,     /* events: neither */
} tc_wire_dir;

typedef struct tc_wire_entry {
    uint64_t t_us;    /* since the log's start */
    tc_wire_kind kind;
    tc_wire_dir dir;
    ttrpc_frame_header hdr;        /* FRAME */
    bool header_only;              /* FRAME: the header was sent without its data */
    bool oversize;                 /* FRAME: above the limit, data skipped unread */
    uint32_t byte_len;             /* FRAME: data bytes carried; BYTES: bytes sent */
    uint32_t kept_off, kept_len;   /* the kept payload bytes in the pool */
    char text[TC_WIRE_TEXT];       /* FRAME: decoded summary; EVENT: "name: detail" */
} tc_wire_entry;

typedef struct tc_wirelog {
    uint64_t t0_us;   /* set by tc_wire_start */
    bool started;
    uint32_t n;
    uint32_t dropped; /* entries past TC_WIRE_MAX_ENTRIES */
    uint32_t pool_used;
    tc_wire_entry entries[TC_WIRE_MAX_ENTRIES];
    uint8_t pool[TC_WIRE_POOL];
} tc_wirelog;

/* The current CLOCK_MONOTONIC time in microseconds. */
uint64_t tc_wire_now_us(void);
/* Starts the clock: times are relative to now. Entries before it count from their own time. */
void tc_wire_start(tc_wirelog *w);

/* A received frame (data: hdr->length bytes, or NULL when oversize). */
void tc_wire_frame(tc_wirelog *w, tc_wire_dir dir, const ttrpc_frame_header *hdr,
                   const uint8_t *data, bool oversize);
/* Bytes as written: split into whole frames; a trailing bare header (data sent by a later
 * write) is a header-only frame and anything shorter than a header is BYTES. */
void tc_wire_bytes(tc_wirelog *w, tc_wire_dir dir, const uint8_t *p, size_t len);
/* Bytes sent as they are, not read as frames (zeros, garbage): one BYTES entry, what says why. */
void tc_wire_raw(tc_wirelog *w, tc_wire_dir dir, const uint8_t *p, size_t len, const char *what);
/* An event: name is a short token ("connect", "close", "peer-closed", "deadline",
 * "peer-exit", ...), detail free text. */
void tc_wire_event(tc_wirelog *w, const char *name, const char *detail);

/* The "decoded" summary of one frame: "Request conf.Echo/Echo payload=4 timeout_nano=0 md=0",
 * "Response status=12 UNIMPLEMENTED payload=0", "Data[RC|ND] 0 bytes". */
void tc_wire_describe(const ttrpc_frame_header *hdr, const uint8_t *data, bool oversize,
                      char *out, size_t cap);

/* Appends the JSON value {"entries": [...], "entries_dropped": N, "pool_exhausted": B}; when
 * end_event is not NULL, one more event closes the list (how the peer ended, known only
 * after the case). */
TTRPC_MUST_USE ttrpc_err tc_wire_json(const tc_wirelog *w, const char *end_event,
                                      const char *end_detail, tc_buf *out);

#endif
