"""What runs inside a grading kernel, next to the learner's code: the public tests and their messages,
the hidden cases' runner (serve.py) and file format (codec.py), the small stand-in network (tiny.py).

They import nothing of the package but course_side.py, which re-exports the course; a grading kernel
gets them as a package ``nst_kit`` with a generated course_side instead (grading/kitfiles.py).
"""
