"""The Faust wiring and nothing else: the app, its topics and agents (app.py), the worker entry point, and a
fetch pause for brokers that answer empty fetches at once. What an event goes through is pipeline/."""
