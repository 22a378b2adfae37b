#include "expect.h"

#include <stdlib.h>
#include <string.h>

#include "ttrpc/msg.h"

ttrpc_err tc_obs_add(tc_obs *o, const ttrpc_frame_header *hdr, const uint8_t *data,
                     bool oversize)
{
    if (o->n_frames == o->cap) {
        size_t cap = o->cap == 0 ? 16 : o->cap * 2;
        tc_rx_frame *f = realloc(o->frames, cap * sizeof *f);
        if (f == NULL) {
            return TTRPC_E_NOMEM;
        }
        o->frames = f;
        o->cap = cap;
    }
    tc_rx_frame *f = &o->frames[o->n_frames++];
    memset(f, 0, sizeof *f);
    f->hdr = *hdr;
    f->oversize = oversize;
    const uint8_t *keep = data;
    size_t keep_len = oversize ? 0 : hdr->length;
    if (!oversize && hdr->type == TTRPC_TYPE_RESPONSE) {
        ttrpc_msg_arena arena;
        ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
        ttrpc_response resp;
        if (ttrpc_response_decode(data, hdr->length, &arena, &resp) == TTRPC_OK) {
            f->decoded = true;
            f->code = resp.has_status ? resp.status.code : 0;
            f->payload_len = (uint32_t)resp.payload.len;
            size_t n = resp.payload.len < TC_RX_KEEP ? resp.payload.len : TC_RX_KEEP;
            if (n > 0) {
                memcpy(f->payload, resp.payload.data, n);
            }
        }
        ttrpc_msg_arena_reset(&arena);
        return TTRPC_OK;
    }
    f->payload_len = (uint32_t)keep_len;
    size_t n = keep_len < TC_RX_KEEP ? keep_len : TC_RX_KEEP;
    if (n > 0) {
        memcpy(f->payload, keep, n);
    }
    return TTRPC_OK;
}

void tc_obs_free(tc_obs *o)
{
    free(o->frames);
    free(o->sent);
    memset(o, 0, sizeof *o);
}

ttrpc_err tc_obs_note_sent(tc_obs *o, uint32_t id, bool request)
{
    if (o->n_sent == o->sent_cap) {
        size_t cap = o->sent_cap == 0 ? 16 : o->sent_cap * 2;
        tc_tx_mark *m = realloc(o->sent, cap * sizeof *m);
        if (m == NULL) {
            return TTRPC_E_NOMEM;
        }
        o->sent = m;
        o->sent_cap = cap;
    }
    o->sent[o->n_sent++] = (tc_tx_mark){.id = id, .at = o->n_frames, .request = request};
    return TTRPC_OK;
}

static bool is_terminal(const tc_rx_frame *f)
{
    return f->hdr.type == TTRPC_TYPE_RESPONSE ||
           (f->hdr.type == TTRPC_TYPE_DATA && (f->hdr.flags & TTRPC_FLAG_REMOTE_CLOSED) != 0);
}

/* One step of the timeline: a sent mark or a received frame, sorted by stream id, then time. A
 * mark with at = k happened between frames k - 1 and k: position 2k; frame j is at 2j + 1. */
typedef struct timeline_item {
    uint32_t id;
    size_t pos;
    size_t index; /* into frames or sent */
    bool is_frame;
} timeline_item;

static int timeline_cmp(const void *a, const void *b)
{
    const timeline_item *x = a, *y = b;
    if (x->id != y->id) {
        return x->id < y->id ? -1 : 1;
    }
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

size_t tc_obs_after_end(const tc_obs *o, size_t *first)
{
    size_t n = o->n_frames + o->n_sent;
    if (o->n_frames == 0) {
        return 0;
    }
    timeline_item *items = malloc(n * sizeof *items);
    if (items == NULL) {
        return 0; /* best effort: the check only ever adds failures */
    }
    for (size_t j = 0; j < o->n_frames; j++) {
        items[j] = (timeline_item){o->frames[j].hdr.stream_id, 2 * j + 1, j, true};
    }
    for (size_t i = 0; i < o->n_sent; i++) {
        items[o->n_frames + i] = (timeline_item){o->sent[i].id, 2 * o->sent[i].at, i, false};
    }
    /* qsort is not stable, but no two items share (id, pos). */
    qsort(items, n, sizeof *items, timeline_cmp);
    size_t count = 0;
    size_t first_index = SIZE_MAX;
    uint32_t terminals = 0, requests = 0, sends = 0;
    bool sent_since_end = false;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || items[i].id != items[i - 1].id) {
            terminals = 0;
            requests = 0;
            sends = 0;
            sent_since_end = false;
        }
        if (!items[i].is_frame) {
            requests += o->sent[items[i].index].request;
            sends++;
            sent_since_end = true;
            continue;
        }
        const tc_rx_frame *f = &o->frames[items[i].index];
        /* Our frames are placed when queued, not when the peer read them: an error Response
         * may answer one of ours that reached the server after its end. */
        bool answers_ours = f->hdr.type == TTRPC_TYPE_RESPONSE && f->decoded && f->code != 0 &&
                            sends > terminals;
        if (terminals > 0 && !sent_since_end && requests <= terminals && !answers_ours) {
            count++;
            first_index = items[i].index < first_index ? items[i].index : first_index;
        }
        if (is_terminal(f)) {
            terminals++;
            sent_since_end = false;
        }
    }
    free(items);
    if (count > 0 && first != NULL) {
        *first = first_index;
    }
    return count;
}

uint32_t tc_obs_terminals(const tc_obs *o, uint32_t id)
{
    uint32_t n = 0;
    for (size_t i = 0; i < o->n_frames; i++) {
        if (o->frames[i].hdr.stream_id == id && is_terminal(&o->frames[i])) {
            n++;
        }
    }
    return n;
}

uint32_t tc_obs_data_messages(const tc_obs *o, uint32_t id)
{
    uint32_t n = 0;
    for (size_t i = 0; i < o->n_frames; i++) {
        const tc_rx_frame *f = &o->frames[i];
        if (f->hdr.stream_id == id && f->hdr.type == TTRPC_TYPE_DATA &&
            (f->hdr.flags & TTRPC_FLAG_NO_DATA) == 0) {
            n++;
        }
    }
    return n;
}

const tc_rx_frame *tc_obs_response(const tc_obs *o, uint32_t id, uint32_t nth)
{
    for (size_t i = 0; i < o->n_frames; i++) {
        const tc_rx_frame *f = &o->frames[i];
        if (f->hdr.stream_id == id && f->hdr.type == TTRPC_TYPE_RESPONSE) {
            if (nth == 0) {
                return f;
            }
            nth--;
        }
    }
    return NULL;
}

static bool read_varint(const uint8_t **p, size_t *left, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (*left == 0) {
            return false;
        }
        uint8_t b = **p;
        (*p)++;
        (*left)--;
        if (shift == 63 && b > 1) {
            return false;
        }
        *v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            return true;
        }
    }
    return false;
}

/* Walks the fields of a message; calls back for field 1. */
static bool scan_field1(const uint8_t *p, size_t len, unsigned want_type, uint64_t *varint,
                        const uint8_t **bytes, size_t *bytes_len)
{
    while (len > 0) {
        uint64_t key = 0;
        if (!read_varint(&p, &len, &key)) {
            return false;
        }
        unsigned type = (unsigned)(key & 7);
        uint64_t field = key >> 3;
        if (field == 0) {
            return false;
        }
        if (type == 0) {
            uint64_t v = 0;
            if (!read_varint(&p, &len, &v)) {
                return false;
            }
            if (field == 1 && want_type == 0) {
                *varint = v;
            }
        } else if (type == 2) {
            uint64_t n = 0;
            if (!read_varint(&p, &len, &n) || n > len) {
                return false;
            }
            if (field == 1 && want_type == 2) {
                *bytes = p;
                *bytes_len = (size_t)n;
            }
            p += n;
            len -= (size_t)n;
        } else if (type == 1 || type == 5) {
            size_t n = type == 1 ? 8 : 4;
            if (n > len) {
                return false;
            }
            p += n;
            len -= n;
        } else {
            return false;
        }
    }
    return true;
}

bool tc_decode_bytes_value(const uint8_t *p, size_t len, const uint8_t **value,
                           size_t *value_len)
{
    uint64_t unused = 0;
    *value = NULL;
    *value_len = 0;
    return scan_field1(p, len, 2, &unused, value, value_len);
}

bool tc_decode_count_value(const uint8_t *p, size_t len, uint64_t *value)
{
    const uint8_t *b = NULL;
    size_t bl = 0;
    *value = 0;
    return scan_field1(p, len, 0, value, &b, &bl);
}

/* A Bytes payload of exactly text_len bytes, judged from the kept prefix: the key, the
 * length varint, and a total that adds up. */
static bool bytes_len_matches(const tc_rx_frame *f, uint32_t text_len)
{
    if (text_len == 0) {
        return f->payload_len == 0 || (f->payload_len == 2 && f->payload[0] == 0x0a &&
                                       f->payload[1] == 0);
    }
    const uint8_t *p = f->payload;
    size_t left = f->payload_len < TC_RX_KEEP ? f->payload_len : TC_RX_KEEP;
    uint64_t key = 0, n = 0;
    if (!read_varint(&p, &left, &key) || key != 0x0a || !read_varint(&p, &left, &n)) {
        return false;
    }
    size_t head = (size_t)(p - f->payload);
    return n == text_len && f->payload_len == head + text_len;
}

static bool resp_ok_matches(const tc_pred *p, const tc_rx_frame *f)
{
    if (!f->decoded || f->code != 0) {
        return false;
    }
    if (p->text != NULL) {
        if (f->payload_len > TC_RX_KEEP) {
            return false;
        }
        const uint8_t *v = NULL;
        size_t vl = 0;
        if (!tc_decode_bytes_value(f->payload, f->payload_len, &v, &vl)) {
            return false;
        }
        return vl == strlen(p->text) && (vl == 0 || memcmp(v, p->text, vl) == 0);
    }
    if (p->text_len > 0) {
        return bytes_len_matches(f, p->text_len);
    }
    if (p->has_count) {
        uint64_t v = 0;
        return f->payload_len <= TC_RX_KEEP &&
               tc_decode_count_value(f->payload, f->payload_len, &v) && v == p->count;
    }
    return true;
}

/* DATA_COUNT: the stream ended normally after exactly n messages. */
static bool data_count_holds(const tc_obs *o, uint32_t id, uint32_t n)
{
    uint32_t messages = 0;
    for (size_t i = 0; i < o->n_frames; i++) {
        const tc_rx_frame *f = &o->frames[i];
        if (f->hdr.stream_id != id) {
            continue;
        }
        if (f->hdr.type == TTRPC_TYPE_RESPONSE) {
            return f->decoded && f->code == 0 && messages == n;
        }
        if (f->hdr.type == TTRPC_TYPE_DATA) {
            if ((f->hdr.flags & TTRPC_FLAG_NO_DATA) == 0) {
                messages++;
            }
            if ((f->hdr.flags & TTRPC_FLAG_REMOTE_CLOSED) != 0) {
                return messages == n;
            }
        }
    }
    return false;
}

static bool nothing_on(const tc_obs *o, uint32_t id)
{
    for (size_t i = 0; i < o->n_frames; i++) {
        if (o->frames[i].hdr.stream_id == id) {
            return false;
        }
    }
    if (o->probe_id == 0) {
        return false;
    }
    const tc_rx_frame *probe = tc_obs_response(o, o->probe_id, 0);
    return probe != NULL && probe->decoded && probe->code == 0;
}

bool tc_pred_eval(const tc_pred *p, const tc_obs *o)
{
    const tc_rx_frame *f = NULL;
    switch (p->kind) {
    case TC_P_TRUE:
        return true;
    case TC_P_RESP_CODE:
        f = tc_obs_response(o, p->id, p->nth);
        return f != NULL && f->decoded && f->code == p->code;
    case TC_P_RESP_OK:
        f = tc_obs_response(o, p->id, p->nth);
        return f != NULL && resp_ok_matches(p, f);
    case TC_P_RESP_ERROR:
        f = tc_obs_response(o, p->id, p->nth);
        return f != NULL && f->decoded && f->code != 0;
    case TC_P_RESP_ANY:
        return tc_obs_response(o, p->id, p->nth) != NULL;
    case TC_P_DATA_COUNT:
        return data_count_holds(o, p->id, p->n);
    case TC_P_NOTHING_ON:
        return nothing_on(o, p->id);
    case TC_P_CLOSED:
        return o->closed;
    case TC_P_ALIVE:
        return o->alive;
    case TC_P_OK_N:
        for (uint32_t i = 0; i < p->n; i++) {
            f = tc_obs_response(o, p->id + 2 * i, 0);
            if (f == NULL || !f->decoded || f->code != 0) {
                return false;
            }
        }
        return true;
    case TC_P_ALL:
        for (size_t i = 0; i < p->n_sub; i++) {
            if (!tc_pred_eval(&p->sub[i], o)) {
                return false;
            }
        }
        return true;
    case TC_P_ANY:
        for (size_t i = 0; i < p->n_sub; i++) {
            if (tc_pred_eval(&p->sub[i], o)) {
                return true;
            }
        }
        return false;
    }
    return false;
}

bool tc_pred_settled(const tc_pred *p, const tc_obs *o)
{
    switch (p->kind) {
    case TC_P_TRUE:
    case TC_P_CLOSED:
    case TC_P_ALIVE:
        return true;
    case TC_P_RESP_CODE:
    case TC_P_RESP_OK:
    case TC_P_RESP_ERROR:
    case TC_P_RESP_ANY:
        return tc_obs_terminals(o, p->id) > p->nth;
    case TC_P_DATA_COUNT:
        return tc_obs_terminals(o, p->id) > 0;
    case TC_P_NOTHING_ON:
        return o->probe_id != 0 && tc_obs_terminals(o, o->probe_id) > 0;
    case TC_P_OK_N:
        for (uint32_t i = 0; i < p->n; i++) {
            if (tc_obs_terminals(o, p->id + 2 * i) == 0) {
                return false;
            }
        }
        return true;
    case TC_P_ALL:
    case TC_P_ANY:
        for (size_t i = 0; i < p->n_sub; i++) {
            if (!tc_pred_settled(&p->sub[i], o)) {
                return false;
            }
        }
        return true;
    }
    return true;
}

size_t tc_pred_ids(const tc_pred *p, uint32_t *ids, size_t max)
{
    size_t n = 0;
    switch (p->kind) {
    case TC_P_RESP_CODE:
    case TC_P_RESP_OK:
    case TC_P_RESP_ERROR:
    case TC_P_RESP_ANY:
    case TC_P_DATA_COUNT:
    case TC_P_NOTHING_ON:
        if (max > 0) {
            ids[0] = p->id;
        }
        return 1;
    case TC_P_OK_N:
        for (uint32_t i = 0; i < p->n; i++) {
            if (n < max) {
                ids[n] = p->id + 2 * i;
            }
            n++;
        }
        return n;
    case TC_P_ALL:
    case TC_P_ANY:
        for (size_t i = 0; i < p->n_sub; i++) {
            size_t k = tc_pred_ids(&p->sub[i], n < max ? ids + n : ids, n < max ? max - n : 0);
            n += k;
        }
        return n;
    default:
        return 0;
    }
}

static const char *pred_name(tc_pred_kind k)
{
    switch (k) {
    case TC_P_TRUE:
        return "TRUE";
    case TC_P_RESP_CODE:
        return "RESP_CODE";
    case TC_P_RESP_OK:
        return "RESP_OK";
    case TC_P_RESP_ERROR:
        return "RESP_ERROR";
    case TC_P_RESP_ANY:
        return "RESP_ANY";
    case TC_P_DATA_COUNT:
        return "DATA_COUNT";
    case TC_P_NOTHING_ON:
        return "NOTHING_ON";
    case TC_P_CLOSED:
        return "CLOSED";
    case TC_P_ALIVE:
        return "ALIVE";
    case TC_P_OK_N:
        return "OK_N";
    case TC_P_ALL:
        return "ALL";
    case TC_P_ANY:
        return "ANY";
    }
    return "?";
}

ttrpc_err tc_pred_render(const tc_pred *p, tc_buf *out)
{
    ttrpc_err rc = tc_buf_printf(out, "%s", pred_name(p->kind));
    switch (p->kind) {
    case TC_P_RESP_CODE:
    case TC_P_RESP_OK:
    case TC_P_RESP_ERROR:
    case TC_P_RESP_ANY:
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "(%u", (unsigned)p->id);
        }
        if (rc == TTRPC_OK && p->nth > 0) {
            rc = tc_buf_printf(out, ", response #%u", (unsigned)p->nth + 1);
        }
        if (rc == TTRPC_OK && p->kind == TC_P_RESP_CODE) {
            const char *name = ttrpc_code_name(p->code);
            rc = tc_buf_printf(out, ", %d %s", (int)p->code, name != NULL ? name : "");
        }
        if (rc == TTRPC_OK && p->kind == TC_P_RESP_OK && p->text != NULL) {
            rc = tc_buf_printf(out, ", \"%.40s\"", p->text);
        }
        if (rc == TTRPC_OK && p->kind == TC_P_RESP_OK && p->text_len > 0) {
            rc = tc_buf_printf(out, ", %u bytes", (unsigned)p->text_len);
        }
        if (rc == TTRPC_OK && p->kind == TC_P_RESP_OK && p->has_count) {
            rc = tc_buf_printf(out, ", count %llu", (unsigned long long)p->count);
        }
        return rc == TTRPC_OK ? tc_buf_printf(out, ")") : rc;
    case TC_P_DATA_COUNT:
    case TC_P_OK_N:
        return rc == TTRPC_OK ? tc_buf_printf(out, "(%u, %u)", (unsigned)p->id, (unsigned)p->n)
                              : rc;
    case TC_P_NOTHING_ON:
        return rc == TTRPC_OK ? tc_buf_printf(out, "(%u)", (unsigned)p->id) : rc;
    case TC_P_ALL:
    case TC_P_ANY:
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "(");
        }
        for (size_t i = 0; i < p->n_sub && rc == TTRPC_OK; i++) {
            if (i > 0) {
                rc = tc_buf_printf(out, ", ");
            }
            if (rc == TTRPC_OK) {
                rc = tc_pred_render(&p->sub[i], out);
            }
        }
        return rc == TTRPC_OK ? tc_buf_printf(out, ")") : rc;
    default:
        return rc;
    }
}

static ttrpc_err render_flags(tc_buf *out, uint8_t flags)
{
    if (flags == 0) {
        return TTRPC_OK;
    }
    return tc_buf_printf(out, "[%s%s%s%s%s]",
                         (flags & TTRPC_FLAG_REMOTE_CLOSED) ? "RC" : "",
                         (flags & TTRPC_FLAG_REMOTE_OPEN)
                             ? ((flags & TTRPC_FLAG_REMOTE_CLOSED) ? "|RO" : "RO")
                             : "",
                         (flags & TTRPC_FLAG_NO_DATA)
                             ? ((flags & 3) ? "|ND" : "ND")
                             : "",
                         (flags & 0xf8) ? ((flags & 7) ? "|" : "") : "",
                         (flags & 0xf8) ? "0x.." : "");
}

ttrpc_err tc_obs_render(const tc_obs *o, tc_buf *out)
{
    ttrpc_err rc = TTRPC_OK;
    bool first = true;
    /* Frames grouped by id in order of each id's first frame; long runs of ids (floods) are
     * summarised after 8 ids. */
    size_t shown_ids = 0;
    size_t more_frames = 0;
    for (size_t i = 0; i < o->n_frames && rc == TTRPC_OK; i++) {
        uint32_t id = o->frames[i].hdr.stream_id;
        bool seen = false;
        for (size_t j = 0; j < i; j++) {
            if (o->frames[j].hdr.stream_id == id) {
                seen = true;
                break;
            }
        }
        if (seen) {
            continue;
        }
        if (shown_ids == 8) {
            more_frames = o->n_frames - i;
            break;
        }
        shown_ids++;
        rc = tc_buf_printf(out, "%s%u%s:", first ? "" : "; ", (unsigned)id,
                           id == o->probe_id && o->probe_id != 0 ? " (probe)" : "");
        first = false;
        bool lead = true;
        size_t on_id = 0;
        for (size_t j = i; j < o->n_frames && rc == TTRPC_OK; j++) {
            const tc_rx_frame *f = &o->frames[j];
            if (f->hdr.stream_id != id) {
                continue;
            }
            /* Long streams: the first frames, then a count. */
            if (++on_id > 6) {
                continue;
            }
            if (on_id == 6) {
                size_t total = 0;
                for (size_t m = j; m < o->n_frames; m++) {
                    total += o->frames[m].hdr.stream_id == id;
                }
                rc = tc_buf_printf(out, ", ... %zu more", total);
                continue;
            }
            rc = tc_buf_printf(out, "%s", lead ? " " : ", ");
            lead = false;
            if (rc != TTRPC_OK) {
                break;
            }
            if (f->oversize) {
                rc = tc_buf_printf(out, "oversize frame type %u (%u bytes)", f->hdr.type,
                                   (unsigned)f->hdr.length);
            } else if (f->hdr.type == TTRPC_TYPE_RESPONSE) {
                if (f->decoded) {
                    const char *name = ttrpc_code_name(f->code);
                    rc = tc_buf_printf(out, "Response %d%s%s", (int)f->code, name ? " " : "",
                                       name ? name : "");
                } else {
                    rc = tc_buf_printf(out, "Response (undecodable)");
                }
            } else if (f->hdr.type == TTRPC_TYPE_DATA) {
                rc = tc_buf_printf(out, "Data");
                if (rc == TTRPC_OK) {
                    rc = render_flags(out, f->hdr.flags);
                }
                if (rc == TTRPC_OK && f->hdr.length > 0) {
                    rc = tc_buf_printf(out, " %u bytes", (unsigned)f->hdr.length);
                }
            } else {
                rc = tc_buf_printf(out, "type 0x%02x", f->hdr.type);
            }
        }
    }
    if (rc == TTRPC_OK && more_frames > 0) {
        rc = tc_buf_printf(out, "; ... (%zu frames in all)", o->n_frames);
    }
    if (rc == TTRPC_OK && o->n_frames == 0) {
        rc = tc_buf_printf(out, "no frames");
    }
    if (rc == TTRPC_OK && o->closed) {
        rc = tc_buf_printf(out, "; peer closed the connection");
    }
    if (rc == TTRPC_OK && o->we_closed) {
        rc = tc_buf_printf(out, "; we closed the connection");
    }
    size_t first_late = 0;
    size_t after = rc == TTRPC_OK ? tc_obs_after_end(o, &first_late) : 0;
    if (after > 0) {
        const tc_rx_frame *f = &o->frames[first_late];
        rc = tc_buf_printf(out, "; %zu frame%s after its stream's end (first: type %u flags 0x%02x "
                                "on %u)",
                           after, after == 1 ? "" : "s", f->hdr.type, f->hdr.flags,
                           (unsigned)f->hdr.stream_id);
    }
    return rc;
}
