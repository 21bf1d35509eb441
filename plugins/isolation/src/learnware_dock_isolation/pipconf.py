"""What pip needs to see inside the install sandbox: its configuration files and the
local folders they name (``find-links``, file indexes, constraints, certificates).

Global files are shown at their own place, the user's at the sandbox's ``$HOME``
(``/tmp``); ``PIP_*`` and proxy variables are passed on. Nothing else of the host is.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

#: folders never shown whole, even when a setting names them
TOO_BROAD = {"/", "/etc", "/home", "/root", "/var", "/usr", "/tmp"}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "no_proxy", "NO_PROXY")


def _config_files() -> list[tuple[Path, str]]:
    """``(host file, path inside)`` of every pip configuration file pip would read."""
    home = Path.home()
    xdg_dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(":")
    found: list[tuple[Path, str | None]] = [
        (Path(d) / "pip" / "pip.conf", None) for d in xdg_dirs if d
    ]
    found.append((Path("/etc/pip.conf"), None))
    user_config = Path(os.environ.get("XDG_CONFIG_HOME", home / ".config"))
    found.append((user_config / "pip" / "pip.conf", "/tmp/.config/pip/pip.conf"))
    found.append((home / ".pip" / "pip.conf", "/tmp/.pip/pip.conf"))
    if os.environ.get("PIP_CONFIG_FILE"):
        found.append((Path(os.environ["PIP_CONFIG_FILE"]), None))
    return [(path, inside or str(path)) for path, inside in found if path.is_file()]


def _local_paths(value: str) -> list[Path]:
    """Local files or folders named in a pip setting (paths or file:// URLs)."""
    found = []
    for token in value.replace(",", " ").split():
        if token.startswith("file:"):
            token = unquote(urlparse(token).path)
        if token.startswith("/") and os.path.exists(token):
            found.append(Path(token))
    return found


def pip_environment() -> dict[str, str]:
    """The ``PIP_*`` and proxy variables of the dock's environment."""
    return {k: v for k, v in os.environ.items() if k.startswith("PIP_") or k in PROXY_VARIABLES}


def pip_config_mounts() -> tuple[tuple[Path, str], ...]:
    """Read-only binds for pip's configuration and the local paths it refers to."""
    binds: dict[str, Path] = {}
    values = list(pip_environment().values())
    for path, inside in _config_files():
        binds[inside] = path
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        values += [v for section in parser.sections() for _, v in parser.items(section)]
    for value in values:
        for local in _local_paths(value):
            real = Path(os.path.realpath(local))
            if str(real) not in TOO_BROAD:
                binds.setdefault(str(real), real)
    return tuple((host, inside) for inside, host in binds.items())
