"""Production entry point: `granian --interface wsgi idp.wsgi:app` (the README has the options).

Production mode unless IDP_ENV says otherwise: a missing or short secret, a non-HTTPS issuer
or an unreachable database stops the start with one line on stderr.
"""

import sys

from idp import db
from idp.app import create_app
from idp.identity.passwords import dummy_hash
from idp.settings import PRODUCTION, Settings, SettingsError

# A worker that cannot load the app exits with 4. granian, which does not respawn failed
# workers unless told to, stops the whole server; gunicorn halts on this code ("App failed
# to load") instead of restarting the worker forever.
APP_LOAD_ERROR = 4

try:
    settings = Settings.from_env(default_env=PRODUCTION)
    db.check_connection(settings.database_url)
except (SettingsError, db.DatabaseUnavailable) as error:
    print(f"idp: {error}", file=sys.stderr)
    sys.exit(APP_LOAD_ERROR)

app = create_app(settings)
# Before the first sign-in: an unknown email then costs one hash, as a wrong password does.
dummy_hash()
