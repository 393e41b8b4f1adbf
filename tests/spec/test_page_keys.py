"""A page's own keys: ``message``, ``voice``, ``ack``, ``repeat``, ``cooldown`` and ``until:
acknowledged``, validated where they were written; shown by explain, render and --dry-run;
a message's secret masked in every output; a live run without an answer service refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import TOKEN, cred_env, invoke, read_report, write_profiles

from callspec.errors import ExitCode

CALL = """\
version: 1
calls:
  - name: page
    from: "+14155550100"
    to: "+14155550101"
{extra}"""


def _spec(folder: Path, extra: str) -> Path:
    spec = folder / "page.yaml"
    spec.write_text(CALL.format(extra=extra))
    return spec


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (
            '    answer_url: https://hooks.example.com/a.xml\n    message: "hi"\n',
            "page.yaml:6:17: calls[0].answer_url: a call with message gets its answer_url from "
            "callspec's answer service (it speaks the message): give one or the other",
        ),
        (
            '    message: "hi"\n    voice: {voice: ROBOT}\n',
            "page.yaml:7:20: calls[0].voice.voice: must be WOMAN, MAN or an Amazon Polly voice "
            "(Polly.Joanna, Polly.Joanna-Neural)",
        ),
        (
            '    message: "hi"\n    voice: {language: english}\n',
            "page.yaml:7:23: calls[0].voice.language: must be a language code such as en-US",
        ),
        (
            "    answer_url: https://hooks.example.com/a.xml\n    ack: {digit: 1}\n",
            "page.yaml:7:10: calls[0].ack: ack goes with message: callspec's answer service "
            "speaks the message and collects the key (a call with its own answer_url says what "
            "it says)",
        ),
        (
            '    message: "hi"\n    ack: {digit: "#"}\n',
            "page.yaml:7:18: calls[0].ack.digit: '#' is not a key that can acknowledge: use one "
            "of 0-9 or *",
        ),
        (
            '    message: "hi"\n    repeat: {times: 6, after: 10}\n',
            "page.yaml:7:21: calls[0].repeat.times: 6 is greater than the maximum of 5",
        ),
        (
            '    message: "hi"\n    repeat: {times: 2, after: 10}\n',
            "page.yaml:7:13: calls[0].repeat: repeat goes with escalate: the chain runs again",
        ),
        (
            '    message: "{{ text }}"\n    vars: {text: "a\\u0007b"}\n',
            "page.yaml:6:14: calls[0].message: holds control characters that XML cannot carry",
        ),
    ],
)
def test_a_page_s_keys_are_checked_where_written(tmp_path: Path, extra: str, error: str) -> None:
    result = invoke(["validate", _spec(tmp_path, extra)])
    assert result.exit_code == ExitCode.INVALID
    assert f"{tmp_path}/{error}" in result.stderr.splitlines()


def test_until_acknowledged_needs_an_ack(tmp_path: Path) -> None:
    extra = (
        '    to: ["+14155550101", "+14155550102"]\n    message: "hi"\n'
        "    escalate: {until: acknowledged, answer_within: 30}\n"
    )
    spec = tmp_path / "page.yaml"
    spec.write_text(CALL.replace('    to: "+14155550101"\n', "").format(extra=extra))
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert (
        f"{spec}:7:23: calls[0].escalate.until: until: acknowledged needs ack (and message) "
        "on the call: the key that acknowledges, and callspec's answer service to collect it"
    ) in result.stderr


def test_a_ten_megabyte_message_is_refused_without_printing_it(tmp_path: Path) -> None:
    spec = _spec(tmp_path, """    message: "{{ 'x' * 10000000 }}"\n""")
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert result.stderr.splitlines() == [
        f"{spec}:6:14: calls[0].message: template over budget: a value of 10,000,000 "
        "characters or items (the limit is 1,048,576)",
        "callspec: 1 problem; nothing was sent",
    ]
    # Under the template's budget, over what the answer service speaks: said, not printed.
    spec.write_text(CALL.format(extra=f'    message: "{"y" * 5000}"\n'))
    longer = invoke(["validate", spec])
    assert longer.exit_code == ExitCode.INVALID
    assert f"{spec}:6:14: calls[0].message: 5,000 characters; at most 3,000" in longer.stderr
    assert "yyyy" not in longer.stderr


def test_a_message_s_secret_is_masked_in_every_output(tmp_path: Path) -> None:
    write_profiles(tmp_path, secrets=["pin"], vars={"pin": "80808"})
    spec = _spec(tmp_path, '    message: "Bridge PIN {{ pin }}. Press 1."\n    ack: {within: 5}\n')
    outputs = [tmp_path / name for name in ("r.json", "r.html", "r.xml")]
    result = invoke(
        ["run", spec, "--sandbox", "--simulate", "--answer-by", "+14155550101=ack",
         "--report", outputs[0], "--html", outputs[1], "--junit", outputs[2],
         "--poll-interval", "0.05", "--no-progress"],
        cred_env(),
    )  # fmt: skip
    assert result.exit_code == ExitCode.OK, result.output
    journal = tmp_path / "r.journal.jsonl"
    for text in [result.output, *(p.read_text() for p in [*outputs, journal])]:
        assert "80808" not in text
    [call] = read_report(outputs[0])["calls"]
    assert call["prompt"]["message"] == "Bridge PIN ***. Press 1."
    assert call["acknowledged"] is True


def test_explain_render_and_a_dry_run_show_the_message_and_its_service(tmp_path: Path) -> None:
    write_profiles(tmp_path, service="https://acks.example.com")
    spec = _spec(tmp_path, '    message: "db-1 is down"\n    ack: {digit: "2", within: 30}\n')
    explained = invoke(["explain", spec])
    assert explained.exit_code == ExitCode.OK
    lines = [" ".join(line.split()) for line in explained.stdout.splitlines()]
    assert (
        "answer_url https://acks.example.com/plivo/answer/<registration> made for message: when "
        "sent, by the answer service at https://acks.example.com"
    ) in lines
    assert f"message db-1 is down call at {spec}:6" in lines
    assert "voice WOMAN callspec's default" in lines
    assert f"ack.digit 2 call at {spec}:7" in lines
    rendered = json.loads(invoke(["render", spec, "--format", "json"]).stdout)
    [request] = rendered
    assert request["body"]["answer_url"] == ("https://acks.example.com/plivo/answer/<registration>")
    assert request["message"] == {
        "text": "db-1 is down",
        "voice": "WOMAN",
        "language": "en-US",
        "ack": {"digit": "2", "within": 30},
        "service": "https://acks.example.com",
    }
    report = tmp_path / "r.json"
    dry = invoke(["run", spec, "--dry-run", "--report", report])
    assert dry.exit_code == ExitCode.OK
    [call] = read_report(report)["calls"]
    assert call["prompt"]["message"] == "db-1 is down"
    assert call["prompt"]["ack"] == {"digit": "2", "within": 30}


def test_a_live_run_without_an_answer_service_is_refused(tmp_path: Path) -> None:
    spec = _spec(tmp_path, '    message: "db-1 is down"\n')
    result = invoke(["run", spec, "--api-url", "http://127.0.0.1:9"], cred_env())
    assert result.exit_code == ExitCode.REFUSED
    assert (
        f"{spec}:3: calls[0].message: 'page' says a message, but no answer service is given "
        "to speak it: run --service URL (where callspec serve runs, as Plivo reaches it) or "
        "service: in the profile; nothing was sent"
    ) in result.stderr
    assert TOKEN not in result.output


def test_a_service_url_with_control_characters_is_refused_where_written(tmp_path: Path) -> None:
    (tmp_path / "profiles.yaml").write_text(
        'version: 1\nprofiles:\n  default:\n    service: "https://acks.example.com/\\e[31m"\n'
    )
    spec = _spec(tmp_path, '    message: "db-1 is down"\n')
    result = invoke(["validate", spec])
    assert result.exit_code == ExitCode.INVALID
    assert (
        f"{tmp_path}/profiles.yaml:4:14: profiles.default.service: "
        "'https://acks.example.com/\\x1b[31m' must be an http(s) base URL: it holds a control "
        "character (U+001B) at character 26"
    ) in result.stderr.splitlines()
    # The flag is checked once the profiles are read (their secrets masked): a valid one.
    (tmp_path / "profiles.yaml").write_text(
        'version: 1\nprofiles:\n  default:\n    service: "https://acks.example.com/"\n'
    )
    flag = invoke(["run", spec, "--dry-run", "--service", "https://acks.example.com/\x07"])
    assert flag.exit_code == ExitCode.USAGE
    assert "Invalid value for --service: 'https://acks.example.com/\\x07'" in flag.stderr
