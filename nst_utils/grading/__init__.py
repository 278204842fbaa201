"""Grading the assignment: the notebook's public tests, the grader, the exercise-notebook generator
and the stand-in VGG weights that tests, benchmarks and the grader make for themselves.

Nothing here is imported by the course modules; this package imports the course's reference code.
"""
