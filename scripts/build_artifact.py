#!/usr/bin/env python3
"""Build dist/transform_lambda.zip: the transform package plus orjson for the Lambda's architecture.

The one builder of the artifact (`make package`). Byte-identical across builds: entries sorted,
fixed timestamps (1980-01-01), fixed modes (0644), fixed deflate level, no caches or tests. The
orjson wheel is pinned by version and SHA-256, downloaded once with pip into the wheel cache
(build/wheels by default) and reused from there. Prints the base64 SHA-256 of the zip, the value
Terraform's filebase64sha256() gives.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "transform_lambda"
PYTHON_VERSION = "3.13"  # the function's runtime, python3.13
ORJSON_VERSION = "3.13.0"
# SHA-256 of the cp313 manylinux wheels of ORJSON_VERSION on PyPI, by Lambda architecture.
ORJSON_WHEELS = {
    "x86_64": (
        "manylinux2014_x86_64",
        "cbed5f4c4b88d94bcc36115f4c3bb3aa25da1563a5c3328aa3acebce2b083040",
    ),
    "arm64": (
        "manylinux2014_aarch64",
        "b081f0e7b600ff24513dec4ca75507fa05e904607847e386e8310d5b7b96b6c7",
    ),
}
MAX_ARTIFACT_BYTES = 1024 * 1024
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16


class BuildError(RuntimeError):
    """The artifact cannot be built; the message says why and what to do."""


def fetch_orjson_wheel(arch: str, cache_dir: Path) -> Path:
    """The pinned orjson wheel for ``arch``, from the cache or else from PyPI via pip."""
    platform, expected_sha256 = ORJSON_WHEELS[arch]
    target = cache_dir / arch
    target.mkdir(parents=True, exist_ok=True)
    pattern = f"orjson-{ORJSON_VERSION}-cp{PYTHON_VERSION.replace('.', '')}-*.whl"
    cached = sorted(target.glob(pattern))
    if not cached:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", "--platform", platform,
            "--python-version", PYTHON_VERSION, "--implementation", "cp",
            "--dest", str(target), f"orjson=={ORJSON_VERSION}",
        ]  # fmt: skip
        completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        cached = sorted(target.glob(pattern))
        if completed.returncode != 0 or not cached:
            detail = (completed.stderr or completed.stdout).strip().splitlines()
            raise BuildError(
                f"cannot fetch the orjson {ORJSON_VERSION} wheel for {arch} ({platform}, "
                f"Python {PYTHON_VERSION}) from the package index"
                + (f": {detail[-1]}" if detail else "")
                + ". Check network access to PyPI (or PIP_INDEX_URL), "
                + f"or place the wheel in {target}."
            )
    wheel = cached[-1]
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != expected_sha256:
        raise BuildError(
            f"{wheel.name}: SHA-256 {digest} is not the pinned {expected_sha256}; "
            f"delete {wheel} and build again"
        )
    return wheel


def _runtime_files() -> dict[str, bytes]:
    """The package's runtime files: Python sources only (no caches, no type stubs, no tests)."""
    files = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        files[str(path.relative_to(PACKAGE.parent).as_posix())] = path.read_bytes()
    return files


def _wheel_files(wheel: Path) -> dict[str, bytes]:
    """orjson's importable files and its licence files; nothing else from the wheel."""
    files = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            keep = name.startswith("orjson/") and not name.endswith((".pyi", "py.typed"))
            keep = keep or (".dist-info/" in name and "licen" in name.lower())
            keep = keep or name.endswith(".dist-info/METADATA")
            if keep and not name.endswith("/"):
                files[name] = archive.read(name)
    if not any(name.startswith("orjson/") and ".so" in name for name in files):
        raise BuildError(f"{wheel.name} holds no orjson extension module")
    return files


def build(arch: str, output: Path, cache_dir: Path) -> bytes:
    """Write the zip to ``output`` and return its bytes."""
    files = _runtime_files() | _wheel_files(fetch_orjson_wheel(arch, cache_dir))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = _FILE_MODE
            info.create_system = 3  # Unix, so the mode bits are read
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name], compresslevel=9)
    content = buffer.getvalue()
    if len(content) > MAX_ARTIFACT_BYTES:
        raise BuildError(f"artifact is {len(content)} bytes, over the {MAX_ARTIFACT_BYTES} limit")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(content)
    return content


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ORJSON_WHEELS), required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "build" / "wheels")
    args = parser.parse_args(argv)
    try:
        content = build(args.arch, args.output, args.cache_dir)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
    print(f"{args.output} ({args.arch}, {len(content)} bytes) base64 SHA-256: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
