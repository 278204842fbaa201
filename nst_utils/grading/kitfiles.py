"""What a scoring kernel gets instead of the package: kit/ copied as the package ``nst_kit``, a
generated ``nst_kit/course_side.py`` and, exercise by exercise, the inputs it needs as arrays.

course_side holds the layer lists and CONFIG's numbers as data, the input checks (copied from costs.py:
they solve nothing), and ``reference``, which gives only the helpers ``add_helpers`` was handed: the
references of the *earlier* exercises (kit/serve.py: REFERENCE_HELPERS), never the one under test.
"""
import inspect
import shutil
from pathlib import Path

import numpy as np

from ..config import CONFIG, CONTENT_LAYER, STYLE_LAYERS
from .kit import codec

KIT_PACKAGE = "nst_kit"
KIT_SOURCE = Path(__file__).with_name("kit")
#: kit/ modules copied as they are (course_side.py is generated instead).
KIT_MODULES = ("__init__.py", "codec.py", "messages.py", "public_tests.py", "serve.py", "tiny.py")
CHECKS = ("check_shapes", "check_activations", "check_style_layers")
#: CONFIG's attributes a kernel gets (numbers; its paths point into the package's folder, hidden there).
CONFIG_VALUES = ("IMAGE_WIDTH", "IMAGE_HEIGHT", "COLOR_CHANNELS", "NOISE_RATIO", "MEANS", "OUTPUT_DIR")

#: The scoring kernels' set-up: what the notebook's set-up cell gives the graded functions and test cells.
SCORING_SETUP = """\
import math
import numpy as np
import tensorflow as tf
import keras
from nst_kit.course_side import CONFIG, CONTENT_LAYER, STYLE_LAYERS, check_activations, check_style_layers
from nst_kit.public_tests import (compute_content_cost_test, compute_layer_style_cost_test,
                                  compute_style_cost_test, gram_matrix_test, total_cost_test,
                                  train_step_test)
"""
#: The grader's first cell in every kernel: what the learner's code prints is cut there, in the kernel,
#: at ``limit`` characters per stream and cell (a flood costs no time in the grader), and so is an
#: error's text. Undoing it only costs the notebook its own time: verdicts do not travel this way.
OUTPUT_CAP = """\
def _cap(limit):
    import sys
    from IPython import get_ipython
    shell = get_ipython()
    def install(*args):  # before each cell: IPython puts the streams' own write back after each
        for stream in (sys.stdout, sys.stderr):
            inner = getattr(stream.write, "capped", stream.write)
            def write(text, kept=[0]):
                room, kept[0] = limit - kept[0], kept[0] + len(text)
                return inner(text[:room]) if room > 0 else len(text)
            write.capped, stream.write = inner, write
    shell.events.register("pre_run_cell", install)
    show = shell._showtraceback
    shell._showtraceback = lambda etype, value, stb: show(etype, str(value)[:limit // 100],
                                                          ["\\n".join(stb)[-limit // 100:]])
_cap(LIMIT)
del _cap
"""
VERDICT_CELL = "import nst_kit.messages\nnst_kit.messages.write_printed({path!r})"
CLEAR_CELL = "import nst_kit.messages\nnst_kit.messages.PRINTED.clear()"
HELPERS_CELL = "import nst_kit.course_side\nnst_kit.course_side.add_helpers({source!r}, {names!r})"
TRAIN_STEP_SETUP = "import nst_kit.serve\nglobals().update(nst_kit.serve.train_step_globals({path!r}))"
HIDDEN_CELL = ("import nst_kit.serve\n"
               "nst_kit.serve.run_cases({name!r}, {name}, globals(), {cases!r}, {results!r})")

COURSE_SIDE_TAIL = '''

#: The reference functions this kernel was handed (add_helpers), by name.
HELPERS = {}


def reference(name):
    """The reference of an earlier exercise, if the grader handed it over for this exercise."""
    if name not in HELPERS:
        raise RuntimeError(f"the grader gave this kernel no reference {name}")
    return HELPERS[name]


def add_helpers(source, names):
    """Define the helper functions of ``source`` here and register ``names``."""
    exec(compile(source, "<reference helpers>", "exec"), globals())  # noqa: S102 -- the grader's code
    HELPERS.update({name: globals()[name] for name in names})
'''


def _literal(value):
    if isinstance(value, np.ndarray):
        return f"np.array({value.ravel().tolist()!r}, dtype=np.{value.dtype}).reshape({value.shape!r})"
    return repr(value)


def course_side_source():
    """The source of the kernel's course_side.py (see the module's docstring)."""
    lines = ['"""The course as a grading kernel sees it: data, the input checks, handed-over helpers."""',
             "import numpy as np", "import tensorflow as tf", "",
             f"CONTENT_LAYER = {CONTENT_LAYER!r}", f"STYLE_LAYERS = {STYLE_LAYERS!r}", "", "",
             "class CONFIG:", '    """The course constants."""', ""]
    lines += [f"    {name} = {_literal(getattr(CONFIG, name))}" for name in CONFIG_VALUES]
    lines += ["", "", helpers_source(CHECKS)]
    return "\n".join(lines) + COURSE_SIDE_TAIL


def helpers_source(names):
    """The source of the reference functions ``names`` (for course_side.add_helpers)."""
    from .. import costs

    return "\n\n".join(inspect.getsource(getattr(costs, name)) for name in names)


def write_kit(folder):
    """Make ``folder`` with folder/nst_kit/ in it. Files are readable by
    all, writable by the grader only."""
    folder = Path(folder)
    package = folder / KIT_PACKAGE
    package.mkdir(mode=0o755, parents=True)
    for name in KIT_MODULES:
        shutil.copyfile(KIT_SOURCE / name, package / name)
    (package / "course_side.py").write_text(course_side_source(), encoding="utf-8")
    for path in [package, *package.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    folder.chmod(0o755)
    return folder


def output_cap_cell(limit):
    return OUTPUT_CAP.replace("LIMIT", str(int(limit)))


def setup_cells(kit, name):
    """The grader's cells before exercise ``name`` in a kernel whose kit folder is ``kit``: the
    references of the earlier exercises it may call, train_step's globals (as arrays in the kit)."""
    from .kit.serve import REFERENCE_HELPERS

    cells = []
    helpers = REFERENCE_HELPERS.get(name, [])
    if helpers:
        cells.append(HELPERS_CELL.format(source=helpers_source(helpers), names=helpers))
    if name == "train_step":
        from .standin import train_step_arrays

        path = Path(kit) / "train-step-setup.npz"
        codec.write_cases(path, [((), train_step_arrays(seed=0))])
        cells.append(TRAIN_STEP_SETUP.format(path=str(path)))
    return cells
