"""The auditor's checklist (issue 13): every obligation as of a date with the evidence behind it."""
