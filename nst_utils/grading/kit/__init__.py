"""What runs inside a grading kernel, next to the learner's code: the public tests and their messages,
the runner of the hidden cases (serve.py) with its file format (codec.py), the small stand-in network
(tiny.py).

These modules import nothing from the package except through course_side.py. In the package,
course_side re-exports the course; in a grading kernel, where the package is hidden, the grader
copies these files as a package ``nst_kit`` beside a generated course_side that holds only data, the
input checks and the reference helpers the exercise under test may call (grading/kitfiles.py).
"""
