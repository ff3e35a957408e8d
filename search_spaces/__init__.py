"""The search spaces shipped with nas: `nas search --space NAME` loads search_spaces/NAME.py."""
