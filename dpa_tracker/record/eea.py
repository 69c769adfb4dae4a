"""Where the GDPR's transfer rules start (Chapter V): the EU/EEA, kept in one list.

An adequacy decision (Art. 45) does not put a country inside this list: a transfer there is still
a transfer, recorded with the mechanism "adequacy decision" (Art. 30(2)(c)).
"""

from __future__ import annotations

import re

# The 27 EU member states and the three other EEA states (Iceland, Liechtenstein, Norway), ISO 3166-1 alpha-2.
EEA_COUNTRIES = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    }
)

# A sub-processor's locations are free text that starts with the country code ("FR — Paris", "US east").
_LEADING_CODE = re.compile(r"^([A-Z]{2})\b")


def in_eea(country: str) -> bool:
    return country.strip().upper() in EEA_COUNTRIES


def location_country(location: str) -> str | None:
    """The ISO code a free-text location starts with, if any."""
    match = _LEADING_CODE.match(location.strip())
    return match.group(1) if match else None
