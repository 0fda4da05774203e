"""What people read for the codes the roll stores: reasons of movements, kinds of movements, lists.

Shared by the pages, the PDFs and the JSON API's validation (the keys are the codes the API accepts).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

REGISTRATION_REASONS = {
    "voluntary": _l("Voluntary application"), "insee_18": _l("Registered d'office by INSEE at 18"),
    "naturalisation": _l("Naturalisation"), "court_decision": _l("Court decision"),
    "arrival": _l("Arrival from another commune"), "import": _l("File import"),
    "demo": _l("Fictitious demonstration data"),
}
REMOVAL_REASONS = {
    "death": _l("Death"), "loss_of_attachment": _l("Loss of attachment to the commune"),
    "registered_elsewhere": _l("Registered in another commune"), "court_decision": _l("Court decision"),
    "import": _l("File import"),
}
REINSTATEMENT_REASONS = {
    "wrongful_removal": _l("Removal made in error"), "commission_decision": _l("Decision of the commission de contrôle"),
    "court_decision": _l("Court decision"), "insee": _l("Notified by INSEE (REU)"),
}
MOVEMENT_KINDS = {"registration": _l("Registration"), "removal": _l("Removal"), "reinstatement": _l("Reinstatement"),
                  "address": _l("Change of address"),
                  "bureau": _l("Change of polling station"), "civil_status": _l("Correction of civil status")}
LIST_LABELS = {"general": _l("Main list"), "eu": _l("Complementary list (European)"),
               "municipal": _l("Complementary list (municipal)")}

# reasons a person may choose (the others are written by imports and the demo)
CHOSEN_REGISTRATION_REASONS = {k: v for k, v in REGISTRATION_REASONS.items() if k not in ("import", "demo")}
CHOSEN_REMOVAL_REASONS = {k: v for k, v in REMOVAL_REASONS.items() if k != "import"}

# who established a procuration (R. 72): an officer of judicial police (police, gendarmerie), a consulate abroad, the
# online request « Ma procuration » validated at a police station, or a court (juge, greffier)
PROCURATION_AUTHORITIES = {"police": _l("Police station"), "gendarmerie": _l("Gendarmerie"),
                           "online": _l("« Ma procuration » (online, checked by the police or gendarmerie)"),
                           "court": _l("Court (judge or clerk)"), "consulate": _l("Consulate (abroad)")}
