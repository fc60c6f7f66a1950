"""A small Mapbox Vector Tile (MVT 2.1) encoder: points and polygons with properties, nothing else.

MVT is a short protobuf schema (https://github.com/mapbox/vector-tile-spec/tree/master/2.1):

    Tile  { repeated Layer layers = 3; }
    Layer { required string name = 1; repeated Feature features = 2; repeated string keys = 3;
            repeated Value values = 4; optional uint32 extent = 5; required uint32 version = 15; }
    Feature { optional uint64 id = 1; repeated uint32 tags = 2 [packed]; optional GeomType type = 3;
              repeated uint32 geometry = 4 [packed]; }
    Value { string_value = 1; double_value = 3; sint_value = 6; bool_value = 7; … }

Written by hand (about a hundred lines) instead of pulling in protobuf and shapely: the tile server only
needs these two geometry types, and this stays fast enough for thousands of houses per tile.
Geometry is in tile coordinates (integers, y down, 0…extent); polygons are single exterior rings.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from typing import Any

POINT, POLYGON = 1, 3
MOVE_TO, LINE_TO, CLOSE_PATH = 1, 2, 7


def _varint(value: int, out: bytearray) -> None:
    if value < 0x80:  # most tags, counts and small deltas: one byte
        out.append(value)
        return
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)


def _zigzag(value: int) -> int:
    return (value << 1) ^ (value >> 63)


def _key(field: int, wire: int, out: bytearray) -> None:
    _varint((field << 3) | wire, out)


def _bytes(field: int, payload: bytes | bytearray, out: bytearray) -> None:
    _key(field, 2, out)
    _varint(len(payload), out)
    out += payload


def _value(value: Any) -> bytes:
    out = bytearray()
    if isinstance(value, bool):
        _key(7, 0, out)
        _varint(int(value), out)
    elif isinstance(value, int):
        _key(6, 0, out)
        _varint(_zigzag(value), out)
    elif isinstance(value, float):
        _key(3, 1, out)
        out += struct.pack("<d", value)
    else:
        _bytes(1, str(value).encode(), out)
    return bytes(out)


def ring_commands(ring: Sequence[tuple[int, int]], cursor: list[int]) -> list[int]:
    """MoveTo, LineTo…, ClosePath for one ring (without its closing point), deltas from `cursor`."""
    x0, y0 = ring[0]
    cmds = [(1 << 3) | MOVE_TO, _zigzag(x0 - cursor[0]), _zigzag(y0 - cursor[1])]
    px, py = x0, y0
    rest = []
    for x, y in ring[1:]:
        if x == px and y == py:
            continue  # repeated points after rounding to the tile grid
        rest += (_zigzag(x - px), _zigzag(y - py))
        px, py = x, y
    cmds.append(((len(rest) // 2) << 3) | LINE_TO)
    cmds += rest
    cmds.append((1 << 3) | CLOSE_PATH)
    cursor[0], cursor[1] = px, py
    return cmds


def exterior(ring: Sequence[tuple[int, int]]) -> list[tuple[int, int]] | None:
    """The ring as an MVT exterior ring: no closing point, no repeats, positive area in tile coordinates
    (clockwise on screen); None when it collapses to less than a triangle at this zoom."""
    points: list[tuple[int, int]] = []
    for p in ring:
        if not points or p != points[-1]:
            points.append(p)
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()
    if len(points) < 3:
        return None
    area = 0
    for i, (x1, y1) in enumerate(points):
        x2, y2 = points[(i + 1) % len(points)]
        area += x1 * y2 - x2 * y1
    if area == 0:
        return None
    return points if area > 0 else points[::-1]


class Layer:
    """Collects features, then encodes them with shared key and value tables."""

    def __init__(self, name: str, extent: int = 4096) -> None:
        self.name, self.extent = name, extent
        self.keys: dict[str, int] = {}
        self.values: dict[tuple[type, Any], int] = {}
        self.features = bytearray()
        self.count = 0

    def _tags(self, properties: dict[str, Any]) -> list[int]:
        tags = []
        for key, value in properties.items():
            if value is None:
                continue
            k = self.keys.setdefault(key, len(self.keys))
            v = self.values.setdefault((type(value), value), len(self.values))
            tags += (k, v)
        return tags

    def tag_bytes(self, properties: dict[str, Any]) -> bytes:
        """The encoded `tags` field of a feature with these properties (callers may cache it per value
        combination: it depends only on the layer's key and value tables, which only grow)."""
        packed = bytearray()
        for tag in self._tags(properties):
            _varint(tag, packed)
        out = bytearray()
        if packed:
            _bytes(2, packed, out)
        return bytes(out)

    def add(
        self, geom_type: int, commands: Iterable[int], properties: dict[str, Any], fid: int | None
    ) -> None:
        self.add_encoded(geom_type, commands, self.tag_bytes(properties), fid)

    def add_encoded(self, geom_type: int, commands: Iterable[int], tags: bytes, fid: int | None) -> None:
        feature = bytearray()
        if fid is not None:
            feature.append(0x08)  # field 1 (id), varint
            _varint(fid, feature)
        feature += tags
        feature.append(0x18)  # field 3 (type), varint
        feature.append(geom_type)
        packed = bytearray()
        for c in commands:
            if c < 0x80:
                packed.append(c)
            else:
                _varint(c, packed)
        feature.append(0x22)  # field 4 (geometry), length-delimited
        _varint(len(packed), feature)
        feature += packed
        self.features.append(0x12)  # layer field 2 (features), length-delimited
        _varint(len(feature), self.features)
        self.features += feature
        self.count += 1

    def add_point(self, x: int, y: int, properties: dict[str, Any], fid: int | None = None) -> None:
        self.add(POINT, ((1 << 3) | MOVE_TO, _zigzag(x), _zigzag(y)), properties, fid)

    def add_polygon(
        self, ring: Sequence[tuple[int, int]], properties: dict[str, Any] | bytes, fid: int | None = None
    ) -> bool:
        """One exterior ring; `properties` as a dict, or as `tag_bytes` already encoded."""
        points = exterior(ring)
        if points is None:
            return False
        tags = properties if isinstance(properties, bytes) else self.tag_bytes(properties)
        self.add_encoded(POLYGON, ring_commands(points, [0, 0]), tags, fid)
        return True

    def encode(self) -> bytes:
        out = bytearray()
        _bytes(1, self.name.encode(), out)
        out += self.features
        for key in self.keys:
            _bytes(3, key.encode(), out)
        for _type, value in self.values:
            _bytes(4, _value(value), out)
        _key(5, 0, out)
        _varint(self.extent, out)
        _key(15, 0, out)
        _varint(2, out)
        return bytes(out)


def tile(layers: Iterable[Layer]) -> bytes:
    """The tile: every non-empty layer (an empty tile is zero bytes, which MapLibre accepts)."""
    out = bytearray()
    for layer in layers:
        if layer.count:
            _bytes(3, layer.encode(), out)
    return bytes(out)
