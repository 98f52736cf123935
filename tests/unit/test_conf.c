/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "lc_conf.h"

struct warnings {
	int count;
	char last[512];
};

static void
collect_warning(void *arg, const char *msg)
{
	struct warnings *w = arg;

	w->count++;
	snprintf(w->last, sizeof(w->last), "%s", msg);
}

/* Write text to a temporary file and load it over the defaults. */
static int
load_text(const char *text, struct lc_conf *conf, struct warnings *w,
	  char *err, size_t errlen)
{
	char path[] = "/tmp/lc-test-conf.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	lc_conf_defaults(conf);
	int rc = lc_conf_load(path, conf, collect_warning, w, err, errlen);
	unlink(path);
	return rc;
}

static void
test_defaults(void **state)
{
	struct lc_conf c;

	(void)state;
	lc_conf_defaults(&c);
	assert_int_equal(c.wire.client_port, 0);
	assert_int_equal(c.wire.server_port, 1);
	assert_int_equal(c.wire.mode, LC_WIRE_INLINE);
	assert_string_equal(lc_vlan_mode_name(c.wire.vlan_mode), "qinq");
	assert_int_equal(c.wire.mtu, 9216);
	assert_int_equal(c.flows.capacity, 1048576);
	assert_true(c.flows.permit_invalid_flow);
	assert_int_equal(c.flows.tcp_timeout, 7440);
	assert_int_equal(c.flows.tcp_closing_timeout, 10);
	assert_int_equal(c.flows.udp_timeout, 180);
	assert_int_equal(c.flows.pending_ttl, 30);
	assert_int_equal(c.shaper.engine, LC_SHAPER_SCHED);
	assert_true(c.shaper.default_up == 1000000000ULL);
	assert_true(c.shaper.default_down == 1000000000ULL);
	assert_true(c.shaper.unassigned_up == 0);
	assert_int_equal(c.shaper.aqm, LC_SHAPER_AQM_PIE);
	assert_int_equal(c.shaper.queue_size, 256);
	assert_int_equal(c.users.capacity, 65536);
	assert_string_equal(c.users.state_file, "/var/lib/linecap/users.conf");
	assert_int_equal(c.users.gc_idle, 14400);
	assert_int_equal(c.users.gc_min_age, 600);
	assert_string_equal(c.mgmt.socket, "/run/linecap/linecap.sock");
	assert_int_equal(c.mgmt.socket_mode, 0660);
	assert_string_equal(c.mgmt.socket_group, "");
	assert_string_equal(c.metrics.listen, "");
}

static void
test_full_file(void **state)
{
	struct lc_conf c;
	struct warnings w = { 0 };
	char err[512] = "";
	const char *text =
		"[eal]\n"
		"args = --no-huge -m 512 --no-pci\n"
		"args = --vdev=net_pcap0,rx_pcap=a.pcap\n"
		"[wire]\n"
		"client_port = 1 ; comment\n"
		"server_port = 0\n"
		"mode = tap\n"
		"vlan_mode = vlan\n"
		"mtu = 1518\n"
		"[flows]\n"
		"capacity = 2048\n"
		"permit_invalid_flow = no\n"
		"tcp_timeout = 100\n"
		"[shaper]\n"
		"engine = police\n"
		"default_up = 2.5mbit\n"
		"default_down = 1gbit\n"
		"unassigned_down = 500kbit\n"
		"aqm = none\n"
		"[users]\n"
		"state_file = /tmp/users.conf\n"
		"[mgmt]\n"
		"socket = /tmp/x.sock\n"
		"socket_mode = 0600\n"
		"socket_group = linecap\n"
		"[metrics]\n"
		"listen = 127.0.0.1:9469\n";

	(void)state;
	assert_int_equal(load_text(text, &c, &w, err, sizeof(err)), 0);
	assert_int_equal(w.count, 0);
	assert_string_equal(c.eal.args,
		"--no-huge -m 512 --no-pci --vdev=net_pcap0,rx_pcap=a.pcap");
	assert_int_equal(c.wire.client_port, 1);
	assert_int_equal(c.wire.server_port, 0);
	assert_int_equal(c.wire.mode, LC_WIRE_TAP);
	assert_string_equal(lc_vlan_mode_name(c.wire.vlan_mode), "vlan");
	assert_int_equal(c.wire.mtu, 1518);
	assert_int_equal(c.flows.capacity, 2048);
	assert_false(c.flows.permit_invalid_flow);
	assert_int_equal(c.flows.tcp_timeout, 100);
	assert_int_equal(c.flows.udp_timeout, 180); /* default kept */
	assert_int_equal(c.shaper.engine, LC_SHAPER_POLICE);
	assert_true(c.shaper.default_up == 2500000);
	assert_true(c.shaper.unassigned_down == 500000);
	assert_int_equal(c.shaper.aqm, LC_SHAPER_AQM_NONE);
	assert_string_equal(c.users.state_file, "/tmp/users.conf");
	assert_string_equal(c.mgmt.socket, "/tmp/x.sock");
	assert_int_equal(c.mgmt.socket_mode, 0600);
	assert_string_equal(c.mgmt.socket_group, "linecap");
	assert_string_equal(c.metrics.listen, "127.0.0.1:9469");
}

/*
 * [mgmt] socket_group: a group name, or empty for the daemon's own group
 * (its default, so an empty value is taken, unlike the socket's path).
 * Whether the group exists is for linecapd to find when it makes the
 * socket, not for the file's parser.
 */
static void
test_socket_group(void **state)
{
	struct lc_conf c;
	struct warnings w = { 0 };
	char err[512] = "", text[256];

	(void)state;
	assert_int_equal(load_text("[mgmt]\nsocket_group = adm\n", &c, &w, err,
				   sizeof(err)), 0);
	assert_string_equal(c.mgmt.socket_group, "adm");
	assert_int_equal(load_text("[mgmt]\nsocket_group =\n", &c, &w, err,
				   sizeof(err)), 0);
	assert_string_equal(c.mgmt.socket_group, "");
	assert_int_equal(load_text("[mgmt]\nsocket_group = lc-not-a-group\n", &c,
				   &w, err, sizeof(err)), 0);
	assert_string_equal(c.mgmt.socket_group, "lc-not-a-group");
	assert_int_equal(w.count, 0);
	/* Longer than the field: refused, never cut. */
	snprintf(text, sizeof(text), "[mgmt]\nsocket_group = %0*d\n",
		 LC_CONF_NAME_MAX, 0);
	assert_int_not_equal(load_text(text, &c, &w, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "[mgmt] socket_group = '"));
	assert_non_null(strstr(err, "longer than 63 bytes"));
}

/* [host] is linecap-setup's: linecapd skips it without a warning. */
static void
test_host_section(void **state)
{
	struct lc_conf c, d;
	struct warnings w = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(load_text("[host]\nhugepages = 2G\n"
				   "bind = 0000:03:00.0 0000:03:00.1\n"
				   "driver = vfio-pci\nanything = at all\n"
				   "[wire]\nmtu = 1518\n", &c, &w, err,
				   sizeof(err)), 0);
	assert_int_equal(w.count, 0);
	assert_int_equal(c.wire.mtu, 1518);
	lc_conf_defaults(&d);
	d.wire.mtu = 1518;
	assert_memory_equal(&c, &d, sizeof(c));
}

/* [shaper] plans and plan_users: defaults, values, and a small capacity. */
static void
test_plan_keys(void **state)
{
	struct warnings w = { 0 };
	struct lc_conf c;
	char err[512];

	(void)state;
	lc_conf_defaults(&c);
	assert_int_equal(c.shaper.plans, 4);
	assert_int_equal(c.shaper.plan_users, 1024);
	assert_int_equal(load_text("[shaper]\nplans = 62\nplan_users = 300\n",
				   &c, &w, err, sizeof(err)), 0);
	assert_int_equal(c.shaper.plans, 62);
	assert_int_equal(c.shaper.plan_users, 300);
	assert_int_equal(load_text("[shaper]\nplans = 0\n", &c, &w, err,
				   sizeof(err)), 0);
	assert_int_equal(c.shaper.plans, 0);
	/* Unset, it is 1/64 of the capacity, from 16 to 1024; set, it may not pass it. */
	assert_int_equal(load_text("[users]\ncapacity = 100\n", &c, &w, err,
				   sizeof(err)), 0);
	assert_int_equal(c.shaper.plan_users, 16);
	assert_int_equal(load_text("[users]\ncapacity = 4096\n", &c, &w, err,
				   sizeof(err)), 0);
	assert_int_equal(c.shaper.plan_users, 64);
	assert_int_equal(load_text("[users]\ncapacity = 262144\n", &c, &w, err,
				   sizeof(err)), 0);
	assert_int_equal(c.shaper.plan_users, 1024);
	assert_int_equal(load_text("[users]\ncapacity = 100\n[shaper]\n"
				   "plan_users = 101\n", &c, &w, err,
				   sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "plan_users = '101': at most [users] "
			       "capacity (100)"));
	assert_int_equal(w.count, 0);
}

static void
test_unknown_warns(void **state)
{
	struct lc_conf c;
	struct warnings w = { 0 };
	char err[512] = "";

	(void)state;
	assert_int_equal(load_text("[wire]\nspeed = 10\n", &c, &w, err, sizeof(err)), 0);
	assert_int_equal(w.count, 1);
	assert_non_null(strstr(w.last, "[wire] speed: unknown key"));

	memset(&w, 0, sizeof(w));
	assert_int_equal(load_text("[bogus]\na = 1\nb = 2\n", &c, &w, err, sizeof(err)), 0);
	assert_int_equal(w.count, 1);
	assert_non_null(strstr(w.last, "[bogus]: unknown section"));
}

/* Each bad value is refused with a message naming section, key and value. */
static void
test_bad_values(void **state)
{
	static const struct {
		const char *text;
		const char *expect;
	} cases[] = {
		{ "[wire]\nmode = fast\n", "[wire] mode = 'fast': expected inline or tap" },
		{ "[wire]\nvlan_mode = deep\n", "[wire] vlan_mode = 'deep': expected untag, vlan or qinq" },
		{ "[wire]\nclient_port = -1\n", "[wire] client_port = '-1'" },
		{ "[wire]\nclient_port = 1\n", "[wire] server_port = '1': must differ" },
		{ "[wire]\nmtu = 20\n", "[wire] mtu = '20': expected an integer from 64" },
		{ "[wire]\nmtu = 9k\n", "[wire] mtu = '9k'" },
		{ "[flows]\npermit_invalid_flow = maybe\n", "[flows] permit_invalid_flow = 'maybe': expected yes or no" },
		{ "[flows]\ncapacity = 99999999999999999999\n", "[flows] capacity = '99999999999999999999'" },
		{ "[shaper]\ndefault_up = fast\n", "[shaper] default_up = 'fast': expected a rate" },
		{ "[shaper]\ndefault_up = 0\n", "[shaper] default_up = '0'" },
		{ "[shaper]\nengine = htb\n", "[shaper] engine = 'htb': expected sched or police" },
		{ "[shaper]\naqm = codel\n", "[shaper] aqm = 'codel': expected none, pie or red" },
		{ "[shaper]\nplans = 63\n", "[shaper] plans = '63': expected an integer from 0 to 62" },
		{ "[shaper]\nplan_users = 0\n", "[shaper] plan_users = '0'" },
		{ "[users]\ncapacity = 512\n[shaper]\nplan_users = 1024\n",
		  "[shaper] plan_users = '1024': at most [users] capacity (512)" },
		{ "[mgmt]\nsocket_mode = 0999\n", "[mgmt] socket_mode = '0999'" },
		{ "[mgmt]\nsocket =\n", "[mgmt] socket = ''" },
		{ "[metrics]\nlisten = localhost:9469\n",
		  "[metrics] listen = 'localhost:9469': expected ADDR:PORT" },
		{ "[metrics]\nlisten = 127.0.0.1\n", "[metrics] listen = '127.0.0.1'" },
		{ "[metrics]\nlisten = 127.0.0.1:0\n", "[metrics] listen = '127.0.0.1:0'" },
		{ "[metrics]\nlisten = ::1:9469\n", "[metrics] listen = '::1:9469'" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lc_conf c;
		struct warnings w = { 0 };
		char err[512] = "";

		assert_int_not_equal(load_text(cases[i].text, &c, &w, err, sizeof(err)), 0);
		if (strstr(err, cases[i].expect) == NULL)
			fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].expect);
	}
}

static void
test_bad_file(void **state)
{
	struct lc_conf c;
	struct warnings w = { 0 };
	char err[512] = "", longline[600];

	(void)state;
	lc_conf_defaults(&c);
	assert_int_equal(lc_conf_load("/nonexistent/linecap.conf", &c, NULL, NULL,
				      err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/linecap.conf"));

	assert_int_not_equal(load_text("[wire\nmode = tap\n", &c, &w, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a valid INI file"));

	/* A value rte_cfgfile would cut short is refused, not truncated. */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "[mgmt]\nsocket = /", 17);
	longline[17 + 254] = '\n';
	longline[17 + 255] = '\0';
	assert_int_not_equal(load_text(longline, &c, &w, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "[mgmt] socket: value longer than"));
}

/* The value of a numeric key's field in *c. */
static uint64_t
field_value(const struct lc_conf *c, const struct lc_conf_key *k)
{
	const char *p = (const char *)c + k->offset;

	if (k->size == sizeof(uint64_t)) {
		uint64_t v;

		memcpy(&v, p, sizeof(v));
		return v;
	}
	uint32_t v;

	assert_int_equal(k->size, sizeof(uint32_t));
	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Load "[section]\nname = value\n" (with the other port moved out of the
 * way when a port is set). Returns lc_conf_load()'s result; on success
 * *stored is the field's value.
 */
static int
load_key(const struct lc_conf_key *k, const char *value, uint64_t *stored,
	 char *err, size_t errlen)
{
	struct lc_conf c;
	struct warnings w = { 0 };
	char text[512];
	const char *other = "";

	if (strcmp(k->name, "client_port") == 0)
		other = strcmp(value, "1023") == 0 ? "server_port = 0\n" : "server_port = 1023\n";
	else if (strcmp(k->name, "server_port") == 0)
		other = strcmp(value, "1023") == 0 ? "client_port = 0\n" : "client_port = 1023\n";
	snprintf(text, sizeof(text), "[%s]\n%s%s = %s\n", k->section, other,
		 k->name, value);
	int rc = load_text(text, &c, &w, err, errlen);
	if (rc == 0)
		*stored = field_value(&c, k);
	return rc;
}

static void
expect_key_ok(const struct lc_conf_key *k, const char *value, uint64_t want)
{
	char err[512] = "";
	uint64_t got = 0;

	if (load_key(k, value, &got, err, sizeof(err)) != 0)
		fail_msg("[%s] %s = '%s' refused: %s", k->section, k->name, value, err);
	if (got != want)
		fail_msg("[%s] %s = '%s' stored as %" PRIu64 ", not %" PRIu64,
			 k->section, k->name, value, got, want);
}

static void
expect_key_refused(const struct lc_conf_key *k, const char *value)
{
	char err[512] = "", want[256];
	uint64_t got = 0;

	if (load_key(k, value, &got, err, sizeof(err)) == 0)
		fail_msg("[%s] %s = '%s' accepted as %" PRIu64, k->section,
			 k->name, value, got);
	/* The message names the key and the value as written. */
	snprintf(want, sizeof(want), "[%s] %s = '%s': expected", k->section,
		 k->name, value);
	if (strstr(err, want) == NULL)
		fail_msg("[%s] %s = '%s': message '%s'", k->section, k->name,
			 value, err);
}

/*
 * Every integer, octal and rate key of the file, at the edges of its range
 * and beyond every width a parse could wrap at: max and min are taken and
 * stored exactly, everything outside is refused with a message naming the
 * key. A key added later is covered by the same table.
 */
static void
test_numeric_keys(void **state)
{
	/* Refused by every numeric key, whatever its range. */
	static const char *const never[] = {
		"18446744073709551616",  /* 2^64 */
		"18446744073709551617",  /* 2^64 + 1 */
		"99999999999999999999999999999999",
		"-1", "-0", "+1", "1x", "0x10", "1e3", "1.5.5", "1 2",
		"", "k", "--1",
	};
	struct lc_conf_key k;
	unsigned n_numeric = 0;
	char v[64];

	(void)state;
	for (unsigned i = 0; lc_conf_key(i, &k) == 0; i++) {
		bool rate = strcmp(k.kind, "rate") == 0;
		bool octal = strcmp(k.kind, "octal") == 0;

		if (!rate && !octal && strcmp(k.kind, "integer") != 0)
			continue;
		n_numeric++;
		/* The range fits the field: a stored value is never cut. */
		assert_true(k.size == 4 || k.size == 8);
		if (k.size == 4 && k.max > UINT32_MAX)
			fail_msg("[%s] %s: max %" PRIu64 " in 4 bytes", k.section,
				 k.name, k.max);
		assert_true(k.min <= k.max);

		snprintf(v, sizeof(v), octal ? "%" PRIo64 : "%" PRIu64, k.max);
		expect_key_ok(&k, v, k.max);
		snprintf(v, sizeof(v), octal ? "%" PRIo64 : "%" PRIu64, k.min);
		if (!rate || k.min > 0)
			expect_key_ok(&k, v, k.min);
		snprintf(v, sizeof(v), octal ? "%" PRIo64 : "%" PRIu64, k.max + 1);
		expect_key_refused(&k, v);
		if (k.min > 0) {
			snprintf(v, sizeof(v), octal ? "%" PRIo64 : "%" PRIu64,
				 k.min - 1);
			expect_key_refused(&k, v);
		}
		/* 2^32: a parse into 32 bits would wrap it to 0. */
		if (k.max >= (UINT64_C(1) << 32))
			expect_key_ok(&k, "4294967296", UINT64_C(1) << 32);
		else
			expect_key_refused(&k, "4294967296");
		for (size_t j = 0; j < sizeof(never) / sizeof(never[0]); j++)
			expect_key_refused(&k, never[j]);
		if (rate) {
			/* Unit products that overflow 64 and 128 bits. */
			expect_key_refused(&k, "18446744073709551616tbit");
			expect_key_refused(&k, "17592186044417tibps");
			/* mant * 2^43 wraps 2^128 to exactly 2^43 bit/s. */
			expect_key_refused(&k, "38685626227668133591.597632tibps");
			/* ... and to 0, which means "no limit" for some keys. */
			expect_key_refused(&k, "38685626227668133590.597632tibps");
			expect_key_refused(&k, "10001gbit");
			expect_key_refused(&k, "1mbitx");
			expect_key_ok(&k, "10tbit", UINT64_C(10000000000000));
		}
		if (octal) {
			expect_key_refused(&k, "8");
			expect_key_refused(&k, "0779");
		}
	}
	/* Ports, counts, timeouts, sizes, rates and the socket mode. */
	assert_true(n_numeric >= 25);
}

/* Files that are not regular files are refused at once, not read. */
static void
test_not_regular(void **state)
{
	struct lc_conf c;
	char dir[] = "/tmp/lc-test-conf-dir.XXXXXX", path[128], err[512];

	(void)state;
	assert_non_null(mkdtemp(dir));
	lc_conf_defaults(&c);
	/* A FIFO with no writer: opening it must not wait for one. */
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(lc_conf_load(path, &c, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file (a FIFO)"));
	unlink(path);
	/* A link to a device that never ends. */
	snprintf(path, sizeof(path), "%s/zero.conf", dir);
	assert_int_equal(symlink("/dev/zero", path), 0);
	assert_int_equal(lc_conf_load(path, &c, NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file (a character device)"));
	unlink(path);
	assert_int_equal(lc_conf_load(dir, &c, NULL, NULL, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "not a regular file (a directory)"));
	/* Bigger than any config file. */
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)LC_CONF_FILE_MAX + 1), 0);
	close(fd);
	assert_int_equal(lc_conf_load(path, &c, NULL, NULL, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "1048577 bytes"));
	unlink(path);
	rmdir(dir);
}

/* [metrics] listen: an address and a port, IPv6 in brackets, or off. */
static void
test_listen(void **state)
{
	static const char *const good[] = {
		"127.0.0.1:9469", "0.0.0.0:1", "[::1]:65535", "[::]:9469",
		"[2001:db8::1]:80",
	};
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
		"127.0.0.1:80x", ":80", "[::1]80", "[::1]", "::1:80", "[127.0.0.1]:80",
		"[::1:80", "localhost:80", "1.2.3:80", " 127.0.0.1:80",
	};
	struct sockaddr_storage ss;
	socklen_t len = 0;
	struct lc_conf c;
	struct warnings w = { 0 };
	char err[512] = "";

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (lc_conf_parse_listen(good[i], &ss, &len) != 0)
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (lc_conf_parse_listen(bad[i], &ss, &len) == 0)
			fail_msg("'%s' accepted", bad[i]);

	assert_int_equal(lc_conf_parse_listen("127.0.0.1:9469", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9469);
	assert_int_equal(lc_conf_parse_listen("[::1]:80", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));

	/* Empty is off, as if the key were not there. */
	assert_int_equal(load_text("[metrics]\nlisten =\n", &c, &w, err, sizeof(err)), 0);
	assert_string_equal(c.metrics.listen, "");
}

static void
test_split_args(void **state)
{
	char s[] = "  --no-huge  -m 512 \"--vdev=a b\"\t-l 0,1 ";
	char *argv[8];

	(void)state;
	assert_int_equal(lc_conf_split_args(s, argv, 8), 6);
	assert_string_equal(argv[0], "--no-huge");
	assert_string_equal(argv[1], "-m");
	assert_string_equal(argv[2], "512");
	assert_string_equal(argv[3], "--vdev=a b");
	assert_string_equal(argv[4], "-l");
	assert_string_equal(argv[5], "0,1");

	char t[] = "a b c";
	assert_int_equal(lc_conf_split_args(t, argv, 2), -E2BIG);
	char e[] = "   ";
	assert_int_equal(lc_conf_split_args(e, argv, 2), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_file),
		cmocka_unit_test(test_unknown_warns),
		cmocka_unit_test(test_plan_keys),
		cmocka_unit_test(test_socket_group),
		cmocka_unit_test(test_host_section),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_bad_file),
		cmocka_unit_test(test_split_args),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_numeric_keys),
		cmocka_unit_test(test_not_regular),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
