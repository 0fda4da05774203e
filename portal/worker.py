"""Entry point for Celery: ``celery -A portal.worker worker`` and ``celery -A portal.worker beat``."""
from . import create_app
from .tasks import celery_app

flask_app = create_app()
celery = celery_app
