"""The compiled ops (nst_utils/fast/native.py) seen from outside: the plain path with the reason when
they cannot be had, the one line that says so, and the CLI printing it once on stderr.
(The cache, the build and what is trusted: tests/test_native_cache.py.)"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nst_utils.cli import main
from nst_utils.fast import choice, native

REPO = Path(__file__).resolve().parent.parent
PROBE = ("import json; from nst_utils.fast import native; "
         "print(json.dumps({'loaded': native.ops() is not None, 'why_not': native.why_not(), "
         "'status': native.status()}))")


def probe(tmp_path, **env):
    """native.ops() and status() in a fresh process whose every cache folder is under tmp_path."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(tmp_path),
                "XDG_CACHE_HOME": str(tmp_path / "xdg"), "TMPDIR": str(tmp_path / "tmp"),
                "NST_NATIVE_CACHE": str(tmp_path / "cache"), **env}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", PROBE], env=full_env, capture_output=True, text=True,
                          timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_without_a_compiler_the_plain_path_is_used_and_said(tmp_path):
    result = probe(tmp_path, CXX="/nonexistent/g++")
    assert not result["loaded"]
    assert result["why_not"].startswith("no C++ compiler found (CXX='/nonexistent/g++')")
    assert result["status"].startswith("Compiled ops: off (no C++ compiler found")
    assert "apt-get install g++" in result["status"] and "set CXX" in result["status"]
    assert choice.plain_path_name() in result["status"]


def test_can_be_turned_off(tmp_path):
    result = probe(tmp_path, NST_NATIVE="0")
    assert (result["loaded"], result["why_not"]) == (False, "turned off by NST_NATIVE=0")
    assert "unset NST_NATIVE" in result["status"]


def test_status_is_one_line_for_every_reason(monkeypatch):
    hints = {"turned off by NST_NATIVE=0": "unset NST_NATIVE",
             "no C++ compiler found (CXX='g++')": "apt-get install g++",
             "building failed before, not retried (see /x/compiled_ops-0.failed; NST_NATIVE_REBUILD=1 tries "
             "again): g++ exited with 1:\nerror: one\nerror: two": "then run once with NST_NATIVE_REBUILD=1",
             "loading /x.so failed: undefined symbol": "nst_utils.fast.native's documentation"}
    for why, hint in hints.items():
        monkeypatch.setattr(native, "_state", {"ops": None, "why_not": why})
        line = native.status()
        assert "\n" not in line and line.startswith("Compiled ops: off (")
        assert why.splitlines()[0][:60] in line and hint in line
    monkeypatch.setattr(native, "_state", {"ops": object()})
    assert native.status().startswith("Compiled ops: on")
    assert native.off_notice() == ""


def test_the_plain_path_by_the_cpu(monkeypatch):
    monkeypatch.setattr(choice, "PLAIN_WINOGRAD", None)
    monkeypatch.setattr(choice, "cpu_flags", lambda: "flags : fpu avx2 fma")
    assert not choice.plain_winograd()
    monkeypatch.setattr(choice, "cpu_flags", lambda: "flags : fpu avx2 avx512f fma")
    assert choice.plain_winograd()


@pytest.mark.parametrize("quiet", [False, True])
def test_the_cli_says_once_on_stderr_why_they_are_off(standin_weights, tmp_path, no_iteration_cap, capsys,
                                                     monkeypatch, quiet):
    monkeypatch.setattr(native, "_state", {"ops": None, "why_not": "turned off by NST_NATIVE=0"})
    monkeypatch.setattr(choice, "cpu_fast_paths_default", lambda: True)
    code = main(["--weights", standin_weights, "--iterations", "2", "--size", "64x48", "--seed", "1",
                 "-o", str(tmp_path), "--save-every", "0", *(["--quiet"] if quiet else [])])
    assert code == 0
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if "Compiled ops" in line]
    assert lines == ([] if quiet else [native.status()])
    assert "Compiled ops" not in out
