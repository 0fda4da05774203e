"""Views of the Actes service, by audience: ``pages`` (mairie staff), ``department`` (the department as TdT),
``public`` (residents: published acts), ``api`` (JSON)."""
