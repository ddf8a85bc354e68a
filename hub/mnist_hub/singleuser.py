"""In each student's server: when memory ran out and a kernel was stopped, say so in the cell.

The kernel's out-of-memory killer ends a kernel with SIGKILL: the kernel itself cannot say
anything, and JupyterLab only shows "The kernel appears to have died". The server can:
it sees the messages between the page and the kernel, and the memory group it lives in
(cgroups.py) counts every process the killer stopped. ``MemoryLimitConnection`` (the
server's kernel websocket connection, set with
``--ServerApp.kernel_websocket_connection_class``) remembers which cell the kernel was
running; when the kernel is restarted after dying while the group's count went up, it
writes the explanation into that cell's output before the page hears of the restart.
"""

import os

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

from .cgroups import CgroupError, MemoryGroup
from .settings import show_size


def out_of_memory_message(limit):
    """What the student reads in the cell whose kernel was stopped; limit in bytes, or None."""
    allowed = f"the {show_size(limit)} of memory" if limit else "the memory"
    return (f"The kernel was stopped: together, your kernels and JupyterLab used more than {allowed} "
            "this server gives each student.\n"
            "Nothing else was lost: the notebook and your other work are as they were, but the "
            "kernel starts again empty. Run the cells again from the top (Run > Run All Cells).\n"
            "If it happens again: shut down the notebooks you are not using (File > Close and Shut "
            "Down Notebook), and train on fewer images or with a smaller batch.")


def _oom_kills():
    """How many processes the out-of-memory killer stopped in this server's group (None: unknown)."""
    try:
        return MemoryGroup.of_process().oom_kills()
    except (CgroupError, OSError, ValueError):
        return None


class MemoryLimitConnection(ZMQChannelsWebsocketConnection):
    """The standard connection, plus the out-of-memory message (see the module's docstring)."""

    _running = None          # the header of the execute_request the kernel is working on
    _kills = None            # the group's out-of-memory count when that request started

    def handle_outgoing_message(self, stream, outgoing_msg):
        channel = stream if isinstance(stream, str) else getattr(stream, "channel", None)
        if channel == "iopub":
            self._follow(outgoing_msg)
        super().handle_outgoing_message(stream, outgoing_msg)

    def _follow(self, msg_list):
        """Note the request a cell's execution belongs to (execute_input), and its end (idle)."""
        _, parts = self.session.feed_identities(msg_list)
        header = self.session.unpack(parts[1])          # parts: signature, header, parent, ...
        if header["msg_type"] == "execute_input":
            self._running = self.session.unpack(parts[2])
            self._kills = _oom_kills()
        elif header["msg_type"] == "status" and self._running is not None:
            parent = self.session.unpack(parts[2])
            if parent.get("msg_id") == self._running.get("msg_id") and \
                    self.session.unpack(parts[4]).get("execution_state") == "idle":
                self._running = None

    def on_kernel_restarted(self):
        kills = _oom_kills()
        if self._running is not None and kills is not None and self._kills is not None and kills > self._kills:
            limit = int(os.environ["MEM_LIMIT"]) if os.environ.get("MEM_LIMIT", "").isdigit() else None
            self.write_stderr(out_of_memory_message(limit), self._running)
        self._running = None
        super().on_kernel_restarted()
