"""nst_utils: helpers for the course assignment "Art Generation with Neural Style Transfer", in TF2."""
from .config import CONFIG, CONTENT_LAYER, STYLE_LAYERS
from .costs import (compute_content_cost, compute_layer_style_cost, compute_style_cost, gram_matrix,
                    total_cost)
from .images import (ImageError, OutputDirError, generate_noise_image, load_image,
                     reshape_and_normalize_image, save_image, to_picture)
from .plotting import show, show_grid
from .train import NSTResult, make_train_step, model_nn
# Beyond the course: options of model_nn
from .color import luminance_image, transfer_chroma
from .regularizers import total_variation
from .resize import resize_image
from .style_targets import gram_targets, normalized_gram
from .train import make_cost_function
from .vgg import WeightsError, WeightsNotFoundError, load_vgg_model

__all__ = [
    "CONFIG", "CONTENT_LAYER", "STYLE_LAYERS",
    "compute_content_cost", "gram_matrix", "compute_layer_style_cost", "compute_style_cost",
    "total_cost",
    "load_image", "reshape_and_normalize_image", "generate_noise_image", "save_image", "to_picture",
    "ImageError", "OutputDirError",
    "show", "show_grid",
    "load_vgg_model", "WeightsNotFoundError", "WeightsError",
    "make_train_step", "model_nn", "NSTResult",
    "make_cost_function", "total_variation", "luminance_image", "transfer_chroma", "resize_image",
    "gram_targets", "normalized_gram",
]
