"""Log-in with the class list: each student's own name and the password the teacher handed out.

The hub reads the password hashes (accounts.py) at every log-in, so students added with
``python run.py hub --publish --students more.txt`` can log in without a restart. A name
that is not in the class cannot log in at all, whatever password it gives.
"""

import asyncio

from jupyterhub.auth import Authenticator
from traitlets import Unicode, default

from . import accounts


class ClassListAuthenticator(Authenticator):
    """One password per person, from ``python run.py hub`` (accounts.py); nobody else gets in."""

    password_file = Unicode(help="the JSON file of {name: password hash} that accounts.py writes").tag(config=True)

    def _hashes(self):
        return accounts.load_hashes(self.password_file)

    async def authenticate(self, handler, data):
        name = self.normalize_username(data.get("username", ""))
        stored = self._hashes().get(name)
        # PBKDF2 takes a few tens of milliseconds: off the hub's event loop, so thirty
        # students logging in at once do not hold up each other's pages.
        if stored and await asyncio.to_thread(accounts.verify_password, data.get("password", ""), stored):
            return name
        self.log.warning("Failed log-in for %r", name)
        return None

    def check_allowed(self, username, authentication=None):
        return username in self._hashes()

    @default("any_allow_config")
    def _class_list_allows(self):
        return True           # the class list is the allow list
