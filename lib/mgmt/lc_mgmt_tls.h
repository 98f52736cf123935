/* SPDX-License-Identifier: MIT */
/*
 * TLS for the management protocol over TCP.
 *
 * linecapd's socket server (server.c) takes clients over TCP as well as
 * over its Unix socket; that channel is TLS with certificates on both
 * sides, made by lc_mgmt_tls_server_ctx(). The clients, linecapctl
 * --connect and linecap-xray --connect, reach it with lc_mgmt_tls_dial()
 * and then send and receive through lc_mgmt_tls_send()/_recv(), which
 * behave like non-blocking send(2) and recv(2), so that their loops stay
 * as they are for the Unix socket. All of it is OpenSSL; TLS 1.2 or newer.
 */
#ifndef LC_MGMT_TLS_H
#define LC_MGMT_TLS_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* PEM files: our certificate (with its chain), its key, and the CA we trust. */
struct lc_mgmt_tls_files {
	const char *cert;
	const char *key;
	const char *ca;
};

/*
 * A server context: our certificate and key, and a client certificate
 * signed by ca required. NULL with the reason in err on failure.
 */
SSL_CTX *lc_mgmt_tls_server_ctx(const struct lc_mgmt_tls_files *files,
				char *err, size_t err_size);

/*
 * Connect to target ("HOST:PORT", "[V6]:PORT") and complete the handshake,
 * waiting at most timeout_ms in all. The server's certificate must be
 * signed by files->ca and name HOST: a DNS name in its subjectAltName, or
 * for an address HOST, that IP in its subjectAltName. Returns the
 * connection, its socket (SSL_get_fd()) non-blocking, or NULL with the
 * reason in err.
 */
SSL *lc_mgmt_tls_dial(const char *target, const struct lc_mgmt_tls_files *files,
		      int timeout_ms, char *err, size_t err_size);

/*
 * Like send(2) and recv(2) with MSG_DONTWAIT: bytes moved, 0 from recv at
 * the end of the stream, -1 with errno (EAGAIN: try again when the socket
 * is ready; EPROTO: a TLS error). A send that returned EAGAIN must be
 * repeated with at least the same bytes (the buffer may move).
 */
ssize_t lc_mgmt_tls_send(SSL *ssl, const void *data, size_t len);
ssize_t lc_mgmt_tls_recv(SSL *ssl, void *data, size_t len);

/* Say goodbye (best effort), close the socket and free the connection. */
void lc_mgmt_tls_close(SSL *ssl);

/* The last OpenSSL error as a sentence, or what fallback says. */
const char *lc_mgmt_tls_error(const char *fallback);

#endif /* LC_MGMT_TLS_H */
