/* SPDX-License-Identifier: MIT */
/*
 * The flow key of a parsed frame. Kept apart from the table so that the
 * worker can build keys for a whole burst before touching the hash.
 */
#include <stddef.h>
#include <string.h>

#include <netinet/in.h>

#include <rte_common.h>

#include "lc_flow.h"

/*
 * The key is hashed and compared as raw bytes, so it must have no implicit
 * padding, and its size is one rte_hash compares with vector instructions.
 */
_Static_assert(sizeof(struct lc_flow_key) == 48, "flow key is 48 bytes");
_Static_assert(offsetof(struct lc_flow_key, client_port) == 32, "key layout");
_Static_assert(offsetof(struct lc_flow_key, vlan) == 36, "key layout");
_Static_assert(offsetof(struct lc_flow_key, inner_vlan) == 40, "key layout");
_Static_assert(offsetof(struct lc_flow_key, l4_proto) == 44, "key layout");
_Static_assert(offsetof(struct lc_flow_key, n_inner_vlans) == 47,
	       "key layout");

bool
lc_flow_key_from_parse(const struct lc_parse_result *pr, bool from_client_port,
		       struct lc_flow_key *key)
{
	uint16_t sport, dport;
	unsigned i, n_vlans;

	if (pr->reason != LC_PARSE_OK ||
	    (pr->ip_version != 4 && pr->ip_version != 6))
		return false;

	switch (pr->l4_proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		/* A fragment after the first has no ports: the caller
		 * forwards it without a flow. */
		if (!(pr->flags & LC_PARSE_F_PORTS))
			return false;
		sport = pr->sport;
		dport = pr->dport;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* Only echo carries an identifier that both directions share;
		 * ICMP errors are not tracked. */
		if (!(pr->flags & LC_PARSE_F_ICMP_ID))
			return false;
		sport = pr->icmp_id;
		dport = pr->icmp_id;
		break;
	default:
		return false;
	}

	/* Every byte is written, unused VLAN slots included, because the
	 * hash reads them all. */
	memset(key, 0, sizeof(*key));
	if (from_client_port) {
		memcpy(key->client, pr->src, sizeof(key->client));
		memcpy(key->server, pr->dst, sizeof(key->server));
		key->client_port = sport;
		key->server_port = dport;
	} else {
		memcpy(key->client, pr->dst, sizeof(key->client));
		memcpy(key->server, pr->src, sizeof(key->server));
		key->client_port = dport;
		key->server_port = sport;
	}
	n_vlans = RTE_MIN(pr->n_vlans, LC_PARSE_MAX_VLANS);
	for (i = 0; i < n_vlans; i++)
		key->vlan[i] = pr->vlan[i] & 0x0fff;
	key->n_vlans = (uint8_t)n_vlans;
	n_vlans = RTE_MIN(pr->n_inner_vlans, LC_PARSE_MAX_VLANS);
	for (i = 0; i < n_vlans; i++)
		key->inner_vlan[i] = pr->inner_vlan[i] & 0x0fff;
	key->n_inner_vlans = (uint8_t)n_vlans;
	key->l4_proto = pr->l4_proto;
	key->ip_version = pr->ip_version;
	return true;
}
