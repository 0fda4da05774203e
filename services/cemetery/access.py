"""Who may do what in the cemetery service, and the lookups of its objects (one place for both)."""
from portal.lookups import get_or_404

from .models import Alley, Cemetery, Concession, Deceased, Person, Plot, RegisterJob, Reprise, Tariff, Zone

PERMISSIONS = {  # permission → roles that hold it by default
    "cemetery.read": ("mayor", "secretary", "elected"),
    "cemetery.write": ("mayor", "secretary"),
}


def cemetery_or_404(object_id: int) -> Cemetery:
    return get_or_404(Cemetery, object_id)


def zone_or_404(object_id: int) -> Zone:
    return get_or_404(Zone, object_id)


def alley_or_404(object_id: int) -> Alley:
    return get_or_404(Alley, object_id)


def plot_or_404(object_id: int) -> Plot:
    return get_or_404(Plot, object_id)


def concession_or_404(object_id: int) -> Concession:
    return get_or_404(Concession, object_id)


def person_or_404(object_id: int) -> Person:
    return get_or_404(Person, object_id)


def deceased_or_404(object_id: int) -> Deceased:
    return get_or_404(Deceased, object_id)


def reprise_or_404(object_id: int) -> Reprise:
    return get_or_404(Reprise, object_id)


def tariff_or_404(object_id: int) -> Tariff:
    return get_or_404(Tariff, object_id)


def register_job_or_404(object_id: int) -> RegisterJob:
    return get_or_404(RegisterJob, object_id)
