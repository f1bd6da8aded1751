#!/usr/bin/env python3
"""A small dual-era MCP server for mcp-gateway's tests, built on the official Python SDK 2.x.

It speaks 2026-07-28 ("modern": server/discover, per-request `_meta`, `input_required` results)
and, on the same endpoint, 2025-11-25 ("legacy": initialize, sessions, server-to-client
requests): the SDK routes each HTTP request by its `MCP-Protocol-Version` header.

    mcp2_server.py --port N [--host 127.0.0.1]     Streamable HTTP at http://HOST:N/mcp
    mcp2_server.py --stdio                          newline-delimited JSON-RPC on stdin/stdout

Prints `listening on http://HOST:N/mcp` on stderr once the port is bound (HTTP).

Tools:
    echo {message}        -> text "Echo: <message>"
    add {a, b} (ints)     -> text "<a+b>" (and structuredContent {"result": a+b})
    ask_name {}           -> elicits {user_name: string}; text "Hello, <user_name>!"
    ask_llm {prompt}      -> samples one message; text "LLM said: <reply text>"
    show_roots {}         -> lists the client's roots; text "Roots: <uri>, <uri>"
    ask_all {}            -> elicitation + sampling + roots in one round; text joining all three
Modern clients get the questions as one `input_required` result per round (keys are the
SDK's resolver keys); legacy clients get real server-to-client requests mid-call.
Resource `test://greeting` (text "Hello from mcp2_server"); prompt `greet {name}`.
"""

from __future__ import annotations

import argparse
import socket
import sys
from typing import Annotated

import anyio
from mcp_types import CreateMessageResult, ListRootsResult, SamplingMessage, TextContent
from pydantic import BaseModel, Field

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resolve import Elicit, ListRoots, Resolve, Sample

server = MCPServer(
    "mcp2-test-server",
    version="0.1.0",
    instructions="Dual-era test server for mcp-gateway (MCP Python SDK 2.x).",
)


class UserName(BaseModel):
    user_name: str = Field(description="Your name")


async def want_name() -> Elicit[UserName]:
    return Elicit("What is your name?", UserName)


async def want_sample(prompt: str) -> Sample:
    message = SamplingMessage(role="user", content=TextContent(type="text", text=prompt))
    return Sample([message], max_tokens=50)


async def want_roots() -> ListRoots:
    return ListRoots()


def reply_text(result: CreateMessageResult) -> str:
    content = result.content
    if isinstance(content, list):
        content = content[0] if content else None
    return getattr(content, "text", None) or repr(content)


def roots_text(result: ListRootsResult) -> str:
    return ", ".join(str(root.uri) for root in result.roots) or "(none)"


@server.tool(description="Echoes the message back")
def echo(message: str) -> str:
    return f"Echo: {message}"


@server.tool(description="Adds two integers")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="Asks the user for their name (elicitation)")
async def ask_name(name: Annotated[UserName, Resolve(want_name)]) -> str:
    return f"Hello, {name.user_name}!"


@server.tool(description="Asks the client's LLM (sampling)")
async def ask_llm(prompt: str, reply: Annotated[CreateMessageResult, Resolve(want_sample)]) -> str:
    return f"LLM said: {reply_text(reply)}"


@server.tool(description="Lists the client's roots")
async def show_roots(roots: Annotated[ListRootsResult, Resolve(want_roots)]) -> str:
    return f"Roots: {roots_text(roots)}"


async def want_all_sample() -> Sample:
    return await want_sample("Say something")


@server.tool(description="Elicitation, sampling and roots in one round")
async def ask_all(
    name: Annotated[UserName, Resolve(want_name)],
    reply: Annotated[CreateMessageResult, Resolve(want_all_sample)],
    roots: Annotated[ListRootsResult, Resolve(want_roots)],
) -> str:
    return f"name={name.user_name}; llm={reply_text(reply)}; roots={roots_text(roots)}"


@server.resource("test://greeting", name="greeting", mime_type="text/plain")
def greeting() -> str:
    return "Hello from mcp2_server"


@server.prompt(description="Greets someone")
def greet(name: str) -> str:
    return f"Please greet {name}."


async def serve_http(host: str, port: int) -> None:
    """Serves until killed; announces the bound address on stderr once uvicorn listens."""
    import uvicorn

    app = server.streamable_http_app(host=host)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: uv.serve(sockets=[sock]))
        while not uv.started:
            await anyio.sleep(0.02)
        shown = f"[{host}]" if ":" in host else host
        sys.stderr.write(f"listening on http://{shown}:{bound}/mcp\n")
        sys.stderr.flush()


def main() -> int:
    p = argparse.ArgumentParser(description="Dual-era MCP test server (MCP Python SDK 2.x).")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--port", type=int, help="serve Streamable HTTP on this port (0 = any free port)")
    mode.add_argument("--stdio", action="store_true", help="serve stdio")
    p.add_argument("--host", default="127.0.0.1")
    a = p.parse_args()
    if a.stdio:
        server.run("stdio")
        return 0
    anyio.run(serve_http, a.host, a.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
