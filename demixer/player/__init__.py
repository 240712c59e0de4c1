"""The result page's multi-stem player (template and static files; the view is in separation)."""
