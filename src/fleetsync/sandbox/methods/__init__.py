"""The Google API methods the sandbox implements: one module per resource, a handler per method.

A handler takes a ``Call`` (the front door has checked the token, the path, the parameters and
the body against the discovery document) and reads and changes the tenant's stores
(``tenant.py``, ``devices.py``, ``users.py``, ``orgunits.py``, ``policy.py``, ``gmail.py``). The
stores import no handler: ``routes.py`` maps method ids to handlers, ``front.py`` calls them.
"""
