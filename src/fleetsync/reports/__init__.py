"""Programme figures: the loan report (per month and region) and the fleet report (by state),
built from sums the database aggregates (:mod:`fleetsync.ledger.figures`), as immutable report
objects that :mod:`~fleetsync.reports.render` and :mod:`~fleetsync.reports.html` turn into a
table, CSV, JSON or a self-contained HTML page. What each figure means: ``docs/reports.md``."""

from fleetsync.reports.fleet import FleetReport, FleetRow, fleet_report
from fleetsync.reports.loans import Grouping, LoanFigures, LoanReport, LoanRow, loan_report

__all__ = [
    "FleetReport",
    "FleetRow",
    "Grouping",
    "LoanFigures",
    "LoanReport",
    "LoanRow",
    "fleet_report",
    "loan_report",
]
