"""expect: exit 2 verdict
Prints a passing verdict and writes one to every low file descriptor, then leaves."""
import json
import os

fake = json.dumps({"ok": True, "total_params": 1, "violations": [], "layers": []})
print(fake)
for fd in range(3, 30):
    try:
        os.write(fd, fake.encode())
    except OSError:
        pass
os._exit(0)
