"""A webhook receiver for the benchmark: `python -m bench.receiver --port N` (127.0.0.1 only).

An aiohttp server that answers every POST with 200 and a small JSON body as fast as it can,
keeping only the receive time (time.time(), the clock `processed_at` is taken from), the
`webhook-id` header, whether the sender marked it `bench-direct`, and the body, in memory.
Its own paths, never recorded:

    GET  /_bench/stats   {"count", "first", "last"}: receipts so far and their time span
    GET  /_bench/dump    every receipt as [time, webhook-id, direct, lead_id] (lead_id from body)
    POST /_bench/reset   forget every receipt

Stops on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import signal
import time

import orjson
from aiohttp import web

OK = b'{"ok": true}'


def build_app() -> web.Application:
    records: list[tuple[float, str, bool, bytes]] = []

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        records.append(
            (
                time.time(),
                request.headers.get("webhook-id", ""),
                "bench-direct" in request.headers,
                body,
            )
        )
        return web.Response(body=OK, content_type="application/json")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "count": len(records),
                "first": records[0][0] if records else None,
                "last": records[-1][0] if records else None,
            }
        )

    async def dump(request: web.Request) -> web.Response:
        rows = []
        for at, message_id, direct, body in records:
            try:
                lead_id = orjson.loads(body).get("lead_id")
            except (orjson.JSONDecodeError, AttributeError):
                lead_id = None
            rows.append([at, message_id, direct, lead_id])
        return web.Response(body=orjson.dumps(rows), content_type="application/json")

    async def reset(request: web.Request) -> web.Response:
        records.clear()
        return web.json_response({"count": 0})

    app = web.Application(client_max_size=10 * 1024 * 1024)
    app.router.add_get("/_bench/stats", stats)
    app.router.add_get("/_bench/dump", dump)
    app.router.add_post("/_bench/reset", reset)
    app.router.add_post("/{tail:.*}", receive)
    return app


async def serve(port: int) -> None:
    runner = web.AppRunner(build_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.receiver")
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
