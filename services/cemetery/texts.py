"""The bodies of the reprise documents, one per step (keyed ``<procedure>:<step>`` or ``<step>``), and small words
of the letters."""
from flask_babel import lazy_gettext as _l

ROLES_LOWER = {"holder": _l("the holder"), "beneficiary": _l("an ayant droit")}

STEP_TEXTS = {
    "abandonment:notice": _l(
        "The descendants or successors of the holders of the concession above are informed that the state of "
        "abandonment of the concession will be observed on the spot by the mayor or his delegate, in the presence of "
        "a police officer or the garde champêtre, on the day and at the hour set by the mayor, at least one month "
        "after this notice (article R2223-13 of the CGCT). They are invited to attend or to be represented. Where "
        "their address is unknown, this notice is posted at the mairie and at the gate of the cemetery."),
    "first_pv": _l(
        "The undersigned observed on the spot that the concession above has ceased to be maintained. This "
        "procès-verbal states the exact position of the emplacement and describes precisely the state in which the "
        "grave is found (article R2223-14 of the CGCT); it is signed by the mayor and the persons who attended."),
    "pv_notification": _l(
        "A copy of the procès-verbal is notified within eight days, by registered letter with acknowledgement of "
        "receipt, to the descendants or successors of the holders, with formal notice to restore the grave to a good "
        "state of maintenance (article R2223-15 of the CGCT)."),
    "posting_1": _l(
        "Extracts of the procès-verbal are posted for one month at the gate of the mairie and at the gate of the "
        "cemetery; the posting is renewed twice at fifteen days' interval, and a certificate of posting is drawn up "
        "(article R2223-16 of the CGCT)."),
    "posting_2": _l("Second posting of the extracts of the procès-verbal, fifteen days after the first (article "
                    "R2223-16 of the CGCT)."),
    "posting_3": _l("Third posting of the extracts of the procès-verbal, fifteen days after the second (article "
                    "R2223-16 of the CGCT). The one-year delay runs from the end of this publicity."),
    "second_pv": _l(
        "One year after the publicity of the first procès-verbal (article L2223-17 of the CGCT as amended by article "
        "237 of loi n° 2022-217 du 21 février 2022, and article R2223-18 as amended by décret n° 2022-1127 du 5 août "
        "2022), the concession is still in a state of abandonment, as this second procès-verbal records in the forms "
        "of articles R2223-13 and R2223-14."),
    "second_pv_notification": _l(
        "The second procès-verbal is notified to the persons concerned, with the measure to be taken: the conseil "
        "municipal will be asked to decide the reprise of the concession no sooner than one month after this "
        "notification (article R2223-18 of the CGCT)."),
    "deliberation": _l(
        "The conseil municipal, having considered the procès-verbaux of abandonment and the publicity made, decides "
        "that the concession above is taken back by the commune and authorises the mayor to take the arrêté "
        "provided by article L2223-17 of the CGCT."),
    "abandonment:arrete": _l(
        "The mayor pronounces the reprise by the commune of the ground of the concession above (article L2223-17 of "
        "the CGCT). This arrêté is enforceable once published and notified (article R2223-19). Thirty days after, the "
        "materials of the monuments may be removed and the remains placed in the ossuary (articles R2223-20 and "
        "L2223-4)."),
    "removal": _l(
        "The remains found in the emplacement were collected with care in a box and placed in the ossuary of the "
        "cemetery; their names are written in the ossuary register (article R2223-6 of the CGCT). The emplacement "
        "may be granted again."),
    "renewal_information": _l(
        "The holders of the concession above and their ayants cause are informed that the concession has expired and "
        "that they may renew it at the tariff in force during the two years following its expiry; past that "
        "period the ground returns to the commune (article L2223-15 of the CGCT, as amended by article 238 of loi "
        "n° 2022-217 du 21 février 2022)."),
    "expired:arrete": _l(
        "The concession above expired and was not renewed within the two years following its expiry although its "
        "holders and ayants cause were informed of their right: the mayor pronounces the return of the ground to "
        "the commune (article L2223-15 of the CGCT)."),
    "common_ground:notice": _l(
        "The families are informed that the graves of the terrain commun listed here, whose burials are more than "
        "five years old (article R2223-5 of the CGCT), will be taken back; they may collect the emblems and "
        "objects placed on them before the date set by the mayor's arrêté."),
    "common_ground:arrete": _l(
        "The mayor orders the reprise of the grave above in the terrain commun, the rotation delay being over "
        "(article R2223-5 of the CGCT); the remains will be placed in the ossuary."),
}
