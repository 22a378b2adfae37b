#include "wirelog.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "ttrpc/msg.h"

uint64_t tc_wire_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void tc_wire_start(tc_wirelog *w)
{
    w->t0_us = tc_wire_now_us();
    w->started = true;
}

/* A new entry, or NULL when the log is full (counted as dropped). */
static tc_wire_entry *new_entry(tc_wirelog *w, tc_wire_kind kind, tc_wire_dir dir)
{
    if (w->n >= TC_WIRE_MAX_ENTRIES) {
        w->dropped++;
        return NULL;
    }
    if (!w->started) {
        tc_wire_start(w);
    }
    tc_wire_entry *e = &w->entries[w->n++];
    memset(e, 0, sizeof *e);
    e->t_us = tc_wire_now_us() - w->t0_us;
    e->kind = kind;
    e->dir = dir;
    return e;
}

/* Keeps what the size rule allows of p[0, len) in the pool. */
static void keep_payload(tc_wirelog *w, tc_wire_entry *e, const uint8_t *p, size_t len)
{
    size_t want = len <= TC_WIRE_PAYLOAD_WHOLE ? len : TC_WIRE_PAYLOAD_HEAD;
    size_t room = TC_WIRE_POOL - w->pool_used;
    if (want > room) {
        /* The pool is nearly spent: a head at most, so later frames still show a little. */
        want = room < TC_WIRE_PAYLOAD_HEAD ? room : TC_WIRE_PAYLOAD_HEAD;
        want = want < len ? want : len;
    }
    if (want > 0 && p != NULL) {
        memcpy(w->pool + w->pool_used, p, want);
        e->kept_off = w->pool_used;
        e->kept_len = (uint32_t)want;
        w->pool_used += (uint32_t)want;
    }
}

static void flag_names(uint8_t type, uint8_t flags, char *out, size_t cap)
{
    out[0] = '\0';
    if (flags == 0) {
        return;
    }
    size_t n = 0;
    /* Flag names depend on the type (PROTOCOL.md, Flags): RC and RO on Requests, RC and ND
     * on Data; any other bit is shown as a number. */
    const struct {
        uint8_t bit;
        const char *name;
    } names[] = {{TTRPC_FLAG_REMOTE_CLOSED, "RC"}, {TTRPC_FLAG_REMOTE_OPEN, "RO"},
                 {TTRPC_FLAG_NO_DATA, "ND"}};
    uint8_t rest = flags;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && n + 1 < cap; i++) {
        bool known = (names[i].bit == TTRPC_FLAG_REMOTE_OPEN && type == TTRPC_TYPE_REQUEST) ||
                     (names[i].bit == TTRPC_FLAG_NO_DATA && type != TTRPC_TYPE_RESPONSE) ||
                     (names[i].bit == TTRPC_FLAG_REMOTE_CLOSED && type != TTRPC_TYPE_RESPONSE);
        if (known && (flags & names[i].bit) != 0) {
            int k = snprintf(out + n, cap - n, "%s%s", n ? "|" : "[", names[i].name);
            n += k > 0 ? (size_t)k : 0;
            rest &= (uint8_t)~names[i].bit;
        }
    }
    if (rest != 0 && n + 1 < cap) {
        int k = snprintf(out + n, cap - n, "%s0x%02x", n ? "|" : "[", rest);
        n += k > 0 ? (size_t)k : 0;
    }
    if (n + 1 < cap) {
        (void)snprintf(out + n, cap - n, "]");
    }
}

void tc_wire_describe(const ttrpc_frame_header *hdr, const uint8_t *data, bool oversize,
                      char *out, size_t cap)
{
    char flags[40];
    flag_names(hdr->type, hdr->flags, flags, sizeof flags);
    if (oversize || data == NULL) {
        (void)snprintf(out, cap, "type %u%s, %u data bytes %s", hdr->type, flags,
                       (unsigned)hdr->length,
                       oversize ? "(over the limit: skipped)" : "(not in this write)");
        return;
    }
    ttrpc_msg_arena arena;
    ttrpc_msg_arena_init(&arena, NULL, TTRPC_MSG_DEFAULT_BUDGET);
    switch (hdr->type) {
    case TTRPC_TYPE_REQUEST: {
        ttrpc_request req;
        if (ttrpc_request_decode(data, hdr->length, &arena, &req) == TTRPC_OK) {
            int sl = req.service.len > 48 ? 48 : (int)req.service.len;
            int ml = req.method.len > 32 ? 32 : (int)req.method.len;
            (void)snprintf(out, cap, "Request%s %.*s/%.*s payload=%zu%s timeout_nano=%lld md=%zu",
                           flags, sl, (const char *)req.service.data, ml,
                           (const char *)req.method.data, req.payload.len,
                           req.has_payload ? "" : "(absent)", (long long)req.timeout_nano,
                           req.n_metadata);
        } else {
            (void)snprintf(out, cap, "Request%s (does not decode)", flags);
        }
        break;
    }
    case TTRPC_TYPE_RESPONSE: {
        ttrpc_response resp;
        if (ttrpc_response_decode(data, hdr->length, &arena, &resp) == TTRPC_OK) {
            int32_t code = resp.has_status ? resp.status.code : 0;
            const char *name = ttrpc_code_name(code);
            int ml = resp.status.message.len > 40 ? 40 : (int)resp.status.message.len;
            (void)snprintf(out, cap, "Response%s status=%d%s%s%s%s%.*s%s payload=%zu", flags,
                           (int)code, name ? " " : "", name ? name : "",
                           resp.has_status ? "" : " (absent)", ml > 0 ? " \"" : "", ml,
                           ml > 0 ? (const char *)resp.status.message.data : "",
                           ml > 0 ? "\"" : "", resp.payload.len);
        } else {
            (void)snprintf(out, cap, "Response%s (does not decode)", flags);
        }
        break;
    }
    case TTRPC_TYPE_DATA:
        (void)snprintf(out, cap, "Data%s %u bytes", flags, (unsigned)hdr->length);
        break;
    default:
        (void)snprintf(out, cap, "unknown type 0x%02x%s, %u bytes", hdr->type, flags,
                       (unsigned)hdr->length);
    }
    ttrpc_msg_arena_reset(&arena);
}

void tc_wire_frame(tc_wirelog *w, tc_wire_dir dir, const ttrpc_frame_header *hdr,
                   const uint8_t *data, bool oversize)
{
    tc_wire_entry *e = new_entry(w, TC_WIRE_FRAME, dir);
    if (e == NULL) {
        return;
    }
    e->hdr = *hdr;
    e->oversize = oversize;
    e->header_only = !oversize && data == NULL;
    e->byte_len = data != NULL ? hdr->length : 0;
    tc_wire_describe(hdr, data, oversize, e->text, sizeof e->text);
    if (data != NULL) {
        keep_payload(w, e, data, hdr->length);
    }
}

void tc_wire_bytes(tc_wirelog *w, tc_wire_dir dir, const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t left = len - off;
        if (left < TTRPC_FRAME_HEADER_LEN) {
            tc_wire_entry *e = new_entry(w, TC_WIRE_BYTES, dir);
            if (e != NULL) {
                e->byte_len = (uint32_t)left;
                (void)snprintf(e->text, sizeof e->text, "%zu bytes, not a whole header", left);
                keep_payload(w, e, p + off, left);
            }
            return;
        }
        ttrpc_frame_header h;
        ttrpc_frame_header_read(p + off, &h);
        size_t rest = left - TTRPC_FRAME_HEADER_LEN;
        if (h.length > rest) {
            if (rest == 0) {
                tc_wire_frame(w, dir, &h, NULL, false);
            } else {
                /* A header whose data is longer than what follows: zeros or a cut frame. */
                tc_wire_entry *e = new_entry(w, TC_WIRE_BYTES, dir);
                if (e != NULL) {
                    e->byte_len = (uint32_t)(left > UINT32_MAX ? UINT32_MAX : left);
                    (void)snprintf(e->text, sizeof e->text,
                                   "%zu bytes: a header claiming %u data bytes, then %zu", left,
                                   (unsigned)h.length, rest);
                    keep_payload(w, e, p + off, left);
                }
            }
            return;
        }
        tc_wire_frame(w, dir, &h, p + off + TTRPC_FRAME_HEADER_LEN, false);
        off += TTRPC_FRAME_HEADER_LEN + h.length;
    }
}

void tc_wire_raw(tc_wirelog *w, tc_wire_dir dir, const uint8_t *p, size_t len, const char *what)
{
    tc_wire_entry *e = new_entry(w, TC_WIRE_BYTES, dir);
    if (e != NULL) {
        e->byte_len = (uint32_t)(len > UINT32_MAX ? UINT32_MAX : len);
        (void)snprintf(e->text, sizeof e->text, "%s", what);
        keep_payload(w, e, p, len);
    }
}

void tc_wire_event(tc_wirelog *w, const char *name, const char *detail)
{
    tc_wire_entry *e = new_entry(w, TC_WIRE_EVENT, TC_WIRE_LOCAL);
    if (e != NULL) {
        (void)snprintf(e->text, sizeof e->text, "%s%s%s", name, detail ? ": " : "",
                       detail ? detail : "");
    }
}

static ttrpc_err hex(tc_buf *out, const uint8_t *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    ttrpc_err rc = TTRPC_OK;
    for (size_t i = 0; i < len && rc == TTRPC_OK; i++) {
        char two[2] = {digits[p[i] >> 4], digits[p[i] & 15]};
        rc = tc_buf_append(out, two, 2);
    }
    return rc;
}

static const char *dir_name(tc_wire_dir d)
{
    switch (d) {
    case TC_WIRE_SENT:
        return "sent";
    case TC_WIRE_RECEIVED:
        return "received";
    case TC_WIRE_LOCAL:
        return "local";
    }
    return "?";
}

static ttrpc_err entry_json(const tc_wirelog *w, const tc_wire_entry *e, tc_buf *out)
{
    ttrpc_err rc = tc_buf_printf(out, "{\"t_ms\": %.3f", (double)e->t_us / 1000.0);
    if (rc != TTRPC_OK) {
        return rc;
    }
    if (e->kind == TC_WIRE_EVENT) {
        const char *colon = strchr(e->text, ':');
        size_t name_len = colon != NULL ? (size_t)(colon - e->text) : strlen(e->text);
        char name[TC_WIRE_TEXT];
        memcpy(name, e->text, name_len);
        name[name_len] = '\0';
        rc = tc_buf_printf(out, ", \"event\": \"");
        if (rc == TTRPC_OK) {
            rc = tc_json_escape(out, name);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "\", \"detail\": \"");
        }
        if (rc == TTRPC_OK) {
            rc = tc_json_escape(out, colon != NULL ? colon + 2 : "");
        }
        return rc == TTRPC_OK ? tc_buf_printf(out, "\"}") : rc;
    }
    rc = tc_buf_printf(out, ", \"dir\": \"%s\"", dir_name(e->dir));
    if (rc == TTRPC_OK && e->kind == TC_WIRE_FRAME) {
        uint8_t h[TTRPC_FRAME_HEADER_LEN];
        ttrpc_frame_header_write(&e->hdr, h);
        rc = tc_buf_printf(out, ", \"length\": %u, \"stream_id\": %u, \"type\": %u, "
                                "\"flags\": %u, \"header_hex\": \"",
                           (unsigned)e->hdr.length, (unsigned)e->hdr.stream_id, e->hdr.type,
                           e->hdr.flags);
        if (rc == TTRPC_OK) {
            rc = hex(out, h, sizeof h);
        }
        if (rc == TTRPC_OK) {
            rc = tc_buf_printf(out, "\"");
        }
        if (rc == TTRPC_OK && (e->header_only || e->oversize)) {
            rc = tc_buf_printf(out, ", \"%s\": true", e->oversize ? "oversize" : "header_only");
        }
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, ", \"payload_length\": %u, \"payload_hex\": \"",
                           (unsigned)e->byte_len);
    }
    if (rc == TTRPC_OK) {
        rc = hex(out, w->pool + e->kept_off, e->kept_len);
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "\", \"payload_truncated\": %s, \"decoded\": \"",
                           e->kept_len < e->byte_len ? "true" : "false");
    }
    if (rc == TTRPC_OK) {
        rc = tc_json_escape(out, e->text);
    }
    return rc == TTRPC_OK ? tc_buf_printf(out, "\"}") : rc;
}

ttrpc_err tc_wire_json(const tc_wirelog *w, const char *end_event, const char *end_detail,
                       tc_buf *out)
{
    ttrpc_err rc = tc_buf_printf(out, "{\"entries\": [");
    for (uint32_t i = 0; i < w->n && rc == TTRPC_OK; i++) {
        rc = tc_buf_printf(out, "%s", i ? ", " : "");
        if (rc == TTRPC_OK) {
            rc = entry_json(w, &w->entries[i], out);
        }
    }
    if (rc == TTRPC_OK && end_event != NULL) {
        tc_wire_entry e = {.kind = TC_WIRE_EVENT, .dir = TC_WIRE_LOCAL};
        if (w->n > 0) {
            e.t_us = w->entries[w->n - 1].t_us;
        }
        (void)snprintf(e.text, sizeof e.text, "%s: %s", end_event,
                       end_detail != NULL ? end_detail : "");
        rc = tc_buf_printf(out, "%s", w->n ? ", " : "");
        if (rc == TTRPC_OK) {
            rc = entry_json(w, &e, out);
        }
    }
    if (rc == TTRPC_OK) {
        rc = tc_buf_printf(out, "], \"entries_dropped\": %u, \"pool_exhausted\": %s}",
                           (unsigned)w->dropped,
                           w->pool_used + TC_WIRE_PAYLOAD_HEAD > TC_WIRE_POOL ? "true" : "false");
    }
    return rc;
}
