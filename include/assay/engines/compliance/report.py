"""The audit's reports: one self-contained HTML page per framework (Jinja2, autoescaped, no external asset)
and a machine-readable JSON export following NIST OSCAL assessment-results (1.1) where it fits.

HTML: the verdict, score and counts, then every control with its citations, severity, outcome, message,
waiver (applied or expired) and, per resource, the evidence: name, method, source, collected, expires,
SHA-256.

OSCAL mapping: one ``result`` per audit; every resource a check looked at is an ``observation``
(``methods``: TEST for automated checks; ``subjects``: the resource; ``collected`` / ``expires``; each piece
of evidence a ``relevant-evidence`` with its SHA-256, method and source as props); every control is a
``finding`` whose ``target`` is the control (``objective-id``) with state ``satisfied`` (PASS) or
``not-satisfied`` (anything else; the Assay outcome is a prop), citations and severity as props, linked to
its observations. Manual controls are findings without observations (method EXAMINE is left to the
attestation). Identifiers are UUID v5 of stable names, so the same audit exports the same ids.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import BaseLoader, Environment, StrictUndefined

if TYPE_CHECKING:
    from assay.engines.compliance.audit import AuditResult

__all__ = ["oscal_assessment_results", "render_html", "write_reports"]

OSCAL_VERSION = "1.1.2"
_NS = uuid.UUID("6f1f7c1e-3f0a-5b8e-9d1c-a55a7c0e1d10")

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ r.name }} compliance audit</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{margin-bottom:.2em} .muted{color:#666} table{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f3f3f3} code{font-size:.85em;word-break:break-all}
.o{font-weight:bold;padding:.1em .4em;border-radius:3px;color:#fff}
.PASS{background:#2e7d32}.FAIL{background:#c62828}.ERROR{background:#6a1b9a}.MANUAL{background:#ef6c00}
.NOT_APPLICABLE{background:#757575}.WAIVED{background:#1565c0}
.control{border-top:2px solid #ddd;padding-top:.5em;margin-top:1em}
</style></head><body>
<h1>{{ s.framework_name }} ({{ r.name }})</h1>
<p class="muted">{{ s.framework_version }} &middot; audited {{ r.started_at.isoformat() }} &middot; report {{ generated }}</p>
<p><span class="o {{ r.status.value if r.status.value != 'PASS' else 'PASS' }}">{{ verdict }}</span>
 score: <b>{{ '%.1f%%' % s.score if s.score is not none else 'n/a' }}</b>
 ({{ s.counts.PASS }} passed of {{ denominator }} applicable controls)</p>
<p>{{ r.message }}</p>
{% if s.critical_failures %}<p><b>Critical controls failing (non-compliant whatever the score):</b>
 {{ s.critical_failures | join(', ') }}</p>{% endif %}
<table><tr>{% for o in outcomes %}<th>{{ o }}</th>{% endfor %}</tr>
<tr>{% for o in outcomes %}<td>{{ s.counts[o] }}</td>{% endfor %}</tr></table>
<table><tr><th>control</th><th>title</th><th>citations</th><th>severity</th><th>outcome</th></tr>
{% for c in controls %}<tr><td><a href="#{{ c.id }}">{{ c.id }}</a></td><td>{{ c.title }}</td>
<td>{{ c.citations | join('; ') }}</td><td>{{ c.severity }}</td><td><span class="o {{ c.outcome }}">{{ c.outcome }}</span></td></tr>
{% endfor %}</table>
{% for c in controls %}
<div class="control" id="{{ c.id }}">
<h2>{{ c.id }}: {{ c.title }} <span class="o {{ c.outcome }}">{{ c.outcome }}</span></h2>
<p><b>Citations:</b> {{ c.citations | join('; ') }} &middot; <b>severity</b> {{ c.severity }} &middot; {{ c.mode }}</p>
<p>{{ c.description }}</p>
<p><b>Pass condition:</b> {{ c.pass_condition }}</p>
<p><b>Result:</b> {{ c.message }}</p>
<p class="muted"><b>Evidence kept:</b> {{ c.evidence_kept.what }} ({{ c.evidence_kept.retention_days }} days)</p>
{% for w in c.waivers %}<p><b>Waiver {{ w.id }}</b> (scope <code>{{ w.scope }}</code>) approved by {{ w.approver }},
 expires {{ w.expires }}: {{ w.justification }}</p>{% endfor %}
{% for w in c.expired_waivers %}<p><b>Waiver {{ w.id }} expired on {{ w.expires }}</b> (approved by {{ w.approver }}):
 no longer applies.</p>{% endfor %}
{% if c.resources %}<table><tr><th>resource</th><th>check</th><th>outcome</th><th>message</th><th>evidence</th></tr>
{% for res in c.resources %}<tr><td>{{ res.resource }}</td><td>{{ res.check }}</td>
<td><span class="o {{ res.outcome }}">{{ res.outcome }}</span>{% if res.waiver %} ({{ res.waiver }}){% endif %}</td>
<td>{{ res.message }}</td><td>{% for e in res.evidence %}<div><b>{{ e.name }}</b><br>
method {{ e.method }}, source <code>{{ e.source }}</code><br>collected {{ e.collected_at }}, expires {{ e.expires_at }}<br>
sha256 <code>{{ e.sha256 }}</code></div>{% else %}none{% endfor %}</td></tr>
{% endfor %}</table>{% endif %}
</div>
{% endfor %}
</body></html>
"""


def _env() -> Environment:
    return Environment(loader=BaseLoader(), autoescape=True, undefined=StrictUndefined, trim_blocks=True)


def render_html(result: AuditResult, *, now: datetime | None = None) -> str:
    s = result.summary
    counts = s["counts"]
    return (
        _env()
        .from_string(_TEMPLATE)
        .render(
            r=result,
            s=s,
            controls=[c.to_dict() for c in result.controls],
            outcomes=list(counts),
            denominator=sum(counts.values()) - counts["NOT_APPLICABLE"],
            verdict={"FAIL": "NON-COMPLIANT", "ERROR": "INCOMPLETE"}.get(result.status.value, "COMPLIANT"),
            generated=(now or datetime.now(UTC)).isoformat(),
        )
    )


def _uid(*parts: Any) -> str:
    return str(uuid.uuid5(_NS, "\x00".join(str(p) for p in parts)))


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "ns": "https://assay.local/ns/oscal", "value": str(value)}


def oscal_assessment_results(result: AuditResult, *, now: datetime | None = None) -> dict[str, Any]:
    """The audit as an OSCAL assessment-results document (a JSON-safe dict)."""
    s = result.summary
    run = result.started_at.isoformat()
    observations: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    controls = [c.to_dict() for c in result.controls]
    for c in controls:
        related = []
        for i, res in enumerate(c["resources"]):
            oid = _uid("observation", s["framework"], run, c["id"], i, res["resource"])
            related.append({"observation-uuid": oid})
            evidence = res["evidence"]
            observation: dict[str, Any] = {
                "uuid": oid,
                "title": f"{res['check']} on {res['resource']}",
                "description": res["message"],
                "props": [_prop("assay-outcome", res["outcome"]), _prop("assay-check", res["check"])],
                "methods": ["TEST"],
                "types": ["finding" if res["outcome"] in ("FAIL", "ERROR", "WAIVED") else "control-objective"],
                "subjects": [
                    {
                        "subject-uuid": _uid("subject", res["resource"]),
                        "type": "resource",
                        "title": res["resource"],
                    }
                ],
                "collected": min((e["collected_at"] for e in evidence), default=run),
            }
            if evidence:
                observation["expires"] = min(e["expires_at"] for e in evidence)
                observation["relevant-evidence"] = [
                    {
                        "description": e["name"],
                        "props": [
                            _prop("sha256", e["sha256"]),
                            _prop("method", e["method"]),
                            _prop("source", e["source"]),
                            _prop("collected", e["collected_at"]),
                            _prop("expires", e["expires_at"]),
                        ],
                    }
                    for e in evidence
                ]
            if res["waiver"]:
                observation["props"].append(_prop("assay-waiver", res["waiver"]))
            observations.append(observation)
        finding: dict[str, Any] = {
            "uuid": _uid("finding", s["framework"], run, c["id"]),
            "title": c["title"],
            "description": c["message"],
            "props": [
                *(_prop("citation", x) for x in c["citations"]),
                _prop("severity", c["severity"]),
                _prop("mode", c["mode"]),
                _prop("assay-outcome", c["outcome"]),
            ]
            + [_prop("waiver", f"{w['id']} ({w['approver']}, expires {w['expires']})") for w in c["waivers"]]
            + [_prop("expired-waiver", f"{w['id']} expired on {w['expires']}") for w in c["expired_waivers"]],
            "target": {
                "type": "objective-id",
                "target-id": c["id"],
                "status": {
                    "state": "satisfied" if c["outcome"] == "PASS" else "not-satisfied",
                    "reason": {"PASS": "pass", "FAIL": "fail"}.get(c["outcome"], "other"),
                },
            },
        }
        if related:
            finding["related-observations"] = related
        findings.append(finding)
    return {
        "assessment-results": {
            "uuid": _uid("assessment-results", s["framework"], run),
            "metadata": {
                "title": f"{s['framework_name']} compliance audit ({result.name})",
                "last-modified": (now or datetime.now(UTC)).isoformat(),
                "version": s["framework_version"],
                "oscal-version": OSCAL_VERSION,
            },
            "import-ap": {"href": f"#{s['framework']}"},
            "results": [
                {
                    "uuid": _uid("result", s["framework"], run),
                    "title": result.message[:200],
                    "description": result.message,
                    "start": run,
                    "end": result.finished_at.isoformat(),
                    "props": [
                        _prop("score", s["score"] if s["score"] is not None else "n/a"),
                        _prop("compliant", s["compliant"]),
                        _prop("status", result.status.value),
                    ],
                    "reviewed-controls": {
                        "control-selections": [{"include-controls": [{"control-id": c["id"]} for c in controls]}]
                    },
                    "observations": observations,
                    "findings": findings,
                }
            ],
        }
    }


def write_reports(result: AuditResult, work_dir: str | Path, *, now: datetime | None = None) -> dict[str, Path]:
    """Write ``<name>.html`` and ``<name>.oscal.json`` under ``work_dir``; return their paths."""
    out = Path(work_dir)
    out.mkdir(parents=True, exist_ok=True)
    html = out / f"{result.name}.html"
    html.write_text(render_html(result, now=now), encoding="utf-8")
    oscal = out / f"{result.name}.oscal.json"
    oscal.write_text(json.dumps(oscal_assessment_results(result, now=now), indent=2, sort_keys=False), encoding="utf-8")
    return {"html": html, "oscal_json": oscal}
