"""Entry point for ``flask --app app …`` and for gunicorn (``gunicorn 'app:create_app()'``)."""
from portal import create_app

app = create_app()

__all__ = ["app", "create_app"]
