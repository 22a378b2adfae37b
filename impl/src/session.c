#include "ttrpc/session.h"

#include <stdlib.h>
#include <string.h>

/* A live stream. id 0 marks an empty slot: 0 is never a valid stream id. */
typedef struct stream_slot {
    uint32_t id;
    uint8_t state; /* ttrpc_stream_state */
    uint8_t kind;  /* ttrpc_method_kind */
    void *user;
} stream_slot;

struct ttrpc_session {
    ttrpc_session_config cfg;
    ttrpc_decoder decoder;
    ttrpc_msg_arena arena;
    ttrpc_request request;   /* storage for the last REQUEST event */
    ttrpc_response response; /* storage for the last RESPONSE event */

    stream_slot *slots; /* open addressing, linear probing; size a power of two */
    size_t n_slots;
    uint32_t live;

    uint8_t *out; /* pending output is out[out_start, out_end) */
    size_t out_cap;
    size_t out_start;
    size_t out_end;

    uint32_t next_id; /* client: the next id to use; 0 once the id space is used up */
    uint32_t last_id; /* server: the highest Request id accepted for checking */
    bool closed;
    size_t close_cursor; /* next slot to report after close */
    ttrpc_session_stats stats;
};

/* A decode may hold at most DECODE_BUDGET_FACTOR times its input plus DECODE_BUDGET_SLACK:
 * plenty for ordinary messages (a payload is copied once; 5,000 metadata entries with short
 * values fit), while a flood of empty metadata entries, which protobuf-c expands about
 * 64-fold (2 input bytes, ~128 heap bytes each), is refused after a few thousand entries. */
#define DECODE_BUDGET_FACTOR 16u
#define DECODE_BUDGET_SLACK (256u * 1024u)

/* Keeps the output queue small between bursts, like the decoder's idle store. */
#define OUTPUT_IDLE_KEEP 65536u

static inline size_t max_size(size_t a, size_t b)
{
    return a > b ? a : b;
}

/* ---- stream table ------------------------------------------------------------------------ */

static size_t slot_home(const ttrpc_session *s, uint32_t id)
{
    /* Client ids step by 2; multiplicative hashing spreads them over every slot. */
    return (size_t)((id * 2654435761u) & (uint32_t)(s->n_slots - 1));
}

static stream_slot *stream_find(const ttrpc_session *s, uint32_t id)
{
    if (s->n_slots == 0 || id == 0) {
        return NULL;
    }
    size_t mask = s->n_slots - 1;
    size_t i = slot_home(s, id);
    for (size_t probes = 0; probes < s->n_slots; probes++, i = (i + 1) & mask) {
        if (s->slots[i].id == id) {
            return &s->slots[i];
        }
        if (s->slots[i].id == 0) {
            return NULL;
        }
    }
    return NULL;
}

static void slot_place(stream_slot *slots, size_t n_slots, const stream_slot *entry,
                       size_t home)
{
    size_t mask = n_slots - 1;
    size_t i = home;
    while (slots[i].id != 0) {
        i = (i + 1) & mask;
    }
    slots[i] = *entry;
}

static ttrpc_err stream_table_grow(ttrpc_session *s)
{
    size_t n = s->n_slots == 0 ? 16 : s->n_slots * 2;
    stream_slot *fresh = ttrpc_alloc_resize(s->cfg.alloc, NULL, 0, n * sizeof *fresh);
    if (fresh == NULL) {
        return TTRPC_E_NOMEM;
    }
    memset(fresh, 0, n * sizeof *fresh);
    stream_slot *old = s->slots;
    size_t old_n = s->n_slots;
    s->slots = fresh;
    s->n_slots = n;
    for (size_t i = 0; i < old_n; i++) {
        if (old[i].id != 0) {
            slot_place(fresh, n, &old[i], slot_home(s, old[i].id));
        }
    }
    ttrpc_alloc_free(s->cfg.alloc, old, old_n * sizeof *old);
    return TTRPC_OK;
}

static ttrpc_err stream_insert(ttrpc_session *s, uint32_t id, ttrpc_stream_state state,
                               ttrpc_method_kind kind)
{
    /* Load factor at most one half keeps probe chains short. */
    if ((size_t)(s->live + 1) * 2 > s->n_slots) {
        ttrpc_err rc = stream_table_grow(s);
        if (rc != TTRPC_OK) {
            return rc;
        }
    }
    stream_slot entry = {id, (uint8_t)state, (uint8_t)kind, NULL};
    slot_place(s->slots, s->n_slots, &entry, slot_home(s, id));
    s->live++;
    return TTRPC_OK;
}

/* Backward-shift deletion: later members of the probe chain move up, so lookups never need
 * tombstones. */
static void stream_remove(ttrpc_session *s, stream_slot *slot)
{
    size_t mask = s->n_slots - 1;
    size_t hole = (size_t)(slot - s->slots);
    size_t i = (hole + 1) & mask;
    while (s->slots[i].id != 0) {
        size_t home = slot_home(s, s->slots[i].id);
        /* Move entry i into the hole unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
        if (!stays) {
            s->slots[hole] = s->slots[i];
            hole = i;
        }
        i = (i + 1) & mask;
    }
    memset(&s->slots[hole], 0, sizeof s->slots[hole]);
    s->live--;
}

/* ---- output queue ------------------------------------------------------------------------ */

static size_t output_pending(const ttrpc_session *s)
{
    return s->out_end - s->out_start;
}

/* Makes room for n more bytes at out_end; fails without changing anything. */
static ttrpc_err output_reserve(ttrpc_session *s, size_t n)
{
    if (s->out_cap - s->out_end >= n) {
        return TTRPC_OK;
    }
    size_t pending = output_pending(s);
    if (s->out_start > 0) {
        memmove(s->out, s->out + s->out_start, pending);
        s->out_start = 0;
        s->out_end = pending;
        if (s->out_cap - s->out_end >= n) {
            return TTRPC_OK;
        }
    }
    size_t want = max_size(max_size(s->out_cap * 2, pending + n), 4096);
    uint8_t *p = ttrpc_alloc_resize(s->cfg.alloc, s->out, s->out_cap, want);
    if (p == NULL) {
        return TTRPC_E_NOMEM;
    }
    s->out = p;
    s->out_cap = want;
    return TTRPC_OK;
}

static ttrpc_err queue_frame(ttrpc_session *s, uint32_t id, uint8_t type, uint8_t flags,
                             const uint8_t *data, size_t len)
{
    if (len > s->cfg.max_data) {
        return TTRPC_E_TOO_LARGE;
    }
    ttrpc_err rc = output_reserve(s, TTRPC_FRAME_HEADER_LEN + len);
    if (rc != TTRPC_OK) {
        return rc;
    }
    ttrpc_frame_header h = {(uint32_t)len, id, type, flags};
    size_t written = 0;
    rc = ttrpc_frame_encode(&h, data, s->out + s->out_end, s->out_cap - s->out_end, &written);
    if (rc != TTRPC_OK) {
        return rc;
    }
    s->out_end += written;
    s->stats.frames_out++;
    return TTRPC_OK;
}

/* Request and Response bodies are encoded straight into the queue behind their header. */
typedef ttrpc_err (*encode_size_fn)(const void *msg, size_t *size);
typedef ttrpc_err (*encode_fn)(const void *msg, uint8_t *out, size_t cap, size_t *written);

static ttrpc_err request_size(const void *m, size_t *size)
{
    return ttrpc_request_encoded_size(m, size);
}
static ttrpc_err request_encode(const void *m, uint8_t *out, size_t cap, size_t *written)
{
    return ttrpc_request_encode(m, out, cap, written);
}
static ttrpc_err response_size(const void *m, size_t *size)
{
    return ttrpc_response_encoded_size(m, size);
}
static ttrpc_err response_encode(const void *m, uint8_t *out, size_t cap, size_t *written)
{
    return ttrpc_response_encode(m, out, cap, written);
}

static ttrpc_err queue_message(ttrpc_session *s, uint32_t id, uint8_t type, uint8_t flags,
                               const void *msg, encode_size_fn size_fn, encode_fn enc_fn)
{
    size_t len = 0;
    ttrpc_err rc = size_fn(msg, &len);
    if (rc != TTRPC_OK) {
        return rc;
    }
    if (len > s->cfg.max_data) {
        return TTRPC_E_TOO_LARGE;
    }
    rc = output_reserve(s, TTRPC_FRAME_HEADER_LEN + len);
    if (rc != TTRPC_OK) {
        return rc;
    }
    uint8_t *at = s->out + s->out_end;
    size_t written = 0;
    rc = enc_fn(msg, at + TTRPC_FRAME_HEADER_LEN, len, &written);
    if (rc != TTRPC_OK) {
        return rc;
    }
    ttrpc_frame_header h = {(uint32_t)written, id, type, flags};
    ttrpc_frame_header_write(&h, at);
    s->out_end += TTRPC_FRAME_HEADER_LEN + written;
    s->stats.frames_out++;
    return TTRPC_OK;
}

static ttrpc_err queue_status(ttrpc_session *s, uint32_t id, int32_t code, const char *message)
{
    ttrpc_response resp;
    memset(&resp, 0, sizeof resp);
    resp.has_status = true;
    resp.status.code = code;
    resp.status.message = ttrpc_bytes_of(message);
    return queue_message(s, id, TTRPC_TYPE_RESPONSE, 0, &resp, response_size, response_encode);
}

/* Memory follows the bytes received: the budget of one decode scales with its input. */
static void arena_budget_for(ttrpc_session *s, uint32_t len)
{
    size_t scaled = DECODE_BUDGET_FACTOR * (size_t)len + DECODE_BUDGET_SLACK;
    s->arena.budget = scaled < s->cfg.decode_budget ? scaled : s->cfg.decode_budget;
}

/* ---- life cycle -------------------------------------------------------------------------- */

ttrpc_err ttrpc_session_new(const ttrpc_session_config *cfg, ttrpc_session **out)
{
    if (cfg == NULL || (cfg->role != TTRPC_ROLE_CLIENT && cfg->role != TTRPC_ROLE_SERVER) ||
        cfg->max_data > TTRPC_FRAME_MAX_DATA || (cfg->methods == NULL && cfg->n_methods != 0)) {
        return TTRPC_E_INVAL;
    }
    ttrpc_session *s = ttrpc_alloc_resize(cfg->alloc, NULL, 0, sizeof *s);
    if (s == NULL) {
        return TTRPC_E_NOMEM;
    }
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    if (s->cfg.max_data == 0) {
        s->cfg.max_data = TTRPC_FRAME_MAX_DATA;
    }
    if (s->cfg.max_streams == 0) {
        s->cfg.max_streams = TTRPC_SESSION_DEFAULT_MAX_STREAMS;
    }
    if (s->cfg.max_output == 0) {
        s->cfg.max_output = TTRPC_SESSION_DEFAULT_MAX_OUTPUT;
    }
    if (s->cfg.decode_budget == 0) {
        s->cfg.decode_budget = TTRPC_MSG_DEFAULT_BUDGET;
    }
    ttrpc_err rc = ttrpc_decoder_init(&s->decoder, s->cfg.max_data, s->cfg.alloc);
    if (rc != TTRPC_OK) {
        ttrpc_alloc_free(cfg->alloc, s, sizeof *s);
        return rc;
    }
    ttrpc_msg_arena_init(&s->arena, s->cfg.alloc, s->cfg.decode_budget);
    ttrpc_msg_arena_keep_spare(&s->arena);
    s->next_id = 1; /* PROTOCOL.md, Message Frame: client-initiated streams use odd ids */
    *out = s;
    return TTRPC_OK;
}

void ttrpc_session_free(ttrpc_session *s)
{
    if (s == NULL) {
        return;
    }
    const ttrpc_allocator *alloc = s->cfg.alloc;
    ttrpc_decoder_free(&s->decoder);
    ttrpc_msg_arena_reset(&s->arena);
    ttrpc_msg_arena_trim(&s->arena);
    ttrpc_alloc_free(alloc, s->slots, s->n_slots * sizeof *s->slots);
    ttrpc_alloc_free(alloc, s->out, s->out_cap);
    ttrpc_alloc_free(alloc, s, sizeof *s);
}

bool ttrpc_session_wants_input(const ttrpc_session *s)
{
    return !s->closed && output_pending(s) < s->cfg.max_output;
}

ttrpc_err ttrpc_session_feed(ttrpc_session *s, const uint8_t *in, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (s->closed) {
        return TTRPC_E_CLOSED;
    }
    if (!ttrpc_session_wants_input(s)) {
        return TTRPC_OK;
    }
    ttrpc_err rc = ttrpc_decoder_feed(&s->decoder, in, len, consumed);
    s->stats.bytes_in += *consumed;
    return rc;
}

ttrpc_err ttrpc_session_input_window(ttrpc_session *s, uint8_t **buf, size_t *cap)
{
    *buf = NULL;
    *cap = 0;
    if (s->closed) {
        return TTRPC_E_CLOSED;
    }
    if (!ttrpc_session_wants_input(s)) {
        return TTRPC_OK;
    }
    return ttrpc_decoder_input_window(&s->decoder, buf, cap);
}

ttrpc_err ttrpc_session_input_commit(ttrpc_session *s, size_t n)
{
    if (s->closed) {
        return TTRPC_E_CLOSED;
    }
    ttrpc_err rc = ttrpc_decoder_commit(&s->decoder, n);
    if (rc == TTRPC_OK) {
        s->stats.bytes_in += n;
    }
    return rc;
}

void ttrpc_session_close(ttrpc_session *s, bool *truncated_out)
{
    if (truncated_out != NULL) {
        *truncated_out = !ttrpc_decoder_at_boundary(&s->decoder);
    }
    s->closed = true;
}

/* ---- inbound frames ---------------------------------------------------------------------- */

static void event_clear(ttrpc_event *ev, const ttrpc_frame_header *h)
{
    memset(ev, 0, sizeof *ev);
    ev->stream_id = h->stream_id;
    ev->frame_type = h->type;
    ev->flags = h->flags;
    ev->method_index = SIZE_MAX;
}

/* Server: answers a violation on an id and reports it. A live stream on that id ends. */
static ttrpc_err server_reject(ttrpc_session *s, const ttrpc_frame_header *h, int32_t code,
                               ttrpc_err why, const char *reason, ttrpc_event *ev)
{
    stream_slot *slot = stream_find(s, h->stream_id);
    event_clear(ev, h);
    ev->kind = TTRPC_EVENT_STREAM_ERROR;
    ev->code = code;
    ev->err = why;
    ev->reason = reason;
    if (slot != NULL) {
        ev->was_live = true;
        ev->user = slot->user;
        stream_remove(s, slot);
    }
    s->stats.rejected++;
    return queue_status(s, h->stream_id, code, reason);
}

/* Client: fails the call on a live stream. */
static void client_fail(ttrpc_session *s, stream_slot *slot, const ttrpc_frame_header *h,
                        ttrpc_err why, const char *reason, ttrpc_event *ev)
{
    event_clear(ev, h);
    ev->kind = TTRPC_EVENT_STREAM_ERROR;
    ev->err = why;
    ev->reason = reason;
    ev->was_live = true;
    ev->user = slot->user;
    stream_remove(s, slot);
    s->stats.rejected++;
}

static bool bytes_equal_cstr(ttrpc_bytes b, const char *s)
{
    return ttrpc_bytes_equal_str(b, s);
}

/* Exact, case-sensitive lookup; *service_known tells UNIMPLEMENTED's two reasons apart. */
static size_t route(const ttrpc_session *s, const ttrpc_request *req, bool *service_known)
{
    *service_known = false;
    for (size_t i = 0; i < s->cfg.n_methods; i++) {
        const ttrpc_method_desc *m = &s->cfg.methods[i];
        if (bytes_equal_cstr(req->service, m->service)) {
            *service_known = true;
            if (bytes_equal_cstr(req->method, m->method)) {
                return i;
            }
        }
    }
    return SIZE_MAX;
}

/* Returns TTRPC_OK with *produced set when ev holds an event. */
static ttrpc_err server_request(ttrpc_session *s, const ttrpc_frame *f, ttrpc_event *ev,
                                bool *produced)
{
    const ttrpc_frame_header *h = &f->hdr;
    *produced = true;
    /* PROTOCOL.md, Message Frame: "The Stream ID must be odd for client initiated streams". */
    if (h->stream_id % 2 == 0 && !s->cfg.test_serve_even_ids) {
        return server_reject(s, h, TTRPC_CODE_INVALID_ARGUMENT, TTRPC_E_PROTO,
                             "stream id must be odd for client-initiated streams", ev);
    }
    /* Go servers require every new id to exceed the last one; reuse would otherwise let two
     * calls share one id. */
    if (h->stream_id <= s->last_id) {
        return server_reject(s, h, TTRPC_CODE_INVALID_ARGUMENT, TTRPC_E_PROTO,
                             "stream id must increase on a connection", ev);
    }
    s->last_id = h->stream_id;
    s->stats.last_stream_id = h->stream_id;

    ttrpc_stream_event sev = ttrpc_stream_event_of(0, h->type, h->flags);
    ttrpc_stream_transition tr = ttrpc_stream_lookup(TTRPC_ROLE_SERVER, TTRPC_STREAM_IDLE, sev);
    if (tr.action != TTRPC_ACT_DELIVER) {
        return server_reject(s, h, TTRPC_CODE_INVALID_ARGUMENT, TTRPC_E_PROTO,
                             "request flags remote-closed and remote-open contradict", ev);
    }
    arena_budget_for(s, h->length);
    ttrpc_err rc = ttrpc_request_decode(f->data, h->length, &s->arena, &s->request);
    if (rc == TTRPC_E_NOMEM) {
        return server_reject(s, h, TTRPC_CODE_RESOURCE_EXHAUSTED, rc,
                             "request needs more memory to decode than allowed", ev);
    }
    if (rc != TTRPC_OK) {
        return server_reject(s, h, TTRPC_CODE_INVALID_ARGUMENT, rc,
                             "request does not decode", ev);
    }
    size_t index = SIZE_MAX;
    ttrpc_method_kind kind = TTRPC_METHOD_UNARY;
    if (s->cfg.methods != NULL) {
        bool service_known = false;
        index = route(s, &s->request, &service_known);
        if (index == SIZE_MAX) {
            int32_t code = s->cfg.test_unknown_method_code != 0 ? s->cfg.test_unknown_method_code
                                                                 : TTRPC_CODE_UNIMPLEMENTED;
            return server_reject(s, h, code, TTRPC_E_NOT_FOUND,
                                 service_known ? "unknown method" : "unknown service", ev);
        }
        kind = s->cfg.methods[index].kind;
        if (kind != TTRPC_METHOD_UNARY && sev == TTRPC_EV_RECV_REQUEST_UNARY) {
            return server_reject(s, h, TTRPC_CODE_INVALID_ARGUMENT, TTRPC_E_PROTO,
                                 "unary request for a streaming method", ev);
        }
    }
    if (s->live >= s->cfg.max_streams) {
        return server_reject(s, h, TTRPC_CODE_RESOURCE_EXHAUSTED, TTRPC_E_LIMIT,
                             "too many concurrent streams on this connection", ev);
    }
    rc = stream_insert(s, h->stream_id, tr.next, kind);
    if (rc != TTRPC_OK) {
        return server_reject(s, h, TTRPC_CODE_RESOURCE_EXHAUSTED, rc,
                             "out of memory for a new stream", ev);
    }
    event_clear(ev, h);
    ev->kind = TTRPC_EVENT_REQUEST;
    ev->request = &s->request;
    ev->method_index = index;
    /* notes 2.3: NO_DATA says there is no first message; a client-streaming call whose
     * Request carries no payload field has none either (Go clients send RO without ND). */
    if (kind == TTRPC_METHOD_UNARY) {
        ev->first_message = true;
    } else if ((h->flags & TTRPC_FLAG_NO_DATA) != 0) {
        ev->first_message = false;
    } else if (kind == TTRPC_METHOD_CLIENT_STREAM || kind == TTRPC_METHOD_BIDI) {
        ev->first_message = s->request.has_payload;
    } else {
        ev->first_message = true;
    }
    return TTRPC_OK;
}

static ttrpc_err handle_frame(ttrpc_session *s, const ttrpc_frame *f, ttrpc_event *ev,
                              bool *produced)
{
    const ttrpc_frame_header *h = &f->hdr;
    ttrpc_role role = s->cfg.role;
    *produced = false;
    if (role == TTRPC_ROLE_SERVER && h->type == TTRPC_TYPE_REQUEST) {
        return server_request(s, f, ev, produced);
    }
    stream_slot *slot = stream_find(s, h->stream_id);
    ttrpc_stream_state state = TTRPC_STREAM_IDLE;
    if (slot != NULL) {
        state = (ttrpc_stream_state)slot->state;
    } else if (role == TTRPC_ROLE_SERVER && h->stream_id <= s->last_id) {
        state = TTRPC_STREAM_CLOSED;
    } else if (role == TTRPC_ROLE_CLIENT && h->stream_id < s->next_id) {
        state = TTRPC_STREAM_CLOSED;
    }
    ttrpc_stream_event sev = ttrpc_stream_event_of(0, h->type, h->flags);
    ttrpc_stream_transition tr = ttrpc_stream_lookup(role, state, sev);

    switch (tr.action) {
    case TTRPC_ACT_IGNORE:
    case TTRPC_ACT_REFUSE:
        s->stats.ignored++;
        return TTRPC_OK;
    case TTRPC_ACT_REJECT:
        *produced = true;
        if (role == TTRPC_ROLE_SERVER) {
            return server_reject(s, h, TTRPC_CODE_INVALID_ARGUMENT, TTRPC_E_PROTO,
                                 slot == NULL ? "data for a stream that is not open"
                                              : "frame not allowed in the stream's state",
                                 ev);
        }
        if (slot == NULL) {
            *produced = false;
            s->stats.ignored++;
            return TTRPC_OK;
        }
        client_fail(s, slot, h, TTRPC_E_PROTO, "frame not allowed in the call's state", ev);
        return TTRPC_OK;
    case TTRPC_ACT_DELIVER:
    case TTRPC_ACT_ACCEPT:
    case TTRPC_ACT_COUNT:
        break;
    }
    if (slot == NULL) {
        /* The table only delivers on live streams; anything else is a table bug. */
        s->stats.ignored++;
        return TTRPC_OK;
    }
    event_clear(ev, h);
    ev->user = slot->user;
    if (h->type == TTRPC_TYPE_RESPONSE) {
        arena_budget_for(s, h->length);
        ttrpc_err rc = ttrpc_response_decode(f->data, h->length, &s->arena, &s->response);
        *produced = true;
        if (rc != TTRPC_OK) {
            client_fail(s, slot, h, rc, "response does not decode", ev);
            return TTRPC_OK;
        }
        ev->kind = TTRPC_EVENT_RESPONSE;
        ev->response = &s->response;
        stream_remove(s, slot);
        return TTRPC_OK;
    }
    /* Data. */
    bool last = (h->flags & TTRPC_FLAG_REMOTE_CLOSED) != 0;
    if (tr.action == TTRPC_ACT_DELIVER) {
        ev->kind = TTRPC_EVENT_DATA;
        ev->data.data = f->data;
        ev->data.len = h->length;
        ev->last = last;
        *produced = true;
    } else if (last) {
        ev->kind = TTRPC_EVENT_REMOTE_CLOSED;
        ev->last = true;
        *produced = true;
    }
    if (tr.next == TTRPC_STREAM_CLOSED) {
        stream_remove(s, slot);
    } else {
        slot->state = (uint8_t)tr.next;
    }
    return TTRPC_OK;
}

static ttrpc_err handle_oversize(ttrpc_session *s, const ttrpc_frame_header *h,
                                 ttrpc_event *ev, bool *produced)
{
    *produced = true;
    if (s->cfg.role == TTRPC_ROLE_SERVER && s->cfg.test_close_on_oversize) {
        return TTRPC_E_TOO_LARGE; /* fatal for the connection: the server closes it */
    }
    if (s->cfg.role == TTRPC_ROLE_SERVER) {
        /* The Go server's answer; the connection stays usable since the body was skipped. */
        return server_reject(s, h, TTRPC_CODE_RESOURCE_EXHAUSTED, TTRPC_E_TOO_LARGE,
                             "frame larger than the 4 MiB limit", ev);
    }
    stream_slot *slot = stream_find(s, h->stream_id);
    if (slot == NULL) {
        *produced = false;
        s->stats.ignored++;
        return TTRPC_OK;
    }
    client_fail(s, slot, h, TTRPC_E_TOO_LARGE, "frame larger than the 4 MiB limit", ev);
    return TTRPC_OK;
}

static bool report_closed_stream(ttrpc_session *s, ttrpc_event *ev)
{
    while (s->close_cursor < s->n_slots) {
        stream_slot *slot = &s->slots[s->close_cursor++];
        if (slot->id == 0) {
            continue;
        }
        ttrpc_frame_header h = {0, slot->id, 0, 0};
        event_clear(ev, &h);
        ev->kind = TTRPC_EVENT_STREAM_ERROR;
        ev->was_live = true;
        ev->user = slot->user;
        ev->err = TTRPC_E_CLOSED;
        ev->code = TTRPC_CODE_UNAVAILABLE;
        ev->reason = "connection closed";
        /* No lookups happen after close, so the slot is simply emptied, not shifted. */
        memset(slot, 0, sizeof *slot);
        s->live--;
        return true;
    }
    return false;
}

ttrpc_err ttrpc_session_next_event(ttrpc_session *s, ttrpc_event *ev)
{
    ttrpc_msg_arena_reset(&s->arena);
    if (s->closed) {
        return report_closed_stream(s, ev) ? TTRPC_OK : TTRPC_E_CLOSED;
    }
    for (;;) {
        ttrpc_frame f;
        ttrpc_err rc = ttrpc_decoder_next(&s->decoder, &f);
        bool produced = false;
        if (rc == TTRPC_E_TOO_LARGE) {
            s->stats.frames_in++;
            rc = handle_oversize(s, &f.hdr, ev, &produced);
        } else if (rc == TTRPC_OK) {
            s->stats.frames_in++;
            rc = handle_frame(s, &f, ev, &produced);
        } else {
            return rc; /* TTRPC_E_AGAIN, or the decoder's sticky TTRPC_E_NOMEM */
        }
        if (rc != TTRPC_OK) {
            return rc; /* could not queue an answer: out of memory, fatal */
        }
        if (produced) {
            return TTRPC_OK;
        }
    }
}

/* ---- outbound ---------------------------------------------------------------------------- */

ttrpc_err ttrpc_session_call(ttrpc_session *s, const ttrpc_request *req, ttrpc_method_kind kind,
                             uint32_t *stream_id)
{
    if (s->closed) {
        return TTRPC_E_CLOSED;
    }
    if (s->cfg.role != TTRPC_ROLE_CLIENT) {
        return TTRPC_E_INVAL;
    }
    uint8_t flags = 0;
    switch (kind) {
    case TTRPC_METHOD_UNARY:
        break;
    case TTRPC_METHOD_SERVER_STREAM:
        flags = TTRPC_FLAG_REMOTE_CLOSED;
        break;
    case TTRPC_METHOD_CLIENT_STREAM:
    case TTRPC_METHOD_BIDI:
        /* RO|ND without a payload is read right by both Go and Rust servers (notes 2.3). */
        flags = TTRPC_FLAG_REMOTE_OPEN;
        if (!req->has_payload) {
            flags |= TTRPC_FLAG_NO_DATA;
        }
        break;
    default:
        return TTRPC_E_INVAL;
    }
    if (s->next_id == 0 || s->live >= s->cfg.max_streams) {
        return TTRPC_E_LIMIT;
    }
    ttrpc_stream_event sev = ttrpc_stream_event_of(1, TTRPC_TYPE_REQUEST, flags);
    ttrpc_stream_transition tr = ttrpc_stream_lookup(TTRPC_ROLE_CLIENT, TTRPC_STREAM_IDLE, sev);
    if (tr.action == TTRPC_ACT_REFUSE) {
        return TTRPC_E_INVAL;
    }
    uint32_t id = s->next_id;
    /* Insert first: a queued Request without a stream could not be answered. */
    ttrpc_err rc = stream_insert(s, id, tr.next, kind);
    if (rc != TTRPC_OK) {
        return rc;
    }
    rc = queue_message(s, id, TTRPC_TYPE_REQUEST, flags, req, request_size, request_encode);
    if (rc != TTRPC_OK) {
        stream_remove(s, stream_find(s, id));
        return rc;
    }
    /* Ids increase by 2 from 1; after 0xFFFFFFFF the connection can open no more streams. */
    s->next_id = id == 0xffffffffu ? 0 : id + 2;
    s->stats.last_stream_id = id;
    *stream_id = id;
    return TTRPC_OK;
}

/* Steps a live stream through the table for one of our own sends. */
static ttrpc_err send_step(ttrpc_session *s, uint32_t id, ttrpc_stream_event sev,
                           stream_slot **slot_out, ttrpc_stream_transition *tr_out)
{
    if (s->closed) {
        return TTRPC_E_CLOSED;
    }
    stream_slot *slot = stream_find(s, id);
    if (slot == NULL) {
        return TTRPC_E_NOT_FOUND;
    }
    ttrpc_stream_transition tr =
        ttrpc_stream_lookup(s->cfg.role, (ttrpc_stream_state)slot->state, sev);
    if (tr.action == TTRPC_ACT_REFUSE) {
        return TTRPC_E_INVAL;
    }
    *slot_out = slot;
    *tr_out = tr;
    return TTRPC_OK;
}

static void send_done(ttrpc_session *s, stream_slot *slot, ttrpc_stream_transition tr)
{
    if (tr.next == TTRPC_STREAM_CLOSED) {
        stream_remove(s, slot);
    } else {
        slot->state = (uint8_t)tr.next;
    }
}

static ttrpc_err send_data_frame(ttrpc_session *s, uint32_t id, uint8_t flags,
                                 const uint8_t *data, size_t len)
{
    stream_slot *slot = NULL;
    ttrpc_stream_transition tr;
    ttrpc_err rc = send_step(s, id, ttrpc_stream_event_of(1, TTRPC_TYPE_DATA, flags), &slot, &tr);
    if (rc != TTRPC_OK) {
        return rc;
    }
    if (output_pending(s) >= s->cfg.max_output) {
        return TTRPC_E_AGAIN;
    }
    if (data == NULL && len != 0) {
        return TTRPC_E_INVAL;
    }
    rc = queue_frame(s, id, TTRPC_TYPE_DATA, flags, data, len);
    if (rc != TTRPC_OK) {
        return rc;
    }
    send_done(s, slot, tr);
    return TTRPC_OK;
}

ttrpc_err ttrpc_session_send_data(ttrpc_session *s, uint32_t stream_id, const uint8_t *data,
                                  size_t len, bool last)
{
    return send_data_frame(s, stream_id, last ? TTRPC_FLAG_REMOTE_CLOSED : 0, data, len);
}

ttrpc_err ttrpc_session_send_close(ttrpc_session *s, uint32_t stream_id)
{
    return send_data_frame(s, stream_id, TTRPC_FLAG_REMOTE_CLOSED | TTRPC_FLAG_NO_DATA, NULL, 0);
}

ttrpc_err ttrpc_session_send_response(ttrpc_session *s, uint32_t stream_id,
                                      const ttrpc_response *resp)
{
    if (s->cfg.role != TTRPC_ROLE_SERVER) {
        return TTRPC_E_INVAL;
    }
    stream_slot *slot = NULL;
    ttrpc_stream_transition tr;
    ttrpc_err rc = send_step(s, stream_id, TTRPC_EV_SEND_RESPONSE, &slot, &tr);
    if (rc != TTRPC_OK) {
        return rc;
    }
    rc = queue_message(s, stream_id, TTRPC_TYPE_RESPONSE, 0, resp, response_size,
                       response_encode);
    if (rc != TTRPC_OK) {
        return rc;
    }
    send_done(s, slot, tr);
    return TTRPC_OK;
}

ttrpc_err ttrpc_session_send_status(ttrpc_session *s, uint32_t stream_id, int32_t code,
                                    const char *message)
{
    ttrpc_response resp;
    memset(&resp, 0, sizeof resp);
    /* Go omits the status on success; an explicit non-OK status is always sent. */
    resp.has_status = code != TTRPC_CODE_OK;
    resp.status.code = code;
    resp.status.message = ttrpc_bytes_of(message);
    return ttrpc_session_send_response(s, stream_id, &resp);
}

ttrpc_err ttrpc_session_abandon(ttrpc_session *s, uint32_t stream_id)
{
    stream_slot *slot = stream_find(s, stream_id);
    if (slot == NULL || s->closed) {
        return TTRPC_E_NOT_FOUND;
    }
    stream_remove(s, slot);
    return TTRPC_OK;
}

ttrpc_err ttrpc_session_set_user(ttrpc_session *s, uint32_t stream_id, void *user)
{
    stream_slot *slot = stream_find(s, stream_id);
    if (slot == NULL || s->closed) {
        return TTRPC_E_NOT_FOUND;
    }
    slot->user = user;
    return TTRPC_OK;
}

ttrpc_stream_state ttrpc_session_stream_state(const ttrpc_session *s, uint32_t stream_id)
{
    const stream_slot *slot = s->closed ? NULL : stream_find(s, stream_id);
    return slot == NULL ? TTRPC_STREAM_IDLE : (ttrpc_stream_state)slot->state;
}

void ttrpc_session_output(const ttrpc_session *s, const uint8_t **data, size_t *len)
{
    *data = s->out == NULL ? NULL : s->out + s->out_start;
    *len = output_pending(s);
}

void ttrpc_session_output_consumed(ttrpc_session *s, size_t n)
{
    size_t pending = output_pending(s);
    if (n > pending) {
        n = pending;
    }
    s->out_start += n;
    s->stats.bytes_out += n;
    if (s->out_start == s->out_end) {
        s->out_start = 0;
        s->out_end = 0;
    }
}

/* Buffers stay sized for the traffic that just passed, so a stream of large calls does not
 * pay for fresh pages on every frame; the owner calls this when the connection goes quiet. */
void ttrpc_session_trim(ttrpc_session *s)
{
    ttrpc_decoder_trim(&s->decoder);
    ttrpc_msg_arena_trim(&s->arena);
    if (s->out_start == s->out_end && s->out_cap > OUTPUT_IDLE_KEEP) {
        ttrpc_alloc_free(s->cfg.alloc, s->out, s->out_cap);
        s->out = NULL;
        s->out_cap = 0;
    }
}

ttrpc_session_stats ttrpc_session_get_stats(const ttrpc_session *s)
{
    ttrpc_session_stats st = s->stats;
    st.live_streams = s->live;
    return st;
}

size_t ttrpc_session_memory(const ttrpc_session *s)
{
    return sizeof *s + ttrpc_decoder_memory(&s->decoder) + s->out_cap +
           s->n_slots * sizeof *s->slots + ttrpc_msg_arena_memory(&s->arena);
}
