"""One BLAS thread while L-BFGS runs.

SciPy's L-BFGS-B runs its vector arithmetic on SciPy's OpenBLAS, whose threads keep spinning after
each call on the cores TensorFlow's evaluations then need (docs/performance.md); its vectors are too
short for threads to pay off anyway. single_blas_thread() uses threadpoolctl when installed, else
the OpenBLAS libraries this process has loaded (/proc/self/maps, Linux); elsewhere it does nothing.
"""
import contextlib
import ctypes

#: (get, set) function names of OpenBLAS builds: SciPy's and NumPy's wheels, then plain OpenBLAS.
_FUNCTIONS = [("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
              ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
              ("openblas_get_num_threads", "openblas_set_num_threads"),
              ("openblas_get_num_threads64_", "openblas_set_num_threads64_")]


def _loaded_openblas():
    """[(get, set)] of each OpenBLAS library loaded in this process; [] if none can be found."""
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower() and ".so" in line})
    except OSError:
        return []
    found = []
    for path in paths:
        try:
            library = ctypes.CDLL(path)  # the library already loaded: the same handle
        except OSError:
            continue
        for get, set_ in _FUNCTIONS:
            if hasattr(library, get) and hasattr(library, set_):
                found.append((getattr(library, get), getattr(library, set_)))
                break
    return found


@contextlib.contextmanager
def single_blas_thread():
    """Within the block, BLAS libraries use one thread (see this module's doc)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(1, user_api="blas"):
            yield
        return
    libraries = _loaded_openblas()
    before = [get() for get, _ in libraries]
    for _, set_ in libraries:
        set_(1)
    try:
        yield
    finally:
        for (_, set_), n in zip(libraries, before):
            set_(n)
