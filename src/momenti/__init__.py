"""momenti: a self-hosted Moments-of-Truth customer-experience platform."""

from momenti.workspace import Workspace, open

__version__ = "0.1.0"
__all__ = ["Workspace", "open", "__version__"]
