"""Views of the Actes service, by audience: ``pages`` (mairie staff), ``department`` (the department as TdT),
``public`` (residents: published acts), ``api`` (JSON)."""
from pathlib import Path

# The service package: its templates/ and translations/ folders belong to every blueprint of these modules.
SERVICE_ROOT = str(Path(__file__).resolve().parents[1])
