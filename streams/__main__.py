"""``python -m streams worker -l info``: start a Faust worker of the pipeline."""

from streams.app import app

app.main()
