"""A DNS server on 127.0.0.1 for tests (UDP, dnspython's wire format): it answers TXT
questions from a dict the test fills, and NXDOMAIN otherwise."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset


class DnsServer:
    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            self.sock.sendto(self._answer(data).to_wire(), peer)

    def _answer(self, data: bytes) -> dns.message.Message:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        values = self.records.get(name)
        if question.rdtype != dns.rdatatype.TXT or not values:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        quoted = [f'"{value}"' for value in values]
        response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", "TXT", quoted))
        return response

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@contextmanager
def running() -> Iterator[DnsServer]:
    server = DnsServer()
    server._thread.start()
    try:
        yield server
    finally:
        server.stop()
