"""The graded cells' markers and how a solution becomes an exercise: the statements between
``### START CODE HERE ###`` and ``### END CODE HERE ###`` become ``None`` placeholders with the course's
"(≈N lines)" hints. Shared by exercises.py (the learner's notebook) and nbgrader.py (the nbgrader course).
"""
import ast
import textwrap

START, END = "### START CODE HERE ###", "### END CODE HERE ###"


def _placeholder(stmt, segment):
    """The learner's version of one solution statement."""
    if isinstance(stmt, ast.Assign):
        targets = " = ".join(ast.get_source_segment(segment, t) for t in stmt.targets)
        return f"{targets} = None"
    if isinstance(stmt, ast.AugAssign):
        op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}[type(stmt.op)]
        return f"{ast.get_source_segment(segment, stmt.target)} {op}= None"
    if isinstance(stmt, ast.AnnAssign):
        target = ast.get_source_segment(segment, stmt.target)
        return f"{target}: {ast.get_source_segment(segment, stmt.annotation)} = None"
    if isinstance(stmt, ast.Return):
        return "return None"
    if isinstance(stmt, ast.Expr):
        return "None"
    raise ValueError(f"line {stmt.lineno}: only simple statements (assignments, return, expressions) "
                     f"may sit between the START/END CODE HERE markers, got {type(stmt).__name__}")


def _count_hint(n):
    return f"(≈{n} line)" if n == 1 else f"(≈{n} lines)"


def blank_region(lines, indent):
    """Replace the solution lines of one START/END region by placeholders with line-count hints."""
    segment = textwrap.dedent("\n".join(lines))
    stmts = ast.parse(segment).body
    first_line = {s.lineno - 1: s for s in stmts}  # 0-based line index in the region -> statement
    covered = {i for s in stmts for i in range(s.lineno - 1, s.end_lineno)}
    out, hint_at, count = [], None, 0
    for i, line in enumerate(segment.split("\n")):
        stripped = line.strip()
        if i in first_line:
            stmt = first_line[i]
            out.append(indent + " " * (len(line) - len(line.lstrip())) + _placeholder(stmt, segment))
            count += 1
        elif i in covered:
            continue  # continuation line of a multi-line statement
        elif stripped.startswith("#"):
            if hint_at is not None and count:
                out[hint_at] += " " + _count_hint(count)
            # a comment right after a comment continues the hint: the count goes on its last line
            out.append(indent + line)
            hint_at, count = (len(out) - 1, 0) if "≈" not in stripped else (None, 0)
        else:
            out.append(indent + line if stripped else "")
    if hint_at is not None:
        out[hint_at] += " " + _count_hint(count)
    return out


def replace_regions(source, replace):
    """source with the lines inside each START/END region replaced by replace(lines, indent)."""
    lines, out, i = source.split("\n"), [], 0
    while i < len(lines):
        out.append(lines[i])
        if lines[i].strip() == START:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            j = next((k for k in range(i + 1, len(lines)) if lines[k].strip() == END), None)
            if j is None:
                raise ValueError(f"'{START}' without '{END}' in:\n{source}")
            out += replace(lines[i + 1: j], indent)
            i = j
            continue
        i += 1
    return "\n".join(out)


def blank_cell_source(source):
    if not any(line.strip() == START for line in source.split("\n")):
        raise ValueError(f"graded cell without a '{START}' ... '{END}' region:\n{source}")
    return replace_regions(source, blank_region)
