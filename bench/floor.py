"""The framework floor: a bare Flask route, served by gunicorn with the project's gunicorn.conf.py.

``gunicorn -c gunicorn.conf.py bench.floor:app`` (from the repository root). Whatever the app's
own requests cost above this is the app's; this is what the server, Flask and the client cost.
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"
