"""BER, as little as the LDAP messages and controls we take apart ourselves need (the shared
wire of :mod:`._ldap_wire`, the LDAP kind's controls): elements, and one element written."""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["ber_elements", "ber_tlv"]


def _length(data: bytes, pos: int) -> tuple[int, int]:
    """(length, position after the length octets)."""
    if pos >= len(data):
        raise ValueError("BER: truncated length")
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4 or pos + 1 + count > len(data):
        raise ValueError("BER: bad length")
    return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def ber_elements(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The (tag, value) of each element in ``data``, in order."""
    pos = 0
    while pos < len(data):
        tag = data[pos]
        length, start = _length(data, pos + 1)
        end = start + length
        if end > len(data):
            raise ValueError("BER: element runs past its container")
        yield tag, data[start:end]
        pos = end


def ber_tlv(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        return bytes([tag, size]) + value
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + value
