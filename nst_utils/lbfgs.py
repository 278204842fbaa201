"""L-BFGS over the pixels of G, the optimiser of Gatys et al. and of Johnson's Torch neural-style.

SciPy's L-BFGS-B drives the search; TensorFlow computes J(G) and dJ/dG in one tf.function call.
Each call is one *evaluation* (one forward and backward pass, the cost of one Adam step), so a
budget of N evaluations costs about as much time as N Adam steps. L-BFGS takes one or more
evaluations per iteration (line search); the budget counts evaluations, not iterations.
"""
import numpy as np
import tensorflow as tf


class StopOptimization(Exception):
    """Raised by an on_evaluation callback to end the search (the best image so far is kept)."""


def make_value_and_gradient(cost_function, shape):
    """tf.function image -> (J, J_content, J_style, dJ/dimage) for images of a fixed shape.

    Arguments:
    cost_function -- image (1, n_H, n_W, 3) tensor -> (J, J_content, J_style), e.g. from
                     train.make_cost_function
    shape -- (1, n_H, n_W, 3)
    """
    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32)])
    def value_and_gradient(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            J, J_content, J_style = cost_function(image)
        return J, J_content, J_style, tape.gradient(J, image)

    # One function per run and model, on purpose (see train.make_train_step): no retracing warning.
    value_and_gradient._omit_frequent_tracing_warning = True
    return value_and_gradient


def minimize_lbfgs(value_and_gradient, x0, max_evaluations, on_evaluation=None, history_size=10):
    """Minimise J over the pixels with L-BFGS-B (no bounds), at most max_evaluations evaluations.

    Arguments:
    value_and_gradient -- from make_value_and_gradient
    x0 -- initial normalised image (1, n_H, n_W, 3)
    max_evaluations -- budget of cost+gradient evaluations
    on_evaluation -- optional callback(k, image, J, J_content, J_style) after evaluation k = 0, 1, ...;
                     image is np.float32 (1, n_H, n_W, 3); may raise StopOptimization
    history_size -- number of past steps L-BFGS remembers (scipy's maxcor)

    Returns:
    (best_image, best_J, evaluations) -- the evaluated image with the lowest finite J
    """
    from scipy.optimize import minimize

    shape = np.shape(x0)
    best = {"J": np.inf, "image": np.asarray(x0, np.float32), "k": 0}

    def fun(x):
        if best["k"] >= max_evaluations:
            raise StopOptimization("evaluation budget used")
        image = x.reshape(shape).astype(np.float32)
        J, J_content, J_style, grad = value_and_gradient(tf.constant(image))
        J = float(J)
        k = best["k"]
        best["k"] += 1
        if np.isfinite(J) and J < best["J"]:
            best["J"], best["image"] = J, image
        if on_evaluation is not None:
            on_evaluation(k, image, J, float(J_content), float(J_style))
        return J, grad.numpy().astype(np.float64).ravel()

    try:
        # ftol=gtol=0: stop on the budget only, as neural-style does (tolFun = tolX = -1).
        minimize(fun, np.asarray(x0, np.float64).ravel(), jac=True, method="L-BFGS-B",
                 options={"maxiter": max_evaluations, "maxfun": max_evaluations,
                          "maxcor": history_size, "ftol": 0.0, "gtol": 0.0})
    except StopOptimization:
        pass
    return best["image"], best["J"], best["k"]
