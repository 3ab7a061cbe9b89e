"""Every forged, broken or replayed token gets the same 401 over real HTTP, discloses
nothing, and leaves an access-log entry with the precise reason (issue: identity)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from hub.audit.models import LogEntry
from hub.settings import Settings
from tests.conftest import RunningHub
from tests.identity.corpus import CorpusWorld, bad_token_corpus, good_token_cases, make_world

MARKER_PATH = "/api/v1/me"


def _network_file(world: CorpusWorld, directory: Path) -> Path:
    """A network registry whose partners are the corpus world's, with its public keys."""
    lines = ['[network]\nname = "Corpus"\n']
    kinds = {p.kind: p for p in world.partners}
    for kind, partner in kinds.items():
        roles = ", ".join(f'"{r}"' for r in sorted(partner.roles))
        lines.append(f'[kinds.{kind}]\nlabel = "{kind}"\nkey_partner = true\nroles = [{roles}]\n')
    for partner in world.partners:
        jwks = directory / f"{partner.id}.jwks.json"
        jwks.write_text(json.dumps({"keys": [partner.key.public_jwk]}))
        lines.append(
            f'[[partners]]\nid = "{partner.id}"\nname = "{partner.id}"\nkind = "{partner.kind}"\n'
            f'keys = "file:{jwks}"\nalg = "{partner.key.alg}"\n'
        )
    members = ", ".join(f'"{k}"' for k in kinds)
    lines.append(f'[tables.multi_problem]\nname = "O3"\nmembers = [{members}]\n')
    path = directory / "network.toml"
    path.write_text("\n".join(lines))
    return path


@pytest.fixture
def world() -> CorpusWorld:
    return make_world()


@pytest.fixture
def corpus_hub(world: CorpusWorld, db_url: str, tmp_path: Path) -> Iterator[RunningHub]:
    from hub.setup import initialise

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        network_file=_network_file(world, tmp_path),
        audience=world.audience,
        # the corpus holds a 100 KB token: it must reach authentication, not the header cap
        max_header_bytes=256 * 1024,
        # every refusal of the corpus is checked by its own entry, not counted in one
        refusals_logged_per_source_per_minute=1000,
    )
    initialise(settings)
    with RunningHub(settings) as hub:
        # the tokens are minted in the tests, from the world's clock: set it to the hub's now,
        # not to when the world was made (before its RSA key and the hub's start), so the
        # cases of 30 to 60 s around the skew leeway still mean what they say
        world.now = int(time.time())
        yield hub


def _failures(settings: Settings) -> list[LogEntry]:
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(LogEntry).where(LogEntry.action == "auth.failure").order_by(LogEntry.seq)
            ).all()
            return list(rows)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_the_corpus_is_large_enough(world: CorpusWorld) -> None:
    assert len(bad_token_corpus(world)) >= 20


def test_every_bad_token_gets_the_same_401_and_is_logged_with_its_reason(
    world: CorpusWorld, corpus_hub: RunningHub
) -> None:
    cases = bad_token_corpus(world)
    bodies: set[str] = set()
    with corpus_hub.client() as http:
        for case in cases:
            for earlier in case.replay_first:
                first = http.get(
                    MARKER_PATH,
                    headers={"Authorization": f"Bearer {earlier}", "Purpose": "preparation"},
                )
                assert first.status_code == 200, case.name
            # an empty token cannot even be sent as "Bearer ": the hub sees no bearer token
            authorization = f"Bearer {case.token}".strip().encode("utf-8")
            response = http.get(
                MARKER_PATH, headers={"Authorization": authorization, "Purpose": "preparation"}
            )
            assert response.status_code == 401, case.name
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "partner" not in response.json()
            bodies.add(response.text)
    assert len(bodies) == 1, "401 answers differ: an oracle about which check failed"
    logged = _failures(corpus_hub.settings)
    expected = [f"token:{c.reason}" if c.token.strip() else "token:missing_bearer" for c in cases]
    assert [row.reason for row in logged] == expected
    assert all(row.actor_partner is None and row.outcome == "denied" for row in logged)


def test_good_tokens_are_accepted_once(world: CorpusWorld, corpus_hub: RunningHub) -> None:
    with corpus_hub.client() as http:
        for case in good_token_cases(world):
            headers = {"Authorization": f"Bearer {case.token}", "Purpose": "preparation"}
            response = http.get(MARKER_PATH, headers=headers)
            assert response.status_code == 200, case.name
            assert response.json()["partner"] == case.partner_id
            again = http.get(MARKER_PATH, headers=headers)
            assert again.status_code == 401, f"{case.name} replayed"


def test_missing_token_and_missing_purpose(world: CorpusWorld, corpus_hub: RunningHub) -> None:
    with corpus_hub.client() as http:
        assert http.get(MARKER_PATH, headers={"Purpose": "preparation"}).status_code == 401
        token = world.token(world.police)
        missing = http.get(MARKER_PATH, headers={"Authorization": f"Bearer {token}"})
        assert missing.status_code == 400
        assert missing.json()["type"].endswith("/invalid-purpose")
        token = world.token(world.police)
        unknown = http.get(
            MARKER_PATH, headers={"Authorization": f"Bearer {token}", "Purpose": "curiosity"}
        )
        assert unknown.status_code == 400
    engine = create_engine(corpus_hub.settings.effective_database_url)
    with engine.connect() as conn:
        reasons = conn.scalars(
            select(LogEntry.reason).where(LogEntry.action.in_(["auth.failure", "request.rejected"]))
        ).all()
    engine.dispose()
    assert reasons == ["token:missing_bearer", "purpose:missing", "purpose:unknown"]


def test_replay_is_refused_by_another_hub_process_on_the_same_database(
    world: CorpusWorld, corpus_hub: RunningHub
) -> None:
    token = world.token(world.police)
    headers = {"Authorization": f"Bearer {token}", "Purpose": "preparation"}
    with corpus_hub.client() as http:
        assert http.get(MARKER_PATH, headers=headers).status_code == 200
    with RunningHub(corpus_hub.settings) as second, second.client() as http2:
        assert http2.get(MARKER_PATH, headers=headers).status_code == 401
