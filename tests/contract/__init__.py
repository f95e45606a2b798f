"""The web app's contract suite: every call in `../shared/contract.md`, sent the way the web app
sends it and read the way its parsers read it, against a live server on both stores.

A rule the server does not meet yet is written as a test marked `xfail(strict=True, reason=…)`
naming its issue: it turns red the day the fix lands, and the mark is removed then. None is
marked today.
"""
