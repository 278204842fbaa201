"""nst_utils: helpers for the course assignment "Art Generation with Neural Style Transfer", in TF2.

The course's modules (config, images, costs, vgg, train, plotting) come first and import nothing
behind them; the engine (engine/: stylise, the options beyond the course), the faster convolutions
(fast/) and the grader (grading/) build on them.
Names are imported on first use (PEP 562), so that ``import nst_utils.config`` and
``python -m nst_utils --help`` do not load TensorFlow.
"""
import importlib

#: Public name -> the module that defines it.
_MODULES = {
    "config": ["CONFIG", "CONTENT_LAYER", "STYLE_LAYERS"],
    "costs": ["compute_content_cost", "gram_matrix", "compute_layer_style_cost", "compute_style_cost",
              "total_cost"],
    "images": ["load_image", "reshape_and_normalize_image", "generate_noise_image", "save_image",
               "to_picture", "ImageError", "OutputDirError"],
    "plotting": ["show", "show_grid"],
    "vgg": ["load_vgg_model", "WeightsNotFoundError", "WeightsError"],
    "train": ["make_train_step", "model_nn", "NSTResult", "make_cost_function"],
    # Beyond the course: the engine
    "engine.pipeline": ["stylise"],
    "engine.regularizers": ["total_variation"],
    "engine.color": ["luminance_image", "transfer_chroma"],
    "engine.resize": ["resize_image"],
    "engine.objective": ["gram_targets", "normalized_gram"],
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}

__all__ = list(_WHERE)


#: Modules that do not need TensorFlow.
_LIGHT = {"config", "images", "plotting"}


def __getattr__(name):
    if name not in _WHERE:
        raise AttributeError(f"module 'nst_utils' has no attribute {name!r}")
    if _WHERE[name] not in _LIGHT:
        from .tensorflow_start import start_tensorflow

        start_tensorflow()  # without the start-up lines a learner would take for errors
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
