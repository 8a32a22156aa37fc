"""A minimal websocket client for benchmarks (RFC 6455 over asyncio streams, loopback only):
enough to open a page's live socket with a session cookie and read the JSON messages the
server sends. No dependency beyond the standard library (the venv has no websocket client).

    socket = await WebSocket.connect(port, "/ws/live/?run=...", cookie="sessionid=...")
    message = await socket.receive_json()   # a dict, or None once the server closed
    await socket.close()
"""

import asyncio
import base64
import json
import os
import struct

from bench.http_load import HOST

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class Refused(Exception):
    """The server answered the handshake with something else than 101."""


class WebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.closed = False

    @classmethod
    async def connect(cls, port: int, path: str, cookie: str = "") -> "WebSocket":
        reader, writer = await asyncio.open_connection(HOST, port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {HOST}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            f"Origin: http://{HOST}:{port}",
        ]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            writer.close()
            raise Refused(status.decode(errors="replace"))
        return cls(reader, writer)

    async def receive_json(self) -> dict | None:
        """The next text message, parsed; answers pings on the way. None after a close."""
        while not self.closed:
            opcode, payload = await self._frame()
            if opcode == TEXT:
                return json.loads(payload)
            if opcode == PING:
                self._send(PONG, payload)
            elif opcode == CLOSE:
                self.closed = True
                self._send(CLOSE, payload[:2])
        return None

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._send(CLOSE, struct.pack("!H", 1000))
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass

    async def _frame(self) -> tuple[int, bytes]:
        """One whole message (fragments joined); server frames are not masked."""
        opcode, payload = None, b""
        while True:
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            data = await self.reader.readexactly(length)
            if first & 0x0F:
                opcode = first & 0x0F
            if opcode >= CLOSE:  # control frames are never fragmented
                return opcode, data
            payload += data
            if first & 0x80:
                return opcode, payload

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)  # clients must mask every frame
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.writer.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)
