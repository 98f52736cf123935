/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <rte_cfgfile.h>

#include "lc_conf.h"
#include "lc_file.h"
#include "lc_num.h"
#include "lc_rate.h"

enum key_type {
	KEY_STR,
	KEY_UINT,
	KEY_BOOL,
	KEY_RATE,
	KEY_ENUM,
	KEY_OCTAL,
	KEY_ARGS, /* may repeat; values are joined with a space */
	KEY_LISTEN, /* ADDR:PORT, or empty: off */
};

/* The name of an enum's value, NULL past the last: the block's own. */
typedef const char *(*enum_name_fn)(uint32_t value);

/*
 * One key of the file: where its value goes in struct lc_conf, how it is
 * checked, and its default. Enums are the blocks' own (the name function
 * of the block that owns the enum), stored as that enum.
 */
struct key_def {
	const char *section;
	const char *name;
	enum key_type type;
	size_t offset;
	size_t size;          /* bytes of the field */
	uint64_t min, max;    /* KEY_UINT, KEY_OCTAL, KEY_RATE */
	enum_name_fn names;   /* KEY_ENUM */
	uint64_t dflt;        /* the default, but of KEY_STR and KEY_ARGS */
	const char *dflt_str; /* KEY_STR's default */
};

static const char *
wire_mode_name(uint32_t v)
{
	return lc_wire_mode_name((enum lc_wire_mode)v);
}

static const char *
vlan_mode_name(uint32_t v)
{
	return lc_vlan_mode_name((enum lc_vlan_mode)v);
}

static const char *
engine_name(uint32_t v)
{
	return lc_shaper_engine_name((enum lc_shaper_engine)v);
}

static const char *
aqm_name(uint32_t v)
{
	return lc_shaper_aqm_name((enum lc_shaper_aqm)v);
}

#define F(sec, field) offsetof(struct lc_conf, sec.field)
#define Z(sec, field) sizeof(((struct lc_conf *)0)->sec.field)
#define U(sec, key, lo, hi, def) \
	{ #sec, #key, KEY_UINT, F(sec, key), Z(sec, key), lo, hi, NULL, def, NULL }
#define O(sec, key, hi, def) \
	{ #sec, #key, KEY_OCTAL, F(sec, key), Z(sec, key), 0, hi, NULL, def, NULL }
#define B(sec, key, def) \
	{ #sec, #key, KEY_BOOL, F(sec, key), Z(sec, key), 0, 1, NULL, def, NULL }
#define R(sec, key, lo, def) \
	{ #sec, #key, KEY_RATE, F(sec, key), Z(sec, key), lo, LC_RATE_MAX, NULL, def, NULL }
#define E(sec, key, fn, def) \
	{ #sec, #key, KEY_ENUM, F(sec, key), Z(sec, key), 0, 0, fn, def, NULL }
#define S(sec, key, def) \
	{ #sec, #key, KEY_STR, F(sec, key), Z(sec, key), 0, 0, NULL, 0, def }
#define L(sec, key, def) \
	{ #sec, #key, KEY_LISTEN, F(sec, key), Z(sec, key), 0, 0, NULL, 0, def }

static const struct key_def key_defs[] = {
	{ "eal", "args", KEY_ARGS, F(eal, args), LC_CONF_EAL_MAX, 0, 0, NULL, 0, NULL },

	U(wire, client_port, 0, 1023, 0),
	U(wire, server_port, 0, 1023, 1),
	E(wire, mode, wire_mode_name, LC_WIRE_INLINE),
	E(wire, vlan_mode, vlan_mode_name, LC_VLAN_MODE_QINQ), /* as in production */
	U(wire, mtu, 64, 16128, 9216),
	U(wire, rx_desc, 64, 16384, 1024),
	U(wire, tx_desc, 64, 16384, 1024),
	U(wire, mbufs, 1024, 16777216, 32768),
	U(wire, burst, 1, 256, 32),
	U(wire, tx_retries, 1, 1000, 8),
	U(wire, idle_sleep, 0, 1000000, 0),
	B(wire, autostart, true),
	U(wire, workers, 1, 16, 1),

	U(flows, capacity, 1024, 67108864, 1048576),
	B(flows, permit_invalid_flow, true),
	U(flows, tcp_timeout, 1, 864000, LC_FLOW_DEFAULT_TCP_TIMEOUT),
	U(flows, tcp_closing_timeout, 1, 864000, 10),
	U(flows, udp_timeout, 1, 864000, 180),
	U(flows, pending_ttl, 1, 86400, 30),

	E(shaper, engine, engine_name, LC_SHAPER_SCHED),
	R(shaper, default_up, 1, 1000000000),
	R(shaper, default_down, 1, 1000000000),
	R(shaper, unassigned_up, 0, 0),
	R(shaper, unassigned_down, 0, 0),
	E(shaper, aqm, aqm_name, LC_SHAPER_AQM_PIE),
	U(shaper, queue_size, 2, 32768, 256),
	R(shaper, port_rate, 0, 0),
	U(shaper, frame_overhead, 0, 64, 0),
	U(shaper, profiles, 2, 65536, 1024),
	U(shaper, plans, 0, LC_SHAPER_PLANS_MAX, 4),
	U(shaper, plan_users, 1, 65536, LC_SHAPER_PLAN_USERS_DEFAULT),

	U(users, capacity, 16, 1048576, 65536),
	S(users, state_file, "/var/lib/linecap/users.conf"),
	U(users, gc_idle, 1, 31536000, 14400),
	U(users, gc_min_age, 0, 31536000, 600),

	S(mgmt, socket, LC_MGMT_SOCKET_DEFAULT),
	O(mgmt, socket_mode, 0777, 0660),
	S(mgmt, socket_group, ""),    /* empty: the daemon's own group */
	U(mgmt, max_clients, 1, 4096, 64),
	U(mgmt, idle_timeout, 0, 86400, 300),
	L(mgmt, listen, ""),
	S(mgmt, tls_cert, ""),
	S(mgmt, tls_key, ""),
	S(mgmt, tls_ca, ""),
	S(mgmt, operators, ""),
	S(mgmt, followers, ""),

	L(metrics, listen, ""),
};

#undef F
#undef Z
#undef U
#undef O
#undef B
#undef R
#undef E
#undef S
#undef L

/*
 * Store a checked value into its field, by the field's size. Every key's
 * max fits its field (the unit test checks it through lc_conf_key()), so
 * nothing is cut here.
 */
static void
store_uint(void *dst, size_t size, uint64_t v)
{
	if (size == sizeof(uint64_t)) {
		*(uint64_t *)dst = v;
	} else if (size == sizeof(bool)) {
		*(bool *)dst = v != 0;
	} else {
		uint32_t w = (uint32_t)v;

		memcpy(dst, &w, sizeof(w));
	}
}

void
lc_conf_defaults(struct lc_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	for (size_t i = 0; i < sizeof(key_defs) / sizeof(key_defs[0]); i++) {
		const struct key_def *k = &key_defs[i];
		char *dst = (char *)conf + k->offset;

		if (k->type == KEY_STR || k->type == KEY_LISTEN)
			snprintf(dst, k->size, "%s", k->dflt_str);
		else if (k->type != KEY_ARGS)
			store_uint(dst, k->size, k->dflt);
	}
}

static void
warnf(lc_conf_warn_fn warn, void *arg, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (warn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	warn(arg, msg);
}

/*
 * Sections of the file that another program reads: linecap-setup prepares
 * the host (hugepages, NIC drivers) from [host] before linecapd starts.
 * linecapd skips them, without a warning and without looking at their keys.
 */
static const char *const other_sections[] = { "host" };

static bool
other_section(const char *section)
{
	for (size_t i = 0; i < sizeof(other_sections) / sizeof(other_sections[0]); i++)
		if (strcmp(other_sections[i], section) == 0)
			return true;
	return false;
}

static const struct key_def *
find_key(const char *section, const char *name, bool *section_known)
{
	*section_known = false;
	for (size_t i = 0; i < sizeof(key_defs) / sizeof(key_defs[0]); i++) {
		if (strcmp(key_defs[i].section, section) != 0)
			continue;
		*section_known = true;
		if (strcmp(key_defs[i].name, name) == 0)
			return &key_defs[i];
	}
	return NULL;
}

static int
parse_bool(const char *v, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int
parse_enum(const char *v, enum_name_fn names, uint32_t *out)
{
	for (uint32_t i = 0; names(i) != NULL; i++) {
		if (strcmp(v, names(i)) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* "a, b or c" */
static void
enum_list(enum_name_fn names, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; names(i) != NULL && off < size; i++)
		off += snprintf(buf + off, size - off, "%s%s",
				i == 0 ? "" : (names(i + 1) == NULL ? " or " : ", "),
				names(i));
}

/* Apply one entry to *conf. On error, write the reason (after "= 'value': "). */
static int
apply_key(struct lc_conf *conf, const struct key_def *k, const char *v,
	  char *why, size_t whylen)
{
	void *dst = (char *)conf + k->offset;
	uint64_t u;
	int rc;

	switch (k->type) {
	case KEY_STR:
		if (strlen(v) >= k->size) {
			snprintf(why, whylen, "longer than %zu bytes", k->size - 1);
			return -EINVAL;
		}
		/* A key whose default is empty may be set back to it. */
		if (v[0] == '\0' && k->dflt_str[0] != '\0') {
			snprintf(why, whylen, "must not be empty");
			return -EINVAL;
		}
		memcpy(dst, v, strlen(v) + 1);
		return 0;
	case KEY_LISTEN:
		if (strlen(v) >= k->size || (v[0] != '\0' &&
		    lc_conf_parse_listen(v, NULL, NULL) != 0)) {
			snprintf(why, whylen, "expected ADDR:PORT, such as 127.0.0.1:9469 "
				 "or [::1]:9469 (an IP address, not a name, and a port "
				 "from 1 to 65535), or nothing for off");
			return -EINVAL;
		}
		memcpy(dst, v, strlen(v) + 1);
		return 0;
	case KEY_ARGS: {
		char *s = dst;
		size_t cur = strlen(s), add = strlen(v);

		if (cur + add + 2 > k->size) {
			snprintf(why, whylen, "EAL arguments longer than %zu bytes",
				 k->size - 1);
			return -EINVAL;
		}
		if (cur > 0)
			s[cur++] = ' ';
		memcpy(s + cur, v, add + 1);
		return 0;
	}
	case KEY_UINT:
	case KEY_OCTAL:
		rc = lc_num_parse_base(v, k->type == KEY_OCTAL ? 8 : 10, k->min,
				       k->max, &u);
		if (rc != 0) {
			if (k->type == KEY_OCTAL)
				snprintf(why, whylen, "expected an octal mode up to %" PRIo64,
					 k->max);
			else
				snprintf(why, whylen, "expected an integer from %" PRIu64
					 " to %" PRIu64, k->min, k->max);
			return rc;
		}
		store_uint(dst, k->size, u);
		return 0;
	case KEY_BOOL:
		rc = parse_bool(v, dst);
		if (rc != 0)
			snprintf(why, whylen, "expected yes or no");
		return rc;
	case KEY_RATE:
		rc = lc_rate_parse(v, &u);
		if (rc == 0 && u < k->min)
			rc = -ERANGE;
		if (rc != 0) {
			snprintf(why, whylen, "expected a rate such as 500kbit, "
				 "10mbit or 2.5gbit%s", k->min > 0 ? ", above 0" : "");
			return rc;
		}
		store_uint(dst, k->size, u);
		return 0;
	case KEY_ENUM: {
		char list[128];

		rc = parse_enum(v, k->names, dst);
		if (rc != 0) {
			enum_list(k->names, list, sizeof(list));
			snprintf(why, whylen, "expected %s", list);
		}
		return rc;
	}
	}
	return -EINVAL;
}


static const char *const kind_names[] = {
	[KEY_STR] = "string", [KEY_UINT] = "integer", [KEY_BOOL] = "bool",
	[KEY_RATE] = "rate", [KEY_ENUM] = "enum", [KEY_OCTAL] = "octal",
	[KEY_ARGS] = "args", [KEY_LISTEN] = "listen",
};

int
lc_conf_key(unsigned int i, struct lc_conf_key *key)
{
	const struct key_def *k;

	if (i >= sizeof(key_defs) / sizeof(key_defs[0]))
		return -ENOENT;
	k = &key_defs[i];
	key->section = k->section;
	key->name = k->name;
	key->kind = kind_names[k->type];
	key->offset = k->offset;
	key->size = k->size;
	key->min = k->min;
	key->max = k->max;
	return 0;
}

int
lc_conf_load(const char *path, struct lc_conf *out, lc_conf_warn_fn warn,
	     void *warn_arg, char *err, size_t errlen)
{
	struct rte_cfgfile_entry *entries = NULL;
	struct rte_cfgfile *cfg;
	struct lc_conf conf = *out;
	int rc = 0;

	/*
	 * rte_cfgfile truncates a value that does not fit silently, so a value
	 * of exactly the maximum length is treated as too long below.
	 */
	int fd = lc_file_open_regular(path, LC_CONF_FILE_MAX, NULL, err, errlen);
	if (fd < 0)
		return fd;
	/*
	 * rte_cfgfile opens by name: give it the file just checked, so that
	 * nothing swapped in between (a FIFO would hang it) is read.
	 */
	char fdpath[64];
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	cfg = rte_cfgfile_load(fdpath, CFG_FLAG_EMPTY_VALUES);
	close(fd);
	if (cfg == NULL) {
		snprintf(err, errlen, "%s: not a valid INI file (a line longer than "
			 "%d bytes, a malformed section or an entry outside a "
			 "section)", path, CFG_NAME_LEN + CFG_VALUE_LEN);
		return -EINVAL;
	}

	/* Keys that repeat accumulate into the defaults; start them empty. */
	conf.eal.args[0] = '\0';

	int nsec = rte_cfgfile_num_sections(cfg, NULL, 0);
	for (int s = 0; s < nsec && rc == 0; s++) {
		char section[CFG_NAME_LEN];
		int n = rte_cfgfile_section_num_entries_by_index(cfg, section, s);

		if (n < 0) {
			snprintf(err, errlen, "%s: cannot read section %d", path, s);
			rc = -EINVAL;
			break;
		}
		free(entries);
		entries = calloc(n > 0 ? n : 1, sizeof(*entries));
		if (entries == NULL) {
			rc = -ENOMEM;
			snprintf(err, errlen, "%s: out of memory", path);
			break;
		}
		n = rte_cfgfile_section_entries_by_index(cfg, s, section, entries, n);

		bool known;
		if (other_section(section))
			continue;
		find_key(section, "", &known);
		if (!known) {
			warnf(warn, warn_arg, "%s: [%s]: unknown section, ignored",
			      path, section);
			continue;
		}
		for (int e = 0; e < n; e++) {
			const char *name = entries[e].name, *value = entries[e].value;
			bool section_known;
			const struct key_def *k = find_key(section, name, &section_known);
			char why[256];

			if (k == NULL) {
				warnf(warn, warn_arg, "%s: [%s] %s: unknown key, ignored",
				      path, section, name);
				continue;
			}
			if (strlen(value) >= CFG_VALUE_LEN - 1) {
				snprintf(err, errlen, "%s: [%s] %s: value longer than %d "
					 "bytes%s", path, section, name, CFG_VALUE_LEN - 2,
					 k->type == KEY_ARGS ? " (split it over several "
					 "'args =' lines)" : "");
				rc = -EINVAL;
				break;
			}
			rc = apply_key(&conf, k, value, why, sizeof(why));
			if (rc != 0) {
				snprintf(err, errlen, "%s: [%s] %s = '%s': %s", path,
					 section, name, value, why);
				break;
			}
		}
	}
	free(entries);
	/*
	 * Unset, plan_users is 1/64 of the [users] capacity (at least 16),
	 * from 16 to 1024: each plan reserves queues for that many users,
	 * so that the plans of a small capacity cost a small part of its
	 * memory, and a file written before plans existed still fits where
	 * it did.
	 */
	if (rc == 0 && !rte_cfgfile_has_entry(cfg, "shaper", "plan_users"))
		conf.shaper.plan_users =
			RTE_MAX(RTE_MIN(conf.users.capacity / 64, LC_SHAPER_PLAN_USERS_DEFAULT),
				16u);
	rte_cfgfile_close(cfg);

	if (rc == 0 && conf.wire.client_port == conf.wire.server_port) {
		snprintf(err, errlen, "%s: [wire] server_port = '%u': must differ "
			 "from client_port", path, conf.wire.server_port);
		rc = -EINVAL;
	}
	/*
	 * A plan never holds more users than exist; the shaper sizes each
	 * plan's pipes for plan_users, so a larger value is memory spent on
	 * nothing.
	 */
	if (rc == 0 && conf.shaper.plan_users > conf.users.capacity) {
		snprintf(err, errlen, "%s: [shaper] plan_users = '%u': at most "
			 "[users] capacity (%u)", path, conf.shaper.plan_users,
			 conf.users.capacity);
		rc = -EINVAL;
	}
	if (rc == 0)
		*out = conf;
	return rc;
}

int
lc_conf_parse_listen(const char *text, struct sockaddr_storage *addr,
		     socklen_t *addr_len)
{
	char host[INET6_ADDRSTRLEN + 2];
	struct sockaddr_storage ss;
	bool bracketed = text[0] == '[';
	const char *colon;
	uint64_t port;
	size_t n;

	memset(&ss, 0, sizeof(ss));
	if (bracketed) {
		const char *end = strchr(text, ']');

		if (end == NULL || end[1] != ':')
			return -EINVAL;
		n = (size_t)(end - text - 1);
		colon = end + 1;
		text++;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			return -EINVAL;
		n = (size_t)(colon - text);
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	if (lc_num_parse_base(colon + 1, 10, 1, 65535, &port) != 0)
		return -EINVAL;

	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;

	if (!bracketed && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		len = sizeof(*in4);
	} else if (bracketed && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		len = sizeof(*in6);
	} else {
		return -EINVAL;
	}
	if (addr != NULL)
		*addr = ss;
	if (addr_len != NULL)
		*addr_len = len;
	return 0;
}

int
lc_conf_parse_mode(const char *text, enum lc_wire_mode *mode)
{
	uint32_t v;
	int rc = parse_enum(text, wire_mode_name, &v);

	if (rc == 0)
		*mode = (enum lc_wire_mode)v;
	return rc;
}

int
lc_conf_split_args(char *s, char **argv, int max)
{
	int argc = 0;
	char *r = s, *w = s;

	for (;;) {
		while (isspace((unsigned char)*r))
			r++;
		if (*r == '\0')
			break;
		if (argc >= max)
			return -E2BIG;
		argv[argc++] = w;
		bool quoted = false;
		while (*r != '\0' && (quoted || !isspace((unsigned char)*r))) {
			if (*r == '"')
				quoted = !quoted;
			else
				*w++ = *r;
			r++;
		}
		if (*r != '\0')
			r++;
		*w++ = '\0';
	}
	return argc;
}
