#!/usr/bin/env python3
"""A real MCP client for protocol 2026-07-28, scripted from the command line, for mcp-gateway's tests.

Uses only the official MCP Python SDK 2.x (`mcp.Client`). In its default `--mode auto` the SDK
probes `server/discover` at 2026-07-28 and, when the server does not answer it as a modern
server, falls back to the `initialize` handshake (2025-11-25). `--mode legacy` forces the
handshake; `--mode 2026-07-28` adopts the modern version without a probe.

Connects, runs the steps given on the command line in order and prints one JSON object per
line on stdout (same shape as mcp_client.py, the SDK 1.x client):

    {"step": "list-tools", "index": 0, "ok": true, "result": {...}}
    {"step": "call", "index": 1, "name": "echo", "ok": false, "error": "...", "code": -32602}
    {"summary": {"era": "modern", "protocol_version": "2026-07-28", "capabilities": {...}, ...}}

A step that went through `input_required` rounds (modern) carries
"input_required": [{"keys": [...], "methods": [...], "request_state": true}, ...], one entry per
round, and every step lists the client callbacks it triggered ("callbacks": ["elicitation", ...]),
which on a legacy connection are real server-to-client requests.

--expect-error makes the next step pass only if it fails: with a JSON-RPC error
({"ok": true, "error_kind": "jsonrpc", "error": MESSAGE, "code": CODE}) or, for --call-tool, with
a result whose isError is true ({"ok": true, "error_kind": "tool", "error": TEXT, "result": ...}).

Exit status: 0 when every step went as expected, 1 when a step failed (later steps are not
run), 2 on bad usage, 3 when connecting or negotiating failed. Diagnostics go to stderr
(MCP_CLIENT_DEBUG=1 adds tracebacks).

Examples:
    mcp2_client.py --url http://127.0.0.1:3001/mcp --list-tools \\
        --call-tool echo '{"message": "hi"}' --expect-error --call-tool nope '{}'
    mcp2_client.py --url http://127.0.0.1:3001/mcp --elicit-content '{"user_name": "Alice"}' \\
        --sampling-text hello --roots file:///tmp --call-tool ask_all '{}'
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from script_steps import FlagAction, StepAction, describe, dump, emit, err, find_error

# ping/set_logging_level/... warn on every call; the JSON output is the interface.
warnings.simplefilter("ignore")


def find_mcp_error(exc: BaseException) -> MCPError | None:
    return find_error(exc, MCPError)


# ----------------------------------------------------------------------------- arguments

def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Scripted MCP client (official Python SDK 2.x, protocol 2026-07-28 with "
                    "legacy fallback); prints one JSON object per step.")
    p.add_argument("--url", help="Streamable HTTP endpoint (http://HOST:PORT/mcp)")
    p.add_argument("--command", help="instead of --url: spawn this stdio server (shell-split)")
    p.add_argument("--mode", default="auto",
                   help="auto (default: probe server/discover, fall back to initialize), legacy, "
                        "or a modern version to adopt without a probe (2026-07-28)")
    p.add_argument("--header", action="append", default=[], metavar="'Name: value'",
                   help="extra HTTP header (repeatable)")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds per step (and for connecting)")
    p.add_argument("--sampling-text", metavar="TEXT",
                   help="declare sampling; answer every sampling/createMessage with TEXT")
    p.add_argument("--elicit-content", metavar="JSON",
                   help="declare elicitation; accept every form elicitation with this content "
                        "(URL mode: accept without content)")
    p.add_argument("--elicit-decline", action="store_true",
                   help="declare elicitation; decline every elicitation")
    p.add_argument("--roots", nargs="+", metavar="URI",
                   help="declare roots (paths become file:// URIs; URIs are kept)")
    p.add_argument("--log-level", metavar="LEVEL",
                   help="opt in to log messages at LEVEL (modern: per-request _meta logLevel; "
                        "legacy: logging/setLevel after connecting)")
    p.add_argument("--client-name", default="mcp-gateway-test-client2")

    g = p.add_argument_group("steps (run in order)")
    g.add_argument("--list-tools", dest="list-tools", nargs=0, action=StepAction)
    g.add_argument("--call-tool", "--call", dest="call", nargs=2, metavar=("NAME", "JSON_ARGS"),
                   action=StepAction)
    g.add_argument("--list-resources", dest="list-resources", nargs=0, action=StepAction)
    g.add_argument("--list-resource-templates", dest="list-resource-templates", nargs=0,
                   action=StepAction)
    g.add_argument("--read-resource", dest="read-resource", nargs=1, metavar="URI", action=StepAction)
    g.add_argument("--list-prompts", dest="list-prompts", nargs=0, action=StepAction)
    g.add_argument("--get-prompt", dest="get-prompt", nargs=2, metavar=("NAME", "JSON_ARGS"),
                   action=StepAction)
    g.add_argument("--sleep", dest="sleep", nargs=1, metavar="SECONDS", action=StepAction,
                   help="wait (e.g. to let notifications arrive)")
    g.add_argument("--expect-error", dest="_pending_expect", action=FlagAction,
                   help="the next step must fail: a JSON-RPC error (error_kind 'jsonrpc') or, for "
                        "--call-tool, a result with isError: true (error_kind 'tool')")
    g.add_argument("--progress", dest="_pending_progress", action=FlagAction,
                   help="the next --call-tool asks for progress and records it")

    a = p.parse_args(argv)
    if not getattr(a, "steps", None):
        a.steps = []
    if getattr(a, "_pending_expect", False) or getattr(a, "_pending_progress", False):
        p.error("--expect-error/--progress must be followed by a step")
    if bool(a.url) == bool(a.command):
        p.error("give exactly one of --url and --command")
    if a.mode not in ("auto", "legacy") and a.mode not in MODERN_PROTOCOL_VERSIONS:
        p.error(f"--mode: auto, legacy or one of {list(MODERN_PROTOCOL_VERSIONS)}")
    if a.elicit_content is not None and a.elicit_decline:
        p.error("--elicit-content and --elicit-decline exclude each other")
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
    a.elicit = None
    if a.elicit_content is not None:
        try:
            a.elicit = json.loads(a.elicit_content)
        except json.JSONDecodeError as e:
            p.error(f"--elicit-content: not JSON: {e}")
        if not isinstance(a.elicit, dict):
            p.error("--elicit-content: must be a JSON object")
    headers: dict[str, str] = {}
    for h in a.header:
        if ":" not in h:
            p.error(f"--header {h!r}: expected 'Name: value'")
        k, v = h.split(":", 1)
        headers[k.strip()] = v.strip()
    a.headers = headers
    return a


# ----------------------------------------------------------------------------- recording

class Recorder:
    def __init__(self) -> None:
        self.sampling_requests: list[Any] = []
        self.elicitation_requests: list[Any] = []
        self.roots_calls = 0
        self.notifications: dict[str, int] = {}
        self.log_messages: list[Any] = []
        self.transport_errors: list[str] = []
        # Per step, reset before each: callbacks fired and input_required rounds seen.
        self.step_callbacks: list[str] = []
        self.step_rounds: list[dict[str, Any]] = []
        self.input_required_rounds = 0
        # HTTP exchanges by JSON-RPC method: {"server/discover": [404], "initialize": [200]}.
        self.http: dict[str, list[int]] = {}
        self.session_id: str | None = None


def make_callbacks(a: argparse.Namespace, rec: Recorder) -> dict[str, Any]:
    cbs: dict[str, Any] = {}

    if a.sampling_text is not None:
        async def sampling_cb(context, params: types.CreateMessageRequestParams):
            rec.step_callbacks.append("sampling")
            rec.sampling_requests.append(dump(params))
            return types.CreateMessageResult(
                role="assistant",
                content=types.TextContent(type="text", text=a.sampling_text),
                model="test-model",
                stop_reason="endTurn",
            )
        cbs["sampling_callback"] = sampling_cb

    if a.elicit is not None or a.elicit_decline:
        async def elicitation_cb(context, params):
            rec.step_callbacks.append("elicitation")
            rec.elicitation_requests.append(dump(params))
            if a.elicit_decline:
                return types.ElicitResult(action="decline")
            if getattr(params, "mode", None) == "url":  # URL mode: accept carries no content
                return types.ElicitResult(action="accept")
            return types.ElicitResult(action="accept", content=a.elicit)
        cbs["elicitation_callback"] = elicitation_cb

    if a.roots:
        roots = []
        for r in a.roots:
            if "://" in r:
                roots.append(types.Root(uri=r))
            else:
                path = Path(r).resolve()
                roots.append(types.Root(uri=path.as_uri(), name=path.name or str(path)))

        async def roots_cb(context):
            rec.step_callbacks.append("roots")
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
        else:
            method = getattr(message, "method", type(message).__name__)
            rec.notifications[method] = rec.notifications.get(method, 0) + 1
    cbs["message_handler"] = message_handler
    return cbs


def watch_input_required(client: Client, rec: Recorder) -> None:
    """Records every `input_required` round the SDK's driver goes through.

    `Client.call_tool`/`get_prompt`/`read_resource` drive the retry loop through
    `client.session.<method>(..., allow_input_required=True)`; wrapping those on the session
    instance lets us see each round without re-implementing the driver.
    """
    session = client.session
    for name in ("call_tool", "get_prompt", "read_resource"):
        original = getattr(session, name)

        def wrap(original=original):
            async def counted(*args: Any, **kwargs: Any) -> Any:
                result = await original(*args, **kwargs)
                if isinstance(result, types.InputRequiredResult):
                    requests = result.input_requests or {}
                    rec.input_required_rounds += 1
                    rec.step_rounds.append({
                        "keys": sorted(requests),
                        "methods": [requests[k].method for k in sorted(requests)],
                        "request_state": result.request_state is not None,
                    })
                return result
            return counted
        setattr(session, name, wrap())


async def on_http_response(response: httpx2.Response, rec: Recorder) -> None:
    method = "?"
    try:
        body = json.loads(response.request.content or b"null")
        if isinstance(body, dict):
            method = body.get("method") or ("response" if "id" in body else "?")
    except (ValueError, httpx2.RequestNotRead):
        pass
    if response.request.method != "POST":
        method = response.request.method
    rec.http.setdefault(method, []).append(response.status_code)
    sid = response.headers.get("mcp-session-id")
    if sid:
        rec.session_id = sid


# ----------------------------------------------------------------------------- steps

async def paginate(fetch, field: str) -> dict[str, Any]:
    items: list[Any] = []
    cursor: str | None = None
    pages = 0
    extra: dict[str, Any] = {}
    while True:
        res = await fetch(cursor=cursor)
        pages += 1
        items.extend(dump(x) for x in getattr(res, field))
        if pages == 1:  # 2026-07-28 cache hints (absent, i.e. defaults, on legacy servers)
            extra = {k: v for k, v in (("ttlMs", getattr(res, "ttl_ms", None)),
                                       ("cacheScope", getattr(res, "cache_scope", None)))
                     if v is not None}
        cursor = res.next_cursor
        if not cursor:
            break
        if pages > 1000:
            raise RuntimeError("more than 1000 pages: the server's cursor does not advance")
    key = {"resource_templates": "resourceTemplates"}.get(field, field)
    return {key: items, "pages": pages, **extra}


async def run_step(client: Client, step: dict[str, Any]) -> Any:
    kind, v = step["kind"], step["values"]
    if kind == "list-tools":
        return await paginate(lambda cursor: client.list_tools(cursor=cursor), "tools")
    if kind == "list-resources":
        return await paginate(lambda cursor: client.list_resources(cursor=cursor), "resources")
    if kind == "list-resource-templates":
        return await paginate(lambda cursor: client.list_resource_templates(cursor=cursor),
                              "resource_templates")
    if kind == "list-prompts":
        return await paginate(lambda cursor: client.list_prompts(cursor=cursor), "prompts")
    if kind == "call":
        progress: list[Any] = []
        cb = None
        if step["progress"]:
            async def cb(p: float, total: float | None, message: str | None) -> None:
                progress.append({k: x for k, x in
                                 (("progress", p), ("total", total), ("message", message))
                                 if x is not None})
        res = dump(await client.call_tool(v[0], json.loads(v[1]), progress_callback=cb))
        if step["progress"]:
            return {"callResult": res, "progress": progress}
        return res
    if kind == "read-resource":
        return dump(await client.read_resource(v[0]))
    if kind == "get-prompt":
        args = {k: (x if isinstance(x, str) else json.dumps(x)) for k, x in json.loads(v[1]).items()}
        return dump(await client.get_prompt(v[0], args))
    if kind == "sleep":
        await anyio.sleep(float(v[0]))
        return {}
    raise AssertionError(kind)


def tool_error(result: Any) -> str | None:
    """For a tools/call result with isError: true, its text content (else None)."""
    if isinstance(result, dict) and "callResult" in result:
        result = result["callResult"]
    if not isinstance(result, dict) or result.get("isError") is not True:
        return None
    texts = [c.get("text", "") for c in result.get("content", []) if c.get("type") == "text"]
    return "\n".join(texts) or "isError: true"


def only_closed_stream_errors(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(only_closed_stream_errors(e) for e in exc.exceptions)
    return isinstance(exc, (anyio.BrokenResourceError, anyio.ClosedResourceError))


async def run(a: argparse.Namespace) -> int:
    rec = Recorder()
    info: dict[str, Any] = {}
    status = 0

    def summary() -> dict[str, Any]:
        s: dict[str, Any] = {
            "era": info.get("era"),
            "protocol_version": info.get("protocol_version"),
            "negotiated_by": info.get("negotiated_by"),
            "server_name": info.get("server_name"),
            "server_version": info.get("server_version"),
            "capabilities": info.get("capabilities"),
            "sampling_calls": len(rec.sampling_requests),
            "elicitation_calls": len(rec.elicitation_requests),
            "roots_calls": rec.roots_calls,
            "input_required_rounds": rec.input_required_rounds,
            "notifications": rec.notifications,
        }
        for key in ("supported_versions", "instructions"):
            if info.get(key) is not None:
                s[key] = info[key]
        if rec.http:
            s["http"] = rec.http
        if rec.session_id is not None:
            s["session_id"] = rec.session_id
        if rec.sampling_requests:
            s["sampling_requests"] = rec.sampling_requests
        if rec.elicitation_requests:
            s["elicitation_requests"] = rec.elicitation_requests
        if rec.log_messages:
            s["log_messages"] = rec.log_messages
        if rec.transport_errors:
            s["transport_errors"] = rec.transport_errors
        return s

    async def hook(response: httpx2.Response) -> None:
        await on_http_response(response, rec)

    http_client = None
    if a.url:
        http_client = create_mcp_http_client(headers=a.headers or None)
        http_client.event_hooks = {"request": [], "response": [hook]}
        server: Any = streamable_http_client(a.url, http_client=http_client)
    else:
        argv = shlex.split(a.command)
        server = StdioServerParameters(command=argv[0], args=argv[1:], env=dict(os.environ))

    client = Client(
        server,
        mode=a.mode,
        client_info=types.Implementation(name=a.client_name, version="0.1.0"),
        log_level=a.log_level if a.mode != "legacy" else None,
        read_timeout_seconds=a.timeout,
        cache=None,  # every step must reach the server
        **make_callbacks(a, rec),
    )

    phase = "connect"
    try:
        async with http_client if http_client is not None else _null():
            # No fail_after around the connect: it would have to close before the transport's
            # task group does. read_timeout_seconds bounds each request of the handshake.
            async with client:
                session = client.session
                modern = client.protocol_version in MODERN_PROTOCOL_VERSIONS
                info["era"] = "modern" if modern else "legacy"
                info["protocol_version"] = client.protocol_version
                info["negotiated_by"] = ("discover" if session.discover_result is not None
                                         else "initialize" if session.initialize_result is not None
                                         else "adopt")
                if modern and session.discover_result is not None:
                    info["supported_versions"] = session.discover_result.supported_versions
                if client.server_info is not None:
                    info["server_name"] = client.server_info.name
                    info["server_version"] = client.server_info.version
                info["capabilities"] = dump(client.server_capabilities)
                info["instructions"] = client.instructions
                if not modern and a.log_level:
                    with anyio.fail_after(a.timeout):
                        await client.set_logging_level(a.log_level)
                watch_input_required(client, rec)
                phase = "steps"
                status = await run_steps(client, a, rec)
    except Exception as e:  # noqa: BLE001
        if phase == "steps" and only_closed_stream_errors(e):
            pass  # the server sent something after the session closed: harmless
        elif phase == "steps":
            err(f"error while closing: {describe(e)}")
            if os.environ.get("MCP_CLIENT_DEBUG"):
                traceback.print_exception(e)
            rec.transport_errors.append(f"on close: {describe(e)}")
        else:
            what = "timed out" if isinstance(e, TimeoutError) else describe(e)
            err(f"{phase} failed: {what}")
            if os.environ.get("MCP_CLIENT_DEBUG"):
                traceback.print_exception(e)
            out: dict[str, Any] = {"summary": summary(), "error": f"{phase} failed: {what}"}
            mcp_err = find_mcp_error(e)
            if mcp_err is not None:
                out["code"] = mcp_err.code
            emit(out)
            return 3
    emit({"summary": summary()})
    return status


class _null:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: Any) -> None:
        return None


async def run_steps(client: Client, a: argparse.Namespace, rec: Recorder) -> int:
    for index, step in enumerate(a.steps):
        out: dict[str, Any] = {"step": step["kind"], "index": index}
        if step["kind"] in ("call", "get-prompt"):
            out["name"] = step["values"][0]
        elif step["kind"] == "read-resource":
            out["uri"] = step["values"][0]
        if step["expect_error"]:
            out["expect_error"] = True
        rec.step_callbacks = []
        rec.step_rounds = []

        def annotate() -> None:
            if rec.step_callbacks:
                out["callbacks"] = rec.step_callbacks
            if rec.step_rounds:
                out["input_required"] = rec.step_rounds

        limit = a.timeout
        if step["kind"] == "sleep":
            limit += float(step["values"][0])
        try:
            with anyio.fail_after(limit):
                result = await run_step(client, step)
        except TimeoutError:
            out.update(ok=False, error=f"timed out after {limit:g}s")
            annotate()
            emit(out)
            err(f"step {index} ({step['kind']}): timed out after {limit:g}s")
            return 1
        except Exception as e:  # noqa: BLE001
            mcp_err = find_mcp_error(e)
            annotate()
            if step["expect_error"] and mcp_err is not None:
                out.update(ok=True, error_kind="jsonrpc", error=mcp_err.message, code=mcp_err.code)
                if mcp_err.data is not None:
                    out["data"] = mcp_err.data
                emit(out)
                continue
            out.update(ok=False, error=describe(e))
            if mcp_err is not None:
                out["code"] = mcp_err.code
                if mcp_err.data is not None:
                    out["data"] = mcp_err.data
            emit(out)
            err(f"step {index} ({step['kind']}): {describe(e)}")
            if os.environ.get("MCP_CLIENT_DEBUG"):
                traceback.print_exception(e)
            return 1
        annotate()
        if step["expect_error"] and tool_error(result) is not None:
            out.update(ok=True, error_kind="tool", error=tool_error(result), result=result)
            emit(out)
            continue
        if step["expect_error"]:
            out.update(ok=False, error="expected an error, got a result", result=result)
            emit(out)
            err(f"step {index} ({step['kind']}): expected an error, got a result")
            return 1
        out.update(ok=True, result=result)
        emit(out)
    return 0


def main() -> int:
    a = parse_args(sys.argv[1:])
    try:
        return anyio.run(run, a)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
