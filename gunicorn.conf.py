"""Gunicorn's settings besides its command line (Dockerfile, bench/load.py): gunicorn reads this
file from its working directory."""

import gc


def post_worker_init(worker):
    """Once a worker has loaded the portal, its modules and settings live as long as it does:
    frozen, the garbage collector no longer goes through them at each of its passes."""
    gc.freeze()
