/* SPDX-License-Identifier: MIT */
/*
 * The replay table: the assignments of the recent past, so that a restarted
 * linecapd re-learns who is who.
 *
 * Records go into a ring in the order they are read, which is time order, so
 * the records inside the replay window are one contiguous run at its end and
 * the oldest one is the next to be overwritten. A hash index (open
 * addressing, linear probing, twice the ring's size so that it is at most
 * half full) maps a client endpoint to its newest record; an older record of
 * the same endpoint stays in the ring but is no longer indexed, and replay
 * skips it. Memory is fixed at creation: the ring and the index never grow.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xray.h"

struct xr_replay {
	uint32_t mask;       /* ring size - 1 */
	uint32_t slot_mask;  /* index size - 1 */
	uint64_t head;       /* sequence number of the next record */
	struct xr_assignment *ring;
	uint32_t *slots;     /* ring position + 1; 0 is an empty slot */
};

static uint32_t
endpoint_hash(const uint8_t addr[16], uint16_t port)
{
	uint64_t a, b;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	a ^= b * 0x9e3779b97f4a7c15ULL ^ port;
	a ^= a >> 33;
	a *= 0xff51afd7ed558ccdULL;
	a ^= a >> 33;
	return (uint32_t)a;
}

static bool
same_endpoint(const struct xr_assignment *a, const uint8_t addr[16],
	      uint16_t port)
{
	return a->port == port && memcmp(a->addr, addr, 16) == 0;
}

struct xr_replay *
xr_replay_create(uint32_t capacity)
{
	struct xr_replay *r;
	uint32_t n = 16;

	if (capacity > (1u << 24))
		capacity = 1u << 24;
	while (n < capacity)
		n <<= 1;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->mask = n - 1;
	r->slot_mask = 2 * n - 1;
	/* calloc: pages are only touched, hence resident, as records come. */
	r->ring = calloc(n, sizeof(*r->ring));
	r->slots = calloc(2 * (size_t)n, sizeof(*r->slots));
	if (r->ring == NULL || r->slots == NULL) {
		xr_replay_free(r);
		return NULL;
	}
	return r;
}

void
xr_replay_free(struct xr_replay *r)
{
	if (r == NULL)
		return;
	free(r->ring);
	free(r->slots);
	free(r);
}

uint32_t
xr_replay_capacity(const struct xr_replay *r)
{
	return r->mask + 1;
}

/* Slot holding endpoint, or the empty slot where it would go. */
static uint32_t
find_slot(const struct xr_replay *r, const uint8_t addr[16], uint16_t port)
{
	uint32_t i = endpoint_hash(addr, port) & r->slot_mask;

	while (r->slots[i] != 0 &&
	       !same_endpoint(&r->ring[r->slots[i] - 1], addr, port))
		i = (i + 1) & r->slot_mask;
	return i;
}

/* Remove slot i, shifting back the entries of its probe run. */
static void
delete_slot(struct xr_replay *r, uint32_t i)
{
	uint32_t j = i;

	for (;;) {
		r->slots[i] = 0;
		for (;;) {
			j = (j + 1) & r->slot_mask;
			if (r->slots[j] == 0)
				return;

			const struct xr_assignment *a =
				&r->ring[r->slots[j] - 1];
			const uint32_t home =
				endpoint_hash(a->addr, a->port) & r->slot_mask;

			/* Stays if its home lies cyclically in (i, j]. */
			if (i <= j ? (i < home && home <= j) :
				     (i < home || home <= j))
				continue;
			break;
		}
		r->slots[i] = r->slots[j];
		i = j;
	}
}

void
xr_replay_put(struct xr_replay *r, const struct lc_xraylog_entry *e,
	      uint64_t now_us)
{
	const uint32_t pos = (uint32_t)(r->head & r->mask);
	struct xr_assignment *a = &r->ring[pos];
	uint32_t slot;

	/* The ring is full: forget the oldest record if it is indexed. */
	if (r->head > r->mask) {
		slot = find_slot(r, a->addr, a->port);
		if (r->slots[slot] == pos + 1)
			delete_slot(r, slot);
	}
	a->when_us = now_us;
	memcpy(a->addr, e->client_addr, 16);
	a->port = e->client_port;
	a->family = e->family;
	a->server = (int8_t)xr_node_server_of(e);
	a->email_len = (uint8_t)e->email_len;
	memcpy(a->email, e->email, e->email_len);
	a->email[e->email_len] = '\0';

	slot = find_slot(r, a->addr, a->port);
	r->slots[slot] = pos + 1;
	r->head++;
}

void
xr_replay_begin(const struct xr_replay *r, uint64_t now_us,
		uint64_t window_us, uint64_t *cursor, uint64_t *end)
{
	const uint64_t size = (uint64_t)r->mask + 1;
	uint64_t lo = r->head > size ? r->head - size : 0, hi = r->head;
	const uint64_t oldest = now_us > window_us ? now_us - window_us : 0;

	/* Records are in time order: find the first inside the window. */
	while (lo < hi) {
		const uint64_t mid = lo + (hi - lo) / 2;

		if (r->ring[mid & r->mask].when_us < oldest)
			lo = mid + 1;
		else
			hi = mid;
	}
	*cursor = lo;
	*end = r->head;
}

const struct xr_assignment *
xr_replay_next(const struct xr_replay *r, uint64_t *cursor, uint64_t end)
{
	const uint64_t size = (uint64_t)r->mask + 1;

	/* Records overwritten since the walk began are gone. */
	if (r->head > size && *cursor < r->head - size)
		*cursor = r->head - size;
	while (*cursor < end) {
		const uint32_t pos = (uint32_t)(*cursor & r->mask);
		const struct xr_assignment *a = &r->ring[pos];

		(*cursor)++;
		if (r->slots[find_slot(r, a->addr, a->port)] == pos + 1)
			return a;
	}
	return NULL;
}

int
xr_assignment_command(const struct xr_assignment *a, char *buf, size_t len)
{
	struct lc_xraylog_entry e;
	char ep[80], words[XR_CMD_MAX];
	int n;

	/* Reuse the parser's endpoint writer: one format, one place. */
	memset(&e, 0, sizeof(e));
	memcpy(e.client_addr, a->addr, 16);
	e.client_port = a->port;
	e.family = a->family;
	if (a->family == 4)
		snprintf(e.client_ip, sizeof(e.client_ip), "%u.%u.%u.%u",
			 a->addr[12], a->addr[13], a->addr[14], a->addr[15]);
	else if (inet_ntop(AF_INET6, a->addr, e.client_ip,
			   sizeof(e.client_ip)) == NULL)
		return -1;
	if (lc_xraylog_format_endpoint(&e, ep, sizeof(ep)) < 0 ||
	    xr_node_words(a->server, words, sizeof(words)) < 0)
		return -1;
	n = snprintf(buf, len, "assign %s %s%s\n", a->email, ep, words);
	return n > 0 && (size_t)n < len ? n : -1;
}
