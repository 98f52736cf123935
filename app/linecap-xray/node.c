/* SPDX-License-Identifier: MIT */
/*
 * The VPN node this follower speaks for (--node NAME, --node-addr
 * [TAG=]IP:PORT): what it adds to every assign command it sends, and the
 * hello it says first on every connection. Set once at start; without
 * --node and --node-addr the commands are the two-argument form.
 *
 * Which inbound a client connected to: Xray's access log names the
 * inbound by tag (`[vless-in >> direct]`), never by address, so an
 * --node-addr may carry the tag it stands for. A line goes to the
 * --node-addr whose tag is its inbound's; else to the first --node-addr
 * without a tag of the client's IP version; else to the first of its IP
 * version; else it names no server (a client and a server endpoint are
 * always of one IP version on the wire).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lc_mgmt.h"
#include "xray.h"

static struct xr_node node;

int
xr_node_set_name(const char *name)
{
	if (!lc_mgmt_word_ok(name, strlen(name), XR_NODE_NAME_MAX))
		return -EINVAL;
	snprintf(node.name, sizeof(node.name), "%s", name);
	snprintf(node.hello, sizeof(node.hello), "hello node=%s\n", name);
	return 0;
}

int
xr_node_add_addr(const char *arg)
{
	struct xr_node_addr *a;
	const char *eq = strchr(arg, '='), *ep = arg, *colon;
	char ip[LC_XRAYLOG_IP_TEXT_MAX + 2], norm[LC_XRAYLOG_IP_TEXT_MAX];
	unsigned char bin[16];
	unsigned long port;
	char *end;
	size_t n;

	if (node.n_addrs == XR_NODE_ADDRS_MAX)
		return -ENOSPC;
	a = &node.addrs[node.n_addrs];
	memset(a, 0, sizeof(*a));
	if (eq != NULL) {
		if (!lc_mgmt_word_ok(arg, (size_t)(eq - arg), XR_NODE_TAG_MAX))
			return -EINVAL;
		memcpy(a->tag, arg, (size_t)(eq - arg));
		ep = eq + 1;
	}
	if (ep[0] == '[') {
		const char *close = strchr(ep, ']');

		if (close == NULL || close[1] != ':')
			return -EINVAL;
		n = (size_t)(close - ep - 1);
		colon = close + 1;
		ep++;
		a->family = 6;
	} else {
		colon = strrchr(ep, ':');
		if (colon == NULL)
			return -EINVAL;
		n = (size_t)(colon - ep);
		a->family = 4;
	}
	if (n == 0 || n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, ep, n);
	ip[n] = '\0';
	if (inet_pton(a->family == 4 ? AF_INET : AF_INET6, ip, bin) != 1 ||
	    inet_ntop(a->family == 4 ? AF_INET : AF_INET6, bin, norm,
		      sizeof(norm)) == NULL)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    port == 0 || port > 65535)
		return -EINVAL;
	/* An IPv4-mapped address is IPv4 on the wire, as the parser says. */
	if (a->family == 6 && strncmp(norm, "::ffff:", 7) == 0 &&
	    strchr(norm + 7, '.') != NULL) {
		a->family = 4;
		memmove(norm, norm + 7, strlen(norm + 7) + 1);
	}
	snprintf(a->text, sizeof(a->text), a->family == 4 ? "%s:%lu" : "[%s]:%lu",
		 norm, port);
	node.n_addrs++;
	return 0;
}

const struct xr_node *
xr_node_get(void)
{
	return &node;
}

int
xr_node_server_of(const struct lc_xraylog_entry *e)
{
	int first = -1, untagged = -1;

	for (unsigned int i = 0; i < node.n_addrs; i++) {
		const struct xr_node_addr *a = &node.addrs[i];

		if (a->family != e->family)
			continue;
		if (a->tag[0] != '\0' && e->inbound.ptr != NULL &&
		    strlen(a->tag) == e->inbound.len &&
		    memcmp(a->tag, e->inbound.ptr, e->inbound.len) == 0)
			return (int)i;
		if (first < 0)
			first = (int)i;
		if (untagged < 0 && a->tag[0] == '\0')
			untagged = (int)i;
	}
	return untagged >= 0 ? untagged : first;
}

int
xr_node_words(int server, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s%s%s",
			 server >= 0 && (unsigned int)server < node.n_addrs ? " " : "",
			 server >= 0 && (unsigned int)server < node.n_addrs ?
			 node.addrs[server].text : "",
			 node.name[0] != '\0' ? " node=" : "", node.name);

	return n >= 0 && (size_t)n < len ? n : -1;
}

const char *
xr_node_hello(void)
{
	return node.name[0] != '\0' ? node.hello : NULL;
}
