"""Who may do what in the service, and the lookups of its objects (one place for both)."""
from portal.lookups import get_or_404

from .models import Note

PERMISSIONS = {  # permission → roles that hold it by default
    "template.read": ("mayor", "secretary", "elected"),
    "template.write": ("mayor", "secretary"),
}


def note_or_404(note_id: int) -> Note:
    """A note of the active territory (another territory's note is "not found")."""
    return get_or_404(Note, note_id)
