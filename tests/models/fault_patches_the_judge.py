"""expect: exit 2 changed nas
A file that makes the judge's own tamper check find nothing (its fingerprint, as the judge's
module looks it up, now always answers with the one taken at import), then replaces the
validator's check with one that clears the violations (by importing fault_patches_the_checker)."""
import sys

judge = sys.modules["__main__"]  # the judge's module, in the process that judges this file
if hasattr(judge, "_fingerprint"):
    unchanged = judge._fingerprint()
    judge._fingerprint = lambda: unchanged

import fault_patches_the_checker  # noqa: E402  (after the fingerprint is taken)


class Cheater(fault_patches_the_checker.Cheater):
    pass
