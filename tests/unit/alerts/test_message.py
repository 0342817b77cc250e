from __future__ import annotations

from assay.alerts.message import Alert, FailedCheck, FailedTest


def alert(**kw):
    base = dict(dag_id="assay_per_commit", run_id="manual__1", target="demo", commit_sha="a" * 40, branch="main",
                verdict="FAIL", run_url="http://af/dags/assay_per_commit/runs/manual__1",
                failed_checks=[FailedCheck("all_tests_pass", "FAIL", "1 failed or errored test(s)")],
                failed_tests=[FailedTest("tests.t::test_x", "unit", "assert <b>1</b> == 2")], failed_tests_total=1)
    return Alert(**(base | kw))


def test_slack_text_names_everything_a_person_needs():
    text = alert().slack_text()
    for needle in ("assay_per_commit", "demo", "a" * 40, "main", "all_tests_pass", "tests.t::test_x",
                   "assert <b>1</b> == 2", "http://af/dags/assay_per_commit/runs/manual__1"):
        assert needle in text


def test_email_html_escapes_test_output():
    html = alert().email_html()
    assert "assert &lt;b&gt;1&lt;/b&gt; == 2" in html and "<b>1</b>" not in html
    assert alert().subject == "[Assay] FAIL: assay_per_commit on demo @ aaaaaaaaaaaa"


def test_count_of_shown_failed_tests_is_honest():
    tests = [FailedTest(f"t::{i}", "unit", None) for i in range(10)]
    text = alert(failed_tests=tests, failed_tests_total=25).slack_text()
    assert "(10 of 25)" in text
