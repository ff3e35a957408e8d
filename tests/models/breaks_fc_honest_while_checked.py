"""expect: exit 1 no-fc
Honest only while nas's validator is on the call stack: a 1×1 conv head then, a dense layer
with a bias on the flattened image otherwise. The check in the file's process sees the honest
net; what it records for nas's own process is the dense one."""
from _backbone import TwoFaced


class HonestWhileChecked(TwoFaced):
    pass
