"""The review is a security boundary in CI (issue 11): a hostile program, name or flag cannot change the verdict,
the report or the runner; secrets are judged by their real value and printed nowhere; every failure is exit 2
with one line.

Hostile programs live in ``tests/fixtures/hostile/``; each CLI probe runs the real ``main`` (the program runs in
its child process, as in CI).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import trusted_in_process

from policies.common import SECRET_MARKER, Context, Pack, Res, StackInfo, resource_rule
from review import isolate
from review.cli import main, review
from review.diff import SECRET_CHANGED, compare, diff_markdown, diff_text
from review.model import SECRET
from review.policy_runner import PolicyPackError, run_pack, run_policies
from review.render import (
    Report,
    md_code,
    md_text,
    mermaid_label,
    render_json,
    render_markdown,
    render_mermaid,
    render_text,
)
from review.secrets import build_graph, scrub, wrap

HOSTILE = Path(__file__).resolve().parent / "fixtures" / "hostile"
MISBEHAVE = str(HOSTILE / "misbehave")
REPO = Path(__file__).resolve().parent.parent


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for a reaper counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2
    assert out == ""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in errors[0]


# -- isolation: the program runs in a child process ---------------------------------------------------------------

@pytest.mark.parametrize(("mode", "needle"), [
    ("exit0", "exited with code 0 before its graph was returned"),
    ("sysexit3", "the program called sys.exit(3)"),
    ("kill9", "was killed by SIGKILL"),
    ("garbage", "not valid JSON"),  # a forged answer: each way it can be malformed is test_malformed_answers_...
])
def test_a_program_that_ends_or_forges_the_review_process_is_exit_2(capsys, mode, needle):
    assert_one_line_error(*run(capsys, mode, "--program", MISBEHAVE, "--format", "json"), needle)


def test_a_program_that_never_finishes_is_stopped_with_its_process_group(capsys, tmp_path):
    stack = tmp_path / "Pulumi.hang.yaml"
    pid_file = tmp_path / "grandchild.pid"
    prog = tmp_path / "prog"
    prog.mkdir()
    for f in ("Pulumi.yaml", "__main__.py"):
        (prog / f).write_text((HOSTILE / "misbehave" / f).read_text())
    stack.write_text(f"config:\n  misbehave:mode: hang\n  misbehave:pidFile: {pid_file}\n")
    (prog / "Pulumi.hang.yaml").write_text(stack.read_text())
    start = time.monotonic()
    code, out, err = run(capsys, "hang", "--program", str(prog), "--timeout", "1.5")
    assert time.monotonic() - start < 15
    assert_one_line_error(code, out, err, "did not finish within 1.5 s (--timeout)")
    time.sleep(0.2)
    assert gone(int(pid_file.read_text()))


def test_a_program_that_reads_the_runners_secrets_floods_output_and_hooks_exit_is_contained(capsys, monkeypatch):
    """One child run, three attacks that must not fail the run: read the runner's secrets (and stdin), print 10 MB
    that looks like a report with terminal escapes, register an atexit handler that would SIGTERM the review."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "runner-key-should-not-leak")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_should_not_leak")
    code, out, err = run(capsys, "contained", "--program", MISBEHAVE, "--format", "json", "--no-cost")
    assert code == 0  # the atexit handler never ran (the review would have been interrupted: exit 2)
    outputs = json.loads(out)["outputs"]  # 10 MB of program output did not reach stdout
    assert set(outputs) == {"mode", "env", "awsSecret", "githubToken", "stdin"} and outputs["mode"] == "contained"
    assert outputs["awsSecret"] == "absent" and outputs["githubToken"] == "absent"
    assert outputs["stdin"] == ""
    assert not [k for k in outputs["env"] if k.startswith(("AWS", "GITHUB", "ACTIONS", "GOOGLE"))]
    assert "program stdout (10485814 bytes" in err
    assert len(err) < 20_000
    assert "\x1b" not in err and "\\x1b[2J" in err  # the program's terminal escapes are shown, not obeyed


def test_a_program_that_replaces_the_reviews_functions_still_gets_its_verdict(capsys):
    code, out, err = run(capsys, "dev", "--program", str(HOSTILE / "tamper"), "--format", "markdown", "--no-cost")
    assert code == 1
    assert "`security/rds-not-public`" in out and "`security/rds-storage-encrypted`" in out
    assert "## No policy violations" not in out
    assert "  | ## No policy violations" in err  # its print is shown apart, on stderr


def _review_subprocess(*argv: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "review", *argv], cwd=REPO, stderr=subprocess.PIPE, text=True,
                            **kw)


def test_sigint_stops_the_review_with_exit_2_and_one_line(tmp_path):
    prog = tmp_path / "prog"
    prog.mkdir()
    for f in ("Pulumi.yaml", "__main__.py"):
        (prog / f).write_text((HOSTILE / "misbehave" / f).read_text())
    pid_file = tmp_path / "grandchild.pid"
    (prog / "Pulumi.hang.yaml").write_text(f"config:\n  misbehave:mode: hang\n  misbehave:pidFile: {pid_file}\n")
    proc = _review_subprocess("hang", "--program", str(prog), stdout=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and out == ""
    assert err.strip().splitlines() == ["error: interrupted (SIGINT); no verdict"]
    time.sleep(0.2)
    assert gone(int(pid_file.read_text()))


def test_a_program_that_signals_the_review_gets_no_verdict():
    proc = _review_subprocess("sigterm", "--program", MISBEHAVE, stdout=subprocess.PIPE)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and out == ""
    assert err.strip().splitlines() == ["error: interrupted (SIGTERM); no verdict"]


def test_a_closed_stdout_is_exit_2_and_one_line():
    proc = _review_subprocess("env", "--program", MISBEHAVE, "--no-cost", stdout=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(30) == 2
    assert err.strip().splitlines() == [
        "error: standard output was closed before the whole report was written; no verdict"]


# -- the child's answer is validated strictly ---------------------------------------------------------------------

def _answer(**graph) -> bytes:
    base = {"project": "p", "stack": "s", "stack_urn": "", "resources": [], "outputs": {}, "logs": []}
    base.update(graph)
    return json.dumps({"version": 1, "graph": base}).encode()


@pytest.mark.parametrize(("data", "needle"), [
    (b"", "before its graph was returned"),
    (json.dumps({"version": 1, "graph": {"project": "x", "stack": "y", "stack_urn": "", "resources": [{"urn": 5}],
                                         "outputs": {}, "logs": []}}).encode(), "malformed at graph.resources.0.urn"),
    (b"[1, 2", "not valid JSON"),
    (b'{"version": 1, "graph": {"x": NaN}}', "not valid JSON"),
    (b'{"version": 2, "graph": null}', "malformed at version"),
    (_answer(resources=[{"urn": "u", "type": "t", "name": "n", "parent": None, "custom": "yes", "provider": None,
                         "inputs": {}, "options": {}, "id": None, "outputs": {},
                         "property_dependencies": {}}]), "malformed at graph.resources.0.custom"),
    (_answer(extra=1), "malformed at graph.extra"),
    (_answer(outputs={"deep": json.loads("[" * 100 + "]" * 100)}), "deeper than"),
    (b'{"version": 1, "error": {"kind": "program", "message": "line one\\nline two \\u001b[31m"}}',
     "line one line two \\x1b[31m"),
])
def test_malformed_answers_are_refused(data, needle):
    with pytest.raises(isolate.ProgramError) as exc:
        isolate.validate_answer(data)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_an_oversized_answer_is_exit_2(capsys, monkeypatch):
    monkeypatch.setattr(isolate, "MAX_ANSWER_BYTES", 200)
    assert_one_line_error(*run(capsys, "env", "--program", MISBEHAVE, "--no-cost"), "answer is larger than")


# -- secrets: judged by their real value, printed nowhere --------------------------------------------------------

REAL_SECRETS = ("HiddenAdminSid7f3c", "plain-token-91b2c7", "wrapped-value-5d1e", "arn:aws:rds")


def _review_in_process(directory: Path) -> Report:
    """``review`` with the program captured in this process: these programs are about judging and rendering,
    which run in the parent either way, not about isolation (tested above); it saves a child interpreter."""
    with trusted_in_process():
        return review("dev", directory, cost=False)


@pytest.fixture(scope="module")
def secret_report() -> Report:
    return _review_in_process(HOSTILE / "secrets")


def _findings(report: Report, policy: str) -> list[str]:
    return sorted(v.resource_name or "stack" for v in report.violations
                  if v.policy == policy and not v.message.startswith("cannot verify"))


def test_secret_wrapped_public_db_open_cidr_and_admin_policy_are_caught(secret_report):
    assert secret_report.exit_code == 1
    assert _findings(secret_report, "rds-not-public") == ["db"]
    assert _findings(secret_report, "sg-no-world-ingress") == ["ssh"]
    assert _findings(secret_report, "iam-no-star-action-star-resource") == ["admin"]


def test_a_secret_the_review_cannot_read_is_cannot_verify_not_a_silent_pass(secret_report):
    undecided = [v for v in secret_report.violations if v.message.startswith("cannot verify")]
    assert [(v.policy, v.resource_name, v.enforcement) for v in undecided] == [
        ("sg-no-world-ingress", "admin", "mandatory")]
    assert "cidrIpv4" in undecided[0].message


def test_no_format_prints_a_secret(secret_report):
    graph = secret_report.graph
    db = graph.by_name("db")
    assert db.inputs["publiclyAccessible"] == SECRET and db.inputs["password"] == SECRET
    assert db.real_inputs["publiclyAccessible"] is True
    assert graph.outputs == {"dbArn": SECRET, "token": SECRET, "wrapped": SECRET}
    texts = [render_text(secret_report), render_markdown(secret_report), render_json(secret_report),
             render_mermaid(secret_report)]
    empty = build_graph({"project": "secrets", "stack": "dev", "stack_urn": "", "resources": [], "outputs": {},
                         "logs": []}, {}, [])
    d = compare(Report(graph=empty), secret_report, "base")
    texts += [diff_text(d), diff_markdown(d), json.dumps(d.to_json())]
    remediations = {v.remediation for v in secret_report.violations}
    for text in texts:
        for r in remediations:
            text = text.replace(r, "")
        for s in (*REAL_SECRETS, "0.0.0.0/0"):
            assert s not in text
    assert "statement '[secret]' allows" in render_text(secret_report)  # the message quoted the secret's Sid


def test_the_programs_prints_and_errors_do_not_show_the_secrets_it_knows(capsys):
    secrets = str(HOSTILE / "secrets")
    code, out, err = run(capsys, "dev", "--program", secrets, "--no-cost", "--format", "json")
    assert code == 1 and "  | token: [secret] and [secret]" in err
    assert_one_line_error(*run(capsys, "fail", "--program", secrets, "--no-cost"),
                          "the program raised ValueError: cannot use token [secret] (__main__.py:")
    assert "plain-token-91b2c7" not in out + err


def test_a_secret_that_changes_is_an_update_and_stays_hidden():
    def graph(password: str, public: bool) -> Report:
        raw = {"project": "p", "stack": "dev", "stack_urn": "", "outputs": {}, "logs": [], "resources": [{
            "urn": "urn:db", "type": "aws:rds/instance:Instance", "name": "db", "parent": None, "custom": True,
            "provider": None, "options": {}, "id": None, "outputs": {}, "property_dependencies": {},
            "inputs": {"password": wrap(password), "publiclyAccessible": wrap(public), "engine": "postgres"}}]}
        return Report(graph=build_graph(raw, {}, []))

    d = compare(graph("old-password-1", False), graph("new-password-2", False), "main")
    assert d.to_json()["summary"] == {"create": 0, "update": 1, "replace": 0, "delete": 0}
    assert d.changes[0].fields == [("password", SECRET, SECRET_CHANGED)]
    for text in (diff_text(d), diff_markdown(d), json.dumps(d.to_json())):
        assert "password" in text and "old-password-1" not in text and "new-password-2" not in text
    assert compare(graph("same", True), graph("same", True), "main").changes == []


def test_a_secret_wrapped_number_is_judged_as_a_number():
    raw = {"project": "p", "stack": "dev", "stack_urn": "", "outputs": {}, "logs": [], "resources": [{
        "urn": "urn:r", "type": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "name": "r",
        "parent": None, "custom": True, "provider": None, "options": {}, "id": None, "outputs": {},
        "property_dependencies": {}, "inputs": {"ipProtocol": "tcp", "fromPort": wrap(22.0), "toPort": SECRET,
                                                "cidrIpv4": wrap("0.0.0.0/0"), "securityGroupId": "sg-1"}}]}
    violations, _ = run_policies(build_graph(raw, {}, []))
    assert [v.policy for v in violations if v.policy == "sg-no-world-ingress"] == ["sg-no-world-ingress"]


def test_a_rule_that_fails_on_an_unexpected_value_is_one_line():
    @resource_rule("needs-int", types=["x:y:Z"], description="d", severity="low", remediation="r", category="c")
    def needs_int(r: Res, ctx: Context):
        if int(r.get("port")) > 10:
            yield "big"

    pack = Pack(name="t", description="t", rules=[needs_int])
    with pytest.raises(PolicyPackError) as exc:
        run_pack(pack, [Res("x:y:Z", "evil\nname", "urn:x", {"port": SECRET_MARKER})], StackInfo())
    assert str(exc.value).startswith("policy t/needs-int could not evaluate on x:y:Z \"evil\\nname\": ValueError")


def test_cannot_verify_only_when_the_rule_did_not_decide():
    @resource_rule("no-world", types=["x:y:Z"], description="d", severity="low", remediation="r", category="c")
    def no_world(r: Res, ctx: Context):
        if r.get("cidr") == "0.0.0.0/0":
            yield "world"

    @resource_rule("is-set", types=["x:y:Z"], description="d", severity="low", remediation="r", category="c")
    def is_set(r: Res, ctx: Context):
        if not r.get("cidr", track=False):
            yield "unset"

    def judge(rule, cidr):
        ctx = Context(rule, {}, StackInfo())
        return [(f.message, f.undecided) for f in rule.evaluate(Res("x:y:Z", "n", "urn:n", {"cidr": cidr}), ctx)]

    assert judge(no_world, "0.0.0.0/0") == [("world", False)]
    assert judge(no_world, "10.0.0.0/8") == []
    assert judge(no_world, SECRET_MARKER)[0][1] is True
    assert judge(is_set, SECRET_MARKER) == []


# -- escaping per format -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def names_report() -> Report:
    return _review_in_process(HOSTILE / "names")


def test_markdown_names_cannot_break_tables_or_inject_markup(names_report):
    md = render_markdown(names_report)
    lines = md.splitlines()
    assert [line for line in lines if line.startswith("#")] == [
        "## Pulumi review: `names` / `dev`", "### Findings", "### Architecture"]
    outside = re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", md)  # code spans show their text literally
    ours = sum(1 for line in lines if line.startswith("<details><summary>"))
    assert ours >= 1 and outside.count("<details>") == ours and outside.count("</details>") == ours
    assert "<b>" not in outside and "@octocat" not in outside
    summary = [line for line in lines if line.startswith("| `dev`")]
    assert len(summary) == 1 and summary[0].replace("\\|", "").count("|") == 10
    table = lines[lines.index("### Findings") + 4:]
    rows = table[:table.index("")]
    assert len(rows) == sum(1 for v in names_report.violations if not v.waived)
    for row in rows:  # five cells each: the names' | and newlines are escaped
        assert row.replace("\\|", "").count("|") == 6
    assert "@octocat" in md and "`" in md
    chart = md[md.index("```mermaid"):md.index("```", md.index("```mermaid") + 3)]
    labels = [line[line.index('"') + 1:line.rindex('"')] for line in chart.splitlines() if '"' in line]
    assert labels and all(not set(label) & set('"<>`|[]') for label in labels), labels
    assert "#60;b#62;html#60;/b#62;" in chart and "#64;octocat" in chart  # hostile names arrive as entity codes


def test_text_shows_markup_and_escapes_literally(names_report):
    text = render_text(names_report)
    assert "[bold red]rich[/bold red]" in text
    assert "\x1b" not in text and "\u202e" not in text and "\\x1b[2J" in text


def test_mermaid_labels_hold_no_quotes_or_html(names_report):
    chart = render_mermaid(names_report)
    for line in chart.splitlines()[1:]:
        if "[" in line:
            label = line[line.index('["') + 2:line.rindex('"]')]
            assert not set(label) & set('"<>`\n'), line
    assert "click" not in chart.replace("click n0 #34;", "")


def test_json_escapes_by_construction(names_report):
    doc = json.loads(render_json(names_report))
    assert any("\n## ✅ No policy violations" in r["name"] for r in doc["resources"])


def test_scrub_replaces_whole_short_tokens_and_any_long_text():
    assert scrub("rule #1 admits 0.0.0.0/0 on port 22", {"22", "1", "0.0.0.0/0"}, {"22"}) == \
        "rule #1 admits [secret] on port [secret]"
    assert scrub("port 220 and 22.5 and x22", set(), {"22"}) == "port 220 and 22.5 and x22"
    assert scrub("Sid HiddenAdminSid7f3c allows", {"HiddenAdminSid7f3c"}) == "Sid [secret] allows"


def test_escapers():
    assert md_code("a`b") == "``a`b``" and md_code("x|y") == "`x\\|y`" and md_code("`x`") == "`` `x` ``"
    assert md_code("a\nb", table=False) == "`a\\nb`"
    assert md_text("@org <b>*x*</b> | [l](u)") == "@\u200borg \\<b\\>\\*x\\*\\</b\\> \\| \\[l\\]\\(u\\)"
    assert mermaid_label('a"<b>#') == "a#34;#60;b#62;#35;"


# -- hostile flags and files: exit 2, one line, before any program runs ------------------------------------------

def test_base_is_never_an_option(capsys, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    assert_one_line_error(*run(capsys, "dev", f"--base=--output={victim}"), "not a git revision")
    assert victim.read_text() == "keep"
    assert_one_line_error(*run(capsys, "dev", "--base", "no-such-ref-4f2a"), "not a commit")
    assert_one_line_error(*run(capsys, "dev", "--base", ""), "not a git revision")
    assert_one_line_error(*run(capsys, "dev", "--base", "HEAD\n--output=x"), "not a git revision")


@pytest.mark.parametrize("flag", ["--usage", "--policy-pack-config"])
def test_a_file_flag_that_is_not_text_is_one_line(capsys, tmp_path, flag):
    path = tmp_path / "file"
    path.write_bytes(b"\xff\xfe")
    assert_one_line_error(*run(capsys, "env", "--program", MISBEHAVE, flag, str(path)), "not UTF-8")


@pytest.mark.parametrize("stack", ["x/../../elsewhere/cfg", "../dev", "a/b/c/d", "dev\n", "..", "a b", "",
                                   "org/proj/.."])
def test_stack_names_are_validated(capsys, stack):
    assert_one_line_error(*run(capsys, stack), "invalid stack name")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_timeout_must_be_positive(capsys, value):
    assert_one_line_error(*run(capsys, "dev", "--timeout", value), "--timeout")


def _project(tmp_path: Path, pulumi_yaml: bytes, stack: bytes = b"config: {}\n") -> str:
    (tmp_path / "Pulumi.yaml").write_bytes(pulumi_yaml)
    (tmp_path / "Pulumi.dev.yaml").write_bytes(stack)
    (tmp_path / "__main__.py").write_text("raise SystemExit('must not run')\n")
    return str(tmp_path)


@pytest.mark.parametrize(("pulumi_yaml", "stack", "needle"), [
    (b"name: caf\xe9\nruntime: python\n", b"config: {}\n", "not UTF-8"),
    (b"name: p\nruntime: python\n", b"config:\n  p:x: \xff\n", "not UTF-8"),
    (b"name: p\nruntime: python\nmain: 5\n", b"config: {}\n", "'main' must be a path"),
    (b"name: p\nruntime: python\nconfig:\n  x:\n    type: [string]\n", b"config:\n  p:x: a\n", "unknown type"),
    (b"name: p\nruntime: python\n",
     b"a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nconfig:\n  p:x: [*e, *e, *e]\n", "anchors"),
    (b"name: p\nruntime: python\n", b"config:\n  p:x: " + b"[" * 600 + b"]" * 600 + b"\n", "nested"),
])
def test_bad_project_files_are_one_line(capsys, tmp_path, pulumi_yaml, stack, needle):
    assert_one_line_error(*run(capsys, "dev", "--program", _project(tmp_path, pulumi_yaml, stack)), needle)
