"""HTTP/1.1 over a unix socket, just what the API needs.

Written on the ``_socket`` C module rather than ``http.client``: the latter pulls in
the ``email`` package and costs more to import than the whole request takes. One
connection per request (``Connection: close``); bodies framed by Content-Length, chunked
encoding, or the end of the stream.
"""

import _socket

from dockyard.client import jsonlite as json

TYPE_CHECKING = False
if TYPE_CHECKING:  # (typing and collections.abc cost imports a CLI command can skip)
    from collections.abc import Iterator, Mapping, Sequence
    from typing import Any, BinaryIO

    Query = Mapping[str, "str | Sequence[str] | None"]

API_VERSION = "1.50"


class ConnectError(Exception):
    """Nothing answers on the socket (no daemon, or no permission)."""


class APIError(Exception):
    """The daemon answered with an error status; ``message`` is Docker's ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Response:
    def __init__(self, status: int, headers: dict[str, str], reader: "_Reader") -> None:
        self.status = status
        self.headers = headers
        self._reader = reader
        self._body: bytes | None = None

    def chunks(self) -> "Iterator[bytes]":
        """The body as it arrives (event streams, progress)."""
        if self._body is not None:
            yield self._body
            return
        length = self.headers.get("content-length")
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            yield from self._reader.chunked()
        elif length is not None:
            yield self._reader.exactly(int(length))
        else:
            yield from self._reader.until_eof()
        self._reader.close()

    def abort(self) -> None:
        """Stop a streamed body from another thread (its reader then sees the end)."""
        self._reader.shut_down()

    def lines(self) -> "Iterator[bytes]":
        pending = b""
        for chunk in self.chunks():
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                if line.strip():
                    yield line
        if pending.strip():
            yield pending

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = b"".join(self.chunks())
        return self._body

    def json(self) -> "Any":
        return json.loads(self.body) if self.body else None


class _Reader:
    def __init__(self, sock: _socket.socket) -> None:
        self._sock = sock
        self._buf = b""

    def _fill(self) -> bool:
        data = self._sock.recv(65536)
        self._buf += data
        return bool(data)

    def line(self) -> bytes:
        while b"\r\n" not in self._buf:
            if not self._fill():
                raise ConnectError("the daemon closed the connection mid-response")
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def exactly(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._fill():
                raise ConnectError("the daemon closed the connection mid-body")
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def chunked(self) -> "Iterator[bytes]":
        while True:
            size = int(self.line().split(b";")[0], 16)
            if size == 0:
                self.line()
                return
            yield self.exactly(size)
            self.line()

    def until_eof(self) -> "Iterator[bytes]":
        if self._buf:
            yield self._buf
            self._buf = b""
        while self._fill():
            yield self._buf
            self._buf = b""

    def close(self) -> None:
        self._sock.close()

    def shut_down(self) -> None:
        """End the connection from another thread: a read blocked on it returns (a close
        alone would not wake it)."""
        import contextlib  # (not on every command's path)

        with contextlib.suppress(OSError):  # closed already
            self._sock.shutdown(_socket.SHUT_RDWR)


def socket_path(host: str) -> str:
    if host.startswith("unix://"):
        return host[len("unix://"):]
    if host.startswith("/"):
        return host
    raise ConnectError(f'unsupported host "{host}": only unix:///path sockets are supported')


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def quote(text: str) -> str:
    """``urllib.parse.quote(text, safe="")``: one path segment or query value."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in text.encode())


def encode_query(pairs: "Mapping[str, Any]") -> str:
    """``urlencode(pairs, doseq=True, quote_via=quote)`` without importing urllib (its
    import costs more than a whole request to the daemon, and every CLI run pays it)."""
    parts: list[str] = []
    for key, value in pairs.items():
        values = value if isinstance(value, list | tuple) else [value]
        parts.extend(f"{quote(str(key))}={quote(str(v))}" for v in values)
    return "&".join(parts)


def _connect(path: str, host: str, timeout: float | None) -> _socket.socket:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    if timeout is not None:
        sock.settimeout(timeout)
    try:
        sock.connect(path)
    except OSError as err:
        sock.close()
        raise ConnectError(
            f"Cannot connect to the Dockyard daemon at {host}. Is the daemon "
            f"running? ({err.strerror or err})") from None
    return sock


class Client:
    def __init__(self, host: str, version: str | None = API_VERSION,
                 timeout: float | None = None) -> None:
        self.host = host
        self.path = socket_path(host)
        self.version = version
        self.timeout = timeout

    def url(self, path: str, query: "Query | None" = None) -> str:
        prefix = f"/v{self.version}" if self.version else ""
        url = prefix + path
        if query:
            pairs = {k: v for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + encode_query(pairs)
        return url

    def request(
        self, method: str, path: str, *, query: "Query | None" = None,
        body: "bytes | BinaryIO | None" = None, json_body: "Any" = None,
        headers: "Mapping[str, str] | None" = None, check: bool = True, stream: bool = False,
    ) -> Response:
        """One request on a fresh connection. The body is read (and the connection closed)
        before returning unless ``stream``: then the caller iterates ``chunks``/``lines``,
        which close it at the end. A ``body`` that is a file is sent from where it stands
        to its end, a megabyte at a time (an upload as large as the disk allows)."""
        extra = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            extra.setdefault("Content-Type", "application/json")
        head = [f"{method} {self.url(path, query)} HTTP/1.1", "Host: dockyard",
                "User-Agent: dockyard-cli", "Connection: close"]
        upload = None if body is None or isinstance(body, bytes) else body
        if upload is not None:
            start = upload.tell()
            head.append(f"Content-Length: {upload.seek(0, 2) - start}")
            upload.seek(start)
        elif isinstance(body, bytes):
            head.append(f"Content-Length: {len(body)}")
        head += [f"{k}: {v}" for k, v in extra.items()]
        sock = _connect(self.path, self.host, self.timeout)
        try:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode()
                         + (body if isinstance(body, bytes) else b""))
            while upload is not None and (chunk := upload.read(1 << 20)):
                sock.sendall(chunk)
            reader = _Reader(sock)
            status_line = reader.line().decode("latin-1")
            status = int(status_line.split(" ", 2)[1])
            response_headers: dict[str, str] = {}
            while line := reader.line():
                key, _, value = line.decode("latin-1").partition(":")
                response_headers[key.strip().lower()] = value.strip()
        except BaseException:
            sock.close()
            raise
        response = Response(status, response_headers, reader)
        if method == "HEAD" or status in (204, 304):
            response._body = b""
            reader.close()
        if check and status >= 400:
            raise APIError(status, _error_message(response))
        if not stream:
            _ = response.body
        return response

    def get(self, path: str, query: "Query | None" = None) -> "Any":
        return self.request("GET", path, query=query).json()

    def post(self, path: str, body: "Any" = None, query: "Query | None" = None) -> "Any":
        return self.request("POST", path, query=query, json_body=body).json()

    def delete(self, path: str, query: "Query | None" = None) -> "Any":
        return self.request("DELETE", path, query=query).json()


def _error_message(response: Response) -> str:
    body = response.body
    try:
        doc = json.loads(body)
    except ValueError:
        return body.decode(errors="replace").strip() or f"HTTP {response.status}"
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return str(doc["message"])
    return body.decode(errors="replace").strip()


class Hijacked:
    """A connection the daemon took over (``attach``, ``exec start``): Docker's
    multiplexed frames follow the headers until the daemon closes it."""

    def __init__(self, sock: _socket.socket, leftover: bytes, tty: bool) -> None:
        self._sock = sock
        self._buf = leftover
        self.tty = tty

    def _fill(self) -> bool:
        data = self._sock.recv(65536)
        self._buf += data
        return bool(data)

    def frames(self) -> "Iterator[tuple[int, bytes]]":
        """(stream, data) pairs: 1 stdout, 2 stderr; a tty stream is all stdout."""
        try:
            while True:
                if self.tty:
                    if self._buf:
                        data, self._buf = self._buf, b""
                        yield 1, data
                    if not self._fill():
                        return
                    continue
                while len(self._buf) < 8:
                    if not self._fill():
                        return
                stream = self._buf[0]
                size = int.from_bytes(self._buf[4:8], "big")
                while len(self._buf) < 8 + size:
                    if not self._fill():
                        return
                data, self._buf = self._buf[8:8 + size], self._buf[8 + size:]
                yield stream, data
        finally:
            self._sock.close()

    def send(self, data: bytes) -> None:
        """The process's stdin (raises OSError once the daemon has closed)."""
        self._sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: the end of stdin; the output keeps coming."""
        import contextlib

        with contextlib.suppress(OSError):
            self._sock.shutdown(_socket.SHUT_WR)

    def shutdown(self) -> None:
        """Both directions: a reader blocked on the output wakes up and sees its end."""
        import contextlib

        with contextlib.suppress(OSError):
            self._sock.shutdown(_socket.SHUT_RDWR)

    def close(self) -> None:
        self._sock.close()


def hijack(client: Client, path: str, *, query: "Query | None" = None,
           json_body: "Any" = None) -> Hijacked:
    """POST with ``Upgrade: tcp``, as the docker CLI attaches; errors raise APIError."""
    body = json.dumps(json_body if json_body is not None else {}).encode()
    head = [f"POST {client.url(path, query)} HTTP/1.1", "Host: dockyard",
            "User-Agent: dockyard-cli", "Connection: Upgrade", "Upgrade: tcp",
            "Content-Type: application/json", f"Content-Length: {len(body)}"]
    sock = _connect(client.path, client.host, None)
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        reader = _Reader(sock)
        status = int(reader.line().decode("latin-1").split(" ", 2)[1])
        headers: dict[str, str] = {}
        while line := reader.line():
            key, _, value = line.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
    except BaseException:
        sock.close()
        raise
    if status >= 400:
        raise APIError(status, _error_message(Response(status, headers, reader)))
    tty = headers.get("content-type", "") == "application/vnd.docker.raw-stream"
    if status != 101:
        # A daemon that did not upgrade sends an ordinary body: read it as frames.
        return _Buffered(Response(status, headers, reader).body, tty)
    return Hijacked(sock, reader._buf, tty)


class _Buffered(Hijacked):
    def __init__(self, data: bytes, tty: bool) -> None:
        self._data = data
        self.tty = tty

    def frames(self) -> "Iterator[tuple[int, bytes]]":
        data = self._data
        if self.tty:
            if data:
                yield 1, data
            return
        while len(data) >= 8:
            size = int.from_bytes(data[4:8], "big")
            yield data[0], data[8:8 + size]
            data = data[8 + size:]

    def send(self, data: bytes) -> None:
        raise OSError("the daemon did not upgrade the connection: no stdin can be sent")

    def close_write(self) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def close(self) -> None:
        return None
