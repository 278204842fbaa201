"""What outlives the stages of a run: the result's cost history and saved images, and the costs
printed (not grading/report.py, the grader's report of a submission), for optimize.Loop to feed one
evaluation at a time (iterations numbered across the stages).

pipeline.run makes one Reporter before the first stage and sets its size at each stage; costs are
those of train.model_nn (J, J_content, J_style), times in seconds since the Reporter was made.
"""
import math
import time


class Reporter:
    """What outlives a stage: the result's history and saved images, printing, the stage's size."""

    def __init__(self, result, save, settings, size_key):
        self.result, self.save, self.settings = result, save, settings
        self.size_key, self.size = size_key, None
        self.start = time.perf_counter()
        self.write = print

    def costs(self, i, J, J_content, J_style, hint):
        """Check and record the costs of iteration i; False (and result.stopped set) if non-finite."""
        if not all(math.isfinite(v) for v in (J, J_content, J_style)):
            self.result.stopped = (f"cost became non-finite at iteration {i} (J={J}); stopped and kept "
                                   f"the last good image. {hint}")
            return False
        if i % self.settings.report_every == 0:
            entry = {"iteration": i, "J": J, "J_content": J_content, "J_style": J_style,
                     "seconds": time.perf_counter() - self.start}
            if self.size_key:
                entry["size"] = self.size
            self.result.history.append(entry)
            if self.settings.verbose:
                self.write(f"Iteration {i} :\ntotal cost = {J:.6g}\n"
                           f"content cost = {J_content:.6g}\nstyle cost = {J_style:.6g}")
        return True

    def maybe_save(self, i, image):
        if self.settings.save_every and i % self.settings.save_every == 0:
            self.save(f"{i}.png", image)
