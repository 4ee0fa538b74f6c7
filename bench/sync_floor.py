"""The floor for bench/sync.py: a bare `websockets` server that relays, and nothing else.

    python bench/sync_floor.py --port 8765 --lifetime 600

Every connection gets `{"type":"session.ready"}` once it is in the broadcast set (so the
load client knows it will hear the next message). A connection that sends becomes the
presenter: it leaves the set of followers, and each message it sends goes unchanged to all
followers with `websockets.broadcast`. No parsing, no storage, no channel layer: what is
left is the cost of the WebSocket frames themselves, which no server can go below.

It listens on 127.0.0.1 only and stops by itself: after --lifetime seconds, or as soon as
the process that started it is gone.
"""

from __future__ import annotations

import argparse
import asyncio
import os

from websockets import broadcast
from websockets.asyncio.server import ServerConnection, serve

READY = '{"type":"session.ready"}'


async def run(port: int, lifetime: float) -> None:
    followers: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        followers.add(ws)
        try:
            await ws.send(READY)
            async for message in ws:
                followers.discard(ws)  # it speaks, so it presents
                broadcast(followers, message)
        finally:
            followers.discard(ws)

    parent = os.getppid()
    # compression=None: the bare frames, as Daphne sends them (it negotiates no deflate).
    async with serve(handler, "127.0.0.1", port, compression=None):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + lifetime
        while loop.time() < deadline and os.getppid() == parent:
            await asyncio.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lifetime", type=float, default=600.0, help="seconds before it stops")
    args = parser.parse_args()
    asyncio.run(run(args.port, args.lifetime))


if __name__ == "__main__":
    main()
