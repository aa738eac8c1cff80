"""Import TensorFlow without its start-up chatter ("Could not find cuda drivers", ...).

Those lines come from C++ code before Python logging exists, so the only way to hide
them is to point the process's stderr elsewhere while the import runs. Import this module
before `import tensorflow`; errors that matter still arrive later as Python exceptions.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

if "tensorflow" not in sys.modules and not os.environ.get("GAN_VERBOSE_TF"):
    sys.stderr.flush()
    _saved = os.dup(2)
    _null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(_null, 2)
    try:
        import tensorflow  # noqa: F401  (imported for its side effect: cached, quiet)
    finally:
        os.dup2(_saved, 2)
        os.close(_null)
        os.close(_saved)
