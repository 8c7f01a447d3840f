/* Offering a shared ring, against a scripted peer that never takes one:
 * what the client offers for what the WELCOME announced, with which
 * memfd, when, and that requests carry on over the socket when the offer
 * is refused or never made. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cv-limits.h"
#include "peer.h"
#include "test-util.h"

#define RING_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

/* Connects a client to a new peer that announces max_ring in a WELCOME of
 * `mode` and answers RING_OPEN with ring_reply, and starts its responder. */
static struct fixture *connect_announcing(void **state, enum peer_handshake mode, uint32_t max_ring,
					  int32_t ring_reply)
{
	struct peer *p = peer_new();

	p->max_ring = max_ring;
	p->ring_reply = ring_reply;
	fixture_connect_to(state, p, mode, recording_callbacks, NULL);
	peer_respond(p);
	return *state;
}

/* How many RING_OPEN frames the peer read, and what the last brought. */
static unsigned int ring_opens(struct peer *p, struct peer_ring_open *last)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->ring_opens;
	if (last != NULL)
		*last = p->last_ring_open;
	pthread_mutex_unlock(&p->lock);
	return n;
}

static uint32_t last_notify(struct peer *p)
{
	uint32_t value;

	pthread_mutex_lock(&p->lock);
	value = p->last_notify;
	pthread_mutex_unlock(&p->lock);
	return value;
}

static unsigned int requests(struct peer *p)
{
	unsigned int n;

	pthread_mutex_lock(&p->lock);
	n = p->requests;
	pthread_mutex_unlock(&p->lock);
	return n;
}

/* Posts the n-th notify (value n) and waits until the peer has read it
 * from the socket. */
static void post_arrives(struct fixture *f, unsigned int n)
{
	assert_int_equal(test_notify_post(f->handle, n), CS_OK);
	assert_true(peer_wait_notifies(f->p, n, PROMPTLY_MS));
	assert_int_equal(last_notify(f->p), n);
}

/* The capacity of the ring a client offers a peer announcing `announced`
 * with its first post; 0 when it offers none. */
static uint32_t offered_capacity(uint32_t announced)
{
	struct peer_ring_open seen;
	struct fixture *f;
	unsigned int opens;

	connect_announcing((void **)&f, PEER_WELCOME, announced, CS_ERR_NOT_SUPPORTED);
	post_arrives(f, 1);
	opens = ring_opens(f->p, &seen);
	fixture_teardown((void **)&f);
	if (opens == 0)
		return 0;
	assert_int_equal(opens, 1);
	assert_int_equal(seen.size, (int64_t)CV_RING_HEADER_SIZE + 2 * (int64_t)seen.open.capacity);
	assert_int_equal(seen.open.reply_capacity, seen.open.capacity);
	return seen.open.capacity;
}

/* A WELCOME of 8 bytes, from before rings, announces none. */
static void test_welcome_without_max_ring_size_gets_no_offer(void **state)
{
	struct fixture *f = connect_announcing(state, PEER_WELCOME_SHORT, 65536, CS_ERR_NOT_SUPPORTED);

	post_arrives(f, 1);
	post_arrives(f, 2);
	assert_int_equal(ring_opens(f->p, NULL), 0);
	assert_int_equal(requests(f->p), 2);
}

/* The first post offers the ring, once, with a memfd of the ring's and
 * the reply ring's size sealed against resizing; refused, the requests and
 * replies go over the sockets. */
static void ring_refused_with(void **state, int32_t status)
{
	struct fixture *f = connect_announcing(state, PEER_WELCOME, 65536, status);
	struct peer_ring_open seen;
	uint32_t reply = 0;

	/* A first call offers nothing. */
	assert_int_equal(test_echo(f->handle, 1, &reply), CS_OK);
	assert_int_equal(reply, 2);
	assert_int_equal(ring_opens(f->p, NULL), 0);
	post_arrives(f, 1);
	assert_int_equal(ring_opens(f->p, &seen), 1);
	assert_int_equal(seen.open.magic, CV_WIRE_MAGIC);
	assert_int_equal(seen.open.capacity, 65536);
	assert_int_equal(seen.fds, 1);
	assert_int_equal(seen.size, CV_RING_HEADER_SIZE + 2 * 65536);
	assert_int_equal(seen.open.reply_capacity, 65536);
	assert_int_equal(seen.seals, RING_SEALS);
	assert_int_equal(seen.requests_before, 1);
	post_arrives(f, 2);
	assert_int_equal(test_echo(f->handle, 3, &reply), CS_OK);
	assert_int_equal(reply, 4);
	assert_int_equal(ring_opens(f->p, NULL), 1);
}

static void test_ring_refused_as_not_supported(void **state)
{
	ring_refused_with(state, CS_ERR_NOT_SUPPORTED);
}

static void test_ring_refused_as_too_large(void **state)
{
	ring_refused_with(state, CS_ERR_NO_RESOURCES);
}

/* Calls one after another offer the rings at the second: a program that
 * makes one call maps none. */
static void test_second_call_offers_the_rings(void **state)
{
	struct fixture *f = connect_announcing(state, PEER_WELCOME, 65536, CS_ERR_NOT_SUPPORTED);
	struct peer_ring_open seen;
	uint32_t reply = 0;

	assert_int_equal(test_echo(f->handle, 1, &reply), CS_OK);
	assert_int_equal(ring_opens(f->p, NULL), 0);
	assert_int_equal(test_echo(f->handle, 2, &reply), CS_OK);
	assert_int_equal(reply, 3);
	assert_int_equal(ring_opens(f->p, &seen), 1);
	assert_int_equal(seen.requests_before, 1);
	assert_int_equal(seen.open.reply_capacity, 65536);
	assert_int_equal(test_echo(f->handle, 3, &reply), CS_OK);
	assert_int_equal(reply, 4);
	assert_int_equal(ring_opens(f->p, NULL), 1);
}

static void test_offer_halves_down_to_the_announced_limit(void **state)
{
	assert_int_equal(offered_capacity(CV_RING_MAX_CAPACITY), CV_CLIENT_RING_CAPACITY);
	assert_int_equal(offered_capacity(CV_CLIENT_RING_CAPACITY), CV_CLIENT_RING_CAPACITY);
	assert_int_equal(offered_capacity(CV_CLIENT_RING_CAPACITY - 1), CV_CLIENT_RING_CAPACITY / 2);
	assert_int_equal(offered_capacity(100000), 65536);
	assert_int_equal(offered_capacity(8191), 4096);
	assert_int_equal(offered_capacity(CV_RING_MIN_CAPACITY), CV_RING_MIN_CAPACITY);
}

static void test_no_offer_below_the_smallest_ring(void **state)
{
	assert_int_equal(offered_capacity(3000), 0);
	assert_int_equal(offered_capacity(CV_RING_MIN_CAPACITY - 1), 0);
	assert_int_equal(offered_capacity(0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_welcome_without_max_ring_size_gets_no_offer, fixture_teardown),
		cmocka_unit_test_teardown(test_ring_refused_as_not_supported, fixture_teardown),
		cmocka_unit_test_teardown(test_ring_refused_as_too_large, fixture_teardown),
		cmocka_unit_test_teardown(test_second_call_offers_the_rings, fixture_teardown),
		cmocka_unit_test(test_offer_halves_down_to_the_announced_limit),
		cmocka_unit_test(test_no_offer_below_the_smallest_ring),
	};

	return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
