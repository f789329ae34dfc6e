"""Operator presets: which onboarding rules, password policy and codes a deployment uses.

PORTAL_PRESET chooses one (anru, bdt, default); base.py turns it into PORTAL_* settings, each of
which a deployment may still override in its own settings module.
"""

PRESETS = {
    # ANRU: trusted domain, else staff validation; ANRU's password charter.
    "anru": {
        "ONBOARDING_RULES": ["R2", "R4"],
        "PASSWORD_POLICY": {
            "min_length": 9,
            "required_classes": ["digit", "upper", "lower"],
            "min_classes": 0,
            "max_age_days": 90,
            "history": 0,
            "refuse_common": False,
        },
        "EMAIL_CODE": {"length": 6, "ttl_minutes": 10, "max_tries": 5, "max_sends_per_hour": 5},
        "REFUSE_FREE_MAIL": True,
        "CLIENT_NUMBERS": False,
        "CHOOSE_IDENTIFIANT": False,
    },
    # Banque des Territoires: client numbers, first user becomes admin, later users approved by
    # their admin; the e-mail code of the reference (4 digits, 3 tries).
    "bdt": {
        "ONBOARDING_RULES": ["R1", "R3"],
        "PASSWORD_POLICY": {
            "min_length": 8,
            "required_classes": [],
            "min_classes": 3,
            "max_age_days": None,
            "history": 5,
            "refuse_common": False,
        },
        "EMAIL_CODE": {"length": 4, "ttl_minutes": 10, "max_tries": 3, "max_sends_per_hour": 5},
        "REFUSE_FREE_MAIL": False,
        "CLIENT_NUMBERS": True,
        "CHOOSE_IDENTIFIANT": True,
    },
    # NIST SP 800-63B and the CNIL: length over classes, no periodic expiry, common passwords refused.
    "default": {
        "ONBOARDING_RULES": ["R1", "R2", "R3", "R4"],
        "PASSWORD_POLICY": {
            "min_length": 12,
            "required_classes": [],
            "min_classes": 0,
            "max_age_days": None,
            "history": 0,
            "refuse_common": True,
        },
        "EMAIL_CODE": {"length": 6, "ttl_minutes": 10, "max_tries": 5, "max_sends_per_hour": 5},
        "REFUSE_FREE_MAIL": True,
        "CLIENT_NUMBERS": True,
        "CHOOSE_IDENTIFIANT": True,
    },
}
