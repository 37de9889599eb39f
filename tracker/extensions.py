"""The Flask extensions, made once here and bound to the app by create_app."""

from __future__ import annotations

from flask_babel import Babel
from flask_compress import Compress
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect

# gevent, served by gunicorn's gevent worker (see tracker/ops/serve.py and README, Performance): a
# board costs a greenlet rather than a thread.
# Always explicit: auto-detection would prefer eventlet.
ASYNC_MODE = "gevent"

socketio = SocketIO()
csrf = CSRFProtect()
# The pages' languages; tracker/web/i18n.py chooses one per request.
babel = Babel()
# Pages, styles and scripts compressed for phones on a busy venue's wifi (the attendee's first
# visit stays under 30 KB); JSON answers are small and stay as they are.
compress = Compress()
COMPRESSED_TYPES = [
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "image/svg+xml",
]
