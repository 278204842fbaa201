"""The measures of what an option did, as numbers: nst_utils.engine.measures, under the name the
Extensions notebook imports."""
from .engine.measures import (chroma_distance, picture_total_variation, style_distance_share,  # noqa: F401
                              texture_fineness)
