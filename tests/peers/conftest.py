"""Shared set-up: the corpus (built once, at collection), its files, and the run summary."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import checks  # noqa: E402
import cli  # noqa: E402
import corpus  # noqa: E402

_PROFILES = None


def profiles():
    global _PROFILES
    if _PROFILES is None:
        _PROFILES = corpus.build()
    return _PROFILES


def pytest_generate_tests(metafunc):
    if "profile" in metafunc.fixturenames:
        ps = profiles()
        select = getattr(metafunc.function, "select", None)
        if select is not None:
            ps = [p for p in ps if select(p)]
        metafunc.parametrize("profile", ps, ids=[p.name for p in ps])


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("peers"))


@pytest.fixture(scope="session")
def files(workdir):
    """name -> (PrefLib path, JSON path) for every profile."""
    out = {}
    for p in profiles():
        out[p.name] = (p.write_preflib(workdir), p.write_json(workdir))
    return out


@pytest.fixture(scope="session", autouse=True)
def binary_present():
    if not os.access(cli.binary(), os.X_OK):
        pytest.exit(f"no ualign binary at {cli.binary()}: run `cargo build --release -p "
                    "ualign-host` or set UALIGN_BIN", returncode=2)


def pytest_terminal_summary(terminalreporter):
    t = checks.TALLY
    if not t.count and not t.worst:
        return
    tr = terminalreporter
    tr.section("peer comparison: what the checks saw")
    ps = profiles()
    tr.write_line(f"profiles: {len(ps)} (max n = {max(p.n for p in ps)})")
    for key in sorted(t.count):
        tr.write_line(f"  {key}: {t.count[key]}")
    for key in sorted(t.worst):
        v, where = t.worst[key]
        tr.write_line(f"  {key}: {v:.9g} ({where})")
    for key in sorted(t.examples):
        tr.write_line(f"  {key}, e.g.:")
        for line in t.examples[key]:
            tr.write_line(f"    {line}")
