"""What outlives the stages of a run: the cost history and saved images, recorded and printed by
the course's CourseLoop, fed by optimize.Loop one evaluation at a time (iterations numbered across
the stages; costs as train.model_nn's)."""
from ..train import CourseLoop, non_finite


class Reporter:
    """What outlives a stage: the result's history and saved images, printing, the stage's size."""

    def __init__(self, result, save, settings, size_key):
        self.result, self.save, self.settings = result, save, settings
        self.size_key, self.size = size_key, None
        # the course's bookkeeping; the engine's optimize.Loop owns the bar (it sets course.write)
        self.course = CourseLoop(0, settings.report_every, progress=False, verbose=settings.verbose)
        self.course.history = result.history

    def costs(self, i, J, J_content, J_style, hint):
        """Check and record the costs of iteration i; False (and result.stopped set) if non-finite."""
        why = non_finite(i, J, J_content, J_style, hint)
        if why:
            self.result.stopped = why
            return False
        self.course.record(i, J, J_content, J_style, **({"size": self.size} if self.size_key else {}))
        return True

    def maybe_save(self, i, image):
        if self.settings.save_every and i % self.settings.save_every == 0:
            self.save(f"{i}.png", image)
