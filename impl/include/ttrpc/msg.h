/* The ttrpc payload messages (Request, Response, KeyValue, StringList, google.rpc.Status) as
 * plain C structs, encoded and decoded through protobuf-c. This module is the only includer of
 * the generated .pb-c.h files. */
#ifndef TTRPC_MSG_H
#define TTRPC_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ttrpc/alloc.h"
#include "ttrpc/err.h"

/* A byte string that is not NUL-terminated. Decoded strings point into the owning message. */
typedef struct ttrpc_bytes {
    const uint8_t *data; /* may be NULL when len is 0 */
    size_t len;
} ttrpc_bytes;

/* A ttrpc_bytes over a C string literal or NUL-terminated string (NULL gives empty). */
ttrpc_bytes ttrpc_bytes_of(const char *s);
/* Bytewise equality with a C string. */
bool ttrpc_bytes_equal_str(ttrpc_bytes b, const char *s);

typedef struct ttrpc_kv {
    ttrpc_bytes key;
    ttrpc_bytes value;
} ttrpc_kv;

typedef struct ttrpc_any {
    ttrpc_bytes type_url;
    ttrpc_bytes value;
} ttrpc_any;

/* gRPC status codes, unchanged (notes 1.5). */
enum {
    TTRPC_CODE_OK = 0,
    TTRPC_CODE_CANCELLED = 1,
    TTRPC_CODE_UNKNOWN = 2,
    TTRPC_CODE_INVALID_ARGUMENT = 3,
    TTRPC_CODE_DEADLINE_EXCEEDED = 4,
    TTRPC_CODE_NOT_FOUND = 5,
    TTRPC_CODE_ALREADY_EXISTS = 6,
    TTRPC_CODE_PERMISSION_DENIED = 7,
    TTRPC_CODE_RESOURCE_EXHAUSTED = 8,
    TTRPC_CODE_FAILED_PRECONDITION = 9,
    TTRPC_CODE_ABORTED = 10,
    TTRPC_CODE_OUT_OF_RANGE = 11,
    TTRPC_CODE_UNIMPLEMENTED = 12,
    TTRPC_CODE_INTERNAL = 13,
    TTRPC_CODE_UNAVAILABLE = 14,
    TTRPC_CODE_DATA_LOSS = 15,
    TTRPC_CODE_UNAUTHENTICATED = 16,
};

/* "INVALID_ARGUMENT" for 3; "CODE_<n>" style is left to callers: returns NULL outside 0..16. */
const char *ttrpc_code_name(int32_t code);

typedef struct ttrpc_status {
    int32_t code;
    ttrpc_bytes message;
    const ttrpc_any *details;
    size_t n_details;
} ttrpc_status;

typedef struct ttrpc_request {
    ttrpc_bytes service;
    ttrpc_bytes method;
    bool has_payload; /* field 3 was on the wire (even if empty) */
    ttrpc_bytes payload;
    int64_t timeout_nano; /* 0: no deadline */
    const ttrpc_kv *metadata;
    size_t n_metadata;
} ttrpc_request;

typedef struct ttrpc_response {
    bool has_status; /* Go omits the status on success; Rust sends an empty one */
    ttrpc_status status;
    ttrpc_bytes payload;
} ttrpc_response;

typedef struct ttrpc_string_list {
    const ttrpc_bytes *items;
    size_t n_items;
} ttrpc_string_list;

/* Decoded messages own their memory through an arena: one protobuf-c unpack plus the arrays
 * built from it, all charged to a byte budget so that a hostile message (e.g. a flood of empty
 * metadata entries, 2 input bytes each) cannot expand without bound. */
typedef struct ttrpc_msg_arena {
    const ttrpc_allocator *alloc; /* borrowed; NULL means the default */
    size_t budget;                /* bytes the decode may allocate in all */
    size_t used;
    void *unpacked;      /* protobuf-c message, freed by ttrpc_msg_arena_reset */
    void *arrays;        /* our arrays (metadata, details, list items) */
    size_t arrays_size;
    /* Opt-in (ttrpc_msg_arena_keep_spare): the largest block of at least
     * TTRPC_MSG_SPARE_MIN bytes freed by a reset is kept for the next decode, because a fresh
     * multi-MiB block costs a page fault per 4 KiB when the payload is copied into it. */
    bool keep_spare;
    void *spare;
    size_t spare_size;
} ttrpc_msg_arena;

#define TTRPC_MSG_SPARE_MIN 65536u

/* A budget that fits any legal frame's ordinary content: 4 MiB of payload needs about
 * 4 MiB; metadata floods hit the limit long before a 4 MiB frame is exhausted. */
#define TTRPC_MSG_DEFAULT_BUDGET (16u * 1024u * 1024u)

void ttrpc_msg_arena_init(ttrpc_msg_arena *a, const ttrpc_allocator *alloc, size_t budget);
/* Frees what the last decode allocated; the arena can decode again. A kept spare block stays. */
void ttrpc_msg_arena_reset(ttrpc_msg_arena *a);
/* Keep one large freed block for reuse from now on; ttrpc_msg_arena_trim frees it. */
void ttrpc_msg_arena_keep_spare(ttrpc_msg_arena *a);
void ttrpc_msg_arena_trim(ttrpc_msg_arena *a);
/* Bytes held: the live decode's and the spare block. */
size_t ttrpc_msg_arena_memory(const ttrpc_msg_arena *a);

/* Decoders: the message is valid until the arena is reset or decodes again.
 * Errors: TTRPC_E_DECODE (not a valid encoding, a string field that is not UTF-8, or a
 * protobuf group, which protobuf-c cannot skip), TTRPC_E_NOMEM (over the arena's budget, which
 * caps the bytes held at any moment of the decode, or out of memory), TTRPC_E_INVAL (NULL
 * arguments). On error *out is untouched and the
 * arena holds nothing. Bytes fields (payload, Any.value) are never checked for UTF-8. */
TTRPC_MUST_USE ttrpc_err ttrpc_request_decode(const uint8_t *in, size_t len, ttrpc_msg_arena *a,
                                              ttrpc_request *out);
TTRPC_MUST_USE ttrpc_err ttrpc_response_decode(const uint8_t *in, size_t len,
                                               ttrpc_msg_arena *a, ttrpc_response *out);
TTRPC_MUST_USE ttrpc_err ttrpc_status_decode(const uint8_t *in, size_t len, ttrpc_msg_arena *a,
                                             ttrpc_status *out);
TTRPC_MUST_USE ttrpc_err ttrpc_string_list_decode(const uint8_t *in, size_t len,
                                                  ttrpc_msg_arena *a, ttrpc_string_list *out);

/* Encoders write the canonical form: fields in ascending order, defaults omitted, except that
 * has_payload and has_status put an empty field on the wire (present-but-empty); a non-empty
 * payload or a non-OK status is encoded whatever the flag says, so nothing is dropped.
 * *size / *written are set only on success.
 * Errors: TTRPC_E_NOSPACE (cap below the encoded size), TTRPC_E_INVAL (a string field that is
 * not UTF-8, or NULL data with a non-zero length), TTRPC_E_NOMEM. */
TTRPC_MUST_USE ttrpc_err ttrpc_request_encoded_size(const ttrpc_request *m, size_t *size);
TTRPC_MUST_USE ttrpc_err ttrpc_request_encode(const ttrpc_request *m, uint8_t *out, size_t cap,
                                              size_t *written);
TTRPC_MUST_USE ttrpc_err ttrpc_response_encoded_size(const ttrpc_response *m, size_t *size);
TTRPC_MUST_USE ttrpc_err ttrpc_response_encode(const ttrpc_response *m, uint8_t *out,
                                               size_t cap, size_t *written);
TTRPC_MUST_USE ttrpc_err ttrpc_status_encoded_size(const ttrpc_status *m, size_t *size);
TTRPC_MUST_USE ttrpc_err ttrpc_status_encode(const ttrpc_status *m, uint8_t *out, size_t cap,
                                             size_t *written);
TTRPC_MUST_USE ttrpc_err ttrpc_string_list_encoded_size(const ttrpc_string_list *m,
                                                        size_t *size);
TTRPC_MUST_USE ttrpc_err ttrpc_string_list_encode(const ttrpc_string_list *m, uint8_t *out,
                                                  size_t cap, size_t *written);

/* True when b is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF), as
 * protobuf requires of string fields. */
bool ttrpc_utf8_valid(ttrpc_bytes b);

#endif
