"""Who may open the electoral rolls, and the lookups of the service's rows (404 outside the active commune).

Every lookup is ``portal.lookups.get_or_404``, through the tenancy filter: a row of another commune is simply not
found. The gate already refuses a collectivity the descriptor does not serve; :func:`only_communes` keeps the
service's own JSON answer for its API.
"""
from __future__ import annotations

import logging

from flask import abort, g, jsonify, request

from portal.lookups import get_or_404

from .models import Election, ImportBatch, Movement, PollingStation, PrintJob, Procuration, StreetBureau, Voter

log = logging.getLogger(__name__)


def only_communes():
    """Voters belong to one commune: an EPCI or the department never sees them, whatever its convention says."""
    c = g.get("collectivity")
    if c is not None and c.kind != "commune":
        log.warning("electoral: refused to %s (collectivity %s is a %s)", request.path, c.id, c.kind)
        if request.blueprint == "electoral_api":
            return jsonify(error="Forbidden", status=403, message="Electoral rolls are open to communes only."), 403
        abort(403)
    return None


def voter_or_404(voter_id: int) -> Voter:
    return get_or_404(Voter, voter_id)


def bureau_or_404(bureau_id: int) -> PollingStation:
    return get_or_404(PollingStation, bureau_id)


def street_or_404(street_id: int) -> StreetBureau:
    return get_or_404(StreetBureau, street_id)


def election_or_404(election_id: int) -> Election:
    return get_or_404(Election, election_id)


def job_or_404(job_id: int) -> PrintJob:
    return get_or_404(PrintJob, job_id)


def procuration_or_404(procuration_id: int) -> Procuration:
    return get_or_404(Procuration, procuration_id)


def justification_or_404(movement_id: int) -> Movement:
    """A movement that has a supporting document."""
    m = get_or_404(Movement, movement_id)
    if not m.justification:
        abort(404)
    return m


def pending_batch_or_404(batch_id: int) -> ImportBatch:
    """An import still waiting for its confirmation."""
    return get_or_404(ImportBatch, batch_id, status="pending")
