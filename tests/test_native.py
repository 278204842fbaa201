"""The compiled Winograd transforms (nst_utils/fast/native.py): built on first use into a cache
folder, and a plain fallback (TensorFlow's ops) with the reason when they cannot be had."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PROBE = ("import json; from nst_utils.fast import native; "
         "print(json.dumps({'loaded': native.ops() is not None, 'why_not': native.why_not()}))")


def probe(tmp_path, **env):
    """native.ops() in a fresh process whose every cache folder is under tmp_path."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(tmp_path),
                "XDG_CACHE_HOME": str(tmp_path / "xdg"), "TMPDIR": str(tmp_path / "tmp"),
                "NST_NATIVE_CACHE": str(tmp_path / "cache"), **env}
    (tmp_path / "tmp").mkdir(exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", PROBE], env=full_env, capture_output=True, text=True,
                          timeout=600, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_builds_once_into_the_cache_folder(tmp_path):
    if shutil.which("g++") is None:
        assert os.environ.get("CI") != "true", "CI must have g++ for the compiled transforms"
        pytest.skip("no g++ on this machine")
    first = probe(tmp_path)
    assert first == {"loaded": True, "why_not": ""}
    built = list((tmp_path / "cache").glob("compiled_ops-*.so"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns
    assert probe(tmp_path, CXX="/nonexistent/g++")["loaded"]  # the cached build, no compiler needed
    assert built[0].stat().st_mtime_ns == stamp


def test_without_a_compiler_the_tensorflow_transforms_are_used(tmp_path):
    result = probe(tmp_path, CXX="/nonexistent/g++")
    assert not result["loaded"]
    assert "no C++ compiler" in result["why_not"]


def test_can_be_turned_off(tmp_path):
    result = probe(tmp_path, NST_NATIVE="0")
    assert result == {"loaded": False, "why_not": "turned off by NST_NATIVE=0"}
