"""The e-Office's records and rules: the organisation (org, holding), files and receipts,
notes, drafts and dispatch, links and parts, pull back, digitising, numbering, uploads and
who sees what (visibility).
"""
