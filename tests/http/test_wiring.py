"""create_app from the public loaders works without hidden import side effects (code-review §1.3)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import asyncio
from aiohttp.test_utils import TestClient, TestServer
from mockserver.actions import registry
from mockserver.app import create_app
from mockserver.catalogue import load_catalogue
from mockserver.paths import fixtures_dir, schemas_dir
from mockserver.scenarios.loader import load_book
from mockserver.settings import Settings

async def main():
    catalogue = load_catalogue(schemas_dir())
    book = load_book(catalogue, [fixtures_dir()], registry())
    async with TestClient(TestServer(create_app(Settings(), catalogue=catalogue, book=book))) as client:
        resp = await client.get("/v1/")
        print(resp.status, (await resp.json())["welcome"])

asyncio.run(main())
"""


def test_create_app_from_the_public_loaders_in_a_fresh_interpreter():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "200 Dify OpenAPI"
