#include <stdlib.h>
#include <string.h>

#include "held-senders.h"

static size_t held_index(const struct held_senders *h, const struct cv_session *s)
{
	size_t i = 0;

	while (i < h->n && h->sessions[i] != s)
		i++;
	return i;
}

void held_senders_remove(struct held_senders *h, struct cv_session *s)
{
	size_t i = held_index(h, s);

	if (i == h->n)
		return;
	memmove(&h->sessions[i], &h->sessions[i + 1], (h->n - i - 1) * sizeof(*h->sessions));
	h->n--;
}

static void held_add(struct held_senders *h, struct cv_session *s)
{
	if (held_index(h, s) < h->n)
		return;
	if (h->n == h->capacity) {
		size_t capacity = h->capacity ? 2 * h->capacity : 16;
		struct cv_session **grown = realloc(h->sessions, capacity * sizeof(*grown));

		if (grown == NULL) {
			cv_session_close(s, "out of memory holding a message");
			return;
		}
		h->sessions = grown;
		h->capacity = capacity;
	}
	h->sessions[h->n++] = s;
}

void held_senders_note(struct held_senders *h, struct cv_session *s, cs_error_t handled)
{
	if (handled == CS_ERR_TRY_AGAIN)
		held_add(h, s);
	else
		held_senders_remove(h, s);
}

bool held_senders_any(const struct held_senders *h)
{
	return h->n > 0;
}

/* Each held sender once, oldest first; those still without room stay.
 * A retry may hold or release any sender, so the round is a copy. */
static void retry_held(void *data)
{
	struct held_senders *h = data;
	size_t n = h->n;
	struct cv_session **round = malloc(n * sizeof(*round) + 1);

	if (round == NULL) {
		cv_timer_start(h->timer, 1);
		return;
	}
	memcpy(round, h->sessions, n * sizeof(*round));
	for (size_t i = 0; i < n; i++)
		if (held_index(h, round[i]) < h->n)
			cv_session_retry_held(round[i]);
	free(round);
}

void held_senders_retry_soon(struct held_senders *h)
{
	if (h->n > 0 && h->timer != NULL && !cv_timer_pending(h->timer))
		cv_timer_start(h->timer, 0);
}

void held_senders_retry_in(struct held_senders *h, uint64_t ms)
{
	if (h->timer != NULL && !cv_timer_pending(h->timer))
		cv_timer_start(h->timer, ms);
}

int held_senders_start(struct held_senders *h)
{
	*h = (struct held_senders){ 0 };
	h->timer = cv_timer_new(retry_held, h);
	return h->timer != NULL ? 0 : -1;
}

void held_senders_stop(struct held_senders *h)
{
	cv_timer_free(h->timer);
	free(h->sessions);
	*h = (struct held_senders){ 0 };
}
