"""`serve` and `deploy`: argument definitions and entry points.

Shared by `runwatch serve|deploy` (runwatch/cli/serve_cmd.py, deploy_cmd.py) and
`python -m runwatch.engine serve|deploy`. Stdlib-only at module level: `runwatch --help` imports
this to build its parser; FastAPI and uvicorn are imported only when the server starts.
"""

from __future__ import annotations

import argparse
import fcntl
import ipaddress
import json
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runwatch.engine.common import LOG_TOKEN_STYLES

DATA_DIR_ENV = "RUNWATCH_DATA_DIR"
ENV_FILE = "engine.env"
LOCK_FILE = "engine.lock"
DEMO_DIR = Path(__file__).with_name("demo")
DEMO_VERSIONS = ("train", "flaky", "broken", "flood")


def _port(text: str) -> int:
    """argparse type: a TCP port number, 0 for any free one."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0-65535, got {port}")
    return port


def _path_arg(text: str) -> Path:
    """argparse type of a path: an empty one would silently mean the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return Path(text)


def _platform_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("runwatch")) / "engine"


def _data_dir_help(what: str) -> str:
    return f"{what} (default: ${DATA_DIR_ENV} if set, else {_platform_data_dir()})"


def default_data_dir() -> Path:
    value = os.environ.get(DATA_DIR_ENV)
    if value:
        return Path(value).expanduser()
    return _platform_data_dir()


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=_port, default=0, help="port (0 = pick a free one)")
    parser.add_argument("--data-dir", type=_path_arg, default=None, help=_data_dir_help("data dir"))
    parser.add_argument("--queues", type=int, default=2, help="queues run in parallel (default 2)")
    parser.add_argument(
        "--no-demo-runs", action="store_true", help="do not submit demo runs on first start"
    )
    parser.add_argument(
        "--demo-runs",
        dest="no_demo_runs",
        action="store_false",
        help="submit demo runs on first start (the default)",
    )
    parser.add_argument("--no-demo", action="store_true", help="no demo deployment at all")
    parser.add_argument(
        "--log-tokens",
        choices=LOG_TOKEN_STYLES,
        default="seed",
        help="how recentlogs says no more logs lie that way: 'seed' answers [] as the API "
        "reference documents (the default), 'cloudwatch' sends back the token it was given",
    )


def add_deploy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dir", type=_path_arg, help="directory with the code to deploy")
    parser.add_argument("--name", default=None, help="name of the new deployment")
    parser.add_argument("--handler", default="main:handler", help="module:function (main:handler)")
    parser.add_argument(
        "--deployment",
        metavar="NAME",
        default=None,
        help="add a version to this deployment (a name or an id)",
    )
    parser.add_argument("--version", dest="version_name", default=None, help="version label")
    parser.add_argument(
        "--data-dir", type=_path_arg, default=None, help=_data_dir_help("engine data dir")
    )
    parser.add_argument("--json", action="store_true", help="print the ids as JSON")


# -- deploy ------------------------------------------------------------------------------------


def run_deploy(args: argparse.Namespace) -> int:
    from runwatch.engine.data_dir import DataDirError, writable_data_dir
    from runwatch.engine.deploy import DeployError, deploy
    from runwatch.engine.store_format import StoreFormatError

    if args.deployment is None and not args.name:
        print("runwatch deploy: --name is required for a new deployment", file=sys.stderr)
        return 2
    try:
        data_dir = writable_data_dir(args.data_dir or default_data_dir())
    except DataDirError as exc:
        print(f"runwatch deploy: {exc}", file=sys.stderr)
        return 2
    try:
        result = deploy(
            data_dir,
            args.dir,
            name=args.name or "",
            handler=args.handler,
            deployment_id=args.deployment,
            version=args.version_name,
        )
    except (DeployError, StoreFormatError) as exc:
        print(f"runwatch deploy: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"deployment_id": result.deployment_id, "version_id": result.version_id}))
    else:
        print(f"deployment_id: {result.deployment_id}")
        print(f"version_id:    {result.version_id} (version {result.version})")
    return 0


# -- serve -------------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def write_env_file(data_dir: Path, url: str, organization_id: str, token: str) -> Path:
    path = data_dir / ENV_FILE
    tmp = data_dir / (ENV_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            f"ABEJA_API_URL={url}\nABEJA_ORGANIZATION_ID={organization_id}\n"
            f"PLATFORM_AUTH_TOKEN={token}\n"
        )
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def _install_demo(data_dir: Path, conn: Any) -> None:
    """The demo deployment, once per data dir (unless it was deployed already)."""
    from runwatch.engine import db
    from runwatch.engine.deploy import deploy

    if db.get_meta(conn, "demo_deployed"):
        return
    deployment_id: str | None = None
    for name in DEMO_VERSIONS:
        result = deploy(
            data_dir,
            DEMO_DIR,
            name="demo",
            handler=f"{name}:handler",
            deployment_id=deployment_id,
            version=name,
        )
        deployment_id = result.deployment_id
    with db.Transaction(conn):
        db.set_meta(conn, "demo_deployed", deployment_id or "")


def _submit_demo_runs(conn: Any, meta: Any, clock: Any) -> None:
    from runwatch.engine import db, store

    if db.get_meta(conn, "demo_runs_submitted"):
        return
    deployment_id = db.get_meta(conn, "demo_deployed")
    with db.Transaction(conn):
        db.set_meta(conn, "demo_runs_submitted", "1")
        if not deployment_id:
            return
        versions = {row[2]: row[0] for row in store.list_versions(conn, deployment_id)}
        for name in DEMO_VERSIONS:
            if name not in versions:
                continue
            store.insert_run(
                conn,
                ids_mode=meta.ids_mode,
                deployment_id=deployment_id,
                version_id=versions[name],
                model_version=name,
                input_data={},
                output_template=None,
                models={},
                environment={},
                retry_count=2 if name == "broken" else 5,
                # The minute-long "train" gets queue 0 to itself; the short ones share queue 1,
                # so a new user sees runs finish (and fail) within seconds.
                distribution=0 if name == "train" else 1,
                now_us=clock.now_us(),
            )


def run_serve(args: argparse.Namespace) -> int:
    from runwatch.engine.data_dir import DataDirError, writable_data_dir

    if args.queues < 1 or args.queues > 64:
        print("runwatch serve: --queues must be between 1 and 64", file=sys.stderr)
        return 2
    # Everything the engine and its supervisors write (database, run specs with their
    # environments, spools, logs) is owner-only, whatever the mode of a data dir the user named.
    os.umask(0o077)
    try:
        data_dir = writable_data_dir(args.data_dir or default_data_dir())
    except DataDirError as exc:
        print(f"runwatch serve: {exc}", file=sys.stderr)
        return 2
    lock_fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"runwatch serve: another engine is running on {data_dir}", file=sys.stderr)
        return 1
    if not _is_loopback(args.host):
        print(
            f"WARNING: binding {args.host}: the Run API will be reachable from other machines"
            " (it is protected only by the token in engine.env, over plain HTTP).",
            file=sys.stderr,
        )
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"runwatch serve: cannot bind {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    sock.listen(512)
    sock.set_inheritable(False)
    port = sock.getsockname()[1]
    url = f"http://{_url_host(args.host)}:{port}"

    from runwatch.engine import db, store_format
    from runwatch.engine.common import Clock

    clock = Clock()
    try:
        conn, meta = store_format.init_store(data_dir)
    except store_format.StoreFormatError as exc:
        print(f"runwatch serve: {exc}", file=sys.stderr)
        return 1
    if not args.no_demo:
        _install_demo(data_dir, conn)
    if not args.no_demo and not args.no_demo_runs:
        _submit_demo_runs(conn, meta, clock)
    else:
        # Demo runs belong to the first start only: a later start without the flag adds none.
        with db.Transaction(conn):
            db.set_meta(conn, "demo_runs_submitted", "1")
    env_path = write_env_file(data_dir, url, meta.organization_id, meta.token)
    return _serve(sock, data_dir, conn, meta, clock, args.queues, url, env_path, args.log_tokens)


def _serve(
    sock: socket.socket,
    data_dir: Path,
    conn: Any,
    meta: Any,
    clock: Any,
    queues: int,
    url: str,
    env_path: Path,
    log_tokens: str = "seed",
) -> int:
    import uvicorn

    from runwatch.engine.server import create_app
    from runwatch.engine.service import Service

    service = Service(data_dir, conn, meta, clock, queues)
    service.start()
    app = create_app(service, log_tokens=log_tokens)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)

    def _terminate(_signum: int, _frame: object) -> None:
        # Only ask: an exception raised wherever the main thread happens to be (a signal
        # that came while uvicorn was still starting) could skip service.stop() below and
        # leave its threads holding the process up. uvicorn checks should_exit on each tick,
        # takes the signals over while it runs, and hands them back here when it is done.
        server.should_exit = True

    # Before the lines below: whoever reads them may signal at once.
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    print(f"runwatch engine listening on {url}", flush=True)
    print(f"  organization: {meta.organization_id}", flush=True)
    print(f"  credentials:  {env_path}", flush=True)
    print(f"  data dir:     {data_dir}", flush=True)
    try:
        server.run(sockets=[sock])
    finally:
        service.stop()
        sock.close()
    print("runwatch engine stopped (running attempts continue under their supervisors)", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runwatch.engine")
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_arguments(sub.add_parser("serve", help="run the local Run API"))
    add_deploy_arguments(sub.add_parser("deploy", help="deploy a code dir as a new version"))
    args = parser.parse_args(argv)
    return run_serve(args) if args.command == "serve" else run_deploy(args)
