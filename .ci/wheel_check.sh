#!/usr/bin/env bash
# The package without the repository around it (issue "an installed package that works anywhere"):
# build the wheel from a clean clone of HEAD, install it into a fresh virtualenv through the
# notebooks' Colab install cell (NST_INSTALL_SOURCE = the wheel), then, from a folder outside the
# clone, run the CLI's default job, write the course with nst_utils.course and grade its solution
# (full marks, exit 0) and its untouched exercise (0, exit 1).
# With OLDEST=1 (what .ci/run does) the fresh virtualenv is the oldest one pyproject.toml declares: Python
# 3.10 (PYTHON_OLDEST overrides) with every dependency at its lower bound (requirements-oldest.txt, as
# pip constraints), and the helpers' tests and the assignment notebook's test cells (nbval) run there too,
# so the declared lower bounds are the tested ones.
# Usage: bash .ci/wheel_check.sh   or   OLDEST=1 bash .ci/wheel_check.sh
# (needs git, the Python and the package registry)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
PY=${PYTHON:-python3}
if [ "${OLDEST:-0}" = 1 ]; then
  # Python 3.10: PYTHON_OLDEST, python3.10 on PATH, or pyenv's (a pyenv shim answers but may not run it)
  PY=
  for candidate in ${PYTHON_OLDEST:-} python3.10 "$(pyenv root 2>/dev/null)"/versions/3.10*/bin/python3.10; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      PY=$candidate; break
    fi
  done
  [ -n "$PY" ] || { echo "wheel check FAILED: no Python 3.10 (the oldest declared); set PYTHON_OLDEST" >&2; exit 1; }
  export PIP_CONSTRAINT="$PWD/requirements-oldest.txt"  # every install below takes the lower bounds
fi
NAME=Art_Generation_with_Neural_Style_Transfer.ipynb
work=$(mktemp -d "${TMPDIR:-/tmp}/nst-wheel-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "wheel check FAILED: $*" >&2; exit 1; }

# 1. The wheel, from committed files only (no egg-info, outputs or weights of this checkout).
git clone --quiet . "$work/src"
"$PY" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/src"
wheel=$(ls "$work"/dist/nst_utils-*.whl)
"$PY" - "$wheel" "$NAME" <<'EOF' || fail "the wheel lacks package data"
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
wanted = [f"nst_utils/course_files/{p}" for p in (
    "images/chelsea.png", "images/brushstrokes.png", "images/mosaic.png", "images/nst_example.jpg",
    "images/README.md", f"notebooks/{sys.argv[2]}", f"notebooks/exercises/{sys.argv[2]}",
    "notebooks/Extensions.ipynb", "notebooks/Fast_Style_Transfer.ipynb", "notebooks/Reconstructions.ipynb")]
wanted += ["nst_utils/feedforward/models/brushstrokes.npz", "nst_utils/fast/compiled_ops.cc"]
missing = [n for n in wanted if n not in names]
print(f"wheel: {sys.argv[1].rsplit('/', 1)[-1]}, {len(names)} files" + (f", MISSING {missing}" if missing else ""))
sys.exit(1 if missing else 0)
EOF
echo "wheel built: $(( $(date +%s) - start )) s"

# 2. A fresh virtualenv; the package installed by the notebooks' own install cell, from the wheel.
"$PY" -m venv "$work/venv"
venv_py="$work/venv/bin/python"
"$venv_py" -m pip install --quiet --upgrade pip
cell=$("$venv_py" -c 'import json, sys; print("".join(json.load(open(sys.argv[1]))["cells"][1]["source"]))' \
       "$work/src/notebooks/$NAME")
mkdir "$work/outside" && cd "$work/outside"
[ "$(printf '%s\n' "$cell" | wc -l)" -le 4 ] || fail "the install cell has more than 4 lines"
NST_INSTALL_SOURCE="file://$wheel" "$venv_py" -c "$cell" > install-cell.log || fail "the install cell exited $?"
"$venv_py" -c "import nst_utils" || fail "the install cell did not install nst_utils from NST_INSTALL_SOURCE"
[ -z "$(NST_INSTALL_SOURCE=file:///nonexistent "$venv_py" -c "$cell" 2>&1)" ] \
  || fail "the install cell is not silent where nst_utils is installed"
"$venv_py" -m pip install --quiet "$wheel[grade]"
"$venv_py" -m pip check
where=$("$venv_py" -c 'import nst_utils, pathlib; print(pathlib.Path(nst_utils.__file__).parent)')
case "$where" in "$work/venv/"*) ;; *) fail "nst_utils imported from $where, not the fresh virtualenv";; esac
"$venv_py" -c 'import sys, tensorflow as tf, keras, numpy; print("Python", sys.version.split()[0], "TensorFlow", tf.__version__, "Keras", keras.__version__, "NumPy", numpy.__version__)'
echo "installed from the wheel into a fresh virtualenv: $(( $(date +%s) - start )) s"

# 3. From a folder outside the clone, offline, no weights given.
export TF_CPP_MIN_LOG_LEVEL=2
unset NST_VGG19_WEIGHTS
NST_MAX_ITERATIONS=2 "$work/venv/bin/nst" --quiet -o out || fail "nst (no arguments) exited $?"
[ -s out/generated_image.png ] || fail "nst wrote no out/generated_image.png"
echo "nst, the default job (2 iterations): $(( $(date +%s) - start )) s"

"$venv_py" -m nst_utils.course course > course.log || fail "nst_utils.course exited $?"
grep -q "written    course/solution/$NAME" course.log || fail "nst_utils.course did not write the solution"
[ -s "course/$NAME" ] && [ -s course/images/nst_example.jpg ] || fail "the course lacks files"
if "$venv_py" -m nst_utils.course course > /dev/null 2>&1; then :; else fail "nst_utils.course refused an up-to-date folder"; fi

status=0; "$venv_py" -m nst_utils.grade "course/solution/$NAME" > solution.txt 2>&1 || status=$?
cat solution.txt
[ "$status" = 0 ] && grep -q "Score: 6/6" solution.txt && grep -q "Notebook run: runs" solution.txt \
  || fail "the written solution did not get full marks (exit $status)"
status=0; "$venv_py" -m nst_utils.grade "course/$NAME" > exercise.txt 2>&1 || status=$?
grep -E "^(Score|Notebook run)" exercise.txt
[ "$status" = 1 ] && grep -q "Score: 0/6" exercise.txt || fail "the untouched exercise did not score 0 with exit 1 (exit $status)"

# 4. With OLDEST=1: the helpers' tests and the notebook's test cells on these versions, from the clone
# (its nst_utils is the wheel's code, imported from the working folder).
if [ "${OLDEST:-0}" = 1 ]; then
  "$venv_py" -m pip install --quiet pytest nbval tomli  # tomli: pyproject read on Python 3.10
  (cd "$work/src" && "$venv_py" -m pytest -q tests/test_costs.py tests/test_images.py tests/test_public_tests.py \
     tests/test_cli.py tests/test_vgg.py tests/test_train.py tests/test_end_to_end.py tests/test_install.py \
     "notebooks/$NAME") || fail "the tests failed on the oldest declared versions"
  echo "tests on the oldest declared versions: $(( $(date +%s) - start )) s"
fi
echo "wheel check passed: $(( $(date +%s) - start )) s"
