"""What the grader prints and writes: one table per notebook, a class summary, CSV and JSON gradebooks."""
import csv
import json
from dataclasses import dataclass, field

from .runs import PASSED


@dataclass
class NotebookReport:
    """The grading of one notebook. error -- why it could not be graded at all (unreadable file)."""

    path: str
    exercises: list = field(default_factory=list)
    run: object = None
    error: str = ""
    seconds: float = 0.0
    isolated: bool = True  # graded in bwrap (False: --sandbox none or no bwrap)

    @property
    def points(self):
        return sum(r.points for r in self.exercises)

    @property
    def all_passed(self):
        return not self.error and bool(self.exercises) and all(r.status == PASSED for r in self.exercises)


def format_table(results):
    """The exercise rows and the score line."""
    headers = ("Exercise", "Function", "Result", "Why")
    rows = [(str(r.number), r.function, r.status, r.why) for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers[:3])]

    def line(cols):
        return ("  ".join(c.ljust(w) for c, w in zip(cols[:3], widths)) + "  " + cols[3]).rstrip()

    out = [line(headers), line(tuple("-" * w for w in widths) + ("---",))]
    out += [line(row) for row in rows]
    out.append(f"Score: {sum(r.points for r in results)}/{len(results)}")
    return "\n".join(out)


def format_report(report):
    if report.error:
        return f"== {report.path}\nnot graded: {report.error}"
    text = [f"== {report.path}", format_table(report.exercises)]
    if report.run is not None:
        text.append(f"Notebook run: {report.run.message}")
    text.append(f"({report.seconds:.0f} s)")
    return "\n".join(text)


def format_summary(reports, total):
    lines = [f"== Class: {len(reports)} notebook(s) graded"]
    for report in reports:
        score = "not graded" if report.error else f"{report.points}/{total}"
        lines.append(f"  {score:>10}  {report.path}")
    return "\n".join(lines)


def gradebook_rows(reports):
    """One row per notebook and exercise (one row for a notebook that could not be graded)."""
    rows = []
    for report in reports:
        common = {"notebook": report.path, "notebook_run": report.run.message if report.run is not None else "",
                  "isolated": report.isolated}
        if report.error:
            rows.append({**common, "exercise": "", "function": "", "points": 0, "max_points": "",
                         "status": "not graded", "reason": report.error, "seconds": round(report.seconds, 1)})
        rows += [{**common, "exercise": r.number, "function": r.function, "points": r.points, "max_points": 1,
                  "status": r.status, "reason": r.why, "seconds": round(r.seconds, 1)} for r in report.exercises]
    return rows


def write_csv(path, reports):
    fields = ["notebook", "exercise", "function", "points", "max_points", "status", "reason", "seconds",
              "notebook_run", "isolated"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(gradebook_rows(reports))


def write_json(path, reports):
    data = [{"notebook": r.path, "points": r.points, "max_points": len(r.exercises),
             "error": r.error, "seconds": round(r.seconds, 1), "isolated": r.isolated,
             "notebook_run": None if r.run is None else {"ok": r.run.ok, "message": r.run.message},
             "exercises": [{"exercise": e.number, "function": e.function, "points": e.points,
                            "status": e.status, "reason": e.why, "seconds": round(e.seconds, 1)}
                           for e in r.exercises]}
            for r in reports]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
