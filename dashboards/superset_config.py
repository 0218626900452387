"""Superset settings for Tertulia's dashboards (read by Superset through SUPERSET_CONFIG_PATH).

`dashboards/build.py` sets TERTULIA_BI_HOME (the folder Superset keeps its own state in, default
data/dashboards/) before starting Superset; nothing here touches the pipeline's warehouse.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

_HOME = Path(os.environ["TERTULIA_BI_HOME"])
_HOME.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    # Superset signs sessions and encrypts stored connection settings with it: generated once per
    # install and kept beside Superset's own database, never in the repository.
    path = _HOME / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = _secret_key()
SQLALCHEMY_DATABASE_URI = f"sqlite:///{_HOME / 'superset.db'}?check_same_thread=false"

# Readers open the dashboards without an account (the server listens on 127.0.0.1 only); the
# Public role gets Gamma's view rights plus read access to the marts' datasets (build.py grants it).
AUTH_ROLE_PUBLIC = "Public"
PUBLIC_ROLE_LIKE = "Gamma"

# No telemetry, no calls out of the machine.
SCARF_ANALYTICS = False
FEATURE_FLAGS = {"DASHBOARD_RBAC": False, "ENABLE_TEMPLATE_PROCESSING": False}
THUMBNAIL_SELENIUM_USER = None
MAPBOX_API_KEY = ""

# The charts read a small published file: no cache server, a plain in-process cache.
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 60}
DATA_CACHE_CONFIG = CACHE_CONFIG
WTF_CSRF_ENABLED = True
TALISMAN_ENABLED = False

# Dates on chart axes in the language the pages were built in (build.py writes it); Superset's
# default is English month and day names.
_LANGUAGE = (
    (_HOME / "language").read_text(encoding="utf-8").strip() if (_HOME / "language").exists() else "en"
)
if _LANGUAGE == "es":
    D3_TIME_FORMAT = {
        "dateTime": "%A, %e de %B de %Y, %X",
        "date": "%d/%m/%Y",
        "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": ["domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"],
        "shortDays": ["dom", "lun", "mar", "mié", "jue", "vie", "sáb"],
        "months": [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ],  # fmt: skip
        "shortMonths": ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"],
    }
