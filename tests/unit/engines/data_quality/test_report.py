"""The Jinja2 HTML report: lists every expectation, puts failures first, escapes data values."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from support.data_quality import fraud_frame

from assay.engines.data_quality.report import TEMPLATES_DIR, render_report, write_report
from assay.engines.data_quality.runner import validate_dataframe

PAYLOAD = '<script>alert("pwned")</script>'
SUITE = {
    "name": "report_demo",
    "meta": {"assay": {"personal_columns": ["email"]}},
    "expectations": [
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "name", "value_set": ["Ada Khan"]},
            "meta": {"dimension": "validity", "why": "only <b>Ada</b> may buy"},
        },
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "email", "regex": "^ada"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "amount"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "absent"}},
    ],
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


@pytest.fixture(scope="module")
def result():
    df = fraud_frame()
    df.loc[0, "name"] = PAYLOAD
    df.loc[0, "email"] = f"{PAYLOAD}@example.com"
    return validate_dataframe(df, SUITE, data_name='tx <"2025">')


def test_report_lists_failures_first_and_every_expectation(result):
    page = render_report(result)
    problems = page[page.index('id="problems"') : page.index('id="expectations"')]
    assert "expect_column_values_to_be_in_set:name" in problems  # FAIL
    assert "expect_column_values_to_not_be_null:absent" in problems  # ERROR (missing column)
    assert problems.index("absent") < problems.index("in_set:name")  # errors before failures
    assert "expect_column_values_to_not_be_null:amount" not in problems  # passed
    table = page[page.index('id="expectations"') :]
    assert len(re.findall(r"<tr>", table)) == len(result.outcomes) + 1  # + header row
    for text in (
        "report_demo",
        "Rows × columns",
        "200 × 10",
        "unsuccessful",
        "BatchData does not exist",
        f"{result.counts['success_percent']:.2f}% success",
    ):
        assert text in page


def test_report_escapes_data_values(result):
    page = render_report(result)
    assert PAYLOAD not in page and "<b>Ada</b>" not in page
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page  # in the explanation
    assert "&lt;script&gt;alert(\\&#34;pwned\\&#34;)&lt;/script&gt;" in page  # in the examples column (JSON)
    assert "tx &lt;&#34;2025&#34;&gt;" in page  # the dataset name too
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "b" not in parser.tags
    # the personal email column is redacted, the non-personal name column shows its bad value (escaped)
    assert "redacted personal data" in page


def test_write_report_creates_directories(result, tmp_path):
    path = write_report(result, tmp_path / "a" / "b" / "report.html")
    assert path.read_text(encoding="utf-8") == render_report(result)


def test_template_is_a_file_next_to_the_code():
    assert (TEMPLATES_DIR / "data_quality_report.html.j2").is_file()
