"""The management-meeting report of a period: the figures (build.py), their HTML page with inline SVG charts
(html.py, svg.py, templates/report.html) and the same as PDF through WeasyPrint, offline (pdf.py).

The report reads a workspace passed in (a protocol, never `momenti.workspace`: that layer is above this one);
`momenti report` and the `report_mail` job (pipelines/reports.py) are its two callers. docs/reports.md.
"""
