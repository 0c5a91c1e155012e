"""``python -m streams STAGE ...``: run a worker of one stage.

- ``python -m streams copies worker -l info``: the copy stage (verdicts), a Faust worker;
- ``python -m streams enrichment worker -l info``: the enrichment stage (models, clusters, search), a Faust worker;
- ``python -m streams archiver``: the archiver (ClickHouse).

Faust's worker command starts its web server on port 6066 unless told ``--without-web``, whatever the app's
``web_enabled`` says; the stages serve nothing over it, and a second worker on the same machine would fail to
bind, so it is off unless ``--with-web`` is given.
"""

import importlib
import sys

STAGES = ("copies", "enrichment", "archiver")

if len(sys.argv) < 2 or sys.argv[1] not in STAGES:
    sys.exit(f"usage: python -m streams {{{'|'.join(STAGES)}}} [worker -l info]")
stage = sys.argv.pop(1)
if stage == "archiver":
    from streams.archiver import main

    main()
else:
    if sys.argv[1:2] == ["worker"] and not any(arg in ("--with-web", "--without-web") for arg in sys.argv):
        sys.argv.append("--without-web")
    importlib.import_module(f"streams.{stage}").app.main()
