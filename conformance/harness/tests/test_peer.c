/* The peer command template: {address} and {fd} expansion and its limits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "peer.h"

static void test_peer_expand_command(void **state)
{
    (void)state;
    char out[128];
    bool uses_fd = true;
    assert_int_equal(tc_expand_command("srv --listen {address} -v", "/tmp/x/s.sock", 3, out,
                                       sizeof out, &uses_fd),
                     TTRPC_OK);
    assert_string_equal(out, "srv --listen unix:/tmp/x/s.sock -v");
    assert_false(uses_fd);
    assert_int_equal(tc_expand_command("srv --fd {fd}", "/s", 3, out, sizeof out, &uses_fd),
                     TTRPC_OK);
    assert_string_equal(out, "srv --fd 3");
    assert_true(uses_fd);
    assert_int_equal(tc_expand_command("srv", "/s", 3, out, sizeof out, &uses_fd),
                     TTRPC_E_INVAL);
    /* "srv 3" and its NUL need 6 bytes */
    assert_int_equal(tc_expand_command("srv {fd}", "/s", 3, out, 5, &uses_fd),
                     TTRPC_E_NOSPACE);
    assert_int_equal(tc_expand_command("srv {fd}", "/s", 3, out, 6, &uses_fd), TTRPC_OK);
    assert_string_equal(out, "srv 3");
}

static void test_peer_init_target(void **state)
{
    (void)state;
    tc_peer p;
    assert_int_equal(tc_peer_init(&p, NULL, "unix:/tmp/some.sock"), TTRPC_OK);
    assert_string_equal(p.sock_path, "/tmp/some.sock");
    assert_int_equal(tc_peer_init(&p, NULL, "tcp:1.2.3.4:5"), TTRPC_E_INVAL);
    assert_int_equal(tc_peer_init(&p, NULL, "unix:"), TTRPC_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peer_expand_command),
        cmocka_unit_test(test_peer_init_target),
    };
    return cmocka_run_group_tests_name("harness_peer", tests, NULL, NULL);
}
