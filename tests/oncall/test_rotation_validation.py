"""A rotation is validated like everything else: each problem at its line, all in one pass."""

from __future__ import annotations

from pathlib import Path

from support import invoke

from callspec.errors import ExitCode


def _validate(team: Path, profiles: str, at: str = "2026-12-10T20:00:00Z") -> tuple[int, str]:
    (team / "profiles.yaml").write_text(profiles)
    result = invoke(["validate", str(team / "page.yaml"), "--at", at])
    return result.exit_code, result.stderr.replace(str(team) + "/", "")


def test_the_team_file_is_valid(team: Path):
    result = invoke(["validate", str(team / "page.yaml"), "--at", "2026-12-10T20:00:00Z"])
    assert (result.exit_code, result.stdout) == (ExitCode.OK, "OK: 2 calls in 1 file valid\n")


def test_unknown_time_zone_person_and_number(team: Path):
    from oncall_team import PROFILES

    broken = (
        PROFILES.replace("time_zone: America/New_York", "time_zone: America/New_Yrok")
        .replace('time_zone: America/Los_Angeles, quiet: "22:00-07:00"', 'quiet: "22:00-31:00"')
        .replace('dev: {phone: "+14155550104"}', 'dev: {phone: "555-0104"}')
        .replace("secondary: [ben, cleo, dev, ana]", "secondary: [ben, cleo, dave, ana]")
    )
    code, err = _validate(team, broken)
    assert code == ExitCode.INVALID
    assert err.splitlines() == [
        "profiles.yaml:7:16: rotations.backend.time_zone: 'America/New_Yrok' is not a time "
        "zone of the IANA database; did you mean 'America/New_York'?",
        "profiles.yaml:12:30: rotations.backend.layers.secondary[2]: 'dave' is not a person "
        "of this rotation (ana, ben, cleo, dev)",
        "profiles.yaml:14:43: rotations.backend.people.ana.quiet: '22:00-31:00' is not quiet "
        "hours: write HH:MM-HH:MM in the person's time zone, e.g. 22:00-07:00",
        "profiles.yaml:17:20: rotations.backend.people.dev.phone: '555-0104' is not a phone "
        "number (country code and number, e.g. +14155550101) or a SIP URI (sip:user@host)",
        "callspec: 4 problems; nothing was sent",
    ]


def test_overlapping_overrides(team: Path):
    from oncall_team import PROFILES

    overlapping = (
        PROFILES
        + '      - {who: dev, layer: primary, from: "2026-12-17T18:00", to: "2026-12-19T09:00"}\n'
    )
    code, err = _validate(team, overlapping)
    assert code == ExitCode.INVALID
    assert err.splitlines() == [
        "profiles.yaml:20:9: rotations.backend.overrides[1]: overlaps overrides[0] (line 19: "
        "cleo covers ben from 2026-12-16 18:00 EST to 2026-12-18 09:00 EST): two overrides "
        "cannot take the same shift at the same time",
        "callspec: 1 problem; nothing was sent",
    ]


def test_overrides_of_other_people_do_not_overlap(team: Path):
    from oncall_team import PROFILES

    other = (
        PROFILES
        + '      - {who: ana, covers: cleo, from: "2026-12-17T18:00", to: "2026-12-19T09:00"}\n'
    )
    code, err = _validate(team, other)
    assert (code, err) == (ExitCode.OK, "")


def test_a_gap_in_the_next_14_days_is_an_error_with_its_start_and_end(team: Path):
    from oncall_team import PROFILES

    ending = PROFILES.replace(
        "    shift: weekly\n", '    shift: weekly\n    end: "2026-12-21T09:00"\n'
    )
    code, err = _validate(team, ending, at="2026-12-10T20:00:00Z")
    assert code == ExitCode.INVALID
    assert err.splitlines() == [
        "profiles.yaml:10:10: rotations.backend.end: nobody is on call in layers primary, "
        "secondary from 2026-12-21 09:00 EST (2026-12-21T14:00:00Z) on, within 14 days of "
        "2026-12-10T20:00:00Z: a page then would ring nobody; extend the rotation or add an "
        "override",
        "callspec: 1 problem; nothing was sent",
    ]


def test_a_gap_an_override_fills_is_no_gap_and_one_further_than_14_days_is_not_yet(team: Path):
    from oncall_team import PROFILES

    ending = PROFILES.replace(
        "    shift: weekly\n", '    shift: weekly\n    end: "2026-12-28T09:00"\n'
    )
    assert _validate(team, ending, at="2026-12-10T20:00:00Z") == (ExitCode.OK, "")
    before_start = _validate(team, PROFILES, at="2026-12-01T00:00:00Z")
    assert before_start[1].splitlines()[0] == (
        "profiles.yaml:8:12: rotations.backend.start: nobody is on call in layers primary, "
        "secondary from 2026-11-30 19:00 EST (2026-12-01T00:00:00Z) to 2026-12-07 09:00 EST "
        "(2026-12-07T14:00:00Z), within 14 days of 2026-12-01T00:00:00Z: a page then would "
        "ring nobody; extend the rotation or add an override"
    )
    covered = PROFILES + (
        '      - {who: dev, layer: primary, from: "2026-11-30T00:00", to: "2026-12-07T09:00"}\n'
        '      - {who: ben, layer: secondary, from: "2026-11-30T00:00", to: "2026-12-07T09:00"}\n'
    )
    assert _validate(team, covered, at="2026-12-01T00:00:00Z") == (ExitCode.OK, "")


def test_each_names_an_unknown_rotation_or_layer(team: Path):
    (team / "page.yaml").write_text(
        (team / "page.yaml")
        .read_text()
        .replace(
            "{rotation: backend, layers: [primary, secondary]}",
            "{rotation: backnd, layers: [primary]}",
        )
    )
    result = invoke(["validate", str(team / "page.yaml"), "--at", "2026-12-10T20:00:00Z"])
    assert result.exit_code == ExitCode.INVALID
    assert result.stderr.replace(str(team) + "/", "").splitlines()[0] == (
        "page.yaml:4:22: calls[0].each.rotation: no rotation 'backnd'; did you mean "
        "'backend'? (known: backend)"
    )
    (team / "page.yaml").write_text(
        (team / "page.yaml")
        .read_text()
        .replace("backnd, layers: [primary]", "backend, layers: [primary, tertiary]")
    )
    result = invoke(["validate", str(team / "page.yaml"), "--at", "2026-12-10T20:00:00Z"])
    assert result.stderr.replace(str(team) + "/", "").splitlines()[0] == (
        "page.yaml:4:49: calls[0].each.layers[1]: no layer 'tertiary' in rotation 'backend'; "
        "did you mean 'primary'? (primary, secondary)"
    )


def test_an_unknown_key_in_each_gets_its_nearest_name(team: Path):
    (team / "page.yaml").write_text(
        (team / "page.yaml").read_text().replace("layers: [primary", "layer: [primary")
    )
    result = invoke(["validate", str(team / "page.yaml"), "--at", "2026-12-10T20:00:00Z"])
    assert result.stderr.replace(str(team) + "/", "").splitlines()[0] == (
        "page.yaml:4:31: calls[0].each.layer: unknown key 'layer'; did you mean 'layers'?"
    )


def test_a_page_when_nobody_is_on_call_is_refused_at_the_call(team: Path):
    # A sending run does not refuse a gap ahead (validate does); one now, it does.
    args = ["run", str(team / "page.yaml"), "--sandbox", "--at", "2026-12-01T00:00:00Z"]
    result = invoke([*args, "--report", str(team / "report.json")])
    assert result.exit_code == ExitCode.INVALID
    lines = result.stderr.replace(str(team) + "/", "").splitlines()
    assert lines == [
        "page.yaml:4:22: calls[0].each.rotation: nobody is on call in layer 'primary' of "
        "rotation 'backend' at 2026-11-30 19:00 EST (2026-12-01T00:00:00Z) until 2026-12-07 "
        "09:00 EST: the page would ring nobody",
        "page.yaml:4:22: calls[0].each.rotation: nobody is on call in layer 'secondary' of "
        "rotation 'backend' at 2026-11-30 19:00 EST (2026-12-01T00:00:00Z) until 2026-12-07 "
        "09:00 EST: the page would ring nobody",
        "callspec: 2 problems; nothing was sent",
    ]


def test_a_number_no_country_has_is_an_error_at_the_person(team: Path):
    from oncall_team import PROFILES

    short = PROFILES.replace('dev: {phone: "+14155550104"}', 'dev: {phone: "+1415555010"}')
    code, err = _validate(team, short)
    assert code == ExitCode.INVALID
    assert err.splitlines() == [
        "profiles.yaml:17:20: rotations.backend.people.dev.phone: '+1415555010' is no phone "
        "number: +1 (US, AG, AI, …) has no numbers of 9 digits after the country code",
        "callspec: 1 problem; nothing was sent",
    ]


def test_a_person_off_shift_whose_number_the_profile_refuses_is_an_error_now(team: Path):
    from oncall_team import PROFILES

    # At the instant checked ana and ben are on call; dev (in London) takes a shift later.
    abroad = PROFILES.replace(
        '    defaults: {from: "+14152224444"}\n',
        '    defaults: {from: "+14152224444"}\n    countries: [US, CA]\n',
    ).replace('dev: {phone: "+14155550104"}', 'dev: {phone: "+442072193000"}')
    code, err = _validate(team, abroad)
    assert code == ExitCode.INVALID
    assert err.splitlines() == [
        "profiles.yaml:18:20: rotations.backend.people.dev.phone: '+442072193000' (dialed as "
        "+44 20 7219 3000) is a number in GB: the profile's countries are US, CA (page.yaml "
        "pages rotation 'backend')",
        "callspec: 1 problem; nothing was sent",
    ]
    # The same rotation is fine for a profile that allows the country.
    allowed = abroad.replace("countries: [US, CA]", "countries: [US, CA, GB]")
    assert _validate(team, allowed) == (ExitCode.OK, "")
