"""JupyterHub for a class working through the series: the parts of the hub that are ours.

The hub itself is JupyterHub; these modules only configure and extend it.

    settings.py   where everything lives and the class's limits, kept as one JSON file
    accounts.py   the class list: names, generated passwords, one Unix account per student
    cgroups.py    memory control groups (v1 or v2): a memory limit per student without systemd
    install.py    python run.py hub: install the hub's environment, prepare the class, start the hub
    trial.py      a throw-away class on this machine, for the tests and the load test
    auth.py       log-in with the class list's passwords (runs in the hub)
    spawner.py    each student's server in a memory cgroup, the student copy at log-in (in the hub)
    singleuser.py in each student's server: says why a kernel stopped when memory ran out
    client.py     a simulated student: the log-in form, a server, notebooks through the Jupyter API

The first five use the standard library only: run.py imports them with whatever Python
runs it. The others run inside the hub's environment (or, client.py, the project's .venv).
"""
