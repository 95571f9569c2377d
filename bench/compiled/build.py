"""EXPERIMENT, NOT SHIPPED: build bench/compiled/walk.c with zig's C compiler (``pip install
ziglang``) for this interpreter, or cross-build it for Lambda's python3.13 on x86_64/arm64.

    python bench/compiled/build.py                       # for this Python, this machine: bench
    python bench/compiled/build.py --target aarch64-linux-gnu.2.17 \\
        --include /path/to/include/python3.13 --abi cpython-313-aarch64-linux-gnu

The extension lands next to this file (``_compiled_walk.<abi>.so``), where `make bench` finds it.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    machine = platform.machine()
    parser.add_argument("--target", default=f"{machine}-linux-gnu.2.17", help="zig target triple")
    parser.add_argument(
        "--include", default=sysconfig.get_paths()["include"], help="the target Python's headers"
    )
    parser.add_argument(
        "--abi",
        default=sysconfig.get_config_var("EXT_SUFFIX").removeprefix(".").removesuffix(".so"),
        help="extension suffix of the target Python (e.g. cpython-313-aarch64-linux-gnu)",
    )
    args = parser.parse_args()
    output = HERE / f"_compiled_walk.{args.abi}.so"
    command = [
        sys.executable, "-m", "ziglang", "cc", "-target", args.target, "-shared", "-fPIC", "-O2",
        "-fno-strict-aliasing", "-Wall", "-Werror", f"-I{args.include}", str(HERE / "walk.c"),
        "-o", str(output),
    ]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, check=True)  # noqa: S603
    print(
        f"built {output.name} ({output.stat().st_size} bytes) for {args.target} "
        f"in {time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
