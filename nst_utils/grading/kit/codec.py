"""The files the grader and a grading kernel exchange, as .npz archives of plain arrays (no pickle):
the hidden cases (grader -> kernel) and what the learner's function returned (kernel -> grader),
which the grader reads as hostile (a regular file, no link followed, bounded size, every array
checked for kind, dtype and size).

Cases: ``manifest`` (a JSON string) describes [(args, kwargs)] with each value one of
{"array": key} (an array stored under key), {"dict": {name: value}}, {"list": [value], "tuple": bool}
or {"json": plain JSON}.
Results, one per case k: ``c<k>.kind`` is "value" (``c<k>.value``: float64 array), "steps"
(train_step: ``c<k>.costs`` (steps, 3) and ``c<k>.image``), "none", "sequence", "unusable" or "raised"
(``c<k>.text``: why), or "printed" (``c<k>.text``: the lines a public test printed).
"""
import io
import json
import os
import stat
import zipfile

import numpy as np

KINDS = ("value", "steps", "none", "sequence", "unusable", "raised", "printed")
#: Bounds on what the grader reads back from a kernel.
MAX_RESULTS_BYTES = 64 << 20
MAX_TEXT_CHARS = 2000


class UnusableResults(ValueError):
    """The kernel's results file is missing, not a regular file, too big or malformed."""


def _pack(value, arrays):
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = value
        return {"array": key}
    if isinstance(value, dict):
        return {"dict": {str(k): _pack(v, arrays) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"list": [_pack(v, arrays) for v in value], "tuple": isinstance(value, tuple)}
    return {"json": value}


def _unpack(tree, arrays, convert):
    if "array" in tree:
        return convert(arrays[tree["array"]])
    if "dict" in tree:
        return {k: _unpack(v, arrays, convert) for k, v in tree["dict"].items()}
    if "list" in tree:
        items = [_unpack(v, arrays, convert) for v in tree["list"]]
        return tuple(items) if tree["tuple"] else items
    return tree["json"]


def write_cases(path, cases):
    """Write [(args, kwargs)] (arrays, dicts, lists, tuples, numbers, strings) to path (.npz)."""
    arrays = {}
    manifest = [{"args": _pack(tuple(args), arrays), "kwargs": _pack(dict(kwargs), arrays)}
                for args, kwargs in cases]
    with open(path, "wb") as f:
        np.savez(f, manifest=np.array(json.dumps(manifest)), **arrays)


def read_cases(path, convert=lambda array: array):
    """[(args, kwargs)] from write_cases' file; every array passes through convert (e.g. tf.constant)."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    manifest = json.loads(str(arrays.pop("manifest")))
    return [(_unpack(c["args"], arrays, convert), _unpack(c["kwargs"], arrays, convert)) for c in manifest]


def write_results(path, results):
    """Write [{kind: ...}] (see the module's docstring) to path, replacing it at once."""
    arrays = {"count": np.array(len(results))}
    for k, result in enumerate(results):
        kind = next(key for key in KINDS if key in result)
        arrays[f"c{k}.kind"] = np.array(kind)
        if kind == "value":
            arrays[f"c{k}.value"] = np.asarray(result["value"], np.float64)
        elif kind == "steps":
            arrays[f"c{k}.costs"] = np.asarray(result["costs"], np.float64)
            arrays[f"c{k}.image"] = np.asarray(result["image"], np.float64)
        elif kind in ("unusable", "raised", "printed"):
            arrays[f"c{k}.text"] = np.array(str(result[kind])[-MAX_TEXT_CHARS:])
    partial = f"{path}.partial"
    with open(partial, "wb") as f:
        np.savez(f, **arrays)
    os.replace(partial, path)


def read_results(path, max_cases):
    """[{kind: ...}] from a kernel's results file, or UnusableResults saying what is wrong with it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        raise UnusableResults("no results were written") from None
    except OSError as err:
        raise UnusableResults(f"the results file cannot be opened ({err.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnusableResults("the results file is not a regular file")
        data = f.read(MAX_RESULTS_BYTES + 1)
    if len(data) > MAX_RESULTS_BYTES:
        raise UnusableResults(f"the results file is over {MAX_RESULTS_BYTES >> 20} MB")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # sizes as stored, before anything is inflated
            if sum(i.file_size for i in archive.infolist()) > MAX_RESULTS_BYTES:
                raise UnusableResults(f"the results are over {MAX_RESULTS_BYTES >> 20} MB")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            count = int(_array(npz, "count", "iu").reshape(()))
            if not 0 <= count <= max_cases:
                raise UnusableResults(f"{count} results for {max_cases} cases")
            return [_result(npz, k) for k in range(count)]
    except UnusableResults:
        raise
    except Exception as err:  # noqa: BLE001 -- a hostile file can fail numpy's reader in many ways
        raise UnusableResults(f"the results file is malformed ({type(err).__name__})") from None


def _array(npz, key, kinds):
    if key not in npz.files:
        raise UnusableResults(f"the results file has no {key}")
    array = npz[key]
    if array.dtype.kind not in kinds:
        raise UnusableResults(f"{key} has dtype {array.dtype}")
    return array


def _text(npz, key):
    array = _array(npz, key, "U")
    if array.shape != ():
        raise UnusableResults(f"{key} is not one string")
    return str(array)[:MAX_TEXT_CHARS]


def _result(npz, k):
    kind = _text(npz, f"c{k}.kind")
    if kind not in KINDS:
        raise UnusableResults("a result of an unknown kind")
    if kind == "value":
        return {"value": _array(npz, f"c{k}.value", "fiub").astype(np.float64)}
    if kind == "steps":
        return {"steps": True, "costs": _array(npz, f"c{k}.costs", "fiub").astype(np.float64),
                "image": _array(npz, f"c{k}.image", "fiub").astype(np.float64)}
    if kind in ("unusable", "raised", "printed"):
        return {kind: _text(npz, f"c{k}.text")}
    return {kind: True}
