#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ttrpc/frame.h"
#include "ttrpc/stream.h"

/* The contract, written a second time and by name, independently of the table in stream.c: a
 * typo in either one makes a test below fail. "stay" means the state is unchanged. Rows are
 * grouped by role and state in the order a stream usually passes through them. */
typedef struct expected_cell {
    const char *role;
    const char *state;
    const char *event;
    const char *next;
    const char *action;
} expected_cell;

static const expected_cell EXPECTED[] = {
    /* SERVER IDLE */
    {"SERVER", "IDLE", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"SERVER", "IDLE", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"SERVER", "IDLE", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"SERVER", "IDLE", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"SERVER", "IDLE", "SEND_DATA", "stay", "REFUSE"},
    {"SERVER", "IDLE", "SEND_DATA_ND", "stay", "REFUSE"},
    {"SERVER", "IDLE", "SEND_DATA_RC", "stay", "REFUSE"},
    {"SERVER", "IDLE", "SEND_DATA_RC_ND", "stay", "REFUSE"},
    {"SERVER", "IDLE", "SEND_RESPONSE", "stay", "REFUSE"},
    {"SERVER", "IDLE", "RECV_REQUEST_UNARY", "UNARY", "DELIVER"},
    {"SERVER", "IDLE", "RECV_REQUEST_RC", "REMOTE_CLOSED", "DELIVER"},
    {"SERVER", "IDLE", "RECV_REQUEST_RO", "OPEN", "DELIVER"},
    {"SERVER", "IDLE", "RECV_REQUEST_RC_RO", "CLOSED", "REJECT"},
    {"SERVER", "IDLE", "RECV_DATA", "CLOSED", "REJECT"},
    {"SERVER", "IDLE", "RECV_DATA_ND", "CLOSED", "REJECT"},
    {"SERVER", "IDLE", "RECV_DATA_RC", "CLOSED", "REJECT"},
    {"SERVER", "IDLE", "RECV_DATA_RC_ND", "CLOSED", "REJECT"},
    {"SERVER", "IDLE", "RECV_RESPONSE", "stay", "IGNORE"},
    {"SERVER", "IDLE", "RECV_UNKNOWN_TYPE", "stay", "IGNORE"},
    /* SERVER UNARY */
    {"SERVER", "UNARY", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"SERVER", "UNARY", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"SERVER", "UNARY", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"SERVER", "UNARY", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"SERVER", "UNARY", "SEND_DATA", "stay", "REFUSE"},
    {"SERVER", "UNARY", "SEND_DATA_ND", "stay", "REFUSE"},
    {"SERVER", "UNARY", "SEND_DATA_RC", "stay", "REFUSE"},
    {"SERVER", "UNARY", "SEND_DATA_RC_ND", "stay", "REFUSE"},
    {"SERVER", "UNARY", "SEND_RESPONSE", "CLOSED", "ACCEPT"},
    {"SERVER", "UNARY", "RECV_REQUEST_UNARY", "CLOSED", "REJECT"},
    {"SERVER", "UNARY", "RECV_REQUEST_RC", "CLOSED", "REJECT"},
    {"SERVER", "UNARY", "RECV_REQUEST_RO", "CLOSED", "REJECT"},
    {"SERVER", "UNARY", "RECV_REQUEST_RC_RO", "CLOSED", "REJECT"},
    {"SERVER", "UNARY", "RECV_DATA", "CLOSED", "REJECT"},
    {"SERVER", "UNARY", "RECV_DATA_ND", "CLOSED", "REJECT"},
    {"SERVER", "UNARY", "RECV_DATA_RC", "CLOSED", "REJECT"},
    {"SERVER", "UNARY", "RECV_DATA_RC_ND", "CLOSED", "REJECT"},
    {"SERVER", "UNARY", "RECV_RESPONSE", "stay", "IGNORE"},
    {"SERVER", "UNARY", "RECV_UNKNOWN_TYPE", "stay", "IGNORE"},
    /* SERVER OPEN */
    {"SERVER", "OPEN", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"SERVER", "OPEN", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"SERVER", "OPEN", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"SERVER", "OPEN", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"SERVER", "OPEN", "SEND_DATA", "OPEN", "ACCEPT"},
    {"SERVER", "OPEN", "SEND_DATA_ND", "OPEN", "ACCEPT"},
    {"SERVER", "OPEN", "SEND_DATA_RC", "LOCAL_CLOSED", "ACCEPT"},
    {"SERVER", "OPEN", "SEND_DATA_RC_ND", "LOCAL_CLOSED", "ACCEPT"},
    {"SERVER", "OPEN", "SEND_RESPONSE", "CLOSED", "ACCEPT"},
    {"SERVER", "OPEN", "RECV_REQUEST_UNARY", "CLOSED", "REJECT"},
    {"SERVER", "OPEN", "RECV_REQUEST_RC", "CLOSED", "REJECT"},
    {"SERVER", "OPEN", "RECV_REQUEST_RO", "CLOSED", "REJECT"},
    {"SERVER", "OPEN", "RECV_REQUEST_RC_RO", "CLOSED", "REJECT"},
    {"SERVER", "OPEN", "RECV_DATA", "OPEN", "DELIVER"},
    {"SERVER", "OPEN", "RECV_DATA_ND", "OPEN", "ACCEPT"},
    {"SERVER", "OPEN", "RECV_DATA_RC", "REMOTE_CLOSED", "DELIVER"},
    {"SERVER", "OPEN", "RECV_DATA_RC_ND", "REMOTE_CLOSED", "ACCEPT"},
    {"SERVER", "OPEN", "RECV_RESPONSE", "stay", "IGNORE"},
    {"SERVER", "OPEN", "RECV_UNKNOWN_TYPE", "stay", "IGNORE"},
    /* SERVER REMOTE_CLOSED */
    {"SERVER", "REMOTE_CLOSED", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"SERVER", "REMOTE_CLOSED", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"SERVER", "REMOTE_CLOSED", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"SERVER", "REMOTE_CLOSED", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"SERVER", "REMOTE_CLOSED", "SEND_DATA", "REMOTE_CLOSED", "ACCEPT"},
    {"SERVER", "REMOTE_CLOSED", "SEND_DATA_ND", "REMOTE_CLOSED", "ACCEPT"},
    {"SERVER", "REMOTE_CLOSED", "SEND_DATA_RC", "CLOSED", "ACCEPT"},
    {"SERVER", "REMOTE_CLOSED", "SEND_DATA_RC_ND", "CLOSED", "ACCEPT"},
    {"SERVER", "REMOTE_CLOSED", "SEND_RESPONSE", "CLOSED", "ACCEPT"},
    {"SERVER", "REMOTE_CLOSED", "RECV_REQUEST_UNARY", "CLOSED", "REJECT"},
    {"SERVER", "REMOTE_CLOSED", "RECV_REQUEST_RC", "CLOSED", "REJECT"},
    {"SERVER", "REMOTE_CLOSED", "RECV_REQUEST_RO", "CLOSED", "REJECT"},
    {"SERVER", "REMOTE_CLOSED", "RECV_REQUEST_RC_RO", "CLOSED", "REJECT"},
    {"SERVER", "REMOTE_CLOSED", "RECV_DATA", "CLOSED", "REJECT"},
    {"SERVER", "REMOTE_CLOSED", "RECV_DATA_ND", "CLOSED", "REJECT"},
    {"SERVER", "REMOTE_CLOSED", "RECV_DATA_RC", "CLOSED", "REJECT"},
    {"SERVER", "REMOTE_CLOSED", "RECV_DATA_RC_ND", "CLOSED", "REJECT"},
    {"SERVER", "REMOTE_CLOSED", "RECV_RESPONSE", "stay", "IGNORE"},
    {"SERVER", "REMOTE_CLOSED", "RECV_UNKNOWN_TYPE", "stay", "IGNORE"},
    /* SERVER LOCAL_CLOSED */
    {"SERVER", "LOCAL_CLOSED", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"SERVER", "LOCAL_CLOSED", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"SERVER", "LOCAL_CLOSED", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"SERVER", "LOCAL_CLOSED", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"SERVER", "LOCAL_CLOSED", "SEND_DATA", "stay", "REFUSE"},
    {"SERVER", "LOCAL_CLOSED", "SEND_DATA_ND", "stay", "REFUSE"},
    {"SERVER", "LOCAL_CLOSED", "SEND_DATA_RC", "stay", "REFUSE"},
    {"SERVER", "LOCAL_CLOSED", "SEND_DATA_RC_ND", "stay", "REFUSE"},
    {"SERVER", "LOCAL_CLOSED", "SEND_RESPONSE", "CLOSED", "ACCEPT"},
    {"SERVER", "LOCAL_CLOSED", "RECV_REQUEST_UNARY", "CLOSED", "REJECT"},
    {"SERVER", "LOCAL_CLOSED", "RECV_REQUEST_RC", "CLOSED", "REJECT"},
    {"SERVER", "LOCAL_CLOSED", "RECV_REQUEST_RO", "CLOSED", "REJECT"},
    {"SERVER", "LOCAL_CLOSED", "RECV_REQUEST_RC_RO", "CLOSED", "REJECT"},
    {"SERVER", "LOCAL_CLOSED", "RECV_DATA", "LOCAL_CLOSED", "DELIVER"},
    {"SERVER", "LOCAL_CLOSED", "RECV_DATA_ND", "LOCAL_CLOSED", "ACCEPT"},
    {"SERVER", "LOCAL_CLOSED", "RECV_DATA_RC", "CLOSED", "DELIVER"},
    {"SERVER", "LOCAL_CLOSED", "RECV_DATA_RC_ND", "CLOSED", "ACCEPT"},
    {"SERVER", "LOCAL_CLOSED", "RECV_RESPONSE", "stay", "IGNORE"},
    {"SERVER", "LOCAL_CLOSED", "RECV_UNKNOWN_TYPE", "stay", "IGNORE"},
    /* SERVER CLOSED */
    {"SERVER", "CLOSED", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"SERVER", "CLOSED", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"SERVER", "CLOSED", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"SERVER", "CLOSED", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"SERVER", "CLOSED", "SEND_DATA", "stay", "REFUSE"},
    {"SERVER", "CLOSED", "SEND_DATA_ND", "stay", "REFUSE"},
    {"SERVER", "CLOSED", "SEND_DATA_RC", "stay", "REFUSE"},
    {"SERVER", "CLOSED", "SEND_DATA_RC_ND", "stay", "REFUSE"},
    {"SERVER", "CLOSED", "SEND_RESPONSE", "stay", "REFUSE"},
    {"SERVER", "CLOSED", "RECV_REQUEST_UNARY", "CLOSED", "REJECT"},
    {"SERVER", "CLOSED", "RECV_REQUEST_RC", "CLOSED", "REJECT"},
    {"SERVER", "CLOSED", "RECV_REQUEST_RO", "CLOSED", "REJECT"},
    {"SERVER", "CLOSED", "RECV_REQUEST_RC_RO", "CLOSED", "REJECT"},
    {"SERVER", "CLOSED", "RECV_DATA", "CLOSED", "REJECT"},
    {"SERVER", "CLOSED", "RECV_DATA_ND", "CLOSED", "REJECT"},
    {"SERVER", "CLOSED", "RECV_DATA_RC", "CLOSED", "REJECT"},
    {"SERVER", "CLOSED", "RECV_DATA_RC_ND", "CLOSED", "REJECT"},
    {"SERVER", "CLOSED", "RECV_RESPONSE", "stay", "IGNORE"},
    {"SERVER", "CLOSED", "RECV_UNKNOWN_TYPE", "stay", "IGNORE"},
    /* CLIENT IDLE */
    {"CLIENT", "IDLE", "SEND_REQUEST_UNARY", "UNARY", "ACCEPT"},
    {"CLIENT", "IDLE", "SEND_REQUEST_RC", "LOCAL_CLOSED", "ACCEPT"},
    {"CLIENT", "IDLE", "SEND_REQUEST_RO", "OPEN", "ACCEPT"},
    {"CLIENT", "IDLE", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"CLIENT", "IDLE", "SEND_DATA", "stay", "REFUSE"},
    {"CLIENT", "IDLE", "SEND_DATA_ND", "stay", "REFUSE"},
    {"CLIENT", "IDLE", "SEND_DATA_RC", "stay", "REFUSE"},
    {"CLIENT", "IDLE", "SEND_DATA_RC_ND", "stay", "REFUSE"},
    {"CLIENT", "IDLE", "SEND_RESPONSE", "stay", "REFUSE"},
    {"CLIENT", "IDLE", "RECV_REQUEST_UNARY", "stay", "IGNORE"},
    {"CLIENT", "IDLE", "RECV_REQUEST_RC", "stay", "IGNORE"},
    {"CLIENT", "IDLE", "RECV_REQUEST_RO", "stay", "IGNORE"},
    {"CLIENT", "IDLE", "RECV_REQUEST_RC_RO", "stay", "IGNORE"},
    {"CLIENT", "IDLE", "RECV_DATA", "stay", "IGNORE"},
    {"CLIENT", "IDLE", "RECV_DATA_ND", "stay", "IGNORE"},
    {"CLIENT", "IDLE", "RECV_DATA_RC", "stay", "IGNORE"},
    {"CLIENT", "IDLE", "RECV_DATA_RC_ND", "stay", "IGNORE"},
    {"CLIENT", "IDLE", "RECV_RESPONSE", "stay", "IGNORE"},
    {"CLIENT", "IDLE", "RECV_UNKNOWN_TYPE", "stay", "IGNORE"},
    /* CLIENT UNARY */
    {"CLIENT", "UNARY", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"CLIENT", "UNARY", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"CLIENT", "UNARY", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"CLIENT", "UNARY", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"CLIENT", "UNARY", "SEND_DATA", "stay", "REFUSE"},
    {"CLIENT", "UNARY", "SEND_DATA_ND", "stay", "REFUSE"},
    {"CLIENT", "UNARY", "SEND_DATA_RC", "stay", "REFUSE"},
    {"CLIENT", "UNARY", "SEND_DATA_RC_ND", "stay", "REFUSE"},
    {"CLIENT", "UNARY", "SEND_RESPONSE", "stay", "REFUSE"},
    {"CLIENT", "UNARY", "RECV_REQUEST_UNARY", "stay", "IGNORE"},
    {"CLIENT", "UNARY", "RECV_REQUEST_RC", "stay", "IGNORE"},
    {"CLIENT", "UNARY", "RECV_REQUEST_RO", "stay", "IGNORE"},
    {"CLIENT", "UNARY", "RECV_REQUEST_RC_RO", "stay", "IGNORE"},
    {"CLIENT", "UNARY", "RECV_DATA", "CLOSED", "REJECT"},
    {"CLIENT", "UNARY", "RECV_DATA_ND", "CLOSED", "REJECT"},
    {"CLIENT", "UNARY", "RECV_DATA_RC", "CLOSED", "REJECT"},
    {"CLIENT", "UNARY", "RECV_DATA_RC_ND", "CLOSED", "REJECT"},
    {"CLIENT", "UNARY", "RECV_RESPONSE", "CLOSED", "DELIVER"},
    {"CLIENT", "UNARY", "RECV_UNKNOWN_TYPE", "CLOSED", "REJECT"},
    /* CLIENT OPEN */
    {"CLIENT", "OPEN", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"CLIENT", "OPEN", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"CLIENT", "OPEN", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"CLIENT", "OPEN", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"CLIENT", "OPEN", "SEND_DATA", "OPEN", "ACCEPT"},
    {"CLIENT", "OPEN", "SEND_DATA_ND", "OPEN", "ACCEPT"},
    {"CLIENT", "OPEN", "SEND_DATA_RC", "LOCAL_CLOSED", "ACCEPT"},
    {"CLIENT", "OPEN", "SEND_DATA_RC_ND", "LOCAL_CLOSED", "ACCEPT"},
    {"CLIENT", "OPEN", "SEND_RESPONSE", "stay", "REFUSE"},
    {"CLIENT", "OPEN", "RECV_REQUEST_UNARY", "stay", "IGNORE"},
    {"CLIENT", "OPEN", "RECV_REQUEST_RC", "stay", "IGNORE"},
    {"CLIENT", "OPEN", "RECV_REQUEST_RO", "stay", "IGNORE"},
    {"CLIENT", "OPEN", "RECV_REQUEST_RC_RO", "stay", "IGNORE"},
    {"CLIENT", "OPEN", "RECV_DATA", "OPEN", "DELIVER"},
    {"CLIENT", "OPEN", "RECV_DATA_ND", "OPEN", "ACCEPT"},
    {"CLIENT", "OPEN", "RECV_DATA_RC", "REMOTE_CLOSED", "DELIVER"},
    {"CLIENT", "OPEN", "RECV_DATA_RC_ND", "REMOTE_CLOSED", "ACCEPT"},
    {"CLIENT", "OPEN", "RECV_RESPONSE", "CLOSED", "DELIVER"},
    {"CLIENT", "OPEN", "RECV_UNKNOWN_TYPE", "CLOSED", "REJECT"},
    /* CLIENT LOCAL_CLOSED */
    {"CLIENT", "LOCAL_CLOSED", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"CLIENT", "LOCAL_CLOSED", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"CLIENT", "LOCAL_CLOSED", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"CLIENT", "LOCAL_CLOSED", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"CLIENT", "LOCAL_CLOSED", "SEND_DATA", "stay", "REFUSE"},
    {"CLIENT", "LOCAL_CLOSED", "SEND_DATA_ND", "stay", "REFUSE"},
    {"CLIENT", "LOCAL_CLOSED", "SEND_DATA_RC", "stay", "REFUSE"},
    {"CLIENT", "LOCAL_CLOSED", "SEND_DATA_RC_ND", "stay", "REFUSE"},
    {"CLIENT", "LOCAL_CLOSED", "SEND_RESPONSE", "stay", "REFUSE"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_REQUEST_UNARY", "stay", "IGNORE"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_REQUEST_RC", "stay", "IGNORE"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_REQUEST_RO", "stay", "IGNORE"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_REQUEST_RC_RO", "stay", "IGNORE"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_DATA", "LOCAL_CLOSED", "DELIVER"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_DATA_ND", "LOCAL_CLOSED", "ACCEPT"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_DATA_RC", "CLOSED", "DELIVER"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_DATA_RC_ND", "CLOSED", "ACCEPT"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_RESPONSE", "CLOSED", "DELIVER"},
    {"CLIENT", "LOCAL_CLOSED", "RECV_UNKNOWN_TYPE", "CLOSED", "REJECT"},
    /* CLIENT REMOTE_CLOSED */
    {"CLIENT", "REMOTE_CLOSED", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"CLIENT", "REMOTE_CLOSED", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"CLIENT", "REMOTE_CLOSED", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"CLIENT", "REMOTE_CLOSED", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"CLIENT", "REMOTE_CLOSED", "SEND_DATA", "REMOTE_CLOSED", "ACCEPT"},
    {"CLIENT", "REMOTE_CLOSED", "SEND_DATA_ND", "REMOTE_CLOSED", "ACCEPT"},
    {"CLIENT", "REMOTE_CLOSED", "SEND_DATA_RC", "CLOSED", "ACCEPT"},
    {"CLIENT", "REMOTE_CLOSED", "SEND_DATA_RC_ND", "CLOSED", "ACCEPT"},
    {"CLIENT", "REMOTE_CLOSED", "SEND_RESPONSE", "stay", "REFUSE"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_REQUEST_UNARY", "stay", "IGNORE"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_REQUEST_RC", "stay", "IGNORE"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_REQUEST_RO", "stay", "IGNORE"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_REQUEST_RC_RO", "stay", "IGNORE"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_DATA", "CLOSED", "REJECT"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_DATA_ND", "CLOSED", "REJECT"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_DATA_RC", "CLOSED", "REJECT"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_DATA_RC_ND", "CLOSED", "REJECT"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_RESPONSE", "CLOSED", "DELIVER"},
    {"CLIENT", "REMOTE_CLOSED", "RECV_UNKNOWN_TYPE", "CLOSED", "REJECT"},
    /* CLIENT CLOSED */
    {"CLIENT", "CLOSED", "SEND_REQUEST_UNARY", "stay", "REFUSE"},
    {"CLIENT", "CLOSED", "SEND_REQUEST_RC", "stay", "REFUSE"},
    {"CLIENT", "CLOSED", "SEND_REQUEST_RO", "stay", "REFUSE"},
    {"CLIENT", "CLOSED", "SEND_REQUEST_RC_RO", "stay", "REFUSE"},
    {"CLIENT", "CLOSED", "SEND_DATA", "stay", "REFUSE"},
    {"CLIENT", "CLOSED", "SEND_DATA_ND", "stay", "REFUSE"},
    {"CLIENT", "CLOSED", "SEND_DATA_RC", "stay", "REFUSE"},
    {"CLIENT", "CLOSED", "SEND_DATA_RC_ND", "stay", "REFUSE"},
    {"CLIENT", "CLOSED", "SEND_RESPONSE", "stay", "REFUSE"},
    {"CLIENT", "CLOSED", "RECV_REQUEST_UNARY", "stay", "IGNORE"},
    {"CLIENT", "CLOSED", "RECV_REQUEST_RC", "stay", "IGNORE"},
    {"CLIENT", "CLOSED", "RECV_REQUEST_RO", "stay", "IGNORE"},
    {"CLIENT", "CLOSED", "RECV_REQUEST_RC_RO", "stay", "IGNORE"},
    {"CLIENT", "CLOSED", "RECV_DATA", "stay", "IGNORE"},
    {"CLIENT", "CLOSED", "RECV_DATA_ND", "stay", "IGNORE"},
    {"CLIENT", "CLOSED", "RECV_DATA_RC", "stay", "IGNORE"},
    {"CLIENT", "CLOSED", "RECV_DATA_RC_ND", "stay", "IGNORE"},
    {"CLIENT", "CLOSED", "RECV_RESPONSE", "stay", "IGNORE"},
    {"CLIENT", "CLOSED", "RECV_UNKNOWN_TYPE", "stay", "IGNORE"},
};

#define EXPECTED_COUNT (sizeof EXPECTED / sizeof EXPECTED[0])

/* Names resolve through the name functions, which test_stream_*_name_every_* pin to their
 * enumerators; an unknown name gives COUNT. */
static ttrpc_role role_by_name(const char *name)
{
    int r = 0;
    while (r < TTRPC_ROLE_COUNT && strcmp(ttrpc_role_name((ttrpc_role)r), name) != 0) {
        r++;
    }
    return (ttrpc_role)r;
}

static ttrpc_stream_state state_by_name(const char *name)
{
    int s = 0;
    while (s < TTRPC_STREAM_STATE_COUNT &&
           strcmp(ttrpc_stream_state_name((ttrpc_stream_state)s), name) != 0) {
        s++;
    }
    return (ttrpc_stream_state)s;
}

static ttrpc_stream_event event_by_name(const char *name)
{
    int e = 0;
    while (e < TTRPC_EV_COUNT &&
           strcmp(ttrpc_stream_event_name((ttrpc_stream_event)e), name) != 0) {
        e++;
    }
    return (ttrpc_stream_event)e;
}

static ttrpc_stream_action action_by_name(const char *name)
{
    int a = 0;
    while (a < TTRPC_ACT_COUNT &&
           strcmp(ttrpc_stream_action_name((ttrpc_stream_action)a), name) != 0) {
        a++;
    }
    return (ttrpc_stream_action)a;
}

static int is_send(ttrpc_stream_event e)
{
    return strncmp(ttrpc_stream_event_name(e), "SEND_", 5) == 0;
}

/* Every cell of one (role, state) row against EXPECTED: each event appears there exactly once,
 * and every mismatch is printed before the test fails, so one run shows the whole row. */
static void check_row(const char *role_name, const char *state_name)
{
    ttrpc_role role = role_by_name(role_name);
    ttrpc_stream_state st = state_by_name(state_name);
    assert_int_not_equal(role, TTRPC_ROLE_COUNT);
    assert_int_not_equal(st, TTRPC_STREAM_STATE_COUNT);
    int seen[TTRPC_EV_COUNT] = {0};
    int wrong = 0;
    for (size_t i = 0; i < EXPECTED_COUNT; i++) {
        const expected_cell *x = &EXPECTED[i];
        if (strcmp(x->role, role_name) != 0 || strcmp(x->state, state_name) != 0) {
            continue;
        }
        ttrpc_stream_event ev = event_by_name(x->event);
        if (ev == TTRPC_EV_COUNT || seen[ev]) {
            fail_msg("%s %s: event \"%s\" unknown or listed twice in EXPECTED", role_name,
                     state_name, x->event);
        }
        seen[ev] = 1;
        ttrpc_stream_state want_next = strcmp(x->next, "stay") == 0 ? st : state_by_name(x->next);
        ttrpc_stream_action want_act = action_by_name(x->action);
        ttrpc_stream_transition got = ttrpc_stream_lookup(role, st, ev);
        if (got.next != want_next || got.action != want_act) {
            print_error("%s %s %s: got %s,%s; expected %s,%s\n", role_name, state_name, x->event,
                        ttrpc_stream_state_name(got.next), ttrpc_stream_action_name(got.action),
                        ttrpc_stream_state_name(want_next), x->action);
            wrong++;
        }
    }
    for (int e = 0; e < TTRPC_EV_COUNT; e++) {
        if (!seen[e]) {
            print_error("%s %s %s: no expectation\n", role_name, state_name,
                        ttrpc_stream_event_name((ttrpc_stream_event)e));
            wrong++;
        }
    }
    if (wrong != 0) {
        fail_msg("%s %s: %d cell(s) differ from EXPECTED", role_name, state_name, wrong);
    }
}

#define ROW_TEST(name, role, st)      \
    static void name(void **state)    \
    {                                 \
        (void)state;                  \
        check_row(role, st);          \
    }

ROW_TEST(test_stream_lookup_server_idle, "SERVER", "IDLE")
ROW_TEST(test_stream_lookup_server_unary, "SERVER", "UNARY")
ROW_TEST(test_stream_lookup_server_open, "SERVER", "OPEN")
ROW_TEST(test_stream_lookup_server_remote_closed, "SERVER", "REMOTE_CLOSED")
ROW_TEST(test_stream_lookup_server_local_closed, "SERVER", "LOCAL_CLOSED")
ROW_TEST(test_stream_lookup_server_closed, "SERVER", "CLOSED")
ROW_TEST(test_stream_lookup_client_idle, "CLIENT", "IDLE")
ROW_TEST(test_stream_lookup_client_unary, "CLIENT", "UNARY")
ROW_TEST(test_stream_lookup_client_open, "CLIENT", "OPEN")
ROW_TEST(test_stream_lookup_client_local_closed, "CLIENT", "LOCAL_CLOSED")
ROW_TEST(test_stream_lookup_client_remote_closed, "CLIENT", "REMOTE_CLOSED")
ROW_TEST(test_stream_lookup_client_closed, "CLIENT", "CLOSED")

/* A misspelt role or state in EXPECTED would leave its row unchecked by the tests above. */
static void test_stream_lookup_expectations_well_formed(void **state)
{
    (void)state;
    assert_int_equal(EXPECTED_COUNT, TTRPC_ROLE_COUNT * TTRPC_STREAM_STATE_COUNT * TTRPC_EV_COUNT);
    for (size_t i = 0; i < EXPECTED_COUNT; i++) {
        const expected_cell *x = &EXPECTED[i];
        int known = role_by_name(x->role) != TTRPC_ROLE_COUNT &&
                    state_by_name(x->state) != TTRPC_STREAM_STATE_COUNT &&
                    event_by_name(x->event) != TTRPC_EV_COUNT &&
                    (strcmp(x->next, "stay") == 0 ||
                     state_by_name(x->next) != TTRPC_STREAM_STATE_COUNT) &&
                    action_by_name(x->action) != TTRPC_ACT_COUNT;
        if (!known) {
            fail_msg("EXPECTED[%zu] {%s, %s, %s, %s, %s} has an unknown name", i, x->role,
                     x->state, x->event, x->next, x->action);
        }
    }
}

/* Invariants over the whole table. They restate the rules behind the rows, so a cell that
 * matches a wrong expectation in both tables can still be caught here. */
#define FOR_EACH_CELL(r, s, e)                                         \
    for (int r = 0; r < TTRPC_ROLE_COUNT; r++)                         \
        for (int s = 0; s < TTRPC_STREAM_STATE_COUNT; s++)             \
            for (int e = 0; e < TTRPC_EV_COUNT; e++)

static ttrpc_stream_transition cell(int r, int s, int e)
{
    return ttrpc_stream_lookup((ttrpc_role)r, (ttrpc_stream_state)s, (ttrpc_stream_event)e);
}

/* Header, TTRPC_ACT_REFUSE: "nothing is sent and the state stays". */
static void test_stream_lookup_refuse_keeps_state(void **state)
{
    (void)state;
    FOR_EACH_CELL(r, s, e)
    {
        ttrpc_stream_transition t = cell(r, s, e);
        if (t.action == TTRPC_ACT_REFUSE) {
            assert_int_equal(t.next, s);
        }
    }
}

/* IGNORE drops a frame without consequence, so it cannot move the stream either. */
static void test_stream_lookup_ignore_keeps_state(void **state)
{
    (void)state;
    FOR_EACH_CELL(r, s, e)
    {
        ttrpc_stream_transition t = cell(r, s, e);
        if (t.action == TTRPC_ACT_IGNORE) {
            assert_int_equal(t.next, s);
        }
    }
}

/* Header, TTRPC_STREAM_CLOSED: "the id may not be used again". */
static void test_stream_lookup_closed_is_absorbing(void **state)
{
    (void)state;
    for (int r = 0; r < TTRPC_ROLE_COUNT; r++) {
        for (int e = 0; e < TTRPC_EV_COUNT; e++) {
            assert_int_equal(cell(r, TTRPC_STREAM_CLOSED, e).next, TTRPC_STREAM_CLOSED);
        }
    }
}

static void test_stream_lookup_server_send_never_leaves_closed(void **state)
{
    (void)state;
    for (int e = 0; e < TTRPC_EV_COUNT; e++) {
        if (is_send((ttrpc_stream_event)e)) {
            ttrpc_stream_transition t = cell(TTRPC_ROLE_SERVER, TTRPC_STREAM_CLOSED, e);
            assert_int_equal(t.next, TTRPC_STREAM_CLOSED);
            assert_int_equal(t.action, TTRPC_ACT_REFUSE);
        }
    }
}

/* A stream id is never reopened: no cell leads back to IDLE from another state. */
static void test_stream_lookup_never_back_to_idle(void **state)
{
    (void)state;
    FOR_EACH_CELL(r, s, e)
    {
        if (s != TTRPC_STREAM_IDLE) {
            assert_int_not_equal(cell(r, s, e).next, TTRPC_STREAM_IDLE);
        }
    }
}

/* Our own sends are either legal (ACCEPT: nothing to deliver) or refused; DELIVER, IGNORE and
 * REJECT judge the remote and belong to received frames. */
static void test_stream_lookup_send_accept_or_refuse(void **state)
{
    (void)state;
    FOR_EACH_CELL(r, s, e)
    {
        if (is_send((ttrpc_stream_event)e)) {
            ttrpc_stream_action a = cell(r, s, e).action;
            assert_true(a == TTRPC_ACT_ACCEPT || a == TTRPC_ACT_REFUSE);
        }
    }
}

/* REFUSE is local misuse; a received frame is never our mistake. */
static void test_stream_lookup_recv_never_refuse(void **state)
{
    (void)state;
    FOR_EACH_CELL(r, s, e)
    {
        if (!is_send((ttrpc_stream_event)e)) {
            assert_int_not_equal(cell(r, s, e).action, TTRPC_ACT_REFUSE);
        }
    }
}

/* PROTOCOL.md, Message Types: clients send Requests, servers send Responses. */
static void test_stream_lookup_wrong_direction_refused(void **state)
{
    (void)state;
    for (int s = 0; s < TTRPC_STREAM_STATE_COUNT; s++) {
        assert_int_equal(cell(TTRPC_ROLE_CLIENT, s, TTRPC_EV_SEND_RESPONSE).action,
                         TTRPC_ACT_REFUSE);
        assert_int_equal(cell(TTRPC_ROLE_SERVER, s, TTRPC_EV_SEND_REQUEST_UNARY).action,
                         TTRPC_ACT_REFUSE);
        assert_int_equal(cell(TTRPC_ROLE_SERVER, s, TTRPC_EV_SEND_REQUEST_RC).action,
                         TTRPC_ACT_REFUSE);
        assert_int_equal(cell(TTRPC_ROLE_SERVER, s, TTRPC_EV_SEND_REQUEST_RO).action,
                         TTRPC_ACT_REFUSE);
        assert_int_equal(cell(TTRPC_ROLE_SERVER, s, TTRPC_EV_SEND_REQUEST_RC_RO).action,
                         TTRPC_ACT_REFUSE);
    }
}

/* Late frames for a finished call are dropped, as every real client does. */
static void test_stream_lookup_closed_client_ignores_recv(void **state)
{
    (void)state;
    for (int e = 0; e < TTRPC_EV_COUNT; e++) {
        if (!is_send((ttrpc_stream_event)e)) {
            ttrpc_stream_transition t = cell(TTRPC_ROLE_CLIENT, TTRPC_STREAM_CLOSED, e);
            assert_int_equal(t.action, TTRPC_ACT_IGNORE);
            assert_int_equal(t.next, TTRPC_STREAM_CLOSED);
        }
    }
}

/* Header, TTRPC_ACT_REJECT: "the stream ends", for both roles. */
static void test_stream_lookup_reject_ends_stream(void **state)
{
    (void)state;
    FOR_EACH_CELL(r, s, e)
    {
        ttrpc_stream_transition t = cell(r, s, e);
        if (t.action == TTRPC_ACT_REJECT) {
            assert_int_equal(t.next, TTRPC_STREAM_CLOSED);
        }
    }
}

/* Each side tracks its own view (PROTOCOL.md, Streaming): our "local closed" is the remote's
 * "remote closed". */
static ttrpc_stream_state mirror(ttrpc_stream_state s)
{
    switch (s) {
    case TTRPC_STREAM_LOCAL_CLOSED:
        return TTRPC_STREAM_REMOTE_CLOSED;
    case TTRPC_STREAM_REMOTE_CLOSED:
        return TTRPC_STREAM_LOCAL_CLOSED;
    default:
        return s;
    }
}

static ttrpc_stream_event received_as(ttrpc_stream_event sent)
{
    char name[64];
    snprintf(name, sizeof name, "RECV_%s", ttrpc_stream_event_name(sent) + strlen("SEND_"));
    return event_by_name(name);
}

/* Whatever one side may send, the other side, in the mirrored state, takes as legal and lands
 * in the mirror of the sender's next state: the two roles of the table agree. */
static void test_stream_lookup_sends_accepted_by_mirror(void **state)
{
    (void)state;
    FOR_EACH_CELL(r, s, e)
    {
        if (!is_send((ttrpc_stream_event)e)) {
            continue;
        }
        ttrpc_stream_transition out = cell(r, s, e);
        if (out.action != TTRPC_ACT_ACCEPT) {
            continue;
        }
        int peer = r == TTRPC_ROLE_CLIENT ? TTRPC_ROLE_SERVER : TTRPC_ROLE_CLIENT;
        ttrpc_stream_event in_ev = received_as((ttrpc_stream_event)e);
        assert_int_not_equal(in_ev, TTRPC_EV_COUNT);
        ttrpc_stream_transition in =
            ttrpc_stream_lookup((ttrpc_role)peer, mirror((ttrpc_stream_state)s), in_ev);
        assert_true(in.action == TTRPC_ACT_DELIVER || in.action == TTRPC_ACT_ACCEPT);
        assert_int_equal(in.next, mirror(out.next));
    }
}

/* Sequences from ttrpc-notes 2.1 and 2.2, with the flag bytes real peers send. Each frame goes
 * through the sender's table (ACCEPT), then the receiver's; the two states must mirror. */
typedef struct call {
    ttrpc_stream_state client;
    ttrpc_stream_state server;
} call;

static void frame(call *c, ttrpc_role from, uint8_t type, uint8_t flags,
                  ttrpc_stream_action want_recv)
{
    ttrpc_role to = from == TTRPC_ROLE_CLIENT ? TTRPC_ROLE_SERVER : TTRPC_ROLE_CLIENT;
    ttrpc_stream_state *mine = from == TTRPC_ROLE_CLIENT ? &c->client : &c->server;
    ttrpc_stream_state *theirs = from == TTRPC_ROLE_CLIENT ? &c->server : &c->client;
    ttrpc_stream_transition out =
        ttrpc_stream_lookup(from, *mine, ttrpc_stream_event_of(1, type, flags));
    assert_int_equal(out.action, TTRPC_ACT_ACCEPT);
    ttrpc_stream_transition in =
        ttrpc_stream_lookup(to, *theirs, ttrpc_stream_event_of(0, type, flags));
    assert_int_equal(in.action, want_recv);
    *mine = out.next;
    *theirs = in.next;
    assert_int_equal(c->server, mirror(c->client));
}

static void expect_states(const call *c, ttrpc_stream_state client, ttrpc_stream_state server)
{
    assert_int_equal(c->client, client);
    assert_int_equal(c->server, server);
}

enum { REQ = TTRPC_TYPE_REQUEST, RESP = TTRPC_TYPE_RESPONSE, DATA = TTRPC_TYPE_DATA };
enum { RC = TTRPC_FLAG_REMOTE_CLOSED, RO = TTRPC_FLAG_REMOTE_OPEN, ND = TTRPC_FLAG_NO_DATA };
#define CLIENT TTRPC_ROLE_CLIENT
#define SERVER TTRPC_ROLE_SERVER
#define DELIVER TTRPC_ACT_DELIVER
#define ACCEPT TTRPC_ACT_ACCEPT

/* PROTOCOL.md, Unary State Diagram: Request, then Response; both sides finished. */
static void test_stream_sequence_unary(void **state)
{
    (void)state;
    call c = {TTRPC_STREAM_IDLE, TTRPC_STREAM_IDLE};
    frame(&c, CLIENT, REQ, 0, DELIVER);
    expect_states(&c, TTRPC_STREAM_UNARY, TTRPC_STREAM_UNARY);
    frame(&c, SERVER, RESP, 0, DELIVER);
    expect_states(&c, TTRPC_STREAM_CLOSED, TTRPC_STREAM_CLOSED);
}

/* ttrpc-notes 2.2: Req[RC], Data per message, then Data[RC|ND] (Go handler returned nothing,
 * Rust on success). */
static void test_stream_sequence_server_streaming(void **state)
{
    (void)state;
    call c = {TTRPC_STREAM_IDLE, TTRPC_STREAM_IDLE};
    frame(&c, CLIENT, REQ, RC, DELIVER);
    expect_states(&c, TTRPC_STREAM_LOCAL_CLOSED, TTRPC_STREAM_REMOTE_CLOSED);
    frame(&c, SERVER, DATA, 0, DELIVER);
    frame(&c, SERVER, DATA, 0, DELIVER);
    expect_states(&c, TTRPC_STREAM_LOCAL_CLOSED, TTRPC_STREAM_REMOTE_CLOSED);
    frame(&c, SERVER, DATA, RC | ND, ACCEPT);
    expect_states(&c, TTRPC_STREAM_CLOSED, TTRPC_STREAM_CLOSED);
}

/* ttrpc-notes 2.2: a Go handler that returns a value ends with Data[RC] carrying it. */
static void test_stream_sequence_server_streaming_final_message(void **state)
{
    (void)state;
    call c = {TTRPC_STREAM_IDLE, TTRPC_STREAM_IDLE};
    frame(&c, CLIENT, REQ, RC, DELIVER);
    frame(&c, SERVER, DATA, 0, DELIVER);
    frame(&c, SERVER, DATA, RC, DELIVER);
    expect_states(&c, TTRPC_STREAM_CLOSED, TTRPC_STREAM_CLOSED);
}

/* ttrpc-notes 2.2: a failing handler ends a server stream with one Response. */
static void test_stream_sequence_server_streaming_error_response(void **state)
{
    (void)state;
    call c = {TTRPC_STREAM_IDLE, TTRPC_STREAM_IDLE};
    frame(&c, CLIENT, REQ, RC, DELIVER);
    frame(&c, SERVER, DATA, 0, DELIVER);
    frame(&c, SERVER, RESP, 0, DELIVER);
    expect_states(&c, TTRPC_STREAM_CLOSED, TTRPC_STREAM_CLOSED);
}

/* ttrpc-notes 2.2: Go client Req[RO] (0x02), Data per message, Data[RC|ND] (0x05), then the
 * server's Response. */
static void test_stream_sequence_client_streaming(void **state)
{
    (void)state;
    call c = {TTRPC_STREAM_IDLE, TTRPC_STREAM_IDLE};
    frame(&c, CLIENT, REQ, RO, DELIVER);
    expect_states(&c, TTRPC_STREAM_OPEN, TTRPC_STREAM_OPEN);
    frame(&c, CLIENT, DATA, 0, DELIVER);
    frame(&c, CLIENT, DATA, 0, DELIVER);
    frame(&c, CLIENT, DATA, RC | ND, ACCEPT);
    expect_states(&c, TTRPC_STREAM_LOCAL_CLOSED, TTRPC_STREAM_REMOTE_CLOSED);
    frame(&c, SERVER, RESP, 0, DELIVER);
    expect_states(&c, TTRPC_STREAM_CLOSED, TTRPC_STREAM_CLOSED);
}

/* A server may answer a client stream early; the client may not send after the Response, and
 * Data already in flight gets code 3 from the server, which the finished client drops. */
static void test_stream_sequence_client_streaming_early_response(void **state)
{
    (void)state;
    call c = {TTRPC_STREAM_IDLE, TTRPC_STREAM_IDLE};
    frame(&c, CLIENT, REQ, RO | ND, DELIVER);
    frame(&c, CLIENT, DATA, 0, DELIVER);
    frame(&c, SERVER, RESP, 0, DELIVER);
    expect_states(&c, TTRPC_STREAM_CLOSED, TTRPC_STREAM_CLOSED);
    ttrpc_stream_transition t =
        ttrpc_stream_lookup(CLIENT, c.client, ttrpc_stream_event_of(1, DATA, 0));
    assert_int_equal(t.action, TTRPC_ACT_REFUSE);
    t = ttrpc_stream_lookup(SERVER, c.server, ttrpc_stream_event_of(0, DATA, 0));
    assert_int_equal(t.action, TTRPC_ACT_REJECT);
    t = ttrpc_stream_lookup(CLIENT, c.client, ttrpc_stream_event_of(0, RESP, 0));
    assert_int_equal(t.action, TTRPC_ACT_IGNORE);
}

/* PROTOCOL.md, third Non-Unary State Diagram, opened as our client does (Req[RO|ND], 0x06):
 * Data both ways, the client closes first, the server ends with Data[RC|ND]. */
static void test_stream_sequence_bidi(void **state)
{
    (void)state;
    call c = {TTRPC_STREAM_IDLE, TTRPC_STREAM_IDLE};
    frame(&c, CLIENT, REQ, RO | ND, DELIVER);
    expect_states(&c, TTRPC_STREAM_OPEN, TTRPC_STREAM_OPEN);
    frame(&c, CLIENT, DATA, 0, DELIVER);
    frame(&c, SERVER, DATA, 0, DELIVER);
    frame(&c, CLIENT, DATA, 0, DELIVER);
    frame(&c, SERVER, DATA, ND, ACCEPT);
    expect_states(&c, TTRPC_STREAM_OPEN, TTRPC_STREAM_OPEN);
    frame(&c, CLIENT, DATA, RC | ND, ACCEPT);
    expect_states(&c, TTRPC_STREAM_LOCAL_CLOSED, TTRPC_STREAM_REMOTE_CLOSED);
    frame(&c, SERVER, DATA, 0, DELIVER);
    frame(&c, SERVER, DATA, RC | ND, ACCEPT);
    expect_states(&c, TTRPC_STREAM_CLOSED, TTRPC_STREAM_CLOSED);
}

/* ttrpc-notes 2.2: a bidi server "may finish first"; the client goes on sending, then closes. */
static void test_stream_sequence_bidi_server_finishes_first(void **state)
{
    (void)state;
    call c = {TTRPC_STREAM_IDLE, TTRPC_STREAM_IDLE};
    frame(&c, CLIENT, REQ, RO, DELIVER);
    frame(&c, SERVER, DATA, 0, DELIVER);
    frame(&c, SERVER, DATA, RC | ND, ACCEPT);
    expect_states(&c, TTRPC_STREAM_REMOTE_CLOSED, TTRPC_STREAM_LOCAL_CLOSED);
    frame(&c, CLIENT, DATA, 0, DELIVER);
    frame(&c, CLIENT, DATA, ND, ACCEPT);
    frame(&c, CLIENT, DATA, RC, DELIVER);
    expect_states(&c, TTRPC_STREAM_CLOSED, TTRPC_STREAM_CLOSED);
}

/* The classification, restated: Request by RC|RO, Data by RC|ND, every other bit ignored. */
static ttrpc_stream_event expected_recv_event(unsigned type, unsigned flags)
{
    static const ttrpc_stream_event request[4] = {
        TTRPC_EV_RECV_REQUEST_UNARY, /* 0 */
        TTRPC_EV_RECV_REQUEST_RC,    /* 0x01 */
        TTRPC_EV_RECV_REQUEST_RO,    /* 0x02 */
        TTRPC_EV_RECV_REQUEST_RC_RO, /* 0x03 */
    };
    static const ttrpc_stream_event data[8] = {
        [0] = TTRPC_EV_RECV_DATA,
        [0x01] = TTRPC_EV_RECV_DATA_RC,
        [0x04] = TTRPC_EV_RECV_DATA_ND,
        [0x05] = TTRPC_EV_RECV_DATA_RC_ND,
    };
    switch (type) {
    case 1:
        return request[flags & 0x03];
    case 2:
        return TTRPC_EV_RECV_RESPONSE;
    case 3:
        return data[flags & 0x05];
    default:
        return TTRPC_EV_RECV_UNKNOWN_TYPE;
    }
}

static void test_stream_event_of_every_received_frame(void **state)
{
    (void)state;
    for (unsigned type = 0; type <= 255; type++) {
        for (unsigned flags = 0; flags <= 255; flags++) {
            ttrpc_stream_event got = ttrpc_stream_event_of(0, (uint8_t)type, (uint8_t)flags);
            if (got != expected_recv_event(type, flags)) {
                fail_msg("type 0x%02x flags 0x%02x: got %s", type, flags,
                         ttrpc_stream_event_name(got));
            }
        }
    }
}

/* A sent frame of a known type classifies as its received twin does, with SEND_ for RECV_;
 * any other type is no event at all. Any non-zero `sent` counts as sent. */
static void test_stream_event_of_every_sent_frame(void **state)
{
    (void)state;
    for (unsigned type = 0; type <= 255; type++) {
        for (unsigned flags = 0; flags <= 255; flags++) {
            ttrpc_stream_event sent = ttrpc_stream_event_of(1, (uint8_t)type, (uint8_t)flags);
            assert_int_equal(ttrpc_stream_event_of(-7, (uint8_t)type, (uint8_t)flags), sent);
            if (type < 1 || type > 3) {
                assert_int_equal(sent, TTRPC_EV_COUNT);
                continue;
            }
            assert_true(is_send(sent));
            assert_int_equal(received_as(sent), expected_recv_event(type, flags));
        }
    }
}

/* Rust clients open client and bidi streams with Req[RO|ND] (0x06), and put ND on unary
 * Requests too (ttrpc-notes 2.2, 2.3): ND does not change what a Request is. */
static void test_stream_event_of_request_ignores_no_data(void **state)
{
    (void)state;
    assert_int_equal(ttrpc_stream_event_of(0, REQ, ND), TTRPC_EV_RECV_REQUEST_UNARY);
    assert_int_equal(ttrpc_stream_event_of(0, REQ, RC | ND), TTRPC_EV_RECV_REQUEST_RC);
    assert_int_equal(ttrpc_stream_event_of(0, REQ, RO | ND), TTRPC_EV_RECV_REQUEST_RO);
    assert_int_equal(ttrpc_stream_event_of(0, REQ, RC | RO | ND), TTRPC_EV_RECV_REQUEST_RC_RO);
    assert_int_equal(ttrpc_stream_event_of(1, REQ, RO | ND), TTRPC_EV_SEND_REQUEST_RO);
}

/* 0x02 is not a Data flag (PROTOCOL.md, Data Flags). */
static void test_stream_event_of_data_ignores_remote_open(void **state)
{
    (void)state;
    assert_int_equal(ttrpc_stream_event_of(0, DATA, RO), TTRPC_EV_RECV_DATA);
    assert_int_equal(ttrpc_stream_event_of(0, DATA, RO | RC), TTRPC_EV_RECV_DATA_RC);
    assert_int_equal(ttrpc_stream_event_of(0, DATA, RO | ND), TTRPC_EV_RECV_DATA_ND);
    assert_int_equal(ttrpc_stream_event_of(0, DATA, RO | RC | ND), TTRPC_EV_RECV_DATA_RC_ND);
    assert_int_equal(ttrpc_stream_event_of(1, DATA, RO | RC | ND), TTRPC_EV_SEND_DATA_RC_ND);
}

/* Bits 0x08 to 0x80 are defined for no type; Response defines none at all. */
static void test_stream_event_of_undefined_bits_ignored(void **state)
{
    (void)state;
    assert_int_equal(ttrpc_stream_event_of(0, REQ, 0xF8), TTRPC_EV_RECV_REQUEST_UNARY);
    assert_int_equal(ttrpc_stream_event_of(0, REQ, 0xF8 | RC), TTRPC_EV_RECV_REQUEST_RC);
    assert_int_equal(ttrpc_stream_event_of(0, REQ, 0xF8 | RO), TTRPC_EV_RECV_REQUEST_RO);
    assert_int_equal(ttrpc_stream_event_of(0, DATA, 0xF8), TTRPC_EV_RECV_DATA);
    assert_int_equal(ttrpc_stream_event_of(0, DATA, 0xF8 | ND), TTRPC_EV_RECV_DATA_ND);
    assert_int_equal(ttrpc_stream_event_of(0, DATA, 0xF8 | RC), TTRPC_EV_RECV_DATA_RC);
    assert_int_equal(ttrpc_stream_event_of(0, RESP, 0xFF), TTRPC_EV_RECV_RESPONSE);
    assert_int_equal(ttrpc_stream_event_of(1, RESP, 0xFF), TTRPC_EV_SEND_RESPONSE);
}

/* Types 0 and 4 to 255 are undefined (ttrpc-notes 1.2): received, they are one event; we
 * never send them, and the "no event" value is refused by lookup in every state. */
static void test_stream_event_of_unknown_type(void **state)
{
    (void)state;
    assert_int_equal(ttrpc_stream_event_of(0, 0x00, 0), TTRPC_EV_RECV_UNKNOWN_TYPE);
    assert_int_equal(ttrpc_stream_event_of(0, 0x04, RC), TTRPC_EV_RECV_UNKNOWN_TYPE);
    assert_int_equal(ttrpc_stream_event_of(0, 0xFF, 0xFF), TTRPC_EV_RECV_UNKNOWN_TYPE);
    assert_int_equal(ttrpc_stream_event_of(1, 0x04, 0), TTRPC_EV_COUNT);
    for (int r = 0; r < TTRPC_ROLE_COUNT; r++) {
        for (int s = 0; s < TTRPC_STREAM_STATE_COUNT; s++) {
            ttrpc_stream_transition t = ttrpc_stream_lookup(
                (ttrpc_role)r, (ttrpc_stream_state)s, ttrpc_stream_event_of(1, 0x04, 0));
            assert_int_equal(t.next, s);
            assert_int_equal(t.action, TTRPC_ACT_REFUSE);
        }
    }
}

/* Vectors and reports refer to these names: each is its enumerator's suffix. */
static void test_stream_state_name_every_state(void **state)
{
    (void)state;
    static const char *const names[TTRPC_STREAM_STATE_COUNT] = {
        [TTRPC_STREAM_IDLE] = "IDLE",
        [TTRPC_STREAM_UNARY] = "UNARY",
        [TTRPC_STREAM_OPEN] = "OPEN",
        [TTRPC_STREAM_LOCAL_CLOSED] = "LOCAL_CLOSED",
        [TTRPC_STREAM_REMOTE_CLOSED] = "REMOTE_CLOSED",
        [TTRPC_STREAM_CLOSED] = "CLOSED",
    };
    for (int s = 0; s < TTRPC_STREAM_STATE_COUNT; s++) {
        assert_non_null(names[s]);
        assert_string_equal(ttrpc_stream_state_name((ttrpc_stream_state)s), names[s]);
    }
}

static void test_stream_event_name_every_event(void **state)
{
    (void)state;
    static const char *const names[TTRPC_EV_COUNT] = {
        [TTRPC_EV_SEND_REQUEST_UNARY] = "SEND_REQUEST_UNARY",
        [TTRPC_EV_SEND_REQUEST_RC] = "SEND_REQUEST_RC",
        [TTRPC_EV_SEND_REQUEST_RO] = "SEND_REQUEST_RO",
        [TTRPC_EV_SEND_REQUEST_RC_RO] = "SEND_REQUEST_RC_RO",
        [TTRPC_EV_SEND_DATA] = "SEND_DATA",
        [TTRPC_EV_SEND_DATA_ND] = "SEND_DATA_ND",
        [TTRPC_EV_SEND_DATA_RC] = "SEND_DATA_RC",
        [TTRPC_EV_SEND_DATA_RC_ND] = "SEND_DATA_RC_ND",
        [TTRPC_EV_SEND_RESPONSE] = "SEND_RESPONSE",
        [TTRPC_EV_RECV_REQUEST_UNARY] = "RECV_REQUEST_UNARY",
        [TTRPC_EV_RECV_REQUEST_RC] = "RECV_REQUEST_RC",
        [TTRPC_EV_RECV_REQUEST_RO] = "RECV_REQUEST_RO",
        [TTRPC_EV_RECV_REQUEST_RC_RO] = "RECV_REQUEST_RC_RO",
        [TTRPC_EV_RECV_DATA] = "RECV_DATA",
        [TTRPC_EV_RECV_DATA_ND] = "RECV_DATA_ND",
        [TTRPC_EV_RECV_DATA_RC] = "RECV_DATA_RC",
        [TTRPC_EV_RECV_DATA_RC_ND] = "RECV_DATA_RC_ND",
        [TTRPC_EV_RECV_RESPONSE] = "RECV_RESPONSE",
        [TTRPC_EV_RECV_UNKNOWN_TYPE] = "RECV_UNKNOWN_TYPE",
    };
    for (int e = 0; e < TTRPC_EV_COUNT; e++) {
        assert_non_null(names[e]);
        assert_string_equal(ttrpc_stream_event_name((ttrpc_stream_event)e), names[e]);
    }
}

static void test_stream_action_name_every_action(void **state)
{
    (void)state;
    static const char *const names[TTRPC_ACT_COUNT] = {
        [TTRPC_ACT_DELIVER] = "DELIVER", [TTRPC_ACT_ACCEPT] = "ACCEPT",
        [TTRPC_ACT_IGNORE] = "IGNORE",   [TTRPC_ACT_REJECT] = "REJECT",
        [TTRPC_ACT_REFUSE] = "REFUSE",
    };
    for (int a = 0; a < TTRPC_ACT_COUNT; a++) {
        assert_non_null(names[a]);
        assert_string_equal(ttrpc_stream_action_name((ttrpc_stream_action)a), names[a]);
    }
}

static void test_stream_role_name_every_role(void **state)
{
    (void)state;
    assert_string_equal(ttrpc_role_name(TTRPC_ROLE_CLIENT), "CLIENT");
    assert_string_equal(ttrpc_role_name(TTRPC_ROLE_SERVER), "SERVER");
}

/* Names are keys in vectors: within each kind, no two may be equal or "?". */
static void test_stream_names_distinct(void **state)
{
    (void)state;
    for (int i = 0; i < TTRPC_STREAM_STATE_COUNT; i++) {
        const char *a = ttrpc_stream_state_name((ttrpc_stream_state)i);
        assert_string_not_equal(a, "?");
        for (int j = i + 1; j < TTRPC_STREAM_STATE_COUNT; j++) {
            assert_string_not_equal(a, ttrpc_stream_state_name((ttrpc_stream_state)j));
        }
    }
    for (int i = 0; i < TTRPC_EV_COUNT; i++) {
        const char *a = ttrpc_stream_event_name((ttrpc_stream_event)i);
        assert_string_not_equal(a, "?");
        for (int j = i + 1; j < TTRPC_EV_COUNT; j++) {
            assert_string_not_equal(a, ttrpc_stream_event_name((ttrpc_stream_event)j));
        }
    }
    for (int i = 0; i < TTRPC_ACT_COUNT; i++) {
        const char *a = ttrpc_stream_action_name((ttrpc_stream_action)i);
        assert_string_not_equal(a, "?");
        for (int j = i + 1; j < TTRPC_ACT_COUNT; j++) {
            assert_string_not_equal(a, ttrpc_stream_action_name((ttrpc_stream_action)j));
        }
    }
    assert_string_not_equal(ttrpc_role_name(TTRPC_ROLE_CLIENT), "?");
    assert_string_not_equal(ttrpc_role_name(TTRPC_ROLE_SERVER), "?");
    assert_string_not_equal(ttrpc_role_name(TTRPC_ROLE_CLIENT),
                            ttrpc_role_name(TTRPC_ROLE_SERVER));
}

/* The COUNT values, a large value and -1 cast to the enum (a caller's bad arithmetic). */
static const int OUT_OF_RANGE[] = {-1, 1000, 0x7FFFFFFF};

static void test_stream_names_out_of_range(void **state)
{
    (void)state;
    assert_string_equal(ttrpc_stream_state_name(TTRPC_STREAM_STATE_COUNT), "?");
    assert_string_equal(ttrpc_stream_event_name(TTRPC_EV_COUNT), "?");
    assert_string_equal(ttrpc_stream_action_name(TTRPC_ACT_COUNT), "?");
    assert_string_equal(ttrpc_role_name(TTRPC_ROLE_COUNT), "?");
    for (size_t i = 0; i < sizeof OUT_OF_RANGE / sizeof OUT_OF_RANGE[0]; i++) {
        int v = OUT_OF_RANGE[i];
        assert_string_equal(ttrpc_stream_state_name((ttrpc_stream_state)v), "?");
        assert_string_equal(ttrpc_stream_event_name((ttrpc_stream_event)v), "?");
        assert_string_equal(ttrpc_stream_action_name((ttrpc_stream_action)v), "?");
        assert_string_equal(ttrpc_role_name((ttrpc_role)v), "?");
    }
}

/* Header: out-of-range arguments give {state unchanged, TTRPC_ACT_REFUSE}. */
static void test_stream_lookup_role_out_of_range(void **state)
{
    (void)state;
    for (int s = 0; s < TTRPC_STREAM_STATE_COUNT; s++) {
        ttrpc_stream_transition t = ttrpc_stream_lookup(
            TTRPC_ROLE_COUNT, (ttrpc_stream_state)s, TTRPC_EV_RECV_REQUEST_UNARY);
        assert_int_equal(t.next, s);
        assert_int_equal(t.action, TTRPC_ACT_REFUSE);
        for (size_t i = 0; i < sizeof OUT_OF_RANGE / sizeof OUT_OF_RANGE[0]; i++) {
            t = ttrpc_stream_lookup((ttrpc_role)OUT_OF_RANGE[i], (ttrpc_stream_state)s,
                                    TTRPC_EV_SEND_REQUEST_UNARY);
            assert_int_equal(t.next, s);
            assert_int_equal(t.action, TTRPC_ACT_REFUSE);
        }
    }
}

static void test_stream_lookup_state_out_of_range(void **state)
{
    (void)state;
    for (int r = 0; r < TTRPC_ROLE_COUNT; r++) {
        ttrpc_stream_transition t =
            ttrpc_stream_lookup((ttrpc_role)r, TTRPC_STREAM_STATE_COUNT, TTRPC_EV_RECV_DATA);
        assert_int_equal(t.next, TTRPC_STREAM_STATE_COUNT);
        assert_int_equal(t.action, TTRPC_ACT_REFUSE);
        for (size_t i = 0; i < sizeof OUT_OF_RANGE / sizeof OUT_OF_RANGE[0]; i++) {
            ttrpc_stream_state s = (ttrpc_stream_state)OUT_OF_RANGE[i];
            t = ttrpc_stream_lookup((ttrpc_role)r, s, TTRPC_EV_RECV_REQUEST_UNARY);
            assert_int_equal(t.next, s);
            assert_int_equal(t.action, TTRPC_ACT_REFUSE);
        }
    }
}

static void test_stream_lookup_event_out_of_range(void **state)
{
    (void)state;
    for (int r = 0; r < TTRPC_ROLE_COUNT; r++) {
        for (int s = 0; s < TTRPC_STREAM_STATE_COUNT; s++) {
            ttrpc_stream_transition t =
                ttrpc_stream_lookup((ttrpc_role)r, (ttrpc_stream_state)s, TTRPC_EV_COUNT);
            assert_int_equal(t.next, s);
            assert_int_equal(t.action, TTRPC_ACT_REFUSE);
            for (size_t i = 0; i < sizeof OUT_OF_RANGE / sizeof OUT_OF_RANGE[0]; i++) {
                t = ttrpc_stream_lookup((ttrpc_role)r, (ttrpc_stream_state)s,
                                        (ttrpc_stream_event)OUT_OF_RANGE[i]);
                assert_int_equal(t.next, s);
                assert_int_equal(t.action, TTRPC_ACT_REFUSE);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_lookup_server_idle),
        cmocka_unit_test(test_stream_lookup_server_unary),
        cmocka_unit_test(test_stream_lookup_server_open),
        cmocka_unit_test(test_stream_lookup_server_remote_closed),
        cmocka_unit_test(test_stream_lookup_server_local_closed),
        cmocka_unit_test(test_stream_lookup_server_closed),
        cmocka_unit_test(test_stream_lookup_client_idle),
        cmocka_unit_test(test_stream_lookup_client_unary),
        cmocka_unit_test(test_stream_lookup_client_open),
        cmocka_unit_test(test_stream_lookup_client_local_closed),
        cmocka_unit_test(test_stream_lookup_client_remote_closed),
        cmocka_unit_test(test_stream_lookup_client_closed),
        cmocka_unit_test(test_stream_lookup_expectations_well_formed),
        cmocka_unit_test(test_stream_lookup_refuse_keeps_state),
        cmocka_unit_test(test_stream_lookup_ignore_keeps_state),
        cmocka_unit_test(test_stream_lookup_closed_is_absorbing),
        cmocka_unit_test(test_stream_lookup_server_send_never_leaves_closed),
        cmocka_unit_test(test_stream_lookup_never_back_to_idle),
        cmocka_unit_test(test_stream_lookup_send_accept_or_refuse),
        cmocka_unit_test(test_stream_lookup_recv_never_refuse),
        cmocka_unit_test(test_stream_lookup_wrong_direction_refused),
        cmocka_unit_test(test_stream_lookup_closed_client_ignores_recv),
        cmocka_unit_test(test_stream_lookup_reject_ends_stream),
        cmocka_unit_test(test_stream_lookup_sends_accepted_by_mirror),
        cmocka_unit_test(test_stream_sequence_unary),
        cmocka_unit_test(test_stream_sequence_server_streaming),
        cmocka_unit_test(test_stream_sequence_server_streaming_final_message),
        cmocka_unit_test(test_stream_sequence_server_streaming_error_response),
        cmocka_unit_test(test_stream_sequence_client_streaming),
        cmocka_unit_test(test_stream_sequence_client_streaming_early_response),
        cmocka_unit_test(test_stream_sequence_bidi),
        cmocka_unit_test(test_stream_sequence_bidi_server_finishes_first),
        cmocka_unit_test(test_stream_event_of_every_received_frame),
        cmocka_unit_test(test_stream_event_of_every_sent_frame),
        cmocka_unit_test(test_stream_event_of_request_ignores_no_data),
        cmocka_unit_test(test_stream_event_of_data_ignores_remote_open),
        cmocka_unit_test(test_stream_event_of_undefined_bits_ignored),
        cmocka_unit_test(test_stream_event_of_unknown_type),
        cmocka_unit_test(test_stream_state_name_every_state),
        cmocka_unit_test(test_stream_event_name_every_event),
        cmocka_unit_test(test_stream_action_name_every_action),
        cmocka_unit_test(test_stream_role_name_every_role),
        cmocka_unit_test(test_stream_names_distinct),
        cmocka_unit_test(test_stream_names_out_of_range),
        cmocka_unit_test(test_stream_lookup_role_out_of_range),
        cmocka_unit_test(test_stream_lookup_state_out_of_range),
        cmocka_unit_test(test_stream_lookup_event_out_of_range),
    };
    return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
