"""Where the command line will write, checked before any work: a run that cannot save its image
must say so in a second, not after its iterations. Looks only (creates nothing), no TensorFlow."""
import os
import re
import tempfile
from pathlib import Path


def folder_problem(folder):
    """Why no file can be written in folder (or, if it is still to be made, in the nearest folder
    above it that exists), or ''. A real file, then os.access: the file says why (a read-only mount,
    no permission), and root, who may write anywhere, passes os.access on folders of mode 555."""
    existing = Path(folder)
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"'{existing}' is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as err:
        return f"cannot write in '{existing}' ({err.strerror or err})"
    return "" if os.access(existing, os.W_OK | os.X_OK) else f"cannot write in '{existing}' (permission denied)"


def file_problem(path):
    """Why path cannot be written as a file (a folder in its place, a read-only file), or ''."""
    if path.is_dir():
        return f"'{path}' is a folder where the run writes a file; move it away"
    if path.exists() and not os.access(path, os.W_OK):
        return f"'{path}' is read-only and cannot be overwritten"
    return ""


def output_problem(args, progress=True):
    """One line saying why the run could not write its outputs, or '': the -o folder and its
    generated_image.png; with progress, the N.png saved every --save-every iterations; the file of
    --history if the parser has it. args: the command line's argparse namespace."""
    folder = Path(args.output_dir)
    problem = folder_problem(folder)
    if problem:
        return f"-o {args.output_dir}: {problem}; choose another output folder"
    names = ["generated_image.png"]
    if progress and folder.is_dir() and args.save_every > 0:
        last = (args.iterations or 200) * (1 + len(args.multires or []))
        names += [name for name in os.listdir(folder) if re.fullmatch(r"\d+\.png", name)
                  and int(name[:-4]) % args.save_every == 0 and int(name[:-4]) < last]
    problem = next(filter(None, (file_problem(folder / name) for name in names)), "")
    history = getattr(args, "history", None)
    if problem or not history:
        return problem and f"-o {args.output_dir}: {problem} or choose another output folder"
    problem = folder_problem(Path(history).parent) or file_problem(Path(history))
    return problem and f"--history {history}: {problem}"
