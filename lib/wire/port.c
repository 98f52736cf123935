/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>

#include "lc_mem.h"
#include "lc_wire.h"

/* Bytes a frame may carry beyond the configured MTU: FCS and two tags. */
#define FRAME_SLACK (RTE_ETHER_CRC_LEN + LC_WIRE_TAG_SLACK)

static bool
port_can_scatter(uint16_t port)
{
	struct rte_eth_dev_info info;

	if (rte_eth_dev_info_get(port, &info) != 0)
		return false;
	return (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) &&
	       (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
}

#define POOL_NAME "lc_pkt"
#define POOL_CACHE 256

/*
 * The packet pool's handler: DPDK's stack, last in first out, unless the
 * EAL was told another (--mbuf-pool-ops-name) or the stack driver is not
 * loaded. In DPDK 22.11 a worker's mempool cache that overflows sends all
 * it holds to the handler, and one that runs dry refills from it. With
 * the default ring (first in first out) an mbuf sent there comes back
 * only after every other free mbuf, hundreds of thousands in a pool sized
 * for full queues, its lines out of every cache when RX writes them.
 * Frames that wait in users' queues make a worker's frees and allocations
 * differ by hundreds from loop to loop, so at peak the cache spills and
 * refills often; from a stack, what a spill gave back is what the next
 * refill takes, still warm. The stack takes a lock, once per spill or
 * refill of a whole cache, never per frame. docs/SHAPING.md has the
 * measurements.
 */
#define POOL_OPS_PREFERRED "stack"

static const char *
pool_ops(void)
{
	const char *user = rte_mbuf_user_mempool_ops();

	return user != NULL ? user : POOL_OPS_PREFERRED;
}

/* Give back a pool's chunk of pool_create_thp(): its own pages. */
static void
thp_chunk_free(struct rte_mempool_memhdr *hdr, void *opaque)
{
	(void)opaque;
	lc_mem_unmap(hdr->addr, hdr->len);
}

/*
 * The packet pool without hugepages: its mbufs in memory of linecapd's
 * own, advised for transparent huge pages (lc_mem.h): a frame that has
 * waited in a user's queue is read cold, and in 4 KiB pages each read
 * would miss the TLB too. Only where IOVAs are virtual addresses: no
 * device needs the physical address of these pages. NULL when it cannot
 * be done; the caller then makes the pool as usual.
 */
static struct rte_mempool *
pool_create_thp(uint32_t n, uint16_t room, int socket_id)
{
	struct rte_pktmbuf_pool_private priv = { .mbuf_data_room_size = room };
	struct rte_mempool *mp;
	size_t len;
	void *base;
	int rc;

	/*
	 * An mbuf may cross a 4 KiB page: its IOVA is its address (IOVA as
	 * VA), contiguous whatever backs it. Without the flag the mempool
	 * would put one 2 KiB mbuf in each 4 KiB page, as it does in the
	 * EAL's memory without hugepages.
	 */
	mp = rte_mempool_create_empty(POOL_NAME, n, sizeof(struct rte_mbuf) + room, POOL_CACHE,
				      sizeof(priv), socket_id, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
	if (mp == NULL)
		return NULL;
	if (rte_mempool_set_ops_byname(mp, pool_ops(), NULL) != 0 &&
	    rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), NULL) != 0)
		goto fail;
	rte_pktmbuf_pool_init(mp, &priv);
	base = lc_mem_map((size_t)n * (mp->header_size + mp->elt_size + mp->trailer_size) +
			  RTE_CACHE_LINE_SIZE, &len);
	if (base == NULL)
		goto fail;
	/* One chunk, IOVA its address, unmapped with the pool (thp_chunk_free()). */
	rc = rte_mempool_populate_iova(mp, base, (rte_iova_t)(uintptr_t)base, len,
				       thp_chunk_free, NULL);
	if (rc < 0 || mp->populated_size < n) {
		/* A chunk that took the memory gives it back with the pool. */
		if (mp->nb_mem_chunks == 0)
			lc_mem_unmap(base, len);
		rte_mempool_free(mp);
		return NULL;
	}
	rte_mempool_obj_iter(mp, rte_pktmbuf_init, NULL);
	return mp;
fail:
	rte_mempool_free(mp);
	return NULL;
}

struct rte_mempool *
lc_wire_pool_create(const uint16_t port[LC_SIDE_MAX], uint32_t mtu, uint32_t n,
		    int socket_id)
{
	uint32_t room = RTE_MBUF_DEFAULT_BUF_SIZE;
	struct rte_mempool *mp;

	/*
	 * Chained 2 KiB segments keep memory small, but only a device that can
	 * scatter on RX and gather on TX may receive a jumbo frame into them.
	 * Otherwise every mbuf must hold the largest frame in one segment.
	 */
	if (!port_can_scatter(port[LC_SIDE_CLIENT]) ||
	    !port_can_scatter(port[LC_SIDE_SERVER])) {
		uint32_t need = RTE_PKTMBUF_HEADROOM + mtu + FRAME_SLACK;

		if (need > room)
			room = RTE_ALIGN_CEIL(need, 64);
	}
	if (rte_eal_has_hugepages() == 0 && rte_eal_iova_mode() == RTE_IOVA_VA) {
		mp = pool_create_thp(n, (uint16_t)room, socket_id);
		if (mp != NULL)
			return mp;
	}
	mp = rte_pktmbuf_pool_create_by_ops(POOL_NAME, n, POOL_CACHE, 0, (uint16_t)room,
					    socket_id, pool_ops());
	if (mp == NULL)
		mp = rte_pktmbuf_pool_create(POOL_NAME, n, POOL_CACHE, 0, (uint16_t)room,
					     socket_id);
	return mp;
}

const char *
lc_wire_pool_ops(const struct rte_mempool *mp)
{
	const struct rte_mempool_ops *ops = rte_mempool_get_ops(mp->ops_index);

	return ops->name;
}

static void
pool_sum_thp(struct rte_mempool *mp, void *arg, struct rte_mempool_memhdr *hdr,
	     unsigned int idx)
{
	(void)mp;
	(void)idx;
	if (hdr->free_cb == thp_chunk_free)
		*(size_t *)arg += hdr->len;
}

size_t
lc_wire_pool_thp_bytes(struct rte_mempool *mp)
{
	size_t bytes = 0;

	if (mp != NULL)
		rte_mempool_mem_iter(mp, pool_sum_thp, &bytes);
	return bytes;
}

int
lc_wire_port_init(uint16_t port, struct rte_mempool *pool, uint32_t mtu,
		  uint16_t rx_desc, uint16_t tx_desc, uint16_t queues)
{
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info info;
	struct rte_eth_rxconf rxconf;
	struct rte_eth_txconf txconf;
	uint32_t room = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM;
	int socket = rte_eth_dev_socket_id(port);
	int rc;

	if (!rte_eth_dev_is_valid_port(port))
		return -ENODEV;
	if (queues == 0)
		queues = 1;
	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0)
		return rc;
	if (queues > info.max_rx_queues || queues > info.max_tx_queues)
		return -ERANGE;
	if (socket < 0)
		socket = (int)rte_socket_id();

	/*
	 * The MTU of ethdev excludes the Ethernet header; ours is the whole
	 * L2 frame. No RX or TX offload that rewrites a frame is requested:
	 * no VLAN strip or insert, no checksum, no LRO/TSO. Only scatter and
	 * multi-segment TX, which move bytes without changing them.
	 */
	uint32_t eth_mtu = mtu - RTE_ETHER_HDR_LEN;
	if (eth_mtu > info.max_mtu)
		eth_mtu = info.max_mtu;
	/*
	 * Some devices (af_packet) state their largest frame only in
	 * max_rx_pktlen; ethdev refuses an MTU whose frame exceeds it.
	 */
	if (info.max_rx_pktlen > RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN &&
	    eth_mtu > info.max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN)
		eth_mtu = info.max_rx_pktlen - RTE_ETHER_HDR_LEN - RTE_ETHER_CRC_LEN;
	if (eth_mtu < info.min_mtu)
		eth_mtu = info.min_mtu;
	conf.rxmode.mtu = eth_mtu;
	if (mtu + FRAME_SLACK > room) {
		if (!(info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER))
			return -ENOTSUP;
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
	}
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	/*
	 * Several queues: RSS over the IP addresses with a symmetric key, so
	 * that both directions of a flow reach the same worker, where the
	 * device hashes at all (vdevs spread frames their own way).
	 */
	if (queues > 1 && (info.flow_type_rss_offloads & RTE_ETH_RSS_IP)) {
		static uint8_t sym_key[40];

		memset(sym_key, 0, sizeof(sym_key));
		for (size_t i = 0; i < sizeof(sym_key); i += 2) {
			sym_key[i] = 0x6d;
			sym_key[i + 1] = 0x5a;
		}
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = info.hash_key_size == 40 ? sym_key : NULL;
		conf.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size == 40 ? 40 : 0;
		conf.rx_adv_conf.rss_conf.rss_hf = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
	}

	rc = rte_eth_dev_configure(port, queues, queues, &conf);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_desc, &tx_desc);
	if (rc != 0)
		return rc;

	rxconf = info.default_rxconf;
	rxconf.offloads = conf.rxmode.offloads;
	txconf = info.default_txconf;
	txconf.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < queues; q++) {
		rc = rte_eth_rx_queue_setup(port, q, rx_desc, (unsigned int)socket,
					    &rxconf, pool);
		if (rc != 0)
			return rc;
		rc = rte_eth_tx_queue_setup(port, q, tx_desc, (unsigned int)socket,
					    &txconf);
		if (rc != 0)
			return rc;
	}

	/* Packet type parsing is done by lib/parse; the device need not. */
	rte_eth_dev_set_ptypes(port, RTE_PTYPE_UNKNOWN, NULL, 0);

	rc = rte_eth_dev_start(port);
	if (rc != 0)
		return rc;
	/* A bump in the wire receives every frame, whoever it is for. */
	rc = rte_eth_promiscuous_enable(port);
	if (rc != 0 && rc != -ENOTSUP)
		return rc;
	rc = rte_eth_allmulticast_enable(port);
	if (rc != 0 && rc != -ENOTSUP)
		return rc;
	return 0;
}
