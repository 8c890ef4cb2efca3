"""The release artefacts of ``make wheel`` (``scripts/build-dist.sh``) in dist/.

``make wheel`` writes the sdist, then builds the wheel from it with
``pip wheel`` (the PEP 517 build of ``pip install <sdist>``): a wheel in
dist/ means the sdist built. Checked here: one sdist holding everything a
build needs and the same Python sources as the wheel; one abi3 wheel tagged
manylinux_2_28 or older whose extension needs no newer glibc symbols; its
WHEEL and METADATA files (version from the Cargo workspace, licence, URLs);
and that it installs into a fresh virtual environment with no Rust toolchain
on PATH and reads a lab chronyd there. Without dist/ the tests fail under CI
and are skipped elsewhere (run ``make wheel``).
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import chronylab
from support.prerequisites import unavailable
from support.processes import run_python

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None  # type: ignore[assignment]

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "dist"

WHEEL_NAME = re.compile(
    r"pychrony_rs-(?P<version>[^-]+)-cp310-abi3-manylinux_2_(?P<glibc_minor>\d+)_x86_64\.whl"
)
#: The newest manylinux policy the wheel may claim (issue 13).
MAX_GLIBC_MINOR = 28


def _dist_file(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    if not found:
        unavailable(f"no {pattern} in {DIST}: run make wheel")
    return found[-1]


@pytest.fixture(scope="module")
def wheel() -> Path:
    return _dist_file("*.whl")


@pytest.fixture(scope="module")
def sdist() -> Path:
    return _dist_file("*.tar.gz")


def workspace_version() -> str:
    """``[workspace.package] version`` of Cargo.toml: the one place it is set."""
    if tomllib is None:
        pytest.skip("reading Cargo.toml needs tomllib (Python 3.11+)")
    with (REPO / "Cargo.toml").open("rb") as f:
        return str(tomllib.load(f)["workspace"]["package"]["version"])


def _dist_info(wheel: Path, name: str) -> str:
    with zipfile.ZipFile(wheel) as zf:
        version = WHEEL_NAME.fullmatch(wheel.name)
        assert version, wheel.name
        return zf.read(f"pychrony_rs-{version['version']}.dist-info/{name}").decode()


def test_exactly_one_wheel_and_one_sdist() -> None:
    wheels = sorted(p.name for p in DIST.glob("*.whl"))
    sdists = sorted(p.name for p in DIST.glob("*.tar.gz"))
    if not wheels and not sdists:
        unavailable(f"no wheel or sdist in {DIST}: run make wheel")
    assert len(wheels) == 1 and len(sdists) == 1, (wheels, sdists)


def test_wheel_is_abi3_manylinux_2_28_or_older(wheel: Path) -> None:
    match = WHEEL_NAME.fullmatch(wheel.name)
    assert match, f"{wheel.name} is not a cp310-abi3 manylinux x86_64 wheel"
    assert int(match["glibc_minor"]) <= MAX_GLIBC_MINOR
    fields = email.message_from_string(_dist_info(wheel, "WHEEL"))
    assert fields["Root-Is-Purelib"] == "false"
    assert fields.get_all("Tag") == [wheel.name.removesuffix(".whl").split("-", 2)[2]]


def test_extension_needs_no_newer_glibc_than_its_tag(wheel: Path, tmp_path: Path) -> None:
    """The tag is honest: no symbol version above the tag's glibc."""
    readelf = shutil.which("readelf")
    if readelf is None:
        unavailable("readelf (binutils) is not installed")
    with zipfile.ZipFile(wheel) as zf:
        (so_name,) = [n for n in zf.namelist() if n.startswith("pychrony/_core") and ".so" in n]
        so = Path(zf.extract(so_name, tmp_path))
    out = subprocess.run(
        [readelf, "--version-info", "--wide", str(so)], capture_output=True, text=True, check=True
    ).stdout
    needed = {int(m) for m in re.findall(r"GLIBC_2\.(\d+)", out)}
    assert needed, out
    tag_minor = int(WHEEL_NAME.fullmatch(wheel.name)["glibc_minor"])  # type: ignore[index]
    assert max(needed) <= tag_minor, f"needs GLIBC_2.{max(needed)}, tagged 2.{tag_minor}"


def test_metadata(wheel: Path) -> None:
    """Version from Cargo's [workspace.package] (the one place), licence, URLs."""
    meta = email.message_from_string(_dist_info(wheel, "METADATA"))
    assert meta["Name"] == "pychrony-rs"
    assert meta["Version"] == workspace_version()
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert urls["Repository"].startswith("https://github.com/")
    classifiers = meta.get_all("Classifier") or []
    assert "Programming Language :: Rust" in classifiers
    assert "Operating System :: POSIX :: Linux" in classifiers


def test_licence_file_is_in_the_wheel(wheel: Path) -> None:
    assert _dist_info(wheel, "licenses/LICENSE") == (REPO / "LICENSE").read_text()
    assert "MIT License" in (REPO / "LICENSE").read_text()


def _path_without_rust() -> str:
    """This PATH without the folders that hold cargo or rustc."""
    kept = [
        d
        for d in os.environ.get("PATH", os.defpath).split(os.pathsep)
        if d and not any(os.access(os.path.join(d, tool), os.X_OK) for tool in ("cargo", "rustc"))
    ]
    return os.pathsep.join(kept)


def test_installs_into_a_fresh_venv_and_reads_chronyd(
    wheel: Path, client: chronylab.Instance, tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, symlinks=True).create(env_dir)
    path = os.pathsep.join([str(env_dir / "bin"), _path_without_rust()])
    assert shutil.which("cargo", path=path) is None and shutil.which("rustc", path=path) is None
    env = {
        "PATH": path,
        "HOME": str(tmp_path),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INDEX": "1",
    }
    python = str(env_dir / "bin" / "python")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert install.returncode == 0, install.stdout + install.stderr

    # From tmp_path, so that nothing of the checkout can be imported.
    env["PYTHONSAFEPATH"] = "1"
    probe = run_python(
        """
        import sys
        import pychrony
        t = pychrony.get_tracking(sys.argv[1])
        print(pychrony.__file__)
        print(pychrony.__version__, t.stratum, len(pychrony.get_sources(sys.argv[1])))
        """,
        client.socket,
        python=python,
        env=env,
        what="the installed wheel",
    )
    assert probe.returncode == 0, probe.stderr
    location, summary = probe.stdout.splitlines()
    assert Path(location).is_relative_to(env_dir), location
    version, stratum, sources = summary.split()
    assert version == workspace_version()
    assert int(stratum) >= 0 and int(sources) > 0

    def installed(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=60,
            check=False,
        )

    cli = installed(python, "-m", "pychrony", "--version")
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.startswith(f"pychrony-rs {workspace_version()} (Rust core ")

    # The console script of [project.scripts], reading the lab's chronyd.
    script = installed(str(env_dir / "bin" / "pychrony"), "tracking", "--csv", "-a", client.socket)
    assert script.returncode == 0, script.stderr
    assert len(script.stdout.split(",")) == 14


def _sdist_names(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as tf:
        return {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}


def test_sdist_has_what_a_build_needs(sdist: Path) -> None:
    names = _sdist_names(sdist)
    for needed in ("pyproject.toml", "Cargo.toml", "Cargo.lock", "LICENSE", "README.md"):
        assert needed in names
    for crate in sorted((REPO / "crates").iterdir()):
        if (crate / "Cargo.toml").exists():
            assert f"crates/{crate.name}/Cargo.toml" in names
            assert f"crates/{crate.name}/src/lib.rs" in names
    package = REPO / "python" / "pychrony"
    for source in sorted(package.iterdir()):
        if source.suffix in {".py", ".pyi"} or source.name == "py.typed":
            assert f"python/pychrony/{source.name}" in names
    assert not [n for n in names if n.startswith(("target/", ".venv", "dist/")) or ".so" in n]


def test_wheel_holds_the_python_sources_of_the_sdist(wheel: Path, sdist: Path) -> None:
    """The wheel came from this sdist: the same Python files, byte for byte."""
    with tarfile.open(sdist) as tf:
        top = tf.getnames()[0].split("/", 1)[0]
        sources = {}
        for member in tf.getmembers():
            prefix = f"{top}/python/"
            if member.isfile() and member.name.startswith(prefix):
                extracted = tf.extractfile(member)
                assert extracted is not None
                sources[member.name.removeprefix(prefix)] = extracted.read()
    with zipfile.ZipFile(wheel) as zf:
        packaged = {n: zf.read(n) for n in zf.namelist() if n.startswith("pychrony/")}
    assert {n: b for n, b in packaged.items() if ".so" not in n} == sources
    assert [n for n in packaged if ".so" in n] == ["pychrony/_core.abi3.so"]
