"""Files sent between Sanchika installations that trust each other.

identity: this installation's name and Ed25519 key (the private key in the data folder,
never in the database). envelope: what travels with a signed export package (sender,
addressee, post, a one-time nonce, the package's hash), signed with the installation key.
transport: delivery over HTTP from the exchange outbox, with retries. receive: checking an
arriving package (known partner, signature, addressee, hash, the export's own chains and
signatures, never seen before) and putting it up as an electronic receipt.
"""
