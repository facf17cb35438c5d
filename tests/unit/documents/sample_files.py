"""Real, tiny files built byte by byte: what a resident's phone or scanner would send."""

from __future__ import annotations

import struct
import uuid
import zlib


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def a_jpeg() -> bytes:
    """A baseline JPEG of one 8x8 grey block (JFIF; one DC and one AC Huffman code)."""
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    quantisation = b"\x00" + bytes([1] * 64)
    frame = b"\x08" + struct.pack(">HH", 8, 8) + b"\x01" + b"\x01\x11\x00"
    one_code = bytes([1] + [0] * 15) + b"\x00"  # a single 1-bit code for symbol 0
    scan_header = b"\x01" + b"\x01\x00" + b"\x00\x3f\x00"
    scan = b"\x3f"  # DC difference 0, end of block, padded with ones
    return (
        b"\xff\xd8"
        + _segment(0xE0, jfif)
        + _segment(0xDB, quantisation)
        + _segment(0xC0, frame)
        + _segment(0xC4, b"\x00" + one_code)
        + _segment(0xC4, b"\x10" + one_code)
        + _segment(0xDA, scan_header)
        + scan
        + b"\xff\xd9"
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def a_png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A 1x1 truecolour PNG of one pixel of colour ``rgb``."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes(rgb))
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def a_pdf(text: str = "Work-unit certificate") -> bytes:
    """A one-page PDF 1.4 with a correct cross-reference table."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + content + b"\nendobj\n"
    xref_at = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return body


def a_unique_png() -> bytes:
    """A PNG whose bytes no other upload has (a fresh uuid in a text chunk)."""
    png = a_png()
    end = png.rindex(b"IEND") - 4
    return png[:end] + _png_chunk(b"tEXt", b"Comment\x00" + uuid.uuid4().hex.encode()) + png[end:]


def multipart(content: bytes, *, filename: str = "scan.jpg", content_type: str = "image/jpeg",
              field: str = "file", boundary: str = "shebao-boundary-7d1f") -> tuple[bytes, str]:
    """A multipart/form-data body with one file part, and its Content-Type header."""
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return head + content + tail, f"multipart/form-data; boundary={boundary}"
