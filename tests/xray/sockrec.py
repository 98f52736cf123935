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
a test can tell a reconnection from a live link. Standard library only.
"""
import argparse
import os
import selectors
import signal
import socket
import sys

OK = b'{"ok":true,"result":"bound"}\n'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--socket', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--error-email', default=None)
    ap.add_argument('--count-only', action='store_true')
    ap.add_argument('--connections', default=None)
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
    count = 0

    while not stop:
        for key, _ in sel.select(timeout=0.2):
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
                continue
            buf = partial[conn] + data
            lines = buf.split(b'\n')
            partial[conn] = lines.pop()
            if not lines:
                continue
            replies = []
            for line in lines:
                if bad is not None and line.startswith(bad):
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
