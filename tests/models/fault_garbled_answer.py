"""expect: exit 2 wrote to the channel
A file that finds the judge's channel (and the token it holds) and answers on it with a message
that has the token but not the fields of a result: one line, not a traceback."""
import gc
import os

for found in gc.get_objects():
    if type(found).__name__ == "_Channel":
        found.send({"report": {"layers": [{}]}, "broken": {}, "after_training": True})
        os._exit(0)
