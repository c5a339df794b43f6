"""A synthetic city's roads as an OpenStreetMap file, for the dispatch benchmark: a grid of streets with a river
across it that only a few bridges cross, main roads every tenth street, some one-way streets.

``--size N`` gives N × N junctions and about 2·N·(N−1) road sections (N = 230: ~105,000).
"""

from __future__ import annotations

import argparse
from pathlib import Path

ORIGIN = (39.85, 32.70)  # south-west corner (Ankara)
STEP = 0.0012  # degrees between streets (~130 m north-south, ~100 m east-west)


def write(path: Path, size: int, *, bridges: int = 3) -> Path:
    """Write the grid city to ``path``: ``size`` × ``size`` junctions; the river runs between rows size//2-1 and
    size//2, crossed by ``bridges`` streets."""
    lat0, lon0 = ORIGIN
    river = size // 2
    crossing = {int(size * (k + 1) / (bridges + 1)) for k in range(bridges)}

    def nid(r: int, c: int) -> int:
        return r * size + c + 1

    with path.open("w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="kgys-bench">\n')
        for r in range(size):
            for c in range(size):
                f.write(f'<node id="{nid(r, c)}" version="1" lat="{lat0 + r * STEP:.7f}" '
                        f'lon="{lon0 + c * STEP:.7f}"/>\n')
        way = 1
        for r in range(size):  # east-west streets
            kind = "primary" if r % 10 == 0 else "residential"
            oneway = '<tag k="oneway" v="yes"/>' if r % 10 == 5 else ""
            refs = "".join(f'<nd ref="{nid(r, c)}"/>' for c in range(size))
            f.write(f'<way id="{way}" version="1">{refs}<tag k="highway" v="{kind}"/>{oneway}</way>\n')
            way += 1
        for c in range(size):  # north-south streets, cut by the river except at the bridges
            kind = "secondary" if c % 10 == 0 else "residential"
            parts = [range(size)] if c in crossing else [range(river), range(river, size)]
            for part in parts:
                refs = "".join(f'<nd ref="{nid(r, c)}"/>' for r in part)
                f.write(f'<way id="{way}" version="1">{refs}<tag k="highway" v="{kind}"/></way>\n')
                way += 1
        f.write("</osm>\n")
    return path


def main() -> None:
    """Write a grid city."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("path", type=Path)
    p.add_argument("--size", type=int, default=230)
    a = p.parse_args()
    write(a.path, a.size)


if __name__ == "__main__":
    main()
