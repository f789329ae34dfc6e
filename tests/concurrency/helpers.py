"""Real threads racing on PostgreSQL: each with its own connection, all released at once."""

import threading

from django.db import connection


def race(work, items):
    """Run work(item) for every item in its own thread, all released at once; return the results
    (or the exceptions) in order."""
    barrier = threading.Barrier(len(items))
    results = [None] * len(items)

    def run(index, item):
        try:
            barrier.wait()
            results[index] = work(item)
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, item)) for index, item in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # A thread still waiting (a lock never released) would leave None among the results.
    assert not any(thread.is_alive() for thread in threads), "a racer did not finish in 120 s"
    return results
