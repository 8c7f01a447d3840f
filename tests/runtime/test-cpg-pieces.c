/* libcpg against a hostile daemon: the pieces of a large message carry a
 * total that another member announced, and the library must neither trust
 * it for an allocation nor reassemble past it. */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <corosync/cpg.h>

#include "cpg-client.h"
#include "cpg.pb-c.h"
#include "peer.h"

#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void); /* sanitizer/allocator_interface.h */
#endif

enum { PART_FIRST = 1, PART_CONTINUED = 2, PART_LAST = 3 };

static size_t delivered;
static uint8_t last_message[64];
static size_t last_length;

static void on_deliver(cpg_handle_t handle, const struct cpg_name *group, uint32_t nodeid, uint32_t pid,
		       void *msg, size_t msg_len)
{
	delivered++;
	last_length = msg_len;
	memcpy(last_message, msg, msg_len < sizeof(last_message) ? msg_len : sizeof(last_message));
}

static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
#endif
}

struct hostile {
	struct peer *p;
	cpg_handle_t handle;
};

static int hostile_setup(void **state)
{
	static cpg_callbacks_t callbacks = { .cpg_deliver_fn = on_deliver };
	static struct hostile h;

	delivered = 0;
	last_length = 0;
	h.p = peer_new();
	peer_expect_client(h.p, PEER_WELCOME);
	assert_int_equal(cpg_initialize(&h.handle, &callbacks), CS_OK);
	assert_true(peer_client_arrived(h.p) >= 0);
	*state = &h;
	return 0;
}

static int hostile_teardown(void **state)
{
	struct hostile *h = *state;

	cpg_finalize(h->handle);
	peer_free(h->p);
	return 0;
}

/* Writes a piece and lets the library take it. */
static void piece(struct hostile *h, uint32_t part, uint64_t total, const char *bytes)
{
	CpgFragmentEvent event = CPG_FRAGMENT_EVENT__INIT;
	CpgName group = CPG_NAME__INIT;
	uint8_t *frame;
	size_t length;

	group.value.data = (uint8_t *)"g";
	group.value.len = 1;
	event.group = &group;
	event.nodeid = 2;
	event.pid = 7;
	event.part = part;
	event.total = total;
	event.msg.data = (uint8_t *)bytes;
	event.msg.len = strlen(bytes);
	frame = peer_pack_event(CPG_EVENT_FRAGMENT, &event.base, &length);
	peer_write(h->p, frame, length);
	free(frame);
	assert_int_equal(cpg_dispatch(h->handle, CS_DISPATCH_ONE), CS_OK);
}

/* 2^62 once made malloc(total + 1) abort the sanitizer build. */
static void test_total_beyond_any_daemon_is_dropped(void **state)
{
	struct hostile *h = *state;

	piece(h, PART_FIRST, UINT64_C(1) << 62, "abcd");
	piece(h, PART_LAST, UINT64_C(1) << 62, "efgh");
	piece(h, PART_FIRST, (UINT64_C(1) << 30) + 1, "abcd");
	piece(h, PART_LAST, (UINT64_C(1) << 30) + 1, "efgh");
	assert_int_equal(delivered, 0);
}

/* An announced total costs memory only as its bytes arrive. */
static void test_memory_follows_what_arrives(void **state)
{
	struct hostile *h = *state;
	size_t before = heap_in_use();

	piece(h, PART_FIRST, UINT64_C(1) << 30, "abcd");
	print_message("a first piece announcing 1 GiB took %zu bytes\n", heap_in_use() - before);
	assert_true(heap_in_use() - before < 1024 * 1024);
}

static void test_pieces_past_their_total_are_dropped(void **state)
{
	struct hostile *h = *state;

	piece(h, PART_FIRST, 10, "abcd");
	piece(h, PART_CONTINUED, 10, "efghijk");
	piece(h, PART_LAST, 10, "ij");
	assert_int_equal(delivered, 0);
	piece(h, PART_FIRST, 10, "abcd");
	piece(h, PART_CONTINUED, 11, "efg");
	piece(h, PART_LAST, 10, "hij");
	assert_int_equal(delivered, 0);
	piece(h, PART_FIRST, 10, "abcd");
	piece(h, PART_CONTINUED, 10, "efg");
	piece(h, PART_LAST, 10, "hij");
	assert_int_equal(delivered, 1);
	assert_int_equal(last_length, 10);
	assert_memory_equal(last_message, "abcdefghij", 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_total_beyond_any_daemon_is_dropped, hostile_setup,
						hostile_teardown),
		cmocka_unit_test_setup_teardown(test_memory_follows_what_arrives, hostile_setup,
						hostile_teardown),
		cmocka_unit_test_setup_teardown(test_pieces_past_their_total_are_dropped, hostile_setup,
						hostile_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
