"""Full-text search over files and receipts in Hindi and English (index: the search documents
and their queries).
"""
