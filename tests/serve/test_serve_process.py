"""``callspec serve`` as its own process on a real socket: signatures, load, crashes, stops."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest
import requests
from service_process import TOKEN, Served, answered, launch, plivo_request, pressed, serving
from support import invoke

from callspec.check.plivo_xml import check_document
from callspec.errors import ExitCode
from callspec.serve.client import ServiceClient
from callspec.serve.prompt import Prompt, new_id

pytestmark = pytest.mark.timeout(90)

PAGE = Prompt("Deploy of payments failed. Press 1 to take it.", digit="1", within_s=45)


def registered(served: Served, prompt: Prompt = PAGE) -> tuple[ServiceClient, str]:
    client = ServiceClient(served.url, TOKEN)
    id = new_id()
    client.register(id, prompt)
    return client, id


def test_a_signed_answer_request_gets_the_prompt_as_checked_xml(tmp_path: Path) -> None:
    with serving(tmp_path / "acks.db") as served:
        assert requests.get(f"{served.url}/healthz", timeout=30).json() == {"status": "ok"}
        client, id = registered(served)
        for method in ("POST", "GET"):
            answer = plivo_request(client.answer_url(id), answered("call-1"), method=method)
            assert answer.status_code == 200
            assert answer.headers["Content-Type"] == "text/xml; charset=utf-8"
            assert check_document(answer.content) == ()
            assert (
                b"<GetDigits" in answer.content and b"Deploy of payments failed" in answer.content
            )
        (call,) = client.status(id).calls
        assert call.call_uuid == "call-1" and call.answered_at is not None
        assert not call.acknowledged


def test_unsigned_and_wrongly_signed_requests_get_403_and_change_nothing(tmp_path: Path) -> None:
    with serving(tmp_path / "acks.db") as served:
        client, id = registered(served)
        answer_url, key_url = client.answer_url(id), f"{served.url}/plivo/digits/{id}"
        missing = requests.post(answer_url, data=answered("call-1"), timeout=30)
        not_even_a_form = requests.post(answer_url, json={"CallUUID": "call-1"}, timeout=30)
        wrong = plivo_request(key_url, pressed("call-1", "1"), token="not-the-account-token")
        # Signed for one key, sent with another: the parameters are part of the signature.
        signed = plivo_request(key_url, pressed("call-1", "2"))
        assert signed.status_code == 200
        headers = {k: v for k, v in signed.request.headers.items() if k.startswith("X-Plivo")}
        tampered = requests.post(key_url, data=pressed("call-1", "1"), headers=headers, timeout=30)
        for refused in (missing, not_even_a_form, wrong, tampered):
            assert refused.status_code == 403
            assert refused.json() == {"error": "forbidden"}
        (call,) = client.status(id).calls
        assert (call.acknowledged, call.wrong_keys, call.last_digits) == (False, 1, "2")
        refusals = [e["refused"] for e in served.entries() if e.get("status") == 403]
        assert refusals[:2] == ["unsigned: no X-Plivo-Signature-V3 and nonce"] * 2
        assert refusals[2].startswith("X-Plivo-Signature-V3 does not verify for ")
        assert len(refusals) == 4


def test_unknown_and_malformed_ids_are_404(tmp_path: Path) -> None:
    with serving(tmp_path / "acks.db") as served:
        unknown = plivo_request(f"{served.url}/plivo/answer/{new_id()}", answered("call-1"))
        malformed = plivo_request(f"{served.url}/plivo/answer/short", answered("call-1"))
        elsewhere = requests.get(f"{served.url}/admin", timeout=30)
        for answer in (unknown, malformed, elsewhere):
            assert answer.status_code == 404
            assert answer.json() == {"error": "not found"}


def test_an_oversized_body_is_refused_unread(tmp_path: Path) -> None:
    with serving(tmp_path / "acks.db") as served:
        client, id = registered(served)
        huge = {"CallUUID": "call-1", "Padding": "x" * 70_000}
        answer = plivo_request(client.answer_url(id), huge)
        assert answer.status_code == 413
        assert client.status(id).calls == ()


def test_200_concurrent_plivo_requests_are_answered(tmp_path: Path) -> None:
    with serving(tmp_path / "acks.db") as served:
        client = ServiceClient(served.url, TOKEN)
        ids = [new_id() for _ in range(20)]
        for id in ids:
            client.register(id, PAGE)
        jobs = [(id, f"call-{n:03d}") for n in range(10) for id in ids]  # 200 calls
        barrier = threading.Barrier(len(jobs))
        results: list[tuple[int, int]] = []
        lock = threading.Lock()

        def one(id: str, call_uuid: str) -> None:
            barrier.wait()
            with requests.Session() as session:
                first = plivo_request(client.answer_url(id), answered(call_uuid), session=session)
                url = f"{served.url}/plivo/digits/{id}"
                key = plivo_request(url, pressed(call_uuid, "1"), session=session)
            with lock:
                results.append((first.status_code, key.status_code))

        threads = [threading.Thread(target=one, args=job) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert results == [(200, 200)] * 200
        for id in ids:
            calls = client.status(id).calls
            assert len(calls) == 10 and all(call.acknowledged for call in calls)
        assert served.stop() == 0
        assert "error" not in {entry["event"] for entry in served.entries()}


def test_kill_9_then_restart_loses_no_acknowledgement(tmp_path: Path) -> None:
    store = tmp_path / "acks.db"
    served = launch(store)
    client = ServiceClient(served.url, TOKEN)
    ids = [new_id() for _ in range(30)]
    for n, id in enumerate(ids):
        client.register(id, PAGE)
        assert plivo_request(client.answer_url(id), answered(f"call-{n}")).status_code == 200
        key = plivo_request(f"{served.url}/plivo/digits/{id}", pressed(f"call-{n}", "1"))
        assert b"Acknowledged" in key.content
    assert served.stop(signal.SIGKILL) == -signal.SIGKILL
    with serving(store) as again:
        client = ServiceClient(again.url, TOKEN)
        for n, id in enumerate(ids):
            status = client.status(id)
            assert status.acknowledged
            assert status.first_acknowledgement is not None
            assert status.first_acknowledgement.call_uuid == f"call-{n}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_it_gracefully(tmp_path: Path, sig: int) -> None:
    served = launch(tmp_path / "acks.db")
    assert requests.get(f"{served.url}/healthz", timeout=30).status_code == 200
    assert served.stop(sig) == 0
    assert served.output == "callspec serve: stopped\n"
    # waitress's own warnings ("server": a task queued for a moment on a loaded machine)
    # may come between; the service's lifecycle is these three, in this order.
    events = [entry["event"] for entry in served.entries() if entry["event"] != "server"]
    assert events == ["listening", "request", "stopped"], served.entries()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{served.url}/healthz", timeout=30)


def test_the_log_is_json_lines_with_the_token_masked(tmp_path: Path) -> None:
    with serving(tmp_path / "acks.db") as served:
        client, id = registered(served)
        requests.get(f"{served.url}/{TOKEN}/x", timeout=30)  # a token typed into a path
        plivo_request(client.answer_url(id), answered("call-1"))
        served.stop()
        entries = served.entries()  # each line parses, or this fails
        assert all(TOKEN not in line for line in served.log())
        (stray,) = [e for e in entries if e.get("status") == 404]
        assert stray["path"] == "/***/x"
        (answer,) = [e for e in entries if e.get("outcome") == "answered"]
        assert answer["registration"] == id and answer["call_uuid"] == "call-1"
        assert "Deploy" not in "".join(served.log())  # the message is never logged


def test_without_the_auth_token_it_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="PLIVO_AUTH_TOKEN"):
        launch(tmp_path / "acks.db", env={"PLIVO_AUTH_TOKEN": ""})


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    store = tmp_path / "acks.db"
    store.write_text("not a database, " * 100)
    with pytest.raises(AssertionError, match=r"cannot use .*acks\.db as the store"):
        launch(store)


def test_a_host_that_is_no_address_is_a_usage_error_naming_host(tmp_path: Path) -> None:
    result = invoke(
        ["serve", "--host", "bad host", "--port", "0", "--store", tmp_path / "acks.db"],
        {"PLIVO_AUTH_TOKEN": TOKEN},
    )
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr == (
        "callspec: --host: 'bad host' is no address to listen on: an IP address "
        "(127.0.0.1, 0.0.0.0, ::) or a host name that resolves\n"
    )
