"""A task module whose import fails."""

raise ImportError("this module needs a package that is not installed")
