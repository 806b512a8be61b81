"""`curate view`: a read-only review app over a pipeline's output (index, routes, serving)."""

from cosmos_curate.view.app import create_app
from cosmos_curate.view.errors import ViewPathError, ViewPortError
from cosmos_curate.view.index import OutputIndex, Row, build_index
from cosmos_curate.view.outputs import Opened, open_output

__all__ = [
    "Opened",
    "OutputIndex",
    "Row",
    "ViewPathError",
    "ViewPortError",
    "build_index",
    "create_app",
    "open_output",
]
