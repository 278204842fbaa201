"""Session setup shared by tests/ and the notebooks run by nbval.

The genuine VGG19 ImageNet weights cannot be downloaded on the project's machines, so unless real
weights are available (NST_VGG19_WEIGHTS, pretrained_model/ or the Keras cache), the session writes
stand-in weights in the Keras notop format (tests/standin_weights.py) and points NST_VGG19_WEIGHTS
at them. Notebook kernels started by nbval inherit the variable, so their VGG19 cells run instead of
being skipped. The stand-in is not the genuine file, and the package says so (a WeightsWarning);
the session ignores that one warning, for that one file, here and in the kernels and commands it
starts (PYTHONWARNINGS), so that the notebooks' stored outputs stay those of a genuine run.
"""
import os
import re
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent

# --- notebooks (nbval; `--nbval` is in pyproject's addopts) -----------------------------------------------
# notebooks/exercises/ holds the learner's version, whose exercises are unsolved: not run by nbval
# (tests/test_notebooks.py and tests/test_grader.py check it instead).
collect_ignore = ["notebooks/exercises"]


def pytest_collection_modifyitems(items):
    """A notebook's cells run in one kernel, so nbval's items are the full suite's, not the quick tier's."""
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """Start notebook kernels with NST_MAX_ITERATIONS=2 (unless set): the notebooks' 200-iteration
    loops only need to run under nbval. nbval starts a notebook's kernel in the setup of its first
    cell and the kernel copies os.environ, so the variable is set only then: other tests are not capped."""
    if item.path.suffix != ".ipynb" or os.environ.get("NST_MAX_ITERATIONS"):
        yield
        return
    os.environ["NST_MAX_ITERATIONS"] = "2"
    try:
        yield
    finally:
        del os.environ["NST_MAX_ITERATIONS"]


def _real_weights_available():
    from nst_utils.config import CONFIG, VGG19_WEIGHTS_FILE
    from nst_utils.weights import keras_cache_dir

    cached = Path(keras_cache_dir()) / "models" / VGG19_WEIGHTS_FILE
    return Path(CONFIG.VGG_MODEL).is_file() or cached.is_file()


def pytest_configure(config):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("MPLBACKEND", "Agg")
    if os.environ.get("NST_VGG19_WEIGHTS") or _real_weights_available():
        config.nst_standin_weights = None
        return
    from tests.standin_weights import write_notop_h5

    folder = Path(tempfile.mkdtemp(prefix="nst-standin-"))
    path = write_notop_h5(folder / "vgg19_standin_notop.h5", seed=0)
    os.environ["NST_VGG19_WEIGHTS"] = str(path)
    config.nst_standin_weights = path
    # weights.warn_if_not_genuine's message starts with this; -W filters match a message's start
    # and cannot hold ':' or ','
    known = f"the weights file '{path}'"
    if not set(":,") & set(known):
        config.addinivalue_line("filterwarnings", f"ignore:{re.escape(known)}:UserWarning")
        os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"),
                                                              f"ignore:{known}:UserWarning"]))


def pytest_report_header(config):
    path = getattr(config, "nst_standin_weights", None)
    if path:
        return f"VGG19 weights: stand-in (random, Keras notop format) at {path}"
    return f"VGG19 weights: {os.environ.get('NST_VGG19_WEIGHTS') or 'real (pretrained_model/ or Keras cache)'}"


def pytest_unconfigure(config):
    path = getattr(config, "nst_standin_weights", None)
    if path:
        import shutil

        shutil.rmtree(Path(path).parent, ignore_errors=True)
