"""The service's views, one module per audience: ``pages`` (the mairie's staff), ``department`` (the department's
team), ``public`` (residents, without an account), ``api`` (JSON, with a token or the session)."""
