"""How much each installed package weighs (the files its RECORD lists), largest first.

    .venv/bin/python scripts/package_sizes.py [--top 30]

docs/install.md quotes its output.
"""

from __future__ import annotations

import argparse
import sysconfig
from importlib import metadata
from pathlib import Path


def sizes(site: Path) -> list[tuple[int, str, str]]:
    rows = []
    for dist in metadata.distributions(path=[str(site)]):
        total = 0
        for f in dist.files or []:
            try:
                total += (site / f).resolve().stat().st_size
            except OSError:
                pass
        rows.append((total, dist.metadata["Name"], dist.version))
    return sorted(rows, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    rows = sizes(Path(sysconfig.get_paths()["purelib"]))
    print(f"{sum(r[0] for r in rows) / 1e9:.2f} GB in {len(rows)} packages")
    for size, name, version in rows[: args.top]:
        print(f"{size / 1e6:9.1f} MB  {name} {version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
