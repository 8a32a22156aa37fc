"""The guard that keeps the HTTP Request step off internal networks (SPEC section 6).

The check happens where the socket is opened, not before the request: the connection class
resolves the host once, refuses it if any address is loopback, private, link-local,
multicast, reserved or otherwise not public, and then connects to exactly those checked
addresses. A DNS answer that changes between a check and the connect (DNS rebinding) cannot
slip through, because there is no second lookup. TLS still verifies the certificate against
the host name, and the Host header still carries it, because only the socket is pinned.

Entries of `settings.WORKFLOW_HTTP_ALLOWED_HOSTS` (read on every connection) skip the address
check: `host` for every port of it, `host:port` (`[::1]:8000` for IPv6) for that port only;
tests and local tools need `127.0.0.1`. Name resolution runs in a helper thread so it counts
against the connect timeout: a resolver that never answers cannot hold a worker.
"""

import ipaddress
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.poolmanager import PoolManager

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Checked in this order, so 169.254.169.254 is named "link-local", not "private" (Python
# counts it as both).
_ADDRESS_KINDS: list[tuple[str, Callable[[IPAddress], bool]]] = [
    ("loopback", lambda ip: ip.is_loopback),
    ("unspecified", lambda ip: ip.is_unspecified),
    ("link-local", lambda ip: ip.is_link_local),
    ("multicast", lambda ip: ip.is_multicast),
    ("reserved", lambda ip: ip.is_reserved),
    ("private", lambda ip: ip.is_private),
    ("non-public", lambda ip: not ip.is_global),
]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class DestinationRefused(ValueError):
    """The URL's host is not a public address. Not an OSError on purpose: urllib3 and
    requests neither retry nor rewrap it, so the message reaches the user as written."""


ANY_PORT = None


def allowed_hosts() -> set[tuple[str, int | None]]:
    """The allowlist as (host, port) pairs; port None for a bare host (every port)."""
    configured = getattr(settings, "WORKFLOW_HTTP_ALLOWED_HOSTS", []) or []
    if isinstance(configured, str):
        configured = configured.split(",")
    return {_parse_entry(entry) for entry in configured if entry.strip()}


def _parse_entry(entry: str) -> tuple[str, int | None]:
    entry = entry.strip()
    if entry.startswith("["):  # [::1] or [::1]:8000
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:  # host:port (a bare IPv6 address has several colons)
        host, port = entry.split(":")
    else:
        host, port = entry, ""
    return _normalise_host(host), int(port) if port.strip().isdigit() else ANY_PORT


def is_allowed_host(host: str, port: int | None = None) -> bool:
    """Whether host (and port, when given) is in the allowlist."""
    host = _normalise_host(host)
    return any(
        listed == host and (listed_port is ANY_PORT or port is None or listed_port == port)
        for listed, listed_port in allowed_hosts()
    )


_resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="http-step-dns")


def getaddrinfo_within(host: str, port: int, timeout: float | None) -> list[tuple]:
    """`socket.getaddrinfo`, given up on after `timeout` seconds (the lookup thread finishes
    on its own; its answer is then dropped)."""
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        return lookup.result(timeout=timeout)
    except FutureTimeout:
        raise TimeoutError(f"Looking up {host} took longer than {timeout:g} s.") from None


def address_kind(address: str) -> str | None:
    """Why `address` may not be reached ("loopback", "private"...), or None when public.

    IPv6 forms that carry an IPv4 address (mapped ::ffff:a.b.c.d, NAT64, 6to4) are judged by
    the IPv4 address inside, since that is where the packets end up.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = _embedded_ipv4(ip) or [ip]
    for kind, applies in _ADDRESS_KINDS:
        if any(applies(candidate) for candidate in candidates):
            return kind
    return None


def resolve_public(host: str, port: int, timeout: float | None = None) -> list[tuple]:
    """`getaddrinfo` results for host:port, all of them checked; refuses when any is not
    public (one bad answer in a round-robin set is enough to refuse the host)."""
    infos = getaddrinfo_within(host, port, timeout)
    if is_allowed_host(host, port):
        return infos
    for *_, sockaddr in infos:
        kind = address_kind(sockaddr[0])
        if kind:
            raise DestinationRefused(_refusal(host, sockaddr[0], kind))
    return infos


def _refusal(host: str, address: str, kind: str) -> str:
    article = "an" if kind[0] in "aeiou" else "a"
    if _normalise_host(host) == address:
        return f"Refused: {host} is {article} {kind} address."
    return f"Refused: {host} resolves to {address}, {article} {kind} address."


def _normalise_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    if ip.version == 4:
        return []
    found = [ip.ipv4_mapped, ip.sixtofour]
    if ip in _NAT64:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


# --- The pinned connection ------------------------------------------------------------------


class _GuardedConnectionMixin:
    """Opens the socket to the addresses `resolve_public` checked, and nothing else."""

    def __init__(self, *args, on_socket: Callable[[socket.socket], None] | None = None, **kwargs):
        self._on_socket = on_socket
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        timeout = self.timeout if isinstance(self.timeout, int | float) else None
        try:
            infos = resolve_public(self._dns_host, self.port, timeout)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        except TimeoutError as error:
            raise ConnectTimeoutError(self, str(error)) from error
        try:
            sock = _connect_first(infos, self.timeout, self.source_address, self.socket_options)
        except TimeoutError as error:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            ) from error
        except OSError as error:
            raise NewConnectionError(
                self, f"Failed to establish a new connection: {error}"
            ) from error
        if self._on_socket is not None:
            self._on_socket(sock)
        return sock


def _connect_first(infos, timeout, source_address, socket_options) -> socket.socket:
    error: OSError | None = None
    for family, socktype, proto, _, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        try:
            for option in socket_options or []:
                sock.setsockopt(*option)
            if timeout is None or isinstance(timeout, int | float):  # else urllib3's "default"
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as caught:
            error = caught
            sock.close()
    raise error or OSError("getaddrinfo returned no address")


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class _GuardedPoolManager(PoolManager):
    def __init__(self, on_socket, **kwargs):
        super().__init__(**kwargs)
        self.on_socket = on_socket
        self.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}

    def _new_pool(self, scheme, host, port, request_context=None):
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.conn_kw["on_socket"] = self.on_socket
        return pool


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose every connection goes through the guard. No retries: the
    step's `on_error` decides about those."""

    def __init__(self, on_socket: Callable[[socket.socket], None] | None = None):
        self._on_socket = on_socket
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        self.poolmanager = _GuardedPoolManager(
            self._on_socket, num_pools=connections, maxsize=maxsize, block=block, **pool_kwargs
        )

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # Through a proxy the proxy would connect for us, past the guard.
        raise DestinationRefused("Refused: workflow HTTP requests do not go through proxies.")


class GuardedSession(requests.Session):
    """A requests Session that only reaches public addresses (or allowed hosts).

    Environment proxies are ignored (a proxy would connect on our behalf, unchecked); a CA
    bundle named by REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE is still honoured. Every socket it
    opens is kept in `sockets` so `abort()` can cut a request off from another thread.
    """

    def __init__(self):
        super().__init__()
        self.trust_env = False
        self.verify = (
            os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        )
        self.sockets: list[socket.socket] = []
        adapter = GuardedAdapter(on_socket=self.sockets.append)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def abort(self) -> None:
        """Shuts every socket down; a read blocked in another thread returns at once."""
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
