"""expect: exit 2 closed the channel
A file that closes the pipe the judge answers on, then goes on running: nas stops it, and says
so, rather than calling it a crash or the memory limit."""
import os
import sys
import time

os.close(int(sys.argv[1]))  # the judge's message pipe: `python -m nas.judge FD`
time.sleep(30)
