"""The optimisation loop, one for both optimisers: Adam (the course) and L-BFGS (Gatys et al., the
optimiser of Johnson's Torch neural-style).

Loop holds what both share: the progress bar, the cost history and reports, the saved images, the
image kept (Adam: the last with a finite cost, then the last update, as the course; L-BFGS: the
lowest J) and the early stops (Ctrl-C, SIGTERM, a non-finite cost). Each optimiser feeds it
evaluations (image, J, J_content, J_style): one tf.function call (traced.py) giving J(G) and dJ/dG,
the time of one Adam step. L-BFGS's budget counts evaluations, not iterations.

Images are normalised images, np.float32 (1, n_H, n_W, 3), RGB minus CONFIG.MEANS.
"""
import math
import signal
import threading

import numpy as np
import tensorflow as tf

from ..train import progress_bar
from .threads import single_blas_thread
from .traced import value_and_gradient_for


class StopOptimization(Exception):
    """Ends the search early without an error: the budget is used, or the cost became non-finite."""


class Terminated(BaseException):
    """SIGTERM arrived while the loop ran. A BaseException, like KeyboardInterrupt, so that no
    library's ``except Exception`` between the signal and the loop catches it."""


def _raise_terminated(signum, frame):
    raise Terminated()


class Interruptible:
    """A block that Ctrl-C or SIGTERM ends without an error; ``how`` then says which ("Ctrl-C" or
    "SIGTERM"), else it is None. SIGTERM (what `timeout`, a batch scheduler or `kill` sends) is
    caught in the main thread only, and the previous handler comes back on leaving."""

    def __enter__(self):
        self.how, self.old_handler = None, None
        if threading.current_thread() is threading.main_thread():
            self.old_handler = signal.signal(signal.SIGTERM, _raise_terminated)
        return self

    def __exit__(self, kind, error, traceback):
        if self.old_handler is not None:
            signal.signal(signal.SIGTERM, self.old_handler)
        if kind in (KeyboardInterrupt, Terminated):
            self.how = "Ctrl-C" if kind is KeyboardInterrupt else "SIGTERM"
            return True
        return False


HINTS = {"adam": "Try a smaller learning_rate.",
         "lbfgs": "Check the images and the weights alpha, beta and tv_weight."}


class Loop:
    """One stage of iterations offset, offset + 1, ...: a context manager around an optimiser.

    Inside it the optimiser calls observe() after each evaluation; on leaving, an early stop
    (Ctrl-C, SIGTERM, non-finite cost, budget used) is recorded in result.stopped, not raised.
    """

    def __init__(self, report, optimizer, iterations, offset, start_image):
        self.report, self.optimizer, self.offset = report, optimizer, offset
        self.keep_best = optimizer == "lbfgs"
        self.image, self.best_J = np.asarray(start_image, np.float32), math.inf
        desc, unit = ("NST", "it") if optimizer == "adam" else ("NST (L-BFGS)", "eval")
        self.bar = progress_bar(report.settings.progress, total=iterations, desc=desc, unit=unit)
        self.stops = Interruptible()

    def __enter__(self):
        self.report.course.write = self.bar.write  # keeps the bar below the reports
        self.stops.__enter__()
        return self

    def __exit__(self, kind, error, traceback):
        interrupted = self.stops.__exit__(kind, error, traceback)
        self.bar.close()
        self.report.course.write = print
        if interrupted:
            self.report.result.stopped = f"interrupted ({self.stops.how}); kept the last good image."
        return interrupted or kind is StopOptimization

    def keep(self, image):
        self.image = self.report.result.image = image

    def observe(self, k, image, J, J_content, J_style, shown=None):
        """Evaluation k of the stage: image had these costs. shown is saved (default: the kept image).

        Raises StopOptimization if a cost is non-finite."""
        i = self.offset + k
        self.bar.update(1)
        if not self.report.costs(i, J, J_content, J_style, HINTS[self.optimizer]):
            raise StopOptimization(self.report.result.stopped)
        if not self.keep_best or J < self.best_J:
            self.best_J = J
            self.keep(image)
        self.report.maybe_save(i, self.image if shown is None else shown)


def adam_step(value_and_gradient, optimizer):
    """The course's train_step on the engine's tape (traced.py's value_and_gradient): step(image
    tf.Variable (1, n_H, n_W, 3)) applies one update of the keras optimizer and returns the costs
    (J, J_content, J_style) of the image before it."""
    update = tf.function(lambda grad, image: optimizer.apply_gradients([(grad, image)]))  # one graph
    update._omit_frequent_tracing_warning = True  # one per run, on purpose (see traced.py)

    def step(generated_image):
        J, J_content, J_style, grad = value_and_gradient(tf.convert_to_tensor(generated_image))
        update(grad, generated_image)
        return J, J_content, J_style

    return step


def run_adam(loop, model, stage, settings, options):
    """The course's loop: Adam steps on the pixels, each returning the costs before its update."""
    import keras

    generated_image = tf.Variable(np.asarray(stage.start_image, np.float32))
    step = adam_step(value_and_gradient_for(model, stage, settings, options.tv_weight),
                     keras.optimizers.Adam(settings.learning_rate))
    image = generated_image.numpy()  # the image the next step evaluates
    for k in range(stage.iterations):
        J, J_content, J_style = (float(v) for v in step(generated_image))
        updated = generated_image.numpy()
        loop.observe(k, image, J, J_content, J_style, shown=updated)  # as the course: saved after step k
        image = updated
    loop.keep(image)  # all steps ran: the course keeps the last update


def run_lbfgs(loop, model, stage, settings, options, history_size=10):
    """L-BFGS-B (no bounds) with a budget of stage.iterations evaluations; history_size is the
    number of past steps it remembers (scipy's maxcor).

    SciPy's first trial step has norm 1, tiny per pixel. With options.lbfgs_step = r it optimises
    the image divided by s = r sqrt(n) (n values): the first trial step moves each value by r (root
    mean square); later steps L-BFGS scales from the curvature it measured, whatever s.
    """
    from scipy.optimize import minimize

    # Traced once per network, size and settings (traced.py); this run's targets are assigned to it.
    value_and_gradient = value_and_gradient_for(model, stage, settings, options.tv_weight)
    shape = np.shape(stage.start_image)
    scale = 1.0 if options.lbfgs_step is None else options.lbfgs_step * math.sqrt(np.prod(shape))
    budget = iter(range(stage.iterations))

    def fun(z):
        k = next(budget, None)
        if k is None:
            raise StopOptimization("evaluation budget used")
        image = (z * scale).reshape(shape).astype(np.float32)
        J, J_content, J_style, grad = value_and_gradient(tf.constant(image))
        loop.observe(k, image, float(J), float(J_content), float(J_style))
        return float(J), grad.numpy().astype(np.float64).ravel() * scale

    n = stage.iterations
    # ftol=gtol=0: stop on the budget only, as neural-style does (tolFun = tolX = -1). One BLAS
    # thread: SciPy's spinning OpenBLAS threads would slow TensorFlow's evaluations (threads.py).
    with single_blas_thread():
        minimize(fun, np.asarray(stage.start_image, np.float64).ravel() / scale, jac=True, method="L-BFGS-B",
                 options={"maxiter": n, "maxfun": n, "maxcor": history_size, "ftol": 0.0, "gtol": 0.0})


def optimize(model, stage, settings, options, report):
    """Run options.optimizer (one of options.OPTIMIZERS) on one stage; returns the image kept
    (normalised, see Loop)."""
    run = run_lbfgs if options.optimizer == "lbfgs" else run_adam
    with Loop(report, options.optimizer, stage.iterations, stage.offset, stage.start_image) as loop:
        run(loop, model, stage, settings, options)
    return loop.image
