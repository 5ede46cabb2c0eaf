"""The mail room: what the emails say (`messages`, presentation, no SQL) and the sender that
delivers the outbox (`sender`). What is sent when is a rule: app/services/mail.py."""
