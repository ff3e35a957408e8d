"""expect: exit 2 sys.exit
sys.exit(3) at import."""
import sys

sys.exit(3)
