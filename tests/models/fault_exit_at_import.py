"""expect: exit 2 sys.exit
sys.exit(0) while the file is imported: once this gave exit 0 with no output."""
import sys

sys.exit(0)
