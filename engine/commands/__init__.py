"""State changes, grouped by area. Each public method of these mixins is one command on the
`Sanchika` facade (engine/app.py): one transaction, its authorization checked inside.
"""
