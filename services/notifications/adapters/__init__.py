"""What the notifications service talks to outside: the SMTP server, the SMS gateway, and the
local sinks that stand in for both (``channels``)."""
