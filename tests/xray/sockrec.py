#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A stand-in for linecapd's management socket, for linecap-xray's tests.

Listens on a Unix stream socket, accepts any number of clients, appends
every line it receives to --out (one line per command, flushed at once, so
a test can wait for it), and answers each line in order with
{"ok":true,"result":"bound"}, or with an error for the email given by
--error-email. It can be stopped (SIGTERM) and started again on the same
path to test reconnection. --count-only keeps a count instead of the lines,
for benchmarks. --connections FILE gets one line per accepted connection, so
a test can tell a reconnection from a live link. `ping` is answered as
linecapd answers it. --idle-timeout SECONDS closes a client that has sent
nothing that long, without a word, as linecapd's [mgmt] idle_timeout does.
Standard library only.
"""
import argparse
import os
import selectors
import signal
import socket
import sys
import time

OK = b'{"ok":true,"result":"bound"}\n'
PONG = b'{"ok":true,"version":"sockrec"}\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--socket', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--error-email', default=None)
    ap.add_argument('--count-only', action='store_true')
    ap.add_argument('--connections', default=None)
    ap.add_argument('--idle-timeout', type=float, default=0)
    args = ap.parse_args()

    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))

    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(args.socket)
    srv.listen(16)
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    out = open(args.out, 'ab', buffering=0)
    bad = None
    if args.error_email:
        bad = ('assign ' + args.error_email + ' ').encode()
    partial = {}
    last_active = {}
    count = 0

    while not stop:
        if args.idle_timeout > 0:
            now = time.monotonic()
            for conn in [c for c, t in last_active.items()
                         if now - t > args.idle_timeout]:
                sel.unregister(conn)
                conn.close()
                del partial[conn]
                del last_active[conn]
        for key, _ in sel.select(timeout=0.1):
            if key.fileobj is srv:
                try:
                    conn, _ = srv.accept()
                except BlockingIOError:
                    continue
                conn.setblocking(True)
                if args.connections:
                    with open(args.connections, 'a') as c:
                        c.write('connection\n')
                sel.register(conn, selectors.EVENT_READ)
                partial[conn] = b''
                last_active[conn] = time.monotonic()
                continue
            conn = key.fileobj
            try:
                data = conn.recv(1 << 20)
            except ConnectionError:
                data = b''
            if not data:
                sel.unregister(conn)
                conn.close()
                del partial[conn]
                del last_active[conn]
                continue
            last_active[conn] = time.monotonic()
            buf = partial[conn] + data
            lines = buf.split(b'\n')
            partial[conn] = lines.pop()
            if not lines:
                continue
            replies = []
            for line in lines:
                if line == b'ping':
                    replies.append(PONG)
                elif bad is not None and line.startswith(bad):
                    replies.append(b'{"ok":false,"error":"user refused by '
                                   b'the test server"}\n')
                else:
                    replies.append(OK)
            if args.count_only:
                count += len(lines)
                out.seek(0)
                out.truncate()
                out.write(b'%d\n' % count)
            else:
                out.write(b''.join(line + b'\n' for line in lines))
            try:
                conn.sendall(b''.join(replies))
            except ConnectionError:
                pass

    sel.close()
    srv.close()
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
