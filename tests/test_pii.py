"""PII masking: precise positive and negative cases for every detector (momenti.engines.text.pii)."""

from __future__ import annotations

import pytest

from momenti.engines.text.pii import (
    codice_fiscale_check,
    codice_fiscale_ok,
    iban_ok,
    luhn_ok,
    mask,
    mask_many,
    partita_iva_ok,
)


def kinds(text: str, names: tuple[str, ...] = ()) -> list[str]:
    return [k for k, _, _ in mask(text, names).found]


# --- checksums on published values -------------------------------------------------------------------------------
def test_checksums_on_published_numbers() -> None:
    # payment-network test numbers (Visa, Mastercard, Amex) pass Luhn; an order number does not
    assert luhn_ok("4111111111111111") and luhn_ok("5500000000000004") and luhn_ok("378282246310005")
    assert not luhn_ok("1234567812345678")
    # IBAN examples published by the banks / ECBS for IT, DE, GB, FR, ES
    for iban in ("IT60X0542811101000000123456", "DE89370400440532013000", "GB29NWBK60161331926819",
                 "FR1420041010050500013M02606", "ES9121000418450200051332"):
        assert iban_ok(iban), iban
    assert not iban_ok("IT61X0542811101000000123456")  # one check digit changed
    assert not iban_ok("IT60X054281110100000012345")  # one character short for Italy
    # partita IVA of the Agenzia delle Entrate and of TIM (public registry)
    assert partita_iva_ok("06363391001") and partita_iva_ok("00488410010")
    assert not partita_iva_ok("00488410011") and not partita_iva_ok("00000000000")
    # the Agenzia's worked example of a codice fiscale
    assert codice_fiscale_check("RSSMRA85T10A562") == "S"
    assert codice_fiscale_ok("RSSMRA85T10A562S") and not codice_fiscale_ok("RSSMRA85T10A562T")


# --- e-mail and phones ---------------------------------------------------------------------------------------------
def test_email() -> None:
    m = mask("scrivetemi a mario.rossi+banca@gmail.com, grazie")
    assert m.text == "scrivetemi a [EMAIL], grazie"
    assert m.found == [("email", 13, 40)]


@pytest.mark.parametrize("phone", [
    "333 1234567", "3331234567", "333-123-4567", "333.123.4567", "+39 333 1234567", "+393331234567",
    "0039 333 1234567", "(+39) 333 123 4567", "02 12345678", "06-1234567", "+39 06 6982 1234", "011/1234567",
    "+44 20 7946 0958", "+1 (415) 555-2671", "0049 30 12345678", "(415) 555-2671",
])
def test_phone_positive(phone: str) -> None:
    m = mask(f"chiamatemi al {phone} entro sera")
    assert m.text == "chiamatemi al [PHONE] entro sera", (phone, m)


@pytest.mark.parametrize("text", [
    "il 12/03/2024 ho chiamato", "pagamento del 03.12.2024", "dal 2024-03-12 al 2024-04-01",
    "mi hanno addebitato 1.250,00 euro", "una rata da 3.450 €", "€ 3331234567 di danni? no", "ordine n. 12345",
    "ho aspettato 45 minuti", "il 3 marzo alle 10:30", "importo 333,50", "codice pratica 2023/45678",
])
def test_not_a_phone(text: str) -> None:
    assert "phone" not in kinds(text), (text, mask(text))


# --- IBAN, cards, codice fiscale, partita IVA ------------------------------------------------------------------------
def test_iban_compact_grouped_and_lowercase() -> None:
    assert mask("IBAN IT60X0542811101000000123456 grazie").text == "IBAN [IBAN] grazie"
    assert mask("iban: IT60 X054 2811 1010 0000 0123 456.").text == "iban: [IBAN]."
    assert mask("accredito su de89 3704 0044 0532 0130 00").text == "accredito su [IBAN]"
    assert kinds("GB29NWBK60161331926819") == ["iban"]


def test_iban_with_wrong_checksum_is_not_an_iban() -> None:
    m = mask("IBAN IT61X0542811101000000123456")
    assert "iban" not in [k for k, _, _ in m.found]
    assert "IT61X0542811101000000123456" in m.text


def test_cards_need_luhn() -> None:
    assert mask("carta 4111 1111 1111 1111 rifiutata").text == "carta [CARD] rifiutata"
    assert mask("card 5500-0000-0000-0004").text == "card [CARD]"
    assert mask("amex 378282246310005").text == "amex [CARD]"
    order = "ordine 1234567812345678 non arrivato"  # 16 digits failing Luhn: an order number
    assert mask(order).text == order and mask(order).found == []
    assert kinds("ordine 1234 5678 1234 5678") == []


def test_codice_fiscale_and_omocodia() -> None:
    assert mask("il mio CF è RSSMRA85T10A562S.").text == "il mio CF è [CODICE_FISCALE]."
    assert kinds("cf rssmra85t10a562s") == ["codice_fiscale"]  # written in lower case
    # omocodia: the last digits replaced by letters (2->N, ...), with the check letter recomputed
    omocode = "RSSMRA85T10A56N" + codice_fiscale_check("RSSMRA85T10A56N")
    assert omocode[-1] != "S" and kinds(f"CF {omocode}") == ["codice_fiscale"]
    full = "RSSMRAURTMLARSN" + codice_fiscale_check("RSSMRAURTMLARSN")
    assert kinds(f"CF {full}") == ["codice_fiscale"]
    assert kinds("CF RSSMRA85T10A562T") == []  # wrong check letter
    assert kinds("PROMOZIONE20AB45") == []  # 16 characters, not the shape


def test_partita_iva() -> None:
    assert mask("P.IVA 06363391001").text == "P.IVA [PARTITA_IVA]"
    assert mask("partita iva IT00488410010").text == "partita iva [PARTITA_IVA]"
    assert "partita_iva" not in kinds("pratica 00488410011")  # wrong check digit (may still be a landline)
    assert partita_iva_ok("12345678903") and kinds("pratica 12345678903") == ["partita_iva"]
    assert kinds("pratica 12345678901") == []  # wrong check digit, and no phone starts with 1


# --- addresses and names -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("address", [
    "via Roma 12", "Via Giuseppe Garibaldi, 5", "piazza della Repubblica 3/a", "corso Vittorio Emanuele II 101",
    "viale XX Settembre 45", "via Roma 12, 00184 Roma", "Via Dante 3, 20121 Milano (MI)", "221 Baker Street",
    "1600 Pennsylvania Ave",
])
def test_address_positive(address: str) -> None:
    m = mask(f"abito in {address} da anni")
    assert m.text == "abito in [ADDRESS] da anni", (address, m)


def test_address_negative() -> None:
    assert kinds("ho aspettato in piazza tutto il giorno") == []
    assert kinds("la via più breve è chiamare 2 volte") == []
    assert kinds("ho pagato 20000 Euro di mutuo") == []
    assert kinds("CAP 00184 Roma") == ["address"]


def test_names_with_cues_list_and_pairs() -> None:
    assert mask("Buongiorno, mi chiamo Giulia Bianchi e ho un problema").text == \
        "Buongiorno, mi chiamo [NAME] e ho un problema"
    assert mask("l'operatore Marco è stato gentile").text == "l'operatore [NAME] è stato gentile"
    assert mask("ho parlato con la signora Esposito").text == "ho parlato con la signora [NAME]"
    assert mask("Mrs Thompson was very helpful").text == "Mrs [NAME] was very helpful"
    assert mask("ringrazio Francesca Colombo per l'aiuto").text == "ringrazio [NAME] per l'aiuto"
    assert mask("il consulente Ferraris mi ha aiutato", names=["Ferraris"]).text == \
        "il consulente [NAME] mi ha aiutato"


def test_names_negative() -> None:
    for text in ("Sono Molto deluso dal servizio", "l'operatore Gentilissimo mi ha risolto tutto",
                 "Banca Esempio non risponde", "Ottimo Servizio Davvero", "I am Very angry", "Grazie Mille",
                 "sono stato in filiale a Roma", "The App crashed again"):
        assert "name" not in kinds(text), (text, mask(text))


# Capitalised English function word + noun: airline and hotel talk, never a name (the words are lost when masked,
# since the original is dropped by default)
NOT_NAMES_EN = ["Flew First Class to Boston", "In Flight wifi was down", "The Captain was great",
                "Flight To Boston delayed again", "the Mayor Of Chicago", "we stayed at The Opal", "The Crew On Board",
                "Thank You Very Much", "My Flight was cancelled", "At Gate 12 for hours", "From Rome With Love",
                "By Phone nobody answers", "For Sale signs", "No Show fee", "All Staff were rude",
                "This Airline is a joke", "Our Captain said nothing", "Your Team lost my bag",
                "Over Night in the airport"]


@pytest.mark.parametrize("text", NOT_NAMES_EN)
def test_capitalised_function_word_and_noun_is_not_a_name(text: str) -> None:
    assert mask(text).text == text


def test_real_english_names_are_still_masked() -> None:
    assert mask("my name is John Smith").text == "my name is [NAME]"
    assert mask("ask for Maria Rossi at the desk").text == "ask for [NAME] at the desk"
    assert mask("please ask for Maria").text == "please ask for [NAME]"
    assert mask("I spoke with Sarah Connor twice").text == "I spoke with [NAME] twice"
    assert mask("The agent David was rude").text == "The agent [NAME] was rude"


def test_masks_everything_in_order_and_mask_many() -> None:
    text = ("Sono Luca Verdi, CF RSSMRA85T10A562S, tel. +39 347 765 4321, mail luca@example.it, "
            "IBAN IT60X0542811101000000123456, carta 4111111111111111")
    m = mask(text)
    assert [k for k, _, _ in m.found] == ["name", "codice_fiscale", "phone", "email", "iban", "card"]
    assert m.text == "Sono [NAME], CF [CODICE_FISCALE], tel. [PHONE], mail [EMAIL], IBAN [IBAN], carta [CARD]"
    for _kind, s, e in m.found:  # offsets point into the original text
        assert text[s:e] and not text[s:e].startswith(" ")
    assert text[m.found[0][1]:m.found[0][2]] == "Luca Verdi"
    many = mask_many([text, "niente di personale", None])
    assert many[0].text == m.text and many[1].found == [] and many[2].text == ""
