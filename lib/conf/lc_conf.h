/* SPDX-License-Identifier: MIT */
/*
 * linecapd configuration.
 *
 * linecapd calls lc_conf_load() once at start, before EAL is initialised, to
 * read the INI file given with --config (rte_cfgfile). Every key has a default
 * (lc_conf_defaults(), from the one table of keys in conf.c), a bad value is
 * an error that names the section, the key and the value, and an unknown
 * section or key is a warning. The [host] section is linecap-setup's (the
 * host's hugepages and NIC drivers, set up before linecapd starts): linecapd
 * skips it. A key whose values are an enum of a block
 * (the wire's mode, the parser's vlan_mode, the shaper's engine and aqm) is
 * stored as that enum, by the names the block gives its values. The keys and
 * their meaning are documented in config/linecap.conf and docs/OPERATIONS.md.
 */
#ifndef LC_CONF_H
#define LC_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The enums of the blocks that own them, stored as they are. */
#include "lc_mgmt.h"
#include "lc_parse.h"
#include "lc_shaper.h"
#include "lc_wire.h"

#define LC_CONF_PATH_MAX 256
#define LC_CONF_EAL_MAX 2048
#define LC_CONF_NAME_MAX 64

struct lc_conf_eal {
	char args[LC_CONF_EAL_MAX]; /* EAL arguments, space separated */
};

struct lc_conf_wire {
	uint32_t client_port;
	uint32_t server_port;
	enum lc_wire_mode mode;
	enum lc_vlan_mode vlan_mode;
	uint32_t mtu;         /* largest L2 frame, without FCS */
	uint32_t rx_desc;
	uint32_t tx_desc;
	uint32_t mbufs;       /* packet buffers in the pool */
	uint32_t burst;       /* RX burst size */
	uint32_t tx_retries;  /* TX attempts before a frame is dropped */
	uint32_t idle_sleep;  /* microseconds to sleep after an idle poll */
	bool autostart;       /* receive from the start, or wait for 'start' */
	uint32_t workers;     /* worker lcores, each its own RX and TX queue */
};

struct lc_conf_flows {
	uint32_t capacity;
	bool permit_invalid_flow;
	uint32_t tcp_timeout;
	uint32_t tcp_closing_timeout;
	uint32_t udp_timeout;
	uint32_t pending_ttl;
};

struct lc_conf_shaper {
	enum lc_shaper_engine engine;
	uint64_t default_up;  /* bit/s */
	uint64_t default_down;
	uint64_t unassigned_up;   /* 0 = not limited */
	uint64_t unassigned_down;
	enum lc_shaper_aqm aqm;
	uint32_t queue_size;  /* packets per queue */
	uint64_t port_rate;   /* bit/s; 0 = link speed */
	uint32_t frame_overhead; /* bytes added to every frame */
	uint32_t profiles;    /* distinct (rate, burst) pairs per direction */
	uint32_t plans;       /* plan slots, ids 1..plans (0: no plans) */
	uint32_t plan_users;  /* users a plan holds at most (rounded up to 2^n) */
};

struct lc_conf_users {
	uint32_t capacity;
	char state_file[LC_CONF_PATH_MAX];
	uint32_t gc_idle;
	uint32_t gc_min_age;
};

#define LC_CONF_NAMES_MAX 1024
#define LC_CONF_LISTEN_MAX 64
struct lc_conf_mgmt {
	char socket[LC_CONF_PATH_MAX];
	uint32_t socket_mode;
	char socket_group[LC_CONF_NAME_MAX]; /* "": the daemon's own group */
	uint32_t max_clients;
	uint32_t idle_timeout;   /* seconds; 0: never */
	/* Management over TCP with TLS; listen empty: off. */
	char listen[LC_CONF_LISTEN_MAX]; /* "ADDR:PORT" */
	char tls_cert[LC_CONF_PATH_MAX];
	char tls_key[LC_CONF_PATH_MAX];
	char tls_ca[LC_CONF_PATH_MAX];
	char operators[LC_CONF_NAMES_MAX]; /* certificate CNs, space separated */
	char followers[LC_CONF_NAMES_MAX];
};

/* Prometheus metrics over HTTP (linecapd's metrics.c). */
struct lc_conf_metrics {
	char listen[LC_CONF_LISTEN_MAX]; /* "ADDR:PORT"; empty: off */
};

struct lc_conf {
	struct lc_conf_eal eal;
	struct lc_conf_wire wire;
	struct lc_conf_flows flows;
	struct lc_conf_shaper shaper;
	struct lc_conf_users users;
	struct lc_conf_mgmt mgmt;
	struct lc_conf_metrics metrics;
};

/* Called once for each warning (an unknown section or key). */
typedef void (*lc_conf_warn_fn)(void *arg, const char *msg);

/* Fill *conf with the default of every key. */
void lc_conf_defaults(struct lc_conf *conf);

/*
 * Load an INI file over the defaults. Returns 0, or -errno with a message
 * in err ("config.conf: [wire] mode = 'fast': expected inline or tap").
 * *conf is written only on success.
 */
int lc_conf_load(const char *path, struct lc_conf *conf, lc_conf_warn_fn warn,
		 void *warn_arg, char *err, size_t errlen);

/* The largest config file linecapd reads: far above any real one. */
#define LC_CONF_FILE_MAX (UINT64_C(1) << 20)

/*
 * A key of the file, for tests and tools: section, name, kind ("integer",
 * "octal", "rate", "bool", "enum", "string", "args", "listen"), where its
 * value goes in struct lc_conf (offset and size in bytes) and, for
 * integers, octals and rates, the range [min, max] it accepts.
 */
struct lc_conf_key {
	const char *section;
	const char *name;
	const char *kind;
	size_t offset;
	size_t size;
	uint64_t min, max;
};

/* The i-th key, from 0. Returns 0, or -ENOENT past the last. */
int lc_conf_key(unsigned int i, struct lc_conf_key *key);


/*
 * Parse an address to listen on as [metrics] listen writes it:
 * "IPV4:PORT" or "[IPV6]:PORT", an address and not a name, the port from 1
 * to 65535. Returns 0 or -EINVAL; *addr and *addr_len (each if not NULL)
 * are written only on success.
 */
int lc_conf_parse_listen(const char *text, struct sockaddr_storage *addr,
			 socklen_t *addr_len);

/* Parse a wire mode as the file writes it ("inline", "tap"): 0 or -EINVAL. */
int lc_conf_parse_mode(const char *text, enum lc_wire_mode *mode);

/*
 * Split an argument string on white space into at most max words, in place.
 * Double quotes group words. Returns the count, or -E2BIG.
 */
int lc_conf_split_args(char *s, char **argv, int max);

#endif /* LC_CONF_H */
