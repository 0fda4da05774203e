"""SMS segment counting (GSM 03.38 / UCS-2) and mobile numbers in E.164."""
import pytest

from services.alerts.sms import InvalidPhone, normalize_mobile, segments


def test_plain_gsm_text_fits_160_then_153_per_segment():
    assert segments("a" * 160).segments == 1
    assert segments("a" * 161).segments == 2
    assert segments("a" * 306).segments == 2
    assert segments("a" * 307).segments == 3
    assert segments("").segments == 0


def test_french_accents_of_the_gsm_alphabet_stay_7_bit():
    r = segments("Coupure d'eau demain à Ailleville : évitez la rue, où il gèle. Ça ira.")
    assert r.encoding == "GSM-7" and r.segments == 1
    assert segments("ça").encoding == "UCS-2"  # lower-case ç is not in GSM 03.38 (only Ç is)


def test_accents_outside_gsm_switch_to_ucs2():
    r = segments("Fête de la commune : venez nombreux")  # ê is not in GSM 03.38
    assert r.encoding == "UCS-2" and r.non_gsm == ("ê",)
    assert segments("ê" * 70).segments == 1
    assert segments("ê" * 71).segments == 2
    assert segments("ê" * 134).segments == 2 and segments("ê" * 135).segments == 3


def test_extension_table_characters_count_double():
    r = segments("€" * 80)
    assert r.encoding == "GSM-7" and r.units == 160 and r.segments == 1
    assert segments("€" * 81).segments == 2
    assert segments("[]{}" + "a" * 152).units == 160


def test_emoji_counts_two_utf16_units():
    assert segments("🌊" * 35).units == 70


def test_mobile_numbers_in_e164_and_landlines_refused():
    assert normalize_mobile("06 12 34 56 78") == "+33612345678"
    assert normalize_mobile("+33 7 81 23 45 67") == "+33781234567"
    with pytest.raises(InvalidPhone, match="not_mobile"):
        normalize_mobile("03 25 27 00 00")  # a mairie's landline (Aube)
    with pytest.raises(InvalidPhone, match="invalid"):
        normalize_mobile("06 12")
    with pytest.raises(InvalidPhone):
        normalize_mobile("pas un numéro")


def test_the_french_stop_mention_keeps_a_plain_sms_in_gsm_7(app):
    """The catalog's French puts a no-break space before « : »; the SMS must not turn UCS-2 because of it."""
    from flask_babel import force_locale

    from services.alerts.messages import sms_text
    from services.alerts.models import Alert

    with app.test_request_context(), force_locale("fr"):
        text = sms_text(Alert(kind="broadcast", body="Coupure d'eau demain de 8 h à 12 h."), "Ailleville")
    assert "\u00a0" not in text and "STOP" in text
    assert segments(text).encoding == "GSM-7"


def test_de_before_a_commune_name_follows_french_elision():
    """The service writes « de » with the portal's typography helper (one rule for the whole portal)."""
    from portal.typography import de

    assert de("Ailleville") == "d'Ailleville"
    assert de("Jaucourt") == "de Jaucourt"
    assert de("Les Riceys") == "des Riceys"
    assert de("Le Chêne") == "du Chêne"
    assert de("Éclance") == "d'Éclance"
