"""A port picked for a service never collides with the ports the embedded servers prefer: a port
picked, released, and only bound by the service seconds later must not be the one the embedded
PostgreSQL (or the broker) starts on in between — the race that once stopped `fupin dev up`."""

from __future__ import annotations

import socket

from deploy import embedded


class _KernelHandsOut:
    """A socket whose ``bind(("127.0.0.1", 0))`` gets the next of a fixed series of ports."""

    def __init__(self, ports):
        self.ports = iter(ports)

    def __call__(self, *args, **kwargs):
        series = self

        class _Socket:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def bind(self, address):
                self.port = next(series.ports) if address[1] == 0 else address[1]

            def getsockname(self):
                return ("127.0.0.1", self.port)

        return _Socket()


def test_free_port_skips_the_ports_embedded_servers_prefer(monkeypatch):
    kernel = _KernelHandsOut([embedded.POSTGRES_PORT, embedded.BROKER_PORT, 40001])
    monkeypatch.setattr(embedded.socket, "socket", kernel)
    assert embedded.free_port() == 40001


def test_free_port_returns_the_kernels_port_when_it_is_not_preferred(monkeypatch):
    monkeypatch.setattr(embedded.socket, "socket", _KernelHandsOut([40002]))
    assert embedded.free_port() == 40002


def test_a_free_preferred_port_is_taken_as_asked():
    with socket.socket() as sock:  # a port that is certainly free once released
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert embedded.free_port(port) == port


def test_a_taken_preferred_port_gives_another():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = embedded.free_port(port)
    assert other != port and other not in embedded.PREFERRED_PORTS
