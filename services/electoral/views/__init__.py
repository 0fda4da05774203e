"""Pages (/s/electoral/) and JSON API (/api/v1/electoral/) of the electoral rolls, one module per audience:
voters, imports, bureaux and streets, prints, elections and commission, procurations, the API. There is no department page:
the department never sees voters outside the portal's support mode."""
from . import api, bureaux, elections, imports, prints, procurations, voters  # noqa: F401 - each registers its routes
from .common import api_bp, bp

__all__ = ["api_bp", "bp"]
