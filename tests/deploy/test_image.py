"""The image's configuration serves, with a container and without one (ADR 0018).

Without a container (always, both databases): `vhhub serve` runs with the environment the
Dockerfile's runtime stage sets (its paths mapped onto the repository), and the image's own
HEALTHCHECK command answers 0 while the hub is ready and non-zero once it is gone.

With a container (PostgreSQL runs; needs an image built by `deploy/ci/build-image.sh`, named
in VHHUB_TEST_IMAGE, and podman): the image runs read-only as uid 10001, serves a case, a
fact and a briefing over real HTTP, its HEALTHCHECK passes, `vhhub audit verify` inside it
passes, and it holds no key file of its own. Locally without an image the test skips; in CI
(`CI=true`) it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.settings import PROJECT_ROOT, Settings
from tests.cases.test_workflow import actor, new_case, publish
from tests.conftest import backend_url, free_port
from tests.deploy.test_deploy_files import HUB_UID, _dockerfile, _stages
from tests.support import ok

pytestmark = [pytest.mark.e2e]

IMAGE_ENV = "VHHUB_TEST_IMAGE"
#: where the image keeps what the repository has
IMAGE_PATHS = {
    "/srv/vhhub/policies": PROJECT_ROOT / "policies",
    "/srv/vhhub/schemas": PROJECT_ROOT / "schemas",
}


def _image_env() -> dict[str, str]:
    """The ENV of the Dockerfile's runtime stage (KEY=VALUE pairs, `$PATH` kept as is)."""
    env: dict[str, str] = {}
    for instruction, args in _stages(_dockerfile())[-1]:
        if instruction == "ENV":
            for pair in args.split():
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def _healthcheck() -> list[str]:
    (check,) = [a for i, a in _stages(_dockerfile())[-1] if i == "HEALTHCHECK"]
    command: list[str] = json.loads(check[check.index("CMD") + 3 :].strip())
    return command


def _wait_ready(base_url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the hub stopped: exit {process.returncode}")
        try:
            if httpx.get(f"{base_url}/api/v1/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the hub did not become ready")


def test_the_image_configuration_serves_and_its_healthcheck_follows_readiness(
    initialised: Settings, tmp_path: Path
) -> None:
    image_env = _image_env()
    assert image_env["VHHUB_HOST"] == "0.0.0.0"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VHHUB_")}
    for key, value in image_env.items():
        if key.startswith("VHHUB_"):
            env[key] = str(IMAGE_PATHS.get(value, value))
    port = free_port()
    env |= {
        "VHHUB_DATA_DIR": str(initialised.data_dir),
        "VHHUB_DATABASE_URL": initialised.effective_database_url,
        # the network file is the operator's: the demo one here, as `vhhub init` loaded it
        "VHHUB_NETWORK_FILE": str(initialised.network_file),
        # loopback in a test; the image's 0.0.0.0 is asserted above
        "VHHUB_HOST": "127.0.0.1",
        "VHHUB_PORT": str(port),
        "VHHUB_LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": image_env["PYTHONDONTWRITEBYTECODE"],
    }
    check = _healthcheck()
    assert check[0] == "python3"
    check[0] = sys.executable
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_ready(f"http://127.0.0.1:{port}", process)
        healthy = subprocess.run(check, env=env, capture_output=True, timeout=30, check=False)
        assert healthy.returncode == 0, healthy.stderr
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
    gone = subprocess.run(check, env=env, capture_output=True, timeout=30, check=False)
    assert gone.returncode != 0, "the health check must fail when the hub does not answer"


# ------------------------------------------------------------------------ the built image


def _podman() -> list[str]:
    """The podman command, inside a mount namespace without the cgroup v2 hierarchy when the
    host mounts one beside v1 (deploy/ci/build-image.sh says why)."""
    podman = shutil.which("podman")
    if podman is None:
        _missing("podman")
        raise AssertionError("unreachable")
    unified = Path("/sys/fs/cgroup/unified")
    if unified.is_dir() and os.path.ismount(unified) and os.geteuid() == 0:
        umount = 'umount /sys/fs/cgroup/unified && exec "$@"'
        return ["unshare", "-m", "sh", "-c", umount, "sh", podman]
    return [podman]


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what}: CI builds the image with deploy/ci/build-image.sh")
    pytest.skip(f"{what} (build it with deploy/ci/build-image.sh, name it in {IMAGE_ENV})")


def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_podman(), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _limits() -> list[str]:
    """The current rlimits: raising them needs CAP_SYS_RESOURCE, which CI may not have."""
    import resource

    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return ["--ulimit", f"nofile={nofile}:{nofile}", "--ulimit", "nproc=4096:4096"]


@pytest.fixture
def image() -> str:
    if backend_url() is None:
        pytest.skip("the container joins the PostgreSQL run (several processes, one database)")
    name = os.environ.get(IMAGE_ENV)
    if not name:
        _missing(f"no image built ({IMAGE_ENV} unset)")
    assert name is not None
    if _run("image", "exists", name).returncode != 0:
        _missing(f"image {name} not found")
    return name


@pytest.fixture
def container(image: str, initialised: Settings, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The image serving this test's database on a free loopback port, read-only, as 10001,
    with the keys `vhhub init` made mounted read-only (the operator's mounted-files layout)."""
    keys = tmp_path / "keys"
    shutil.copytree(initialised.keys_dir, keys)
    for path in [keys, *keys.rglob("*")]:
        os.chown(path, HUB_UID, HUB_UID)
    name = f"vhhub-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    started = _run(
        "run", "--detach", "--name", name, "--read-only", "--network", "host",
        "--user", f"{HUB_UID}:{HUB_UID}", "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges", "--tmpfs", "/tmp", *_limits(),
        "--env", f"VHHUB_DATABASE_URL={initialised.effective_database_url}",
        "--env", f"VHHUB_PORT={port}",
        "--env", "VHHUB_NETWORK_FILE=/srv/vhhub/network/demo.toml",
        "--volume", f"{keys}:/var/lib/vhhub/keys:ro",
        image, "serve",
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    try:
        _wait_ready(f"http://127.0.0.1:{port}")
        yield name, f"http://127.0.0.1:{port}"
    finally:
        logs = _run("logs", name)
        _run("rm", "--force", name)
        print(logs.stdout[-4000:], logs.stderr[-4000:])


def test_the_built_image_serves_read_only_as_an_unprivileged_user_and_holds_no_key(
    container: tuple[str, str], initialised: Settings, image: str
) -> None:
    name, base_url = container
    with httpx.Client(base_url=base_url, timeout=30) as http:
        cid = new_case(http, initialised)["id"]
        publish(http, initialised, cid, "politie", "police.nuisance_report/1", "image-1")
        housing = actor(http, initialised, "woningcorporatie", "preparation")
        briefing = ok(housing.get(f"/api/v1/cases/{cid}/briefing"))
        assert [f for d in briefing["domains"] for f in d["facts"]]

    assert _run("healthcheck", "run", name).returncode == 0
    verified = _run("exec", name, "vhhub", "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert _run("exec", name, "id", "-u").stdout.strip() == str(HUB_UID)
    written = _run("exec", name, "touch", "/opt/vhhub/x")
    assert written.returncode != 0 and "Read-only file system" in written.stderr

    # the image itself: no key file, no data dir content, no dev partner key
    found = _run(
        "run", "--rm", "--network", "none", *_limits(), "--entrypoint", "find", image,
        "/", "-xdev", "(", "-name", "*.key", "-o", "-name", "*.private.*", "-o",
        "-name", "kek-current", "-o", "-name", "*.jwks.json", ")", "-print",
    )  # fmt: skip
    assert found.returncode in (0, 1), found.stderr
    assert found.stdout.strip() == "", found.stdout
    listed = _run("run", "--rm", "--network", "none", *_limits(), "--entrypoint", "ls", image,
                  "-A", "/var/lib/vhhub/keys")  # fmt: skip
    assert listed.returncode == 0 and listed.stdout.strip() == ""
