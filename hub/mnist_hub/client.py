"""A simulated student (or teacher) on a hub, doing over HTTP what a browser does.

``Person`` logs in through the hub's log-in form, starts their server and waits for it as
the spawn page does, then goes through the OAuth redirects to their server, as opening
JupyterLab does. From there it uses the Jupyter server's REST API and kernel websocket as
JupyterLab does: a session opens a kernel for a notebook, each cell is an
``execute_request``, the notebook is saved through the contents API; nbgrader's
Assignments tab and Formgrader are their own server extensions' APIs.

Uses httpx (its cookie jar keeps the hub's and the server's cookies apart by path) and
tornado's websocket client; both come with JupyterLab. Everything is asyncio, so one
process can play a whole class.
"""

import asyncio
import json
import re
import time
import uuid
from urllib.parse import quote, urlencode

import httpx
import nbformat
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect


class HubClientError(RuntimeError):
    """The hub or a server did not do what a browser would have seen it do."""


def _check(response, what):
    if response.status_code >= 400:
        raise HubClientError(f"{what}: HTTP {response.status_code} from {response.request.method} "
                             f"{response.request.url}: {response.text[:500]}")
    return response


class Person:
    """One person at a browser: ``await Person(hub_url, name, password).log_in()``."""

    def __init__(self, hub_url, name, password, timeout=600):
        self.hub = hub_url.rstrip("/")
        self.name, self.password = name, password
        self.http = httpx.AsyncClient(follow_redirects=True, timeout=timeout)
        self.server = f"{self.hub}/user/{quote(name)}"

    async def close(self):
        await self.http.aclose()

    def _cookie(self, name, path):
        """The cookie ``name`` that the browser would send to ``path``."""
        best = None
        for cookie in self.http.cookies.jar:
            if cookie.name == name and path.startswith(cookie.path) and (best is None or len(cookie.path) > len(best.path)):
                best = cookie
        return best.value if best else None

    def _cookie_header(self, path):
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar if path.startswith(c.path))

    # --- the hub -------------------------------------------------------------------------

    async def log_in(self):
        """The log-in form: GET the page (its _xsrf), POST name and password. False if refused."""
        page = _check(await self.http.get(f"{self.hub}/hub/login"), "the log-in page")
        xsrf = re.search(r'name="_xsrf"\s+value="([^"]+)"', page.text)
        form = {"username": self.name, "password": self.password,
                "_xsrf": xsrf.group(1) if xsrf else self._cookie("_xsrf", "/hub/")}
        # Not followed: the answer to the form is what tells success from failure.
        answer = await self.http.post(f"{self.hub}/hub/login?next=", data=form, follow_redirects=False)
        if answer.status_code == 302:
            return True
        if answer.status_code in (200, 403) and "Invalid username or password" in answer.text:
            return False
        raise HubClientError(f"log-in form answered HTTP {answer.status_code}: {answer.text[:300]}")

    async def hub_api(self, method, path, **kwargs):
        headers = {"X-XSRFToken": self._cookie("_xsrf", "/hub/") or ""}
        response = await self.http.request(method, f"{self.hub}/hub/api/{path.lstrip('/')}",
                                           headers=headers, **kwargs)
        return _check(response, f"hub API {path}")

    async def start_server(self, timeout=600):
        """Ask for the server as the home page's button does, wait as the spawn page does,
        then open it (OAuth with the hub sets the server's cookie). Returns the seconds taken."""
        started = time.monotonic()
        await self.http.get(f"{self.hub}/hub/spawn/{quote(self.name)}")
        async with self.http.stream("GET", f"{self.hub}/hub/api/users/{quote(self.name)}/server/progress",
                                    timeout=timeout) as events:
            async for line in events.aiter_lines():
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                if event.get("failed"):
                    raise HubClientError(f"{self.name}'s server failed to start: {event.get('message')}")
                if event.get("ready"):
                    break
        await self.open_server()
        return time.monotonic() - started

    async def open_server(self):
        """Open JupyterLab's page: the server sends the browser through the hub's OAuth,
        which sets the cookie its API needs."""
        lab = _check(await self.http.get(f"{self.server}/lab"), f"{self.name}'s JupyterLab page")
        if not str(lab.url).startswith(self.server):
            raise HubClientError(f"opening {self.name}'s server ended at {lab.url}")

    async def stop_server(self):
        await self.hub_api("DELETE", f"users/{quote(self.name)}/server")
        for _ in range(600):
            model = (await self.hub_api("GET", f"users/{quote(self.name)}")).json()
            if not model.get("servers"):
                return
            await asyncio.sleep(0.2)
        raise HubClientError(f"{self.name}'s server did not stop")

    # --- their server ----------------------------------------------------------------------

    async def request(self, method, path, *, json_body=None, data=None, check=True, **kwargs):
        """A request to their server, with the XSRF header JupyterLab sends."""
        headers = {"X-XSRFToken": self._cookie("_xsrf", f"/user/{self.name}/") or ""}
        response = await self.http.request(method, f"{self.server}/{path.lstrip('/')}", headers=headers,
                                           json=json_body, data=data, **kwargs)
        return _check(response, f"{self.name}'s server") if check else response

    async def read_notebook(self, path):
        model = (await self.request("GET", f"api/contents/{quote(path)}?content=1")).json()
        return nbformat.from_dict(model["content"])

    async def save_notebook(self, path, nb):
        await self.request("PUT", f"api/contents/{quote(path)}",
                           json_body={"type": "notebook", "format": "json", "content": nb})

    async def open_kernel(self, path):
        """A session for the notebook at ``path`` (a new kernel), connected as JupyterLab connects."""
        session = (await self.request("POST", "api/sessions", json_body={
            "path": path, "name": path.rsplit("/", 1)[-1], "type": "notebook",
            "kernel": {"name": "python3"}})).json()
        kernel = Kernel(self, session)
        await kernel.connect()
        return kernel

    # --- nbgrader: the Assignments tab ------------------------------------------------------

    async def assignments(self, course):
        listed = (await self.request("GET", f"assignments?course_id={quote(course)}")).json()
        if not listed.get("success"):
            raise HubClientError(f"{self.name}'s Assignments tab: {listed.get('value')}")
        return listed["value"]

    async def assignment_action(self, action, course, assignment):
        """fetch, submit or fetch_feedback, as the Assignments tab's buttons do; the new listing."""
        answer = (await self.request("POST", f"assignments/{action}",
                                     data={"course_id": course, "assignment_id": assignment})).json()
        if isinstance(answer, dict) and not answer.get("success", True):
            raise HubClientError(f"{self.name}: {action} {assignment}: {answer.get('value')}")
        return answer["value"] if isinstance(answer, dict) else answer

    # --- nbgrader: Formgrader (the teacher) --------------------------------------------------

    async def formgrader(self, method, path, **kwargs):
        answer = (await self.request(method, f"formgrader/api/{path.lstrip('/')}", **kwargs)).json()
        if isinstance(answer, dict) and answer.get("success") is False:
            raise HubClientError(f"Formgrader {path}: {answer.get('error') or answer.get('log') or answer}")
        return answer


class Kernel:
    """A kernel of a person's server, reached through its websocket (the JSON protocol)."""

    def __init__(self, person, session):
        self.person, self.session = person, session
        self.id = session["kernel"]["id"]
        self.client_session = uuid.uuid4().hex
        self.socket = None
        self.connected_at = None

    async def connect(self):
        person = self.person
        path = f"/user/{person.name}/api/kernels/{self.id}/channels"
        url = person.server.replace("http", "ws", 1) + f"/api/kernels/{self.id}/channels?" + urlencode(
            {"session_id": self.client_session, "_xsrf": person._cookie("_xsrf", f"/user/{person.name}/") or ""})
        request = HTTPRequest(url, headers={"Cookie": person._cookie_header(path)}, request_timeout=300)
        self.socket = await websocket_connect(request, max_message_size=64 * 2 ** 20)
        self.connected_at = time.monotonic()

    def _message(self, msg_type, content, channel="shell"):
        return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": self.client_session,
                           "username": self.person.name, "version": "5.3",
                           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                "parent_header": {}, "metadata": {}, "content": content, "channel": channel, "buffers": []}

    async def _receive(self, timeout):
        """The next message as a dict (binary messages carry widget buffers: skipped), or None if closed."""
        while True:
            raw = await asyncio.wait_for(self.socket.read_message(), timeout)
            if raw is None:
                return None
            if isinstance(raw, bytes):
                continue
            return json.loads(raw)

    async def request(self, msg_type, content, timeout=600):
        """Send a shell request; return (its reply's content, the iopub messages it caused).

        Waits for the reply and for the kernel's idle status of that request, as
        JupyterLab does before it marks a cell done. A kernel that dies meanwhile
        (the server announces "restarting" or "dead") ends the wait.
        """
        msg = self._message(msg_type, content)
        await self.socket.write_message(json.dumps(msg))
        reply, iopub, idle = None, [], False
        deadline = time.monotonic() + timeout
        while reply is None or not idle:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HubClientError(f"{self.person.name}: no answer to {msg_type} within {timeout} s")
            answer = await self._receive(left)
            if answer is None:
                raise HubClientError(f"{self.person.name}: the kernel's websocket closed")
            if answer.get("parent_header", {}).get("msg_id") == msg["header"]["msg_id"]:
                if answer["channel"] == "shell":
                    reply = answer["content"]
                elif answer["channel"] == "iopub":
                    iopub.append(answer)
                    if answer["msg_type"] == "status" and answer["content"]["execution_state"] == "idle":
                        idle = True
            elif answer["msg_type"] == "status" and answer["content"]["execution_state"] in ("restarting", "dead"):
                iopub.append(answer)
                return None, iopub
        return reply, iopub

    async def info(self, timeout=600):
        """kernel_info: the first answer of a new kernel (JupyterLab asks for it on connecting)."""
        reply, _ = await self.request("kernel_info_request", {}, timeout)
        return reply

    async def ready(self, timeout=300, every=5):
        """Wait until a restarted kernel answers, as JupyterLab does after a restart.

        A request sent while the kernel restarts, or before the server has reconnected
        to the new kernel's output channel, can go unanswered: ask kernel_info every
        ``every`` seconds until one is answered in full (reply and idle status).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                reply, _ = await self.request("kernel_info_request", {}, every)
            except (asyncio.TimeoutError, HubClientError):
                continue
            if reply is not None:
                return reply
        raise HubClientError(f"{self.person.name}: the kernel did not answer within {timeout} s of a restart")

    async def execute(self, code, timeout=600):
        """Run ``code`` as a cell; returns (reply content or None if the kernel died, outputs)."""
        reply, iopub = await self.request("execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True}, timeout)
        return reply, [out for m in iopub if (out := _output(m)) is not None]

    async def run_notebook(self, nb, timeout=600):
        """Run every code cell of ``nb`` in order, as Run All does; outputs go into ``nb``.

        Returns the error outputs (a cell that raised stops the run, as in JupyterLab).
        """
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            reply, outputs = await self.execute(cell.source, timeout)
            cell.outputs = outputs
            if reply is None:
                return [nbformat.v4.new_output("error", ename="KernelDied", evalue="the kernel died",
                                               traceback=[])]
            cell.execution_count = reply.get("execution_count")
            if reply["status"] != "ok":
                return [o for o in outputs if o.output_type == "error"] or [reply]
        return []

    async def shut_down(self):
        """Close the websocket and end the session and its kernel (File > Close and Shut Down)."""
        if self.socket is not None:
            self.socket.close()
        await self.person.request("DELETE", f"api/sessions/{self.session['id']}")


def _output(msg):
    """The notebook output an iopub message makes (nbformat), or None."""
    kind, content = msg["msg_type"], msg["content"]
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=content["name"], text=content["text"])
    if kind in ("display_data", "execute_result"):
        extra = {"execution_count": content.get("execution_count")} if kind == "execute_result" else {}
        return nbformat.v4.new_output(kind, data=content["data"], metadata=content.get("metadata", {}), **extra)
    if kind == "error":
        return nbformat.v4.new_output("error", ename=content["ename"], evalue=content["evalue"],
                                      traceback=content["traceback"])
    return None
