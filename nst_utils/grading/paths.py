"""The paths the grader is given: the notebooks it reads (regular files only) and the files it will
write (checked before grading starts)."""
import os
import stat
from pathlib import Path


def find_notebooks(items):
    """(notebook paths, missing items, refused paths with why) from files and folders (folders: every
    *.ipynb below, checkpoints skipped, linked folders not entered). Only regular files are graded:
    a symbolic link or a special file is refused, by what os.lstat says of it."""
    found, missing, refused = [], [], []
    for item in items:
        path = Path(item)
        if path.is_dir():  # a linked folder is read where it points
            folder = path.resolve() if path.is_symlink() else path
            candidates = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif os.path.lexists(path):
            candidates = [path]
        else:
            missing.append(item)
            continue
        for candidate in candidates:
            why = _not_regular(candidate)
            (refused.append((candidate, why)) if why else found.append(candidate))
    return found, missing, refused


def _not_regular(path):
    """'' for a regular file, else what it is."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as err:
        return f"cannot be read ({err.strerror})"
    if stat.S_ISREG(mode):
        return ""
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def output_problems(args):
    """What is wrong with the paths the grader will write (--csv, --json, --save-executed), checked
    before grading starts."""
    problems = []
    for option, target in (("--csv", args.csv), ("--json", args.json)):
        if not target:
            continue
        path = Path(target)
        if path.is_dir():
            problems.append(f"{option} {target}: is a folder, give a file name")
        elif not path.parent.is_dir():
            problems.append(f"{option} {target}: folder '{path.parent}' does not exist")
        elif not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            problems.append(f"{option} {target}: not writable")
    if args.save_executed:
        folder = Path(args.save_executed)
        existing = folder if folder.is_dir() else folder.parent
        if folder.exists() and not folder.is_dir():
            problems.append(f"--save-executed {folder}: not a folder")
        elif not existing.is_dir():
            problems.append(f"--save-executed {folder}: folder '{existing}' does not exist")
        elif not os.access(existing, os.W_OK | os.X_OK):
            problems.append(f"--save-executed {folder}: not writable")
    return problems
