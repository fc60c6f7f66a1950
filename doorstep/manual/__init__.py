"""The user manuals (issue #14): guides per role in docs/user/, the tour that drives the demo in Chromium to take
every picture they show (and fails when a page or a label they name is gone), and the build of the HTML site and
the PDF under var/docs/. No Django models; the tour talks to a running server over HTTP like a user (ADR 0025)."""
