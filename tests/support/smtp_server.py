"""A real SMTP server for callpro's tests (aiosmtpd).

Usage: smtp_server.py DIR [--tempfail-once ADDR]... [--reject ADDR]...

Listens on 127.0.0.1 (port chosen by the OS, printed on stdout as "PORT <n>"), stores each
accepted message as DIR/<n>.eml, answers 451 to the first RCPT of a --tempfail-once address
and 550 to every RCPT of a --reject address.
"""

import argparse
import asyncio
import itertools
import os
import socket
import sys

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    print("aiosmtpd is missing: python3 -m pip install aiosmtpd", file=sys.stderr)
    sys.exit(3)


class Handler:
    def __init__(self, directory, tempfail_once, reject):
        self.directory = directory
        self.tempfail_once = set(a.lower() for a in tempfail_once)
        self.reject = set(a.lower() for a in reject)
        self.counter = itertools.count(1)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        lower = address.lower()
        if lower in self.reject:
            return "550 5.1.1 mailbox unavailable"
        if lower in self.tempfail_once:
            self.tempfail_once.discard(lower)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        n = next(self.counter)
        tmp = os.path.join(self.directory, f"{n}.tmp")
        with open(tmp, "wb") as f:
            f.write(b"X-Rcpt-To: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            content = envelope.content
            f.write(content if isinstance(content, bytes) else content.encode())
        os.rename(tmp, os.path.join(self.directory, f"{n}.eml"))
        return f"250 2.0.0 queued as {n}"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--tempfail-once", action="append", default=[])
    parser.add_argument("--reject", action="append", default=[])
    args = parser.parse_args()
    handler = Handler(args.directory, args.tempfail_once, args.reject)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="smtp.test"), sock=sock)
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
