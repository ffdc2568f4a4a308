"""The `sanchika` command (docs/contract.md, docs/cli.md): init, demo, serve, deploy, verify,
backup, backup-keygen, restore, admin, doctor; the audit commands (checkpoint, keys,
replay, export) are in cli.audit, the operations commands (admin create, doctor, the
organisation import) in cli.ops, `prune` in cli.retention."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine import __version__
from engine.app import Sanchika
from engine.config import Settings
from engine.errors import InvalidBpmn, SanchikaError
from web.cli import audit as cli_audit
from web.cli import ops as cli_ops
from web.cli import retention as cli_retention
from web.cli import review as cli_review
from web.cli import versions as cli_versions


def _service() -> Sanchika:
    import handlers

    return Sanchika(Settings.from_env(), handlers.registry)


def cmd_init(args: argparse.Namespace) -> int:
    from engine.ops.permissions import tighten

    app = _service()
    for process_id, version, created in app.init():
        state = "deployed" if created else "up to date"
        print(f"{process_id}: version {version} ({state})")
    tighten(app.settings.data_dir)
    print(f"database ready: {app.db.engine.url.render_as_string(hide_password=True)}")
    if args.organisation:
        return cli_ops.import_organisation_file(app, Path(args.organisation))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from engine.ops.demo import create_demo

    app = _service()
    app.init()
    result = create_demo(app, args.password)
    print("demo organisation ready: GAD/EST with clerk, so, us, ds, secretary, collector, "
          f"designer, auditor, admin ({result['samples']} sample files created)")
    if not args.no_state:
        from engine.ops.demo_state import create_state

        made = create_state(app, args.password)
        print("demo state ready: Labour, Revenue and Finance departments, a directorate, "
              "the Bhopal division with two districts and tehsils, the Chief Secretary's "
              f"monitoring cell ({made['files']} files and {made['receipts']} receipts "
              "created); users: docs/monitoring.md")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from engine.notify.delivery import Deliverer
    from engine.ops import scheduler
    from engine.ops.permissions import tighten
    from web.app import create_app
    from web.serving import make_server
    from web.workers import refuse_reason

    service = _service()
    cli_ops.configure_logging(service.settings.log_level, service.settings.log_format)
    refused = refuse_reason(service.settings.database_url, args.workers)
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    if args.init or args.demo:  # one process for a quick start (scripts/run)
        service.init()
    if args.demo:
        from engine.ops.demo import create_demo

        create_demo(service, args.demo)
        print("demo organisation ready (every demo user has the --demo password)")
    tighten(service.settings.data_dir)
    if args.workers > 1:
        return _serve_workers(service, args)
    jobs = scheduler.start(service)
    deliverer, stop_delivery = Deliverer(service.db, service.settings).start_thread(interval=5.0)
    app = create_app(service.settings, service)
    server = make_server(app, args.host, args.port, args.threads,
                         forwarded=service.settings.trusted_proxies > 0)
    print(f"Sanchika {__version__} serving on http://{args.host}:{args.port}", flush=True)
    try:
        server.run()
    finally:
        jobs.shutdown(wait=False)
        stop_delivery.set()
        deliverer.join(timeout=30)
    return 0


def _serve_workers(service: Sanchika, args: argparse.Namespace) -> int:
    """Several processes (web/workers.py): the workers build their own service after the
    fork, so this one lets go of its database connections first."""
    from web.workers import WorkerServer

    forwarded = service.settings.trusted_proxies > 0
    service.db.dispose()
    print(f"Sanchika {__version__} serving on http://{args.host}:{args.port} "
          f"({args.workers} processes × {args.threads} threads)", flush=True)
    WorkerServer(args.host, args.port, args.workers, args.threads, forwarded).run()
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.is_file():
        print(f"error: {path} is not a file", file=sys.stderr)
        return 1
    try:
        definition, created = _service().deploy(path.read_bytes(), None)
    except InvalidBpmn as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for d in exc.details:
            where = f"line {d['line']}" if d.get("line") else "line ?"
            element = f" element {d['element_id']}" if d.get("element_id") else ""
            print(f"  {path}:{where}{element}: {d['message']}", file=sys.stderr)
        return 1
    word = "deployed as" if created else "already deployed as"
    print(f"{definition.process_id}: {word} version {definition.version}")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import DBAPIError

    if args.export:
        from web.cli.audit import verify_export

        return verify_export(args.export)
    app = _service()
    try:
        report = app.verify_report(full=not args.incremental, workers=args.workers)
    except DBAPIError as exc:
        print(f"error: cannot read the database (run `sanchika init`?): {exc.orig}",
              file=sys.stderr)
        return 2
    finally:
        app.db.dispose()
    if report.problems:
        for problem in report.problems:
            print(problem)
        print(f"verify: {len(report.problems)} problem(s) in {report.summary()}",
              file=sys.stderr)
        return 1
    print(f"verified: {report.summary()}: intact")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from web.cli.backup import run_backup

    return run_backup(Settings.from_env(), Path(args.dest), args.keep, args.unencrypted)


def cmd_restore(args: argparse.Namespace) -> int:
    from web.cli.backup import run_restore

    return run_restore(Settings.from_env(), Path(args.src), args.force, args.check,
                       Path(args.identity) if args.identity else None)


def cmd_backup_keygen(args: argparse.Namespace) -> int:
    from web.cli.backup import run_keygen

    return run_keygen(args.out)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    from engine.ops.permissions import restrict_umask

    restrict_umask()  # the data folder and everything written into it: owner-only
    parser = argparse.ArgumentParser(prog="sanchika", description="Sanchika e-Office")
    parser.add_argument("--version", action="version", version=f"sanchika {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create/upgrade the schema and deploy processes/*.bpmn")
    init.add_argument("--organisation", metavar="FILE",
                      help="then import departments, sections, posts and users from a CSV "
                           "file (docs/organisation-import.md); all rows or none")
    demo = sub.add_parser("demo", help="create the DEMO organisation, every user with one "
                          "shared password (for trying Sanchika, never in production)")
    demo.add_argument("--password", required=True, help="password for every demo user")
    demo.add_argument("--no-state", action="store_true",
                      help="only the small GAD demo, without the offices and a few hundred "
                           "files and receipts")
    serve = sub.add_parser("serve", help="web UI + API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--threads", type=int, default=8,
                       help="request threads (per process)")
    serve.add_argument("--workers", type=int, default=1,
                       help="server processes (more than 1: PostgreSQL only, under gunicorn; "
                            "docs/administration.md, Scaling)")
    serve.add_argument("--init", action="store_true",
                       help="first create/upgrade the schema (as `sanchika init`)")
    serve.add_argument("--demo", metavar="PASSWORD",
                       help="first create the DEMO organisation with this password (as "
                            "`sanchika demo`; never in production)")
    deploy = sub.add_parser("deploy", help="validate and deploy a BPMN file")
    deploy.add_argument("path")
    verify = sub.add_parser("verify", help="check every history chain, checkpoint, signature "
                            "and locked file and re-execute every instance (--incremental: "
                            "only what changed since the last intact verification)")
    mode = verify.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true",
                      help="re-check everything (the default)")
    mode.add_argument("--incremental", action="store_true",
                      help="re-check only what changed since the last intact verification; "
                           "unchanged chains are confirmed by their checkpointed heads (run "
                           "a full check on a schedule too: docs/audit.md)")
    verify.add_argument("--workers", type=_positive, default=1, metavar="N",
                        help="re-execute instances in N processes (default 1)")
    verify.add_argument("--export", metavar="PATH",
                        help="check an exported file (zip) instead, without a database")
    backup = sub.add_parser("backup", help="snapshot the database, uploads and keys into DEST")
    backup.add_argument("dest", help="backup folder (snapshots and a shared upload store)")
    backup.add_argument("--keep", type=int, help="then keep only the newest N snapshots")
    backup.add_argument("--unencrypted", action="store_true",
                        help="allow a backup without SANCHIKA_BACKUP_RECIPIENTS where it is "
                             "refused (SANCHIKA_HTTPS on): whoever gets it reads everything")
    keygen = sub.add_parser("backup-keygen", help="make an age key pair for encrypted "
                            "backups: the identity goes to FILE (keep it away from the "
                            "server), the public key to SANCHIKA_BACKUP_RECIPIENTS")
    keygen.add_argument("--out", required=True, metavar="FILE",
                        help="where to write the identity (private; never overwritten); "
                             "'-' prints it instead")
    restore = sub.add_parser("restore", help="verify a snapshot, then restore it")
    restore.add_argument("src", help="a snapshot folder, or a backup folder (its newest)")
    restore.add_argument("--force", action="store_true",
                         help="replace a database and data folder that already hold data")
    restore.add_argument("--check", action="store_true",
                         help="only verify the snapshot against its manifest (the stored, "
                              "encrypted files: no identity needed)")
    restore.add_argument("--identity", metavar="FILE",
                         help="the age identity file that opens an encrypted backup "
                              "(from `sanchika backup-keygen`)")
    audit_commands = cli_audit.register(sub)
    ops_commands = cli_ops.register(sub)
    review_commands = cli_review.register(sub)
    versions_commands = cli_versions.register(sub)
    retention_commands = cli_retention.register(sub)
    args = parser.parse_args(argv)
    commands = {"init": cmd_init, "demo": cmd_demo, "serve": cmd_serve, "deploy": cmd_deploy,
                "verify": cmd_verify, "backup": cmd_backup, "restore": cmd_restore,
                "backup-keygen": cmd_backup_keygen,
                **audit_commands, **ops_commands, **review_commands, **versions_commands,
                **retention_commands}
    try:
        return commands[args.command](args)
    except (SanchikaError, ValueError) as exc:
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
