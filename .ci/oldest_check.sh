#!/usr/bin/env bash
# The lower bounds pyproject.toml declares, tested together: a fresh virtualenv on the oldest Python
# declared (3.10; PYTHON_OLDEST overrides) with requirements-oldest.txt (TensorFlow 2.16.1, Keras
# 3.0.5, NumPy 1.26.4, ...), the package installed from this checkout without its dependencies; then
# the helpers' tests, the assignment notebook under nbval (its test cells), the CLI's default job and
# the grader on the solution (6/6) and the exercise (0/6).
# Not run by .ci/run (495 s on the 2-core machine, shared; 200 s of it installing); run it when a
# lower bound changes:
#   bash .ci/oldest_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
PY=${PYTHON_OLDEST:-python3.10}
NAME=Art_Generation_with_Neural_Style_Transfer.ipynb
work=$(mktemp -d "${TMPDIR:-/tmp}/nst-oldest-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "oldest check FAILED: $*" >&2; exit 1; }

"$PY" -m venv "$work/venv"
venv_py="$work/venv/bin/python"
"$venv_py" -m pip install --quiet --upgrade pip
"$venv_py" -m pip install --quiet -r requirements-oldest.txt
"$venv_py" -m pip install --quiet --no-deps -e .
"$venv_py" -m pip check
"$venv_py" -c 'import sys, tensorflow as tf, keras, numpy; print("Python", sys.version.split()[0], "TensorFlow", tf.__version__, "Keras", keras.__version__, "NumPy", numpy.__version__)'
echo "installed: $(( $(date +%s) - start )) s"

export TF_CPP_MIN_LOG_LEVEL=2
unset NST_VGG19_WEIGHTS
"$venv_py" -m pytest -q tests/test_costs.py tests/test_images.py tests/test_public_tests.py tests/test_cli.py \
  tests/test_vgg.py tests/test_train.py tests/test_end_to_end.py tests/test_install.py "notebooks/$NAME"
echo "tests: $(( $(date +%s) - start )) s"

mkdir "$work/outside" && cd "$work/outside"
NST_MAX_ITERATIONS=2 "$venv_py" -m nst_utils --quiet -o out || fail "python -m nst_utils exited $?"
[ -s out/generated_image.png ] || fail "no out/generated_image.png"
"$venv_py" -m nst_utils.course course > /dev/null
status=0; "$venv_py" -m nst_utils.grade "course/solution/$NAME" > solution.txt 2>&1 || status=$?
grep -E "^(Score|Notebook run)" solution.txt
[ "$status" = 0 ] && grep -q "Score: 6/6" solution.txt || fail "the solution did not get full marks (exit $status)"
status=0; "$venv_py" -m nst_utils.grade "course/$NAME" > exercise.txt 2>&1 || status=$?
grep -E "^Score" exercise.txt
[ "$status" = 1 ] && grep -q "Score: 0/6" exercise.txt || fail "the exercise did not score 0 (exit $status)"
echo "oldest check passed: $(( $(date +%s) - start )) s"
