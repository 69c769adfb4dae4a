"""Deadlines across every domain (issue 13): the deadline view, the iCalendar feed, the reminder digests."""
