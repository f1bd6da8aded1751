#!/usr/bin/env python3
"""A real MCP client, scripted from the command line, for mcp-gateway's tests.

Uses only the official MCP Python SDK 1.x (ClientSession over streamable HTTP, SSE or stdio).
Connects, initializes, runs the steps given on the command line in order and prints one JSON
object per line on stdout:

    {"step": "list-tools", "index": 0, "ok": true, "result": {...}}
    {"step": "call", "index": 1, "name": "echo", "ok": false, "error": "..."}
    {"summary": {"sampling_calls": 0, "elicitation_calls": 0, "protocol_version": "...", ...}}

--expect-error makes the next step pass only if it fails: with a JSON-RPC error
({"ok": true, "error_kind": "jsonrpc", "error": MESSAGE, "code": CODE}) or, for --call, with a
result whose isError is true ({"ok": true, "error_kind": "tool", "error": TEXT, "result": ...}).

Exit status: 0 when every step went as expected, 1 when a step failed (unexpected error, or an
--expect-error step that succeeded; later steps are not run unless --keep-going), 2 on bad usage, 3 when connecting
or initializing failed. Diagnostics go to stderr.

Examples:
    mcp_client.py --transport http --url http://127.0.0.1:3001/mcp --list-tools \\
        --call echo '{"message": "hi"}' --expect-error --call nope '{}'
    mcp_client.py --transport stdio --command "mcp-server-everything stdio" \\
        --sampling-reply "hello" --call trigger-sampling-request '{"prompt": "x"}'
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import traceback
from pathlib import Path
from typing import Any

import anyio
from pydantic import AnyUrl

from mcp import ClientSession, types
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.shared.exceptions import McpError
from mcp.shared._httpx_utils import create_mcp_http_client

from script_steps import FlagAction, StepAction, describe, dump, emit, err, find_error

try:  # 1.2x+: the non-deprecated name
    from mcp.client.streamable_http import streamable_http_client as _streamable_http_client
except ImportError:  # pragma: no cover - older 1.x
    _streamable_http_client = None
from mcp.client.streamable_http import streamablehttp_client as _streamablehttp_client_legacy


def find_mcp_error(exc: BaseException) -> McpError | None:
    return find_error(exc, McpError)


# ----------------------------------------------------------------------------- arguments

def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Scripted MCP client (official Python SDK 1.x); prints one JSON object per step.")
    p.add_argument("--transport", choices=["http", "sse", "stdio"], required=True)
    p.add_argument("--url", help="server URL (http: .../mcp, sse: .../sse)")
    p.add_argument("--command", help="stdio: command line of the server to spawn (shell-split)")
    p.add_argument("--env", action="append", default=[], metavar="K=V",
                   help="stdio: extra environment for the server (the client's own env is passed too)")
    p.add_argument("--cwd", help="stdio: working directory of the server")
    p.add_argument("--header", action="append", default=[], metavar="'Name: value'",
                   help="http/sse: extra HTTP header (repeatable)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per step (and for initialize)")
    p.add_argument("--sampling-reply", metavar="TEXT",
                   help="declare sampling; answer every sampling/createMessage with TEXT")
    p.add_argument("--sampling-delay", type=float, default=0.0, metavar="SECONDS",
                   help="think this long before answering a sampling request (like an LLM)")
    p.add_argument("--sampling-marker", metavar="PATH",
                   help="create PATH when a sampling request arrives (for --wait-for in another client)")
    p.add_argument("--elicitation-accept", metavar="JSON",
                   help="declare elicitation; accept every elicitation/create with this content")
    p.add_argument("--elicitation-decline", action="store_true",
                   help="declare elicitation; decline every elicitation/create")
    p.add_argument("--roots", nargs="+", metavar="PATH",
                   help="declare roots (paths become file:// URIs; URIs are kept)")
    p.add_argument("--client-name", default="mcp-gateway-test-client")
    p.add_argument("--keep-going", action="store_true",
                   help="run the remaining steps after one fails (the exit status still says 1)")

    g = p.add_argument_group("steps (run in order)")
    g.add_argument("--list-tools", dest="list-tools", nargs=0, action=StepAction)
    g.add_argument("--call", dest="call", nargs=2, metavar=("NAME", "JSON_ARGS"), action=StepAction)
    g.add_argument("--list-resources", dest="list-resources", nargs=0, action=StepAction)
    g.add_argument("--list-resource-templates", dest="list-resource-templates", nargs=0,
                   action=StepAction)
    g.add_argument("--read-resource", dest="read-resource", nargs=1, metavar="URI", action=StepAction)
    g.add_argument("--list-prompts", dest="list-prompts", nargs=0, action=StepAction)
    g.add_argument("--get-prompt", dest="get-prompt", nargs=2, metavar=("NAME", "JSON_ARGS"),
                   action=StepAction)
    g.add_argument("--ping", dest="ping", nargs=0, action=StepAction)
    g.add_argument("--sleep", dest="sleep", nargs=1, metavar="SECONDS", action=StepAction,
                   help="wait (e.g. to let notifications arrive)")
    g.add_argument("--wait-for", dest="wait-for", nargs=1, metavar="PATH", action=StepAction,
                   help="wait until PATH exists (within the step timeout)")
    g.add_argument("--expect-error", dest="_pending_expect", action=FlagAction,
                   help="the next step must fail: a JSON-RPC error (error_kind 'jsonrpc') or, for "
                        "--call, a result with isError: true (error_kind 'tool'); then it is ok:true")
    g.add_argument("--progress", dest="_pending_progress", action=FlagAction,
                   help="the next --call asks for progress (sets a progressToken) and records it")

    a = p.parse_args(argv)
    if not getattr(a, "steps", None):
        a.steps = []
    if getattr(a, "_pending_expect", False) or getattr(a, "_pending_progress", False):
        p.error("--expect-error/--progress must be followed by a step")
    if a.transport in ("http", "sse") and not a.url:
        p.error(f"--transport {a.transport} needs --url")
    if a.transport == "stdio" and not a.command:
        p.error("--transport stdio needs --command")
    if a.elicitation_accept is not None and a.elicitation_decline:
        p.error("--elicitation-accept and --elicitation-decline exclude each other")
    # Validate JSON arguments early (usage errors, not step failures).
    for s in a.steps:
        if s["kind"] in ("call", "get-prompt"):
            try:
                v = json.loads(s["values"][1])
            except json.JSONDecodeError as e:
                p.error(f"--{s['kind']} {s['values'][0]}: JSON_ARGS is not JSON: {e}")
            if not isinstance(v, dict):
                p.error(f"--{s['kind']} {s['values'][0]}: JSON_ARGS must be a JSON object")
        if s["kind"] == "sleep":
            try:
                float(s["values"][0])
            except ValueError:
                p.error("--sleep needs a number of seconds")
    if a.elicitation_accept is not None:
        try:
            content = json.loads(a.elicitation_accept)
        except json.JSONDecodeError as e:
            p.error(f"--elicitation-accept: not JSON: {e}")
        if not isinstance(content, dict):
            p.error("--elicitation-accept: must be a JSON object")
        a.elicitation_content = content
    headers: dict[str, str] = {}
    for h in a.header:
        if ":" not in h:
            p.error(f"--header {h!r}: expected 'Name: value'")
        k, v = h.split(":", 1)
        headers[k.strip()] = v.strip()
    a.headers = headers
    return a


# ----------------------------------------------------------------------------- client

class Recorder:
    def __init__(self) -> None:
        self.sampling_calls = 0
        self.sampling_requests: list[Any] = []
        self.elicitation_calls = 0
        self.elicitation_requests: list[Any] = []
        self.roots_calls = 0
        self.notifications: dict[str, int] = {}
        self.log_messages: list[Any] = []
        self.transport_errors: list[str] = []


def make_callbacks(a: argparse.Namespace, rec: Recorder) -> dict[str, Any]:
    cbs: dict[str, Any] = {}

    if a.sampling_reply is not None:
        async def sampling_cb(context, params: types.CreateMessageRequestParams):
            rec.sampling_calls += 1
            rec.sampling_requests.append(dump(params))
            if a.sampling_marker:
                Path(a.sampling_marker).touch()
            await anyio.sleep(a.sampling_delay)
            return types.CreateMessageResult(
                role="assistant",
                content=types.TextContent(type="text", text=a.sampling_reply),
                model="test-model",
                stopReason="endTurn",
            )
        cbs["sampling_callback"] = sampling_cb

    if a.elicitation_accept is not None or a.elicitation_decline:
        async def elicitation_cb(context, params):
            rec.elicitation_calls += 1
            rec.elicitation_requests.append(dump(params))
            if a.elicitation_decline:
                return types.ElicitResult(action="decline")
            if getattr(params, "mode", None) == "url":  # URL mode: accept carries no content
                return types.ElicitResult(action="accept")
            return types.ElicitResult(action="accept", content=a.elicitation_content)
        cbs["elicitation_callback"] = elicitation_cb

    if a.roots:
        roots = []
        for r in a.roots:
            if "://" in r:
                roots.append(types.Root(uri=AnyUrl(r)))
            else:
                path = Path(r).resolve()
                roots.append(types.Root(uri=AnyUrl(path.as_uri()), name=path.name or str(path)))

        async def roots_cb(context):
            rec.roots_calls += 1
            return types.ListRootsResult(roots=roots)
        cbs["list_roots_callback"] = roots_cb

    async def logging_cb(params: types.LoggingMessageNotificationParams) -> None:
        rec.log_messages.append(dump(params))
    cbs["logging_callback"] = logging_cb

    async def message_handler(message) -> None:
        if isinstance(message, Exception):
            rec.transport_errors.append(describe(message))
            err(f"transport error: {describe(message)}")
        elif isinstance(message, types.ServerNotification):
            method = message.root.method
            rec.notifications[method] = rec.notifications.get(method, 0) + 1
    cbs["message_handler"] = message_handler
    return cbs


async def paginate(fetch, field: str) -> dict[str, Any]:
    items: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = types.PaginatedRequestParams(cursor=cursor) if cursor is not None else None
        res = await fetch(params=params)
        pages += 1
        items.extend(dump(x) for x in getattr(res, field))
        cursor = res.nextCursor
        if not cursor:
            break
        if pages > 1000:
            raise RuntimeError("more than 1000 pages: the server's cursor does not advance")
    return {field: items, "pages": pages}


async def run_step(session: ClientSession, step: dict[str, Any]) -> Any:
    kind, v = step["kind"], step["values"]
    if kind == "list-tools":
        return await paginate(session.list_tools, "tools")
    if kind == "list-resources":
        return await paginate(session.list_resources, "resources")
    if kind == "list-resource-templates":
        return await paginate(session.list_resource_templates, "resourceTemplates")
    if kind == "list-prompts":
        return await paginate(session.list_prompts, "prompts")
    if kind == "call":
        progress: list[Any] = []
        cb = None
        if step["progress"]:
            async def cb(p: float, total: float | None, message: str | None) -> None:
                progress.append({k: x for k, x in
                                 (("progress", p), ("total", total), ("message", message))
                                 if x is not None})
        res = dump(await session.call_tool(v[0], json.loads(v[1]), progress_callback=cb))
        if step["progress"]:
            return {"callResult": res, "progress": progress}
        return res
    if kind == "read-resource":
        return dump(await session.read_resource(AnyUrl(v[0])))
    if kind == "get-prompt":
        args = {k: (x if isinstance(x, str) else json.dumps(x)) for k, x in json.loads(v[1]).items()}
        return dump(await session.get_prompt(v[0], args))
    if kind == "ping":
        return dump(await session.send_ping())
    if kind == "sleep":
        await anyio.sleep(float(v[0]))
        return {}
    if kind == "wait-for":
        while not Path(v[0]).exists():
            await anyio.sleep(0.02)
        return {}
    raise AssertionError(kind)


def only_closed_stream_errors(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(only_closed_stream_errors(e) for e in exc.exceptions)
    return isinstance(exc, (anyio.BrokenResourceError, anyio.ClosedResourceError))


def tool_error(result: Any) -> str | None:
    """For a tools/call result with isError: true, its text content (else None)."""
    if isinstance(result, dict) and "callResult" in result:
        result = result["callResult"]
    if not isinstance(result, dict) or result.get("isError") is not True:
        return None
    texts = [c.get("text", "") for c in result.get("content", []) if c.get("type") == "text"]
    return "\n".join(texts) or "isError: true"


async def run(a: argparse.Namespace) -> int:
    rec = Recorder()
    info: dict[str, Any] = {}
    get_session_id = None
    status = 0

    def summary() -> dict[str, Any]:
        s: dict[str, Any] = {
            "sampling_calls": rec.sampling_calls,
            "elicitation_calls": rec.elicitation_calls,
            "roots_calls": rec.roots_calls,
            "protocol_version": info.get("protocol_version"),
            "server_name": info.get("server_name"),
            "server_version": info.get("server_version"),
            "capabilities": info.get("capabilities"),
            "notifications": rec.notifications,
        }
        if get_session_id is not None:
            try:
                s["session_id"] = get_session_id()
            except Exception:  # noqa: BLE001
                pass
        if rec.sampling_requests:
            s["sampling_requests"] = rec.sampling_requests
        if rec.elicitation_requests:
            s["elicitation_requests"] = rec.elicitation_requests
        if rec.log_messages:
            s["log_messages"] = rec.log_messages
        if rec.transport_errors:
            s["transport_errors"] = rec.transport_errors
        return s

    stack = contextlib.AsyncExitStack()
    if a.transport == "http":
        if _streamable_http_client is not None:
            # The SDK leaves a client it was given open: close it ourselves (stack).
            http_client = create_mcp_http_client(headers=a.headers or None)
            await stack.enter_async_context(http_client)
            transport = _streamable_http_client(a.url, http_client=http_client)
        else:  # pragma: no cover
            transport = _streamablehttp_client_legacy(a.url, headers=a.headers or None)
    elif a.transport == "sse":
        transport = sse_client(a.url, headers=a.headers or None, timeout=a.timeout)
    else:
        argv = shlex.split(a.command)
        env = dict(os.environ)
        for kv in a.env:
            k, _, val = kv.partition("=")
            env[k] = val
        transport = stdio_client(StdioServerParameters(command=argv[0], args=argv[1:], env=env,
                                                       cwd=a.cwd))

    phase = "connect"
    try:
        async with stack, transport as streams:
            read, write = streams[0], streams[1]
            if len(streams) > 2:
                get_session_id = streams[2]
            async with ClientSession(
                read, write,
                client_info=types.Implementation(name=a.client_name, version="0.1.0"),
                **make_callbacks(a, rec),
            ) as session:
                phase = "initialize"
                with anyio.fail_after(a.timeout):
                    init = await session.initialize()
                info["protocol_version"] = init.protocolVersion
                info["server_name"] = init.serverInfo.name
                info["server_version"] = init.serverInfo.version
                info["capabilities"] = dump(init.capabilities)
                phase = "steps"

                for index, step in enumerate(a.steps):
                    out: dict[str, Any] = {"step": step["kind"], "index": index}
                    if step["kind"] in ("call", "get-prompt"):
                        out["name"] = step["values"][0]
                    elif step["kind"] == "read-resource":
                        out["uri"] = step["values"][0]
                    if step["expect_error"]:
                        out["expect_error"] = True
                    limit = a.timeout
                    if step["kind"] == "sleep":
                        limit += float(step["values"][0])
                    try:
                        with anyio.fail_after(limit):
                            result = await run_step(session, step)
                    except TimeoutError:
                        out.update(ok=False, error=f"timed out after {limit:g}s")
                        emit(out)
                        err(f"step {index} ({step['kind']}): timed out after {limit:g}s")
                        status = 1
                        if a.keep_going:
                            continue
                        break
                    except Exception as e:  # noqa: BLE001
                        mcp_err = find_mcp_error(e)
                        if step["expect_error"] and mcp_err is not None:
                            out.update(ok=True, error_kind="jsonrpc", error=mcp_err.error.message,
                                       code=mcp_err.error.code)
                            if mcp_err.error.data is not None:
                                out["data"] = mcp_err.error.data
                            emit(out)
                            continue
                        out.update(ok=False, error=describe(e))
                        if mcp_err is not None:
                            out["code"] = mcp_err.error.code
                        emit(out)
                        err(f"step {index} ({step['kind']}): {describe(e)}")
                        status = 1
                        if a.keep_going:
                            continue
                        break
                    if step["expect_error"] and tool_error(result) is not None:
                        # tools/call answered with a result carrying isError: true.
                        out.update(ok=True, error_kind="tool", error=tool_error(result),
                                   result=result)
                        emit(out)
                        continue
                    if step["expect_error"]:
                        out.update(ok=False, error="expected an error, got a result",
                                   result=result)
                        emit(out)
                        err(f"step {index} ({step['kind']}): expected an error, got a result")
                        status = 1
                        if a.keep_going:
                            continue
                        break
                    out.update(ok=True, result=result)
                    emit(out)
    except Exception as e:  # noqa: BLE001
        if phase == "steps" and only_closed_stream_errors(e):
            # Known SDK shutdown race: the server sent something (e.g. a roots/list request)
            # after the session had closed. Harmless.
            pass
        elif phase == "steps":
            # The steps ran; this came while shutting the session/transport down.
            err(f"error while closing: {describe(e)}")
            if os.environ.get("MCP_CLIENT_DEBUG"):
                traceback.print_exception(e)
            rec.transport_errors.append(f"on close: {describe(e)}")
        else:
            what = "initialize timed out" if isinstance(e, TimeoutError) else describe(e)
            err(f"{phase} failed: {what}")
            if os.environ.get("MCP_CLIENT_DEBUG"):
                traceback.print_exception(e)
            emit({"summary": summary(), "error": f"{phase} failed: {what}"})
            return 3
    emit({"summary": summary()})
    return status


def main() -> int:
    a = parse_args(sys.argv[1:])
    try:
        return anyio.run(run, a)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
