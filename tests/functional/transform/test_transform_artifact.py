"""The artifact: reproducible (from any checkout), runtime files only, small, the compiled walk
for the right architecture, and importable in a fresh interpreter."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BUILDER = ROOT / "scripts" / "build_artifact.py"
EVENT = ROOT / "tests" / "events" / "firehose_changes.json"
WHEEL_CACHE = ROOT / "build" / "wheels"  # shared with `make package`: PyPI is asked once

_SMOKE = """
import json, sys
sys.path.insert(0, sys.argv[2])  # /var/task on Lambda
from transform_lambda import _json, dynamodb_json
from transform_lambda.handler import lambda_handler
event = json.load(open(sys.argv[1]))
response = lambda_handler(event, None)
assert [r["result"] for r in response["records"]] == ["Ok"] * 4, response
print(_json.JSON_LIBRARY, dynamodb_json.WALK)
"""
COMPILED_WALK = "transform_lambda/_dynamodb_json.abi3.so"
# ELF e_machine of each Lambda architecture (System V ABI): EM_X86_64 and EM_AARCH64.
ELF_MACHINES = {"x86_64": 62, "arm64": 183}


def _elf_machine(binary: bytes) -> int:
    assert binary[:4] == b"\x7fELF", "not an ELF file"
    return int.from_bytes(binary[18:20], "little")


def _build(arch: str, output: Path) -> bytes:
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(BUILDER), "--arch", arch, "--output", str(output),
         "--cache-dir", str(WHEEL_CACHE)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    if completed.returncode != 0 and "cannot fetch" in completed.stderr:
        pytest.skip(f"orjson wheel not obtainable here: {completed.stderr.strip()}")
    assert completed.returncode == 0, completed.stderr
    content = output.read_bytes()
    import base64  # noqa: PLC0415

    assert base64.b64encode(hashlib.sha256(content).digest()).decode() in completed.stdout
    return content


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("dist") / "transform_lambda.zip"
    _build("x86_64", output)
    return output


def test_builds_are_byte_identical(artifact: Path, tmp_path: Path) -> None:
    # GIVEN one build WHEN built again THEN the bytes are identical
    assert _build("x86_64", tmp_path / "again.zip") == artifact.read_bytes()


def test_artifact_holds_runtime_files_only(artifact: Path) -> None:
    with zipfile.ZipFile(artifact) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    assert artifact.stat().st_size <= 1024 * 1024
    assert all(info.date_time == (1980, 1, 1, 0, 0, 0) for info in infos)
    assert all(info.external_attr >> 16 == 0o100644 for info in infos)
    assert not [
        n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyi")) or "test" in n
    ]
    assert "transform_lambda/handler.py" in names
    assert any(n.startswith("orjson/orjson.cpython-313-x86_64") for n in names)
    assert not [n for n in names if n.endswith((".c", ".h"))]
    with zipfile.ZipFile(artifact) as archive:
        assert _elf_machine(archive.read(COMPILED_WALK)) == ELF_MACHINES["x86_64"]


def test_arm64_artifact_bundles_the_aarch64_wheel_and_walk(tmp_path: Path) -> None:
    with zipfile.ZipFile(_build_path(tmp_path, "arm64")) as archive:
        assert any("orjson" in n and "aarch64" in n for n in archive.namelist())
        assert _elf_machine(archive.read(COMPILED_WALK)) == ELF_MACHINES["arm64"]


def test_builds_from_another_checkout_are_byte_identical(artifact: Path, tmp_path: Path) -> None:
    # GIVEN the builder's inputs copied to another path, and empty zig caches
    checkout = tmp_path / "elsewhere" / "checkout"
    for part in ("src/transform_lambda", "scripts", "third_party"):
        shutil.copytree(
            ROOT / part, checkout / part, ignore=shutil.ignore_patterns("*.so", "__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", checkout)
    env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=str(tmp_path / "zig-global"),
               ZIG_LOCAL_CACHE_DIR=str(tmp_path / "zig-local"))  # fmt: skip
    # WHEN the artifact is built there
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(checkout / "scripts" / "build_artifact.py"), "--arch", "x86_64",
         "--output", str(tmp_path / "elsewhere.zip"), "--cache-dir", str(WHEEL_CACHE)],
        capture_output=True, text=True, check=False, env=env, timeout=300,
    )  # fmt: skip
    # THEN its bytes are this checkout's: the compiled walk carries no path and no build cache
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / "elsewhere.zip").read_bytes() == artifact.read_bytes()


def _build_path(tmp_path: Path, arch: str) -> Path:
    output = tmp_path / f"{arch}.zip"
    _build(arch, output)
    return output


def _extract(artifact: Path, target: Path, *, keep_orjson: bool) -> Path:
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(target)
    if not keep_orjson:
        shutil.rmtree(target / "orjson")
    return target


@pytest.fixture(scope="module")
def python_313() -> str:
    """A Python 3.13 that runs (Lambda's runtime): this one, or python3.13 on PATH."""
    if sys.version_info[:2] == (3, 13):
        return sys.executable
    found = shutil.which("python3.13")
    check = "import sys; sys.exit(sys.version_info[:2] != (3, 13))"
    if (
        found is None
        or subprocess.run(  # noqa: S603
            [found, "-c", check], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("no runnable python3.13 on PATH (`make test-transform-pythons` requires one)")
    return found


def test_artifact_runs_with_orjson_on_python_313(
    artifact: Path, tmp_path: Path, python_313: str
) -> None:
    # GIVEN the x86_64 artifact unpacked as Lambda does WHEN a fresh isolated 3.13 runs the handler
    task = _extract(artifact, tmp_path / "task", keep_orjson=True)
    completed = subprocess.run(  # noqa: S603
        [python_313, "-I", "-S", "-c", _SMOKE, str(EVENT), str(task)],
        cwd=task, capture_output=True, text=True, check=False, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    # THEN it answers with the bundled orjson and the compiled walk
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == "orjson compiled"


@pytest.fixture(scope="module")
def arm64_python() -> str:
    """An arm64 CPython 3.13 command (Lambda's default architecture), named by ARM64_PYTHON."""
    command = os.environ.get("ARM64_PYTHON")
    if not command:
        pytest.skip(
            "ARM64_PYTHON is unset: name an arm64 CPython 3.13 command, e.g. the qemu-emulated one"
            " `.ci/arm64-python` builds and prints, or (with Docker) a wrapper running"
            " public.ecr.aws/lambda/python:3.13 for linux/arm64 with the paths it is given mounted"
        )
    return command


def test_arm64_artifact_runs_on_arm64_python_313(tmp_path: Path, arm64_python: str) -> None:
    # GIVEN the arm64 artifact unpacked as Lambda does, and an interpreter that is aarch64 3.13
    task = _extract(_build_path(tmp_path, "arm64"), tmp_path / "task", keep_orjson=True)
    check = "import platform, sys; print(platform.machine(), '%d.%d' % sys.version_info[:2])"
    interpreter = subprocess.run(  # noqa: S603
        [arm64_python, "-I", "-S", "-c", check],
        capture_output=True, text=True, check=False, env={"PATH": os.environ["PATH"]}, timeout=600,
    )  # fmt: skip
    assert interpreter.returncode == 0, interpreter.stderr
    assert interpreter.stdout.split() == ["aarch64", "3.13"], f"ARM64_PYTHON={arm64_python}"
    # WHEN it runs the handler (emulated on other machines: slow, hence the timeout)
    completed = subprocess.run(  # noqa: S603
        [arm64_python, "-I", "-S", "-c", _SMOKE, str(EVENT), str(task)],
        cwd=task, capture_output=True, text=True, check=False, env={"PATH": os.environ["PATH"]},
        timeout=600,
    )  # fmt: skip
    # THEN it answers with the bundled aarch64 orjson and the aarch64 compiled walk (an x86_64
    # interpreter could load neither)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == "orjson compiled"


def test_artifact_runs_without_orjson(artifact: Path, tmp_path: Path) -> None:
    # GIVEN the artifact without orjson WHEN run by an interpreter without site-packages
    task = _extract(artifact, tmp_path / "task", keep_orjson=False)
    completed = subprocess.run(  # noqa: S603
        [sys.executable, "-I", "-S", "-c", _SMOKE, str(EVENT), str(task)],
        cwd=task, capture_output=True, text=True, check=False, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    # THEN it still answers, with the standard library's json (and the compiled walk: abi3 serves
    # this Python too)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[-1] == "json compiled"


def test_unfetchable_wheel_fails_clearly(tmp_path: Path) -> None:
    # GIVEN an empty wheel cache and an unreachable package index
    env = dict(os.environ, PIP_INDEX_URL="http://127.0.0.1:9/simple", PIP_RETRIES="0",
               PIP_TIMEOUT="2", PIP_NO_INDEX="0", PIP_FIND_LINKS="")  # fmt: skip
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(BUILDER), "--arch", "arm64", "--output", str(tmp_path / "a.zip"),
         "--cache-dir", str(tmp_path / "wheels")],
        capture_output=True, text=True, check=False, env=env, timeout=120,
    )  # fmt: skip
    # THEN the build stops with one clear error and writes no artifact
    assert completed.returncode == 1
    assert "cannot fetch the orjson" in completed.stderr
    assert not (tmp_path / "a.zip").exists()


def test_missing_ziglang_fails_clearly(tmp_path: Path) -> None:
    # GIVEN an interpreter that cannot see the pinned ziglang (no site-packages)
    completed = subprocess.run(  # noqa: S603
        [sys.executable, "-S", str(BUILDER), "--arch", "arm64", "--output", str(tmp_path / "a.zip"),
         "--cache-dir", str(WHEEL_CACHE)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    # THEN the build stops with one line saying what to install, and writes no artifact
    assert completed.returncode == 1
    assert completed.stderr.startswith("error: the compiled walk is built with ziglang ")
    assert "pip install ziglang==" in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "a.zip").exists()
