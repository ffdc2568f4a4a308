"""Text of scanned letters and digitised files: every stored PDF is read page by page in
a background job (outside the action's transaction), from its text layer where it has one
and otherwise by Tesseract OCR in Hindi and English; the text goes into the search index
with the receipt or file it belongs to.

tesseract: finding and running the OCR program (optional: without it, pages that need OCR
wait and the admin page says why). pdfpages: a PDF's pages as text or as images.
reader: the job (claim a document, read its pages with progress, re-index). text: the
recognised text for the search index, search hits' page and line, and the pages shown
beside a scan.
"""
