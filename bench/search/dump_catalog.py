#!/usr/bin/env python3
"""Rebuild bench/search/catalog.json: the real `tools/list` output of real MCP servers.

Provenance script for the search-quality benchmark. CI does not run it; it needs the npm
registry and PyPI, `node`/`npm` (Node >= 20), `python3` (3.11) and a Python 3.12 for the
servers that require it (`PYTHON312`, default `python3.12`), and `redis-server` on PATH
(the Redis server connects at start-up, so a throw-away one is started on 127.0.0.1).

    python3 bench/search/dump_catalog.py [--work DIR] [--only NAME,NAME] [--no-install] [--out FILE]

Every server is installed at the exact version below into its own folder under --work
(default /tmp/bench-servers): `npm install --ignore-scripts --save-exact PKG@VER` for npm
packages (no browser downloads: the browser servers only launch a browser on their first
call), a venv with `pip install PKG==VER` for PyPI ones. Transitive dependencies resolve to
what the registries serve on the day; only the server packages are pinned (plus `mcp` 1.30.0
for mcp-server-sqlite, which breaks on the 2.x SDK, and for time/fetch as in the integration
tests, and zod-to-json-schema for two servers, see ZOD_TO_JSON_SCHEMA).

Each server is then started over stdio with dummy credentials (no server here contacts its
service to answer tools/list; a few try at start-up, fail, and carry on), and spoken to
with plain JSON-RPC: initialize, notifications/initialized, then tools/list following
nextCursor until the last page. The tool objects are written exactly as received, one per
line. Servers run with HOME pointing into --work so none writes into the real home.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTOCOL = "2025-11-25"

# server-gitlab and mcp-obsidian declare zod-to-json-schema ^3.23.5 but not zod itself; today
# npm resolves that to zod-to-json-schema 3.25.x with its own zod 4, which cannot read the zod 3
# schemas the servers build, and every tool comes out with an empty inputSchema
# ({"$schema": ...} and nothing else). Pinning the converter to a release of their time gives
# the schemas their authors shipped.
ZOD_TO_JSON_SCHEMA = "zod-to-json-schema@3.24.5"

# Each entry: name (as the gateway would call the backend), registry kind, package, exact
# version, the executable it installs, its arguments and environment ({work} expands to the
# work folder), optional extra pins (npm packages installed beside it, or pip requirements),
# the Python it needs, and a one-line description written for this benchmark.
SERVERS: list[dict] = [
    # --- the reference servers (also installed for the integration tests, same pins)
    dict(name="everything", kind="npm", package="@modelcontextprotocol/server-everything", version="2026.8.31",
         bin="mcp-server-everything", args=["stdio"],
         description="Reference test server that exercises every MCP feature: echo, sums, sample images, annotations, long-running operations."),
    dict(name="filesystem", kind="npm", package="@modelcontextprotocol/server-filesystem", version="2026.8.31",
         bin="mcp-server-filesystem", args=["{work}/fsroot"],
         description="Read, write, edit, move and search files and folders inside the allowed local directories."),
    dict(name="memory", kind="npm", package="@modelcontextprotocol/server-memory", version="2026.8.31",
         bin="mcp-server-memory", env={"MEMORY_FILE_PATH": "{work}/state/memory.jsonl"},
         description="Persistent memory kept as a knowledge graph of entities, their observations and the relations between them."),
    dict(name="time", kind="pypi", package="mcp-server-time", version="2026.10.10", extra=["mcp==1.30.0"],
         bin="mcp-server-time", args=["--local-timezone", "UTC"],
         description="Current time in any IANA timezone and conversion of a time between timezones."),
    dict(name="fetch", kind="pypi", package="mcp-server-fetch", version="2026.10.10", extra=["mcp==1.30.0"],
         bin="mcp-server-fetch",
         description="Download a web page by URL and return its content converted to markdown."),
    # --- other servers of the modelcontextprotocol project
    dict(name="sequential-thinking", kind="npm", package="@modelcontextprotocol/server-sequential-thinking",
         version="2026.8.31", bin="mcp-server-sequential-thinking",
         description="Structured step-by-step reasoning scratchpad with revisable and branching thoughts."),
    dict(name="git", kind="pypi", package="mcp-server-git", version="2026.10.19",
         bin="mcp-server-git", args=["--repository", "{work}/gitrepo"],
         description="Inspect and change a local git repository: status, diffs, staging, commits, branches, log."),
    dict(name="github", kind="npm", package="@modelcontextprotocol/server-github", version="2025.4.8",
         bin="mcp-server-github", env={"GITHUB_PERSONAL_ACCESS_TOKEN": "dummy"},
         description="GitHub API: repositories, files, branches, issues, pull requests, reviews and code search."),
    dict(name="gitlab", kind="npm", package="@modelcontextprotocol/server-gitlab", version="2025.4.25",
         bin="mcp-server-gitlab", env={"GITLAB_PERSONAL_ACCESS_TOKEN": "dummy"}, extra=[ZOD_TO_JSON_SCHEMA],
         description="GitLab API: projects, files, branches, issues and merge requests."),
    dict(name="slack", kind="npm", package="@modelcontextprotocol/server-slack", version="2025.4.25",
         bin="mcp-server-slack", env={"SLACK_BOT_TOKEN": "xoxb-dummy", "SLACK_TEAM_ID": "T00000000"},
         description="Slack workspace: channels, messages, threads, reactions and user profiles."),
    dict(name="puppeteer", kind="npm", package="@modelcontextprotocol/server-puppeteer", version="2025.5.12",
         bin="mcp-server-puppeteer",
         description="Drive a headless Chrome with Puppeteer: navigate, click, fill forms, run scripts, take screenshots."),
    dict(name="postgres", kind="npm", package="@modelcontextprotocol/server-postgres", version="0.6.2",
         bin="mcp-server-postgres", args=["postgresql://127.0.0.1:9/dummy"],
         description="Read-only SQL access to a PostgreSQL database and its table schemas."),
    dict(name="sqlite", kind="pypi", package="mcp-server-sqlite", version="2025.4.25", extra=["mcp==1.30.0"],
         bin="mcp-server-sqlite", args=["--db-path", "{work}/state/bench.db"],
         description="Query and modify a local SQLite database and record business insights from the data."),
    dict(name="redis", kind="npm", package="@modelcontextprotocol/server-redis", version="2025.4.25",
         bin="mcp-server-redis", args=["redis://127.0.0.1:{redis_port}"],
         description="Get, set, delete and list keys in a Redis key-value store."),
    dict(name="brave-search", kind="npm", package="@modelcontextprotocol/server-brave-search", version="0.6.2",
         bin="mcp-server-brave-search", env={"BRAVE_API_KEY": "dummy"},
         description="Web and local business search through the Brave Search API."),
    dict(name="google-maps", kind="npm", package="@modelcontextprotocol/server-google-maps", version="0.6.2",
         bin="mcp-server-google-maps", env={"GOOGLE_MAPS_API_KEY": "dummy"},
         description="Google Maps: geocoding, places, directions, travel distances and elevation."),
    dict(name="everart", kind="npm", package="@modelcontextprotocol/server-everart", version="0.6.2",
         bin="mcp-server-everart", env={"EVERART_API_KEY": "dummy"},
         description="Generate images from text prompts with EverArt models."),
    dict(name="aws-kb-retrieval", kind="npm", package="@modelcontextprotocol/server-aws-kb-retrieval", version="0.6.2",
         bin="mcp-server-aws-kb-retrieval",
         env={"AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy", "AWS_REGION": "us-east-1"},
         description="Retrieve passages from an AWS Bedrock knowledge base."),
    dict(name="gdrive", kind="npm", package="@modelcontextprotocol/server-gdrive", version="2025.1.14",
         bin="mcp-server-gdrive",
         env={"GDRIVE_CREDENTIALS_PATH": "{work}/creds/token.json", "GDRIVE_OAUTH_PATH": "{work}/creds/gcp-oauth.keys.json"},
         description="Search files in Google Drive."),
    # --- browsers
    dict(name="playwright", kind="npm", package="@playwright/mcp", version="0.0.83",
         bin="playwright-mcp", args=["--headless"],
         description="Browser automation with Playwright via accessibility snapshots: navigate, click, type, tabs, screenshots."),
    dict(name="chrome-devtools", kind="npm", package="chrome-devtools-mcp", version="1.11.0",
         bin="chrome-devtools-mcp", args=["--headless"],
         description="Control and inspect a live Chrome through DevTools: pages, input, console, network, performance traces."),
    # --- productivity
    dict(name="notion", kind="npm", package="@notionhq/notion-mcp-server", version="2.5.2",
         bin="notion-mcp-server", env={"NOTION_TOKEN": "dummy"},
         description="Notion API: search, read and edit pages, blocks, databases and comments."),
    dict(name="atlassian", kind="pypi", package="mcp-atlassian", version="0.23.1", bin="mcp-atlassian",
         env={"JIRA_URL": "https://example.atlassian.net", "JIRA_USERNAME": "bench@example.com", "JIRA_API_TOKEN": "dummy",
              "CONFLUENCE_URL": "https://example.atlassian.net/wiki", "CONFLUENCE_USERNAME": "bench@example.com",
              "CONFLUENCE_API_TOKEN": "dummy"},
         description="Jira issues, sprints and projects, and Confluence pages, spaces and comments."),
    dict(name="linear", kind="npm", package="linear-mcp-server", version="0.1.0",
         bin="linear-mcp-server", env={"LINEAR_API_KEY": "lin_api_dummy"},
         description="Linear issue tracker: create, update, search and comment on issues."),
    dict(name="todoist", kind="pypi", package="todoist-mcp", version="0.4.0", bin="todoist-mcp",
         env={"TODOIST_API_TOKEN": "dummy"},
         description="Todoist to-do lists: projects, sections, tasks, labels and comments."),
    dict(name="google-calendar", kind="npm", package="@cocal/google-calendar-mcp", version="2.6.3",
         bin="google-calendar-mcp", env={"GOOGLE_OAUTH_CREDENTIALS": "{work}/creds/gcp-oauth.keys.json"},
         description="Google Calendar: list, search, create, update and delete events, check availability."),
    dict(name="gmail", kind="npm", package="@gongrzhe/server-gmail-autoauth-mcp", version="1.1.11",
         bin="gmail-mcp",
         env={"GMAIL_OAUTH_PATH": "{work}/creds/gcp-oauth.keys.json", "GMAIL_CREDENTIALS_PATH": "{work}/creds/token.json"},
         description="Gmail: send, draft, read, search and label email, manage filters and attachments."),
    dict(name="obsidian", kind="npm", package="mcp-obsidian", version="1.0.0",
         bin="mcp-obsidian", args=["{work}/vault"], extra=[ZOD_TO_JSON_SCHEMA],
         description="Read and search markdown notes in an Obsidian vault."),
    dict(name="excel", kind="pypi", package="excel-mcp-server", version="2.2.2", bin="excel-mcp-server",
         args=["stdio"], env={"EXCEL_FILES_PATH": "{work}/state/excel"},
         description="Create and edit Excel workbooks: sheets, cell ranges, formulas, formatting, charts and pivot tables."),
    dict(name="word", kind="pypi", package="office-word-mcp-server", version="1.1.11", bin="word_mcp_server",
         description="Create and edit Word documents: paragraphs, headings, tables, footnotes, comments, PDF export."),
    dict(name="pandoc", kind="pypi", package="mcp-pandoc", version="0.11.1", bin="mcp-pandoc",
         description="Convert documents between formats (markdown, HTML, PDF, DOCX, ...) with pandoc."),
    dict(name="markitdown", kind="pypi", package="markitdown-mcp", version="0.0.1a8", bin="markitdown-mcp",
         description="Convert a file or URL (PDF, Office, HTML, ...) into markdown."),
    dict(name="drawio", kind="npm", package="@drawio/mcp", version="1.6.1", bin="drawio-mcp",
         description="Open diagrams in the draw.io editor from XML, CSV or Mermaid and work with their pages and shapes."),
    dict(name="figma", kind="npm", package="figma-developer-mcp", version="0.13.2", bin="figma-developer-mcp",
         args=["--stdio"], env={"FIGMA_API_KEY": "dummy"},
         description="Read Figma design files and export their images for implementing designs in code."),
    dict(name="chart", kind="npm", package="@antv/mcp-server-chart", version="0.9.10", bin="mcp-server-chart",
         description="Render charts, diagrams and maps from data with AntV: bar, line, pie, flow, mind map and more."),
    # --- search, web and knowledge
    dict(name="tavily", kind="npm", package="tavily-mcp", version="0.2.22", bin="tavily-mcp",
         env={"TAVILY_API_KEY": "dummy"},
         description="Tavily web search, page extraction, site crawling and mapping, and deep research."),
    dict(name="firecrawl", kind="npm", package="firecrawl-mcp", version="3.26.0", bin="firecrawl-mcp",
         env={"FIRECRAWL_API_KEY": "fc-dummy"},
         description="Firecrawl web scraping: scrape, crawl, map and search sites, extract structured data, monitor pages."),
    dict(name="duckduckgo", kind="pypi", package="duckduckgo-mcp-server", version="0.7.0", bin="duckduckgo-mcp-server",
         description="Web search through DuckDuckGo and fetching of result pages."),
    dict(name="context7", kind="npm", package="@upstash/context7-mcp", version="4.1.1", bin="context7-mcp",
         description="Up-to-date documentation and code examples for programming libraries and frameworks."),
    dict(name="wikipedia", kind="pypi", package="wikipedia-mcp", version="2.0.1", bin="wikipedia-mcp",
         description="Search Wikipedia and read articles, summaries, sections, links and coordinates."),
    dict(name="arxiv", kind="pypi", package="arxiv-mcp-server", version="0.8.2", bin="arxiv-mcp-server",
         args=["--storage-path", "{work}/state/arxiv"],
         description="Search, download and read arXiv research papers, their citations and LaTeX sources."),
    dict(name="youtube-transcript", kind="npm", package="@kimtaeyoon83/mcp-server-youtube-transcript", version="0.1.1",
         bin="mcp-server-youtube-transcript",
         description="Fetch the transcript (subtitles) of a YouTube video."),
    dict(name="yahoo-finance", kind="pypi", package="mcp-yahoo-finance", version="0.2.0", bin="mcp-yahoo-finance",
         description="Stock quotes, price history, financial statements, dividends, options and news from Yahoo Finance."),
    dict(name="calculator", kind="pypi", package="mcp-server-calculator", version="0.2.1", bin="mcp-server-calculator",
         description="Evaluate arithmetic expressions."),
    dict(name="spotify", kind="pypi", package="mcp-server-spotify", version="0.4.0", bin="mcp-server-spotify",
         python="3.12",
         env={"SPOTIFY_CLIENT_ID": "dummy", "SPOTIFY_CLIENT_SECRET": "dummy",
              "SPOTIFY_REDIRECT_URI": "http://127.0.0.1:8888/callback"},
         description="Spotify: search music, control playback, manage playlists, the queue and the saved library."),
    # --- developer tools, ops and payments
    dict(name="desktop-commander", kind="npm", package="@wonderwhy-er/desktop-commander", version="0.2.52",
         bin="desktop-commander", plain_host=True,
         description="Run terminal commands and manage processes on the local machine, plus file reading, editing and search."),
    dict(name="kubernetes", kind="npm", package="mcp-server-kubernetes", version="4.1.7", bin="mcp-server-kubernetes",
         description="Manage Kubernetes clusters with kubectl and Helm: resources, logs, scaling, rollouts, port forwarding."),
    dict(name="eslint", kind="npm", package="@eslint/mcp", version="0.3.13", bin="mcp",
         description="Lint JavaScript and TypeScript files with ESLint."),
    dict(name="sentry", kind="npm", package="@sentry/mcp-server", version="0.39.0", bin="sentry-mcp",
         args=["--access-token=dummy"],
         description="Sentry error monitoring: organizations, projects, issues, events and root-cause analysis."),
    dict(name="datadog", kind="npm", package="@winor30/mcp-server-datadog", version="1.8.0", bin="mcp-server-datadog",
         env={"DATADOG_API_KEY": "dummy", "DATADOG_APP_KEY": "dummy"},
         description="Datadog monitoring: incidents, metrics, logs, traces, monitors, dashboards, hosts and downtimes."),
    dict(name="grafana", kind="pypi", package="mcp-grafana", version="2.1.1", bin="mcp-grafana",
         env={"GRAFANA_URL": "http://127.0.0.1:9", "GRAFANA_API_KEY": "dummy"},
         description="Grafana: dashboards, datasources, Prometheus and Loki queries, alerting, incidents and on-call."),
    dict(name="pagerduty", kind="pypi", package="pagerduty-mcp", version="1.1.0", bin="pagerduty-mcp",
         args=["--enable-write-tools"], python="3.12", env={"PAGERDUTY_USER_API_KEY": "dummy"},
         description="PagerDuty incident response: incidents, services, schedules, on-call, escalation policies, status pages."),
    dict(name="circleci", kind="npm", package="@circleci/mcp-server-circleci", version="0.20.0",
         bin="mcp-server-circleci", env={"CIRCLECI_TOKEN": "dummy"},
         description="CircleCI pipelines: build failure logs, flaky tests, pipeline status, reruns and artifacts."),
    dict(name="mongodb", kind="npm", package="mongodb-mcp-server", version="3.0.4", bin="mongodb-mcp-server",
         env={"MDB_MCP_TELEMETRY": "disabled"},
         description="MongoDB: connect, query, aggregate and modify collections, indexes and databases."),
    dict(name="stripe", kind="npm", package="@stripe/mcp", version="0.2.5", bin="mcp",
         args=["--tools=all", "--api-key=sk_test_dummy"],
         description="Stripe payments: customers, products, prices, invoices, payment links, subscriptions, refunds."),
]

# Tried and left out:
#   @stripe/mcp 0.3.3 (proxies to Stripe's hosted server: needs the network), @supabase/mcp-server-supabase
#   0.13.0 (fetches its tool set from the API at list time), @heroku/mcp-server 1.2.8 (crashes at start:
#   imports an SDK path its dependency range no longer has), mcp-server-docker 0.3.0 (needs a Docker
#   daemon at start-up), @tacticlaunch/mcp-linear 1.4.3 (198 tools, 240 kB: replaced by linear-mcp-server),
#   @aashari/mcp-server-atlassian-jira 3.3.0 (five generic HTTP-verb tools; Jira is covered by mcp-atlassian).


# desktop-commander writes what it detects about the host into its tool descriptions (inside a
# container: the container's mount points and hostname). This preload hides the container
# markers it looks at, so the catalog holds the descriptions a plain Linux host gets, and
# nothing about the machine that made the dump.
PLAIN_HOST_PRELOAD = """\
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const exists = fs.existsSync, read = fs.readFileSync;
fs.existsSync = (p, ...rest) => (p === '/.dockerenv' ? false : exists(p, ...rest));
fs.readFileSync = (p, ...rest) => {
  if (p === '/proc/1/cgroup' || p === '/proc/1/environ') {
    throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
  }
  return read(p, ...rest);
};
syncBuiltinESMExports();
"""


def expand(value: str, ctx: dict) -> str:
    return value.format(**ctx)


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> None:
    res = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout[-4000:])
        raise RuntimeError(f"command failed ({res.returncode}): {' '.join(cmd)}")


def install(s: dict, work: Path) -> Path:
    """Install one server; return the path of its executable."""
    if s["kind"] == "npm":
        d = work / "npm" / s["name"]
        d.mkdir(parents=True, exist_ok=True)
        if not (d / "package.json").exists():
            (d / "package.json").write_text('{"private": true}\n')
        env = dict(os.environ, PUPPETEER_SKIP_DOWNLOAD="1", PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
        run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--save-exact",
             f"{s['package']}@{s['version']}", *s.get("extra", [])], cwd=d, env=env)
        return d / "node_modules" / ".bin" / s["bin"]
    d = work / "py" / s["name"]
    if not (d / "bin" / "python").exists():
        py = os.environ.get("PYTHON312", "python3.12") if s.get("python") == "3.12" else sys.executable
        run([py, "-m", "venv", str(d)])
    run([str(d / "bin" / "pip"), "install", "-q", f"{s['package']}=={s['version']}", *s.get("extra", [])])
    return d / "bin" / s["bin"]


class StdioPeer:
    """Newline-delimited JSON-RPC over a child's stdin/stdout."""

    def __init__(self, argv: list[str], env: dict, cwd: Path, log: Path):
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                     env=env, cwd=cwd, start_new_session=True)
        self.inbox: queue.Queue = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                self.inbox.put(json.loads(line))
            except ValueError:
                pass  # a banner printed on stdout: not protocol
        self.inbox.put(None)

    def send(self, msg: dict) -> None:
        self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
        self.proc.stdin.flush()

    def request(self, method: str, params: dict, timeout: float) -> dict:
        self.next_id += 1
        rid = self.next_id
        self.send({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{method}: no answer in {timeout:.0f} s")
            try:
                msg = self.inbox.get(timeout=left)
            except queue.Empty:
                continue
            if msg is None:
                raise RuntimeError(f"{method}: server exited (code {self.proc.poll()})")
            if "method" in msg and "id" in msg:  # a request from the server
                if msg["method"] == "ping":
                    self.send({"jsonrpc": "2.0", "id": msg["id"], "result": {}})
                else:
                    self.send({"jsonrpc": "2.0", "id": msg["id"],
                               "error": {"code": -32601, "message": "not supported by the dump client"}})
                continue
            if msg.get("id") != rid:
                continue  # notifications
            if "error" in msg:
                raise RuntimeError(f"{method}: {msg['error']}")
            return msg["result"]

    def close(self) -> None:
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self.log.close()


def list_tools(argv: list[str], env: dict, cwd: Path, log: Path, timeout: float) -> tuple[list[dict], dict]:
    peer = StdioPeer(argv, env, cwd, log)
    try:
        init = peer.request("initialize", {
            "protocolVersion": PROTOCOL, "capabilities": {},
            "clientInfo": {"name": "mcp-gateway-bench-dump", "version": "1"}}, timeout)
        peer.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        tools: list[dict] = []
        cursor = None
        pages = 0
        while True:
            res = peer.request("tools/list", {"cursor": cursor} if cursor else {}, timeout)
            pages += 1
            tools.extend(res.get("tools", []))
            cursor = res.get("nextCursor")
            if not cursor:
                break
        info = dict(init.get("serverInfo", {}), protocolVersion=init.get("protocolVersion"), pages=pages)
        return tools, info
    finally:
        peer.close()


def prepare(work: Path) -> None:
    """Dummy credentials and the folders the servers are pointed at."""
    for sub in ["fsroot", "state/excel", "state/arxiv", "vault", "creds", "home", "logs"]:
        (work / sub).mkdir(parents=True, exist_ok=True)
    (work / "plain-host.mjs").write_text(PLAIN_HOST_PRELOAD)
    (work / "vault" / "welcome.md").write_text("# Welcome\n")
    (work / "creds" / "gcp-oauth.keys.json").write_text(json.dumps({"installed": {
        "client_id": "dummy.apps.googleusercontent.com", "client_secret": "dummy",
        "redirect_uris": ["http://localhost"]}}))
    (work / "creds" / "token.json").write_text(json.dumps({
        "access_token": "dummy", "refresh_token": "dummy", "token_type": "Bearer", "expiry_date": 4102444800000}))
    repo = work / "gitrepo"
    if not (repo / ".git").exists():
        repo.mkdir(exist_ok=True)
        run(["git", "init", "-q", str(repo)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_catalog(path: Path, servers: list[dict]) -> None:
    """Readable and diff-friendly: one tool object per line."""
    out = ['{', f'  "generated": {json.dumps(dt.date.today().isoformat())},', '  "servers": [']
    for i, s in enumerate(servers):
        out.append('    {')
        for key in ("name", "package", "description"):
            out.append(f'      {json.dumps(key)}: {json.dumps(s[key], ensure_ascii=False)},')
        out.append('      "tools": [')
        for j, t in enumerate(s["tools"]):
            comma = "," if j + 1 < len(s["tools"]) else ""
            out.append('        ' + json.dumps(t, ensure_ascii=False, separators=(",", ":")) + comma)
        out.append('      ]')
        out.append('    }' + ("," if i + 1 < len(servers) else ""))
    out += ['  ]', '}', '']
    path.write_text("\n".join(out), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", default="/tmp/bench-servers", help="scratch folder for installs (outside the repo)")
    ap.add_argument("--out", default=str(HERE / "catalog.json"))
    ap.add_argument("--only", help="comma-separated server names; with an existing --out file, only these "
                    "servers are replaced in it, the others are kept")
    ap.add_argument("--no-install", action="store_true", help="use what --work already holds")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per request")
    a = ap.parse_args()

    work = Path(a.work).resolve()
    prepare(work)
    only = set(a.only.split(",")) if a.only else None
    chosen = [s for s in SERVERS if only is None or s["name"] in only]

    redis = None
    ctx = {"work": str(work), "redis_port": free_port()}
    if any(s["name"] == "redis" for s in chosen):
        redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(ctx["redis_port"]),
                                  "--save", "", "--appendonly", "no"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    results, failures = [], []
    try:
        for s in chosen:
            t0 = time.monotonic()
            try:
                exe = install(s, work) if not a.no_install else (
                    work / "npm" / s["name"] / "node_modules" / ".bin" / s["bin"] if s["kind"] == "npm"
                    else work / "py" / s["name"] / "bin" / s["bin"])
                # PYTHONHASHSEED: mcp-atlassian builds a default value from a set; fixed, it comes
                # out in the same order on every run.
                env = dict(os.environ, HOME=str(work / "home"), PYTHONHASHSEED="0")
                env.update({k: expand(v, ctx) for k, v in s.get("env", {}).items()})
                if s.get("plain_host"):
                    env["NODE_OPTIONS"] = f"--import={(work / 'plain-host.mjs').as_uri()}"
                argv = [str(exe)] + [expand(x, ctx) for x in s.get("args", [])]
                tools, info = list_tools(argv, env, work, work / "logs" / f"{s['name']}.stderr", a.timeout)
            except Exception as e:  # noqa: BLE001 - report and go on with the others
                failures.append((s["name"], str(e)))
                print(f"FAIL {s['name']}: {e}", file=sys.stderr)
                continue
            spec = f"{s['package']}@{s['version']}" if s["kind"] == "npm" else f"{s['package']}=={s['version']}"
            results.append({"name": s["name"], "package": spec, "description": s["description"], "tools": tools})
            print(f"ok   {s['name']:<20} {len(tools):>4} tools  {info.get('name')} {info.get('version')} "
                  f"protocol {info.get('protocolVersion')} pages {info.get('pages')}  {time.monotonic() - t0:.1f}s",
                  file=sys.stderr)
    finally:
        if redis:
            redis.terminate()
            redis.wait()

    if only is not None and Path(a.out).exists():
        kept = {s["name"]: s for s in json.loads(Path(a.out).read_text(encoding="utf-8"))["servers"]}
        kept.update({r["name"]: r for r in results})
        order = [s["name"] for s in SERVERS]
        results = sorted(kept.values(), key=lambda r: order.index(r["name"]) if r["name"] in order else len(order))
    write_catalog(Path(a.out), results)
    n = sum(len(r["tools"]) for r in results)
    print(f"wrote {a.out}: {len(results)} servers, {n} tools, {Path(a.out).stat().st_size} bytes", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
