"""Build the wheel, install it into a fresh venv, then lint and serve the built-in fixtures from another directory."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(work: Path) -> None:
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wheel = next(dist.glob("dify_mockserver-*.whl"))
    venv = work / "wheel-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True)
    elsewhere = work / "elsewhere"
    elsewhere.mkdir()
    lint = subprocess.run(
        [str(venv / "bin" / "dify-mockserver"), "lint"], cwd=elsewhere, capture_output=True, text=True, timeout=120
    )
    assert lint.returncode == 0, f"lint of the wheel's built-in fixtures failed:\n{lint.stdout}{lint.stderr}"
    shipped = sum(1 for _ in (ROOT / "fixtures").rglob("*.yaml"))
    assert lint.stdout.startswith(f"{shipped} fixture files, "), f"the wheel lacks fixture files: {lint.stdout}"
    print(f"wheel {wheel.name} lints its built-in fixtures: {lint.stdout.strip()}")
    proc = subprocess.Popen(
        [str(venv / "bin" / "dify-mockserver"), "serve", "--port", "0"],
        cwd=elsewhere,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("dify-mockserver listening on http://"), line
        base = line.rsplit(" ", 1)[1]
        request = urllib.request.Request(
            f"{base}/v1/chat-messages",
            method="POST",
            data=json.dumps({"inputs": {}, "query": "wheel check", "user": "ci"}).encode(),
            headers={"Authorization": "Bearer app-chat", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            body = json.load(resp)
        assert body["answer"] == "You asked: wheel check", body
        # The wheel's metadata and the served version come from the one mockserver/_version.py.
        built = wheel.name.split("-")[1]
        with urllib.request.urlopen(f"{base}/_mock/health", timeout=10) as resp:
            served = json.load(resp)["version"]
        assert served == built, f"the wheel {wheel.name} serves version {served}"
        print(f"wheel {wheel.name} serves the built-in fixtures from {elsewhere}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
