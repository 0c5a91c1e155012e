"""``python -m streams worker -l info``: start a Faust worker of the pipeline.

Faust's worker command starts its web server on port 6066 unless told ``--without-web``, whatever the app's
``web_enabled`` says; the pipeline serves nothing over it, and a second worker on the same machine would fail to
bind, so it is off unless ``--with-web`` is given.
"""

import sys

from streams.app import app

if sys.argv[1:2] == ["worker"] and not any(arg in ("--with-web", "--without-web") for arg in sys.argv):
    sys.argv.append("--without-web")
app.main()
