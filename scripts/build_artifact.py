#!/usr/bin/env python3
"""Build dist/transform_lambda.zip: the transform package, its compiled walk and orjson for the
Lambda's architecture.

The one builder of the artifact (`make package`) and of the compiled walk
(``src/transform_lambda/_dynamodb_json.c``). Byte-identical across builds: entries sorted, fixed
timestamps (1980-01-01), fixed modes (0644), fixed deflate level, no caches or tests. The orjson
wheel is pinned by version and SHA-256, downloaded once with pip into the wheel cache
(build/wheels by default) and reused from there. The compiled walk is cross-compiled with zig's C
compiler (the pinned ``ziglang`` from PyPI) against the vendored CPython headers of
``third_party/cpython`` for the stable ABI, so any machine with pip builds the same bytes for
either architecture. Prints the base64 SHA-256 of the zip, the value Terraform's
filebase64sha256() gives.

    build_artifact.py --arch arm64 --output dist/transform_lambda.zip
    build_artifact.py --compiled-walk-for-this-machine   # in place, for tests and `make bench`
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import platform
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
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
# The compiled walk: zig targets by Lambda architecture (glibc 2.17, manylinux2014's floor; the
# python3.13 runtime runs on Amazon Linux 2023, glibc 2.34), and the zig release it is built with.
ZIG_TARGETS = {"x86_64": "x86_64-linux-gnu.2.17", "arm64": "aarch64-linux-gnu.2.17"}
COMPILED_WALK_SOURCE = PACKAGE / "_dynamodb_json.c"
COMPILED_WALK_NAME = "_dynamodb_json.abi3.so"  # abi3: any CPython >= 3.11 (Py_LIMITED_API)
PYTHON_HEADERS = ROOT / "third_party" / "cpython" / "include"
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


def pinned_ziglang() -> str:
    """The ziglang release pyproject.toml pins (dependency group ``tools``)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    for requirement in project["dependency-groups"]["tools"]:
        if isinstance(requirement, str) and requirement.startswith("ziglang=="):
            return requirement.removeprefix("ziglang==")
    raise BuildError("pyproject.toml pins no ziglang== in the dependency group 'tools'")


def compile_walk(target: str, output: Path, *, extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile the compiled walk for the zig ``target`` into ``output`` (an extension module)."""
    pinned = pinned_ziglang()
    try:
        found: str | None = metadata.version("ziglang")
    except metadata.PackageNotFoundError:
        found = None
    if found != pinned:
        raise BuildError(
            f"the compiled walk is built with ziglang {pinned} (found: {found}); install it with: "
            f"{sys.executable} -m pip install ziglang=={pinned} (make venv does)"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "ziglang", "cc", "-target", target, "-shared", "-fPIC", "-O2",
        "-fno-strict-aliasing", "-g0", "-s", "-Wall", "-Wextra", "-Wno-unused-parameter",
        "-Wno-missing-field-initializers", "-Werror", "-isystem", str(PYTHON_HEADERS),
        *extra_flags, str(COMPILED_WALK_SOURCE), "-o", str(output),
    ]  # fmt: skip
    completed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if completed.returncode != 0:
        raise BuildError(
            f"zig cc failed to build the compiled walk for {target}:\n"
            + (completed.stderr or completed.stdout).strip()
        )
    return output


def compile_walk_for_this_machine() -> Path:
    """The compiled walk next to its source, for this machine's Pythons (tests, `make bench`)."""
    machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(platform.machine().lower())
    machine = machine or platform.machine().lower()
    if sys.platform == "win32":
        # An extension for Windows links against python3.lib, which zig does not have: the artifact
        # (Linux) builds on Windows as anywhere, the in-place build for local tests does not.
        raise BuildError(
            "the compiled walk is built in place on Linux and macOS only; on Windows, run the "
            "tests in WSL (`make package` works here as anywhere)"
        )
    if sys.platform == "darwin":
        # An extension module resolves the interpreter's symbols when it is loaded.
        target, flags = f"{machine}-macos", ("-Wl,-undefined,dynamic_lookup",)
    else:
        target, flags = f"{machine}-linux-gnu", ()
    return compile_walk(target, PACKAGE / COMPILED_WALK_NAME, extra_flags=flags)


def _compiled_walk_files(arch: str, build_dir: Path) -> dict[str, bytes]:
    """The compiled walk for ``arch``, at its place in the package."""
    output = compile_walk(ZIG_TARGETS[arch], build_dir / arch / COMPILED_WALK_NAME)
    return {f"{PACKAGE.name}/{COMPILED_WALK_NAME}": output.read_bytes()}


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
    files = (
        _runtime_files()
        | _compiled_walk_files(arch, ROOT / "build" / "compiled-walk")
        | _wheel_files(fetch_orjson_wheel(arch, cache_dir))
    )
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
    parser.add_argument("--arch", choices=sorted(ORJSON_WHEELS))
    parser.add_argument("--output", type=Path)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "build" / "wheels")
    parser.add_argument(
        "--compiled-walk-for-this-machine",
        action="store_true",
        help=f"only build the compiled walk, as {PACKAGE.name}/{COMPILED_WALK_NAME}, for the "
        "Pythons of this machine (tests, make bench)",
    )
    args = parser.parse_args(argv)
    if not args.compiled_walk_for_this_machine and (args.arch is None or args.output is None):
        parser.error("--arch and --output are required to build the artifact")
    try:
        if args.compiled_walk_for_this_machine:
            built = compile_walk_for_this_machine()
            print(f"{built.relative_to(ROOT)} ({built.stat().st_size} bytes)")
            return 0
        content = build(args.arch, args.output, args.cache_dir)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
    print(f"{args.output} ({args.arch}, {len(content)} bytes) base64 SHA-256: {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
