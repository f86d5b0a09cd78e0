"""`python -m bot demo`: the app against the stand-ins with a browser page (run.py, stack.py,
page.py) and the scenarios it plays.
"""
