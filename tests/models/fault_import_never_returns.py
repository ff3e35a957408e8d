"""expect: exit 2 within
An import that never returns."""
import time

while True:
    time.sleep(0.1)
