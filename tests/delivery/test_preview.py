"""``render --format curl``: each request's comment line stays one shell comment, whatever a
file name or a roster row holds."""

from __future__ import annotations

from pathlib import Path

from support import invoke

from callspec.delivery.preview import _comment


def test_a_curl_comment_stays_one_line() -> None:
    text = _comment("specs/a\nb.yaml: x\r\ntouch PWNED\u2028#")
    assert "\n" not in text and "\r" not in text and "\u2028" not in text
    assert "\\n" in text


def test_a_row_name_cannot_break_out_of_a_curl_comment(tmp_path: Path) -> None:
    (tmp_path / "oncall.csv").write_text(
        f'name,phone\n"x\ntouch {tmp_path}/PWNED\n#",+14155550101\nbob,+14155550102\n'
    )
    spec = tmp_path / "page.yaml"
    spec.write_text(
        "version: 1\ncalls:\n"
        '  - name: "page-{{ row.name }}"\n'
        "    each: oncall.csv\n"
        '    to: "{{ row.phone }}"\n'
        '    from: "+14155550100"\n'
        "    answer_url: https://example.com/answer.xml\n"
        "    escalate: {answer_within: 5}\n"
    )
    result = invoke(["render", str(spec), "--format", "curl"])
    lines = result.output.splitlines()
    assert not any(line.startswith("touch ") for line in lines), result.output
