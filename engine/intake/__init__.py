"""Dak that arrives by itself: e-mail diarisation (mailboxes polled over IMAP, each new mail
a pending e-mail receipt for the office's diarist to confirm or reject).

config: the mailboxes, from a TOML file named by SANCHIKA_MAILBOXES (credentials stay in
configuration, never in the database). message: a mail cut into sender, subject, date,
body text and attachments. imap: reading a mailbox without altering it. poll: taking new
mails exactly once, then (optionally) marking them seen or moving them.
"""
