from __future__ import annotations

from assay.alerts.message import Alert, FailedCheck, FailedTest


def alert(**kw):
    base = dict(
        dag_id="assay_per_commit",
        run_id="manual__1",
        target="demo",
        commit_sha="a" * 40,
        branch="main",
        verdict="FAIL",
        run_url="http://af/dags/assay_per_commit/runs/manual__1",
        failed_checks=[FailedCheck("all_tests_pass", "FAIL", "1 failed or errored test(s)")],
        failed_tests=[FailedTest("tests.t::test_x", "unit", "assert <b>1</b> == 2")],
        failed_tests_total=1,
    )
    return Alert(**(base | kw))


def test_slack_text_names_everything_a_person_needs():
    text = alert().slack_text()
    for needle in (
        "assay_per_commit",
        "demo",
        "a" * 40,
        "main",
        "all_tests_pass",
        "tests.t::test_x",
        "assert <b>1</b> == 2",
        "http://af/dags/assay_per_commit/runs/manual__1",
    ):
        assert needle in text


def test_email_html_escapes_test_output():
    html = alert().email_html()
    assert "assert &lt;b&gt;1&lt;/b&gt; == 2" in html and "<b>1</b>" not in html
    assert alert().subject == "[Assay] FAIL: assay_per_commit on demo @ aaaaaaaaaaaa"


def test_count_of_shown_failed_tests_is_honest():
    tests = [FailedTest(f"t::{i}", "unit", None) for i in range(10)]
    text = alert(failed_tests=tests, failed_tests_total=25).slack_text()
    assert "(10 of 25)" in text


def test_a_rule_only_alert_says_the_verdict_did_not_fail_and_names_the_rules():
    a = alert(
        verdict="PASS",
        failed_checks=[],
        failed_tests=[],
        failed_tests_total=0,
        fired_rules=[FailedCheck("alert:coverage_drop", "FAIL", "coverage 70.00% vs 90.00% at abc on main")],
    )
    assert not a.failed
    assert a.subject == "[Assay] ALERT alert:coverage_drop (verdict PASS): assay_per_commit on demo @ aaaaaaaaaaaa"
    text, html = a.slack_text(), a.email_html()
    for rendered in (text, html):
        assert "coverage 70.00% vs 90.00% at abc on main" in rendered and "Failed checks" not in rendered
    assert "no gate failed, but a standing alert rule fired" in text


def test_no_credentials_of_a_url_survive_in_any_part_of_an_alert():
    leak = "https://alice:ghp_T0KEN@github.com/acme/x.git"
    a = alert(
        target=f"t {leak}",
        branch=leak,
        run_url="https://bob:pw1@airflow.example.com/dags/x",
        failed_checks=[FailedCheck("checkout", "ERROR", f"cannot clone {leak}")],
        fired_rules=[FailedCheck("alert:x", "FAIL", leak)],
        failed_tests=[FailedTest(f"t::{leak}", "unit", f"GET {leak} -> 401")],
    )
    for rendered in (a.subject, a.slack_text(), a.email_html()):
        assert "ghp_T0KEN" not in rendered and "alice" not in rendered and "pw1" not in rendered
    assert "https://***@github.com/acme/x.git" in a.slack_text()


def test_a_failed_test_shows_its_file_line_and_its_whole_detail_beyond_300_characters():
    detail = "\n".join(f"E   line {i}: " + "y" * 40 for i in range(15))  # ~800 characters
    t = FailedTest("tests/t.py::test_long", "unit", f"AssertionError: tables differ\n{detail}\n  at /co/tests/t.py:12")
    a = alert(
        failed_tests=[t],
        failed_checks=[FailedCheck("coverage_min", "FAIL", "line coverage 70.00%, minimum 80%", 70.0, 80.0, ">=")],
        detail_url="http://af/assay/runs/assay_per_commit/manual__1",
    )
    text, html = a.slack_text(), a.email_html()
    assert "`tests/t.py::test_long` at `tests/t.py:12`: AssertionError: tables differ" in text
    assert "E   line 14: " in text and "E   line 14: " in html  # nothing cut at 300 characters
    assert "(observed 70, must be >= 80): line coverage 70.00%, minimum 80%" in text
    assert "observed 70, must be &gt;= 80" in html
    assert "<http://af/assay/runs/assay_per_commit/manual__1|Open the run on the Assay page>" in text
    assert 'href="http://af/assay/runs/assay_per_commit/manual__1"' in html
