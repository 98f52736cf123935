/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "lc_mgmt_tls.h"

const char *
lc_mgmt_tls_error(const char *fallback)
{
	static __thread char buf[256];
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		return fallback;
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/* What both sides share: TLS 1.2+, no renegotiation, partial writes. */
static int
ctx_common(SSL_CTX *ctx, const struct lc_mgmt_tls_files *f, char *err,
	   size_t err_size)
{
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/* Non-blocking writes: a part may go, and a retry may start elsewhere. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (f->cert == NULL || f->key == NULL || f->ca == NULL) {
		snprintf(err, err_size, "a certificate, its key and a CA are all needed");
		return -EINVAL;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, f->cert) != 1) {
		snprintf(err, err_size, "certificate %s: %s", f->cert,
			 lc_mgmt_tls_error("cannot read it"));
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, f->key, SSL_FILETYPE_PEM) != 1) {
		snprintf(err, err_size, "key %s: %s", f->key,
			 lc_mgmt_tls_error("cannot read it"));
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, err_size, "key %s does not belong to certificate %s",
			 f->key, f->cert);
		ERR_clear_error();
		return -EINVAL;
	}
	if (SSL_CTX_load_verify_locations(ctx, f->ca, NULL) != 1) {
		snprintf(err, err_size, "CA %s: %s", f->ca,
			 lc_mgmt_tls_error("cannot read it"));
		return -EINVAL;
	}
	return 0;
}

SSL_CTX *
lc_mgmt_tls_server_ctx(const struct lc_mgmt_tls_files *files, char *err,
		       size_t err_size)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL) {
		snprintf(err, err_size, "%s", lc_mgmt_tls_error("out of memory"));
		return NULL;
	}
	if (ctx_common(ctx, files, err, err_size) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* Every client shows a certificate of our CA, or the handshake fails. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   NULL);
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(files->ca);
	if (names != NULL)
		SSL_CTX_set_client_CA_list(ctx, names);
	/* Clients are few and long-lived: no session resumption to keep. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	ERR_clear_error();
	return ctx;
}

static int
remaining_ms(const struct timespec *until)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (until->tv_sec - now.tv_sec) * 1000LL +
		       (until->tv_nsec - now.tv_nsec) / 1000000LL;
	return ms <= 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
}

/* Split "HOST:PORT" or "[V6]:PORT". */
static int
split_target(const char *target, char *host, size_t host_size, char *port,
	     size_t port_size)
{
	const char *colon, *h = target;
	size_t hlen;

	if (target[0] == '[') {
		const char *close = strchr(target, ']');

		if (close == NULL || close[1] != ':')
			return -EINVAL;
		h = target + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(target, ':');
		if (colon == NULL)
			return -EINVAL;
		hlen = (size_t)(colon - target);
	}
	if (hlen == 0 || hlen >= host_size || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= port_size)
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int
tcp_connect(const char *host, const char *port, const struct timespec *until,
	    char *err, size_t err_size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int rc = getaddrinfo(host, port, &hints, &res), fd = -1, e = 0;

	if (rc != 0) {
		snprintf(err, err_size, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		e = errno;
		if (e == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			socklen_t len = sizeof(e);

			if (poll(&p, 1, remaining_ms(until)) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
				break;
			if (e == EINPROGRESS)
				e = ETIMEDOUT;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, err_size, "cannot connect to %s port %s: %s", host, port,
			 strerror(e ? e : ECONNREFUSED));
	return fd;
}

SSL *
lc_mgmt_tls_dial(const char *target, const struct lc_mgmt_tls_files *files,
		 int timeout_ms, char *err, size_t err_size)
{
	char host[256], port[16];
	unsigned char ip[16];
	struct timespec until;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;

	ERR_clear_error();
	if (split_target(target, host, sizeof(host), port, sizeof(port)) != 0) {
		snprintf(err, err_size, "expected HOST:PORT or [IPV6]:PORT, not '%s'",
			 target);
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		snprintf(err, err_size, "%s", lc_mgmt_tls_error("out of memory"));
		return NULL;
	}
	if (ctx_common(ctx, files, err, err_size) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ssl = SSL_new(ctx);
	/* The connection holds its own reference: it frees the context. */
	SSL_CTX_free(ctx);
	if (ssl == NULL) {
		snprintf(err, err_size, "%s", lc_mgmt_tls_error("out of memory"));
		return NULL;
	}
	/* The server's certificate must name what we dialled. */
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 ||
		     inet_pton(AF_INET6, host, ip) == 1;
	if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1 :
		    (SSL_set1_host(ssl, host) != 1 ||
		     SSL_set_tlsext_host_name(ssl, host) != 1)) {
		snprintf(err, err_size, "%s", lc_mgmt_tls_error("bad host name"));
		SSL_free(ssl);
		return NULL;
	}

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	fd = tcp_connect(host, port, &until, err, err_size);
	if (fd < 0 || SSL_set_fd(ssl, fd) != 1) {
		if (fd >= 0)
			close(fd);
		SSL_free(ssl);
		return NULL;
	}
	for (;;) {
		int rc = SSL_connect(ssl);

		if (rc == 1)
			return ssl;
		int e = SSL_get_error(ssl, rc);
		struct pollfd p = { .fd = fd };

		if (e == SSL_ERROR_WANT_READ)
			p.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			p.events = POLLOUT;
		if (p.events == 0 || poll(&p, 1, remaining_ms(&until)) != 1) {
			long v = SSL_get_verify_result(ssl);

			if (p.events != 0)
				snprintf(err, err_size, "TLS handshake with %s timed out",
					 target);
			else if (v != X509_V_OK)
				snprintf(err, err_size, "TLS handshake with %s: its "
					 "certificate is not accepted: %s", target,
					 X509_verify_cert_error_string(v));
			else
				snprintf(err, err_size, "TLS handshake with %s failed: %s",
					 target, lc_mgmt_tls_error(e == SSL_ERROR_SYSCALL ?
					 "connection closed" : "TLS error"));
			ERR_clear_error();
			SSL_free(ssl);
			close(fd);
			return NULL;
		}
	}
}

/* Map an SSL_read/SSL_write result to the send(2)/recv(2) convention. */
static ssize_t
io_result(SSL *ssl, int rc)
{
	int e;

	if (rc > 0)
		return rc;
	e = SSL_get_error(ssl, rc);
	switch (e) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		/* A peer that closed without close_notify: the end, as in TCP. */
		if (errno == 0)
			return 0;
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

ssize_t
lc_mgmt_tls_send(SSL *ssl, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	if (len > INT32_MAX)
		len = INT32_MAX;
	ERR_clear_error();
	errno = 0;
	ssize_t n = io_result(ssl, SSL_write(ssl, data, (int)len));
	if (n == 0) {
		errno = EPIPE;
		return -1;
	}
	return n;
}

ssize_t
lc_mgmt_tls_recv(SSL *ssl, void *data, size_t len)
{
	if (len > INT32_MAX)
		len = INT32_MAX;
	ERR_clear_error();
	errno = 0;
	return io_result(ssl, SSL_read(ssl, data, (int)len));
}

void
lc_mgmt_tls_close(SSL *ssl)
{
	int fd;

	if (ssl == NULL)
		return;
	fd = SSL_get_fd(ssl);
	/* Best effort: a non-blocking close_notify, never waited for. */
	if (SSL_is_init_finished(ssl))
		SSL_shutdown(ssl);
	ERR_clear_error();
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
}
